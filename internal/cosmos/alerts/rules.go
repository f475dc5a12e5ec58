package alerts

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/valtrack/valtrack/internal/cosmos/state"
)

// condition is a rule that holds now for a chain (and validator).
type condition struct {
	key, rule, chain, address, moniker string
	severity                           Severity
	value, threshold                   float64
	unit, summary                      string
}

// Key is the stable identity of an alert: rule/chain for a chain-level
// rule, rule/chain/address for a validator's. It is PagerDuty's dedup_key.
func Key(rule, chain, address string) string {
	if address == "" {
		return rule + "/" + chain
	}
	return rule + "/" + chain + "/" + address
}

// severityOf picks the most severe threshold the value reaches.
func severityOf(k ruleKind, th map[Severity]float64, v float64, total float64) (Severity, float64) {
	for sev := Critical; sev >= Info; sev-- {
		t, ok := th[sev]
		if !ok {
			continue
		}
		limit := t
		if t == ThresholdAll {
			if total <= 0 {
				continue
			}
			limit = total
		}
		if k.lowerIsWorse && v <= limit || !k.lowerIsWorse && v >= limit {
			return sev, limit
		}
	}
	return 0, 0
}

func (e *Engine) ruleApplies(r Rule, chain string) bool {
	if !r.Enabled {
		return false
	}
	if len(r.Chains) == 0 {
		return true
	}
	for _, c := range r.Chains {
		if c == chain {
			return true
		}
	}
	return false
}

// watched reports whether the rule covers a validator of the set.
func (e *Engine) watched(r Rule, address, moniker string) bool {
	list := r.Validators
	if len(list) == 0 {
		list = e.cfg.Validators
	}
	for _, v := range list {
		if v == "*" || strings.EqualFold(v, address) || moniker != "" && v == moniker {
			return true
		}
	}
	return false
}

type validatorRow struct {
	address, moniker           string
	inSet, jailed, known       bool
	consecutive, windowSize    int64
	windowMissed, blocksToJail int64
	timeToJailMS               int64
}

// evaluate reads the chain's tables and returns the conditions that hold.
func (e *Engine) evaluate(ctx context.Context, chain string, now time.Time) ([]condition, error) {
	var out []condition
	validatorRules := e.ruleApplies(e.cfg.Rules[RuleConsecutiveMissed], chain) ||
		e.ruleApplies(e.cfg.Rules[RuleWindowMissedShare], chain) || e.ruleApplies(e.cfg.Rules[RuleTimeToJail], chain)
	if validatorRules {
		cs, err := e.evaluateValidators(ctx, chain)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	if r := e.cfg.Rules[RuleChainStalled]; e.ruleApplies(r, chain) {
		c, err := e.evaluateStall(ctx, chain, r, now)
		if err != nil {
			return nil, err
		}
		if c != nil {
			out = append(out, *c)
		}
	}
	if r := e.cfg.Rules[RuleEndpointsDown]; e.ruleApplies(r, chain) {
		c, err := e.evaluateEndpoints(ctx, chain, r, now)
		if err != nil {
			return nil, err
		}
		if c != nil {
			out = append(out, *c)
		}
	}
	return out, nil
}

func (e *Engine) evaluateValidators(ctx context.Context, chain string) ([]condition, error) {
	db := e.db.Reader()
	// The parameters the analyzer used (configured, or the chain's); when
	// they are unknown the share is of the analyser's window counters.
	params, err := state.ParamsInForce(ctx, e.db, chain)
	if err != nil {
		return nil, err
	}
	window := int64(0)
	if params.Known() {
		window = params.SignedBlocksWindow
	}
	q := e.db.Query().SQL(`SELECT s.address, v.moniker, v.in_set, v.jailed, s.consecutive_missed, s.window_size,
		s.window_missed, s.blocks_to_jail, s.time_to_jail_ms
		FROM cosmos_validator_stats s LEFT JOIN cosmos_validators v ON v.chain = s.chain AND v.address = s.address
		WHERE s.chain = `).Arg(chain).SQL(" ORDER BY s.address")
	rows, err := db.QueryContext(ctx, q.String(), q.Args()...)
	if err != nil {
		return nil, fmt.Errorf("read validator stats of %s: %w", chain, e.db.Scrub(err))
	}
	var vs []validatorRow
	for rows.Next() {
		var v validatorRow
		var moniker sql.NullString
		var inSet, jailed sql.NullBool
		if err := rows.Scan(&v.address, &moniker, &inSet, &jailed, &v.consecutive, &v.windowSize,
			&v.windowMissed, &v.blocksToJail, &v.timeToJailMS); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read validator stats of %s: %w", chain, e.db.Scrub(err))
		}
		v.moniker, v.known = moniker.String, inSet.Valid
		// Without a cosmos_validators row the stats tell: -1 blocks to
		// jail is "not in the set".
		v.inSet = inSet.Bool || !inSet.Valid && v.blocksToJail != state.JailNotInSet
		v.jailed = jailed.Bool
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read validator stats of %s: %w", chain, e.db.Scrub(err))
	}
	rows.Close()

	held, err := e.openValidatorAlerts(ctx, chain)
	if err != nil {
		return nil, err
	}
	var out []condition
	for _, v := range vs {
		name := v.address
		if v.moniker != "" {
			name = fmt.Sprintf("%s (%s)", v.moniker, v.address)
		}
		if !v.inSet || v.jailed {
			// Not signing, so its misses no longer grow — but that is the
			// worst outcome, not a recovery: its open alerts stay open,
			// critical, saying why, until it is back in the set and the
			// rules clear. (They used to resolve at the moment of jailing.)
			why := "left the active set"
			if v.jailed {
				why = "is jailed"
			}
			for _, a := range held[v.address] {
				if r := e.cfg.Rules[a.rule]; !e.ruleApplies(r, chain) || !e.watched(r, v.address, v.moniker) {
					continue // the rule no longer covers it: that clears it
				}
				out = append(out, condition{rule: a.rule, address: v.address, moniker: v.moniker, severity: Critical,
					value: a.value, threshold: a.threshold, unit: a.unit,
					summary: fmt.Sprintf("validator %s on chain %s %s (%s was %g %s); the alert stays open until it is back in the set and signing",
						name, chain, why, a.rule, a.value, a.unit)})
			}
			continue
		}
		if r := e.cfg.Rules[RuleConsecutiveMissed]; e.ruleApplies(r, chain) && e.watched(r, v.address, v.moniker) {
			k := ruleKinds[RuleConsecutiveMissed]
			if sev, th := severityOf(k, r.Thresholds, float64(v.consecutive), 0); sev != 0 {
				cause, err := e.latestCause(ctx, chain, v.address)
				if err != nil {
					return nil, err
				}
				out = append(out, condition{rule: RuleConsecutiveMissed, address: v.address, moniker: v.moniker,
					severity: sev, value: float64(v.consecutive), threshold: th, unit: k.unit,
					summary: fmt.Sprintf("validator %s on chain %s missed %d consecutive blocks%s", name, chain, v.consecutive, cause)})
			}
		}
		size := window
		if size <= 0 {
			// Without the chain's window the share is of the heights
			// observed, so a single miss right after a start would be
			// 100%: it needs min_heights of them first. (Of the chain's
			// window the share cannot be inflated by few heights.)
			size = v.windowSize
			if r := e.cfg.Rules[RuleWindowMissedShare]; size < r.MinHeights {
				size = 0
			}
		}
		if r := e.cfg.Rules[RuleWindowMissedShare]; size > 0 && e.ruleApplies(r, chain) && e.watched(r, v.address, v.moniker) {
			k := ruleKinds[RuleWindowMissedShare]
			share := float64(v.windowMissed) / float64(size)
			if sev, th := severityOf(k, r.Thresholds, share, 0); sev != 0 {
				out = append(out, condition{rule: RuleWindowMissedShare, address: v.address, moniker: v.moniker,
					severity: sev, value: share, threshold: th, unit: k.unit,
					summary: fmt.Sprintf("validator %s on chain %s missed %.1f%% of the signed blocks window (%d of %d blocks)",
						name, chain, 100*share, v.windowMissed, size)})
			}
		}
		// Time to jail only means something while the validator misses
		// blocks of the window: a short window makes it small for a
		// validator that signs everything. Unknown (no slashing
		// parameters) and never (min signed 0) are negative: no alert;
		// so is a time not yet known (too few block intervals, e.g. the
		// first height after a start), which is not "0 s to jail".
		if r := e.cfg.Rules[RuleTimeToJail]; v.windowMissed > 0 && v.blocksToJail >= 0 && v.timeToJailMS >= 0 &&
			e.ruleApplies(r, chain) && e.watched(r, v.address, v.moniker) {
			k := ruleKinds[RuleTimeToJail]
			secs := math.Max(0, float64(v.timeToJailMS)/1000)
			if sev, th := severityOf(k, r.Thresholds, secs, 0); sev != 0 {
				out = append(out, condition{rule: RuleTimeToJail, address: v.address, moniker: v.moniker,
					severity: sev, value: secs, threshold: th, unit: k.unit,
					summary: fmt.Sprintf("validator %s on chain %s is %d blocks (about %s) from being jailed",
						name, chain, v.blocksToJail, (time.Duration(secs) * time.Second).Round(time.Second))})
			}
		}
	}
	return out, nil
}

// heldAlert is an open validator alert's rule and last figures.
type heldAlert struct {
	rule, unit       string
	value, threshold float64
}

// openValidatorAlerts are the chain's open (pending or firing) alerts of
// the validator rules, by address.
func (e *Engine) openValidatorAlerts(ctx context.Context, chain string) (map[string][]heldAlert, error) {
	q := e.db.Query().SQL("SELECT validator_address, rule, unit, value, threshold FROM cosmos_alerts WHERE chain = ").Arg(chain).
		SQL(" AND status <> ").Arg(StatusResolved).SQL(" AND rule IN (").Arg(RuleConsecutiveMissed).SQL(", ").
		Arg(RuleWindowMissedShare).SQL(", ").Arg(RuleTimeToJail).SQL(") ORDER BY validator_address, rule")
	rows, err := e.db.Reader().QueryContext(ctx, q.String(), q.Args()...)
	if err != nil {
		return nil, fmt.Errorf("read the open validator alerts of %s: %w", chain, e.db.Scrub(err))
	}
	defer rows.Close()
	out := map[string][]heldAlert{}
	for rows.Next() {
		var addr string
		var a heldAlert
		if err := rows.Scan(&addr, &a.rule, &a.unit, &a.value, &a.threshold); err != nil {
			return nil, fmt.Errorf("read the open validator alerts of %s: %w", chain, e.db.Scrub(err))
		}
		out[addr] = append(out[addr], a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the open validator alerts of %s: %w", chain, e.db.Scrub(err))
	}
	return out, nil
}

// latestCause describes the validator's latest recorded miss.
func (e *Engine) latestCause(ctx context.Context, chain, address string) (string, error) {
	q := e.db.Query().SQL("SELECT height, cause FROM cosmos_misses WHERE chain = ").Arg(chain).
		SQL(" AND validator_address = ").Arg(address).SQL(" ORDER BY height DESC LIMIT 1")
	var height int64
	var cause string
	err := e.db.Reader().QueryRowContext(ctx, q.String(), q.Args()...).Scan(&height, &cause)
	switch {
	case err == sql.ErrNoRows:
		return "", nil
	case err != nil:
		return "", fmt.Errorf("read the latest miss of %s on %s: %w", address, chain, e.db.Scrub(err))
	case cause == "":
		return fmt.Sprintf(" (latest at height %d)", height), nil
	}
	return fmt.Sprintf(" (cause: %s at height %d)", cause, height), nil
}

func (e *Engine) evaluateStall(ctx context.Context, chain string, r Rule, now time.Time) (*condition, error) {
	q := e.db.Query().SQL("SELECT height, time FROM cosmos_blocks WHERE chain = ").Arg(chain).SQL(" ORDER BY height DESC LIMIT 1")
	var height, at int64
	err := e.db.Reader().QueryRowContext(ctx, q.String(), q.Args()...).Scan(&height, &at)
	if err == sql.ErrNoRows {
		return nil, nil // no block yet: nothing to say about a stall
	}
	if err != nil {
		return nil, fmt.Errorf("read the latest block of %s: %w", chain, e.db.Scrub(err))
	}
	age := now.Sub(time.UnixMilli(at))
	k := ruleKinds[RuleChainStalled]
	sev, th := severityOf(k, r.Thresholds, age.Seconds(), 0)
	if sev == 0 {
		return nil, nil
	}
	return &condition{rule: RuleChainStalled, severity: sev, value: math.Round(age.Seconds()), threshold: th, unit: k.unit,
		summary: fmt.Sprintf("chain %s has made no block for %s (last block: height %d)", chain, age.Round(time.Second), height)}, nil
}

// EndpointStaleAfter is how old an endpoint's last status may be before
// it stops counting as what it said: a sentry republishes every endpoint's
// status every minute (and on every change), so three silent minutes mean
// the sentry is gone or no longer watches the endpoint.
const EndpointStaleAfter = 3 * time.Minute

// evaluateEndpoints counts the chain's unhealthy endpoints. A row is aged
// by its last report: a fresh one counts as it says; a stale one whose
// sentry still reports other endpoints of the chain is not counted (the
// sentry no longer watches it — removed from its configuration); a stale
// one whose sentry reports nothing counts as down (a dead sentry's
// endpoints are not "healthy" for ever).
func (e *Engine) evaluateEndpoints(ctx context.Context, chain string, r Rule, now time.Time) (*condition, error) {
	q := e.db.Query().SQL("SELECT sentry_id, healthy, updated_at FROM cosmos_endpoints WHERE chain = ").Arg(chain)
	rows, err := e.db.Reader().QueryContext(ctx, q.String(), q.Args()...)
	if err != nil {
		return nil, fmt.Errorf("read the endpoints of %s: %w", chain, e.db.Scrub(err))
	}
	defer rows.Close()
	type endpointRow struct {
		sentry  string
		healthy bool
		fresh   bool
	}
	var eps []endpointRow
	reporting := map[string]bool{} // sentries with a fresh row
	cutoff := now.Add(-EndpointStaleAfter).UnixMilli()
	for rows.Next() {
		var ep endpointRow
		var at int64
		if err := rows.Scan(&ep.sentry, &ep.healthy, &at); err != nil {
			return nil, fmt.Errorf("read the endpoints of %s: %w", chain, e.db.Scrub(err))
		}
		ep.fresh = at >= cutoff
		if ep.fresh {
			reporting[ep.sentry] = true
		}
		eps = append(eps, ep)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the endpoints of %s: %w", chain, e.db.Scrub(err))
	}
	var total, down, silent float64
	for _, ep := range eps {
		switch {
		case ep.fresh:
			total++
			if !ep.healthy {
				down++
			}
		case reporting[ep.sentry]:
			// no longer watched by a live sentry: not counted
		default:
			total++
			down++
			silent++
		}
	}
	if down == 0 {
		return nil, nil
	}
	k := ruleKinds[RuleEndpointsDown]
	sev, th := severityOf(k, r.Thresholds, down, total)
	if sev == 0 {
		return nil, nil
	}
	summary := fmt.Sprintf("%d of %d endpoints of chain %s are unhealthy", int(down), int(total), chain)
	if silent > 0 {
		summary += fmt.Sprintf(" (%d not reported for over %s: is their sentry running?)", int(silent), EndpointStaleAfter)
	}
	return &condition{rule: RuleEndpointsDown, severity: sev, value: down, threshold: th, unit: k.unit, summary: summary}, nil
}
