package analyzers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/valtrack/valtrack/internal/cosmos/state"
)

// endpointStaleAfter: three missed one-minute status republications.
const endpointStaleAfter = 3 * time.Minute

// export sets the gauges from the stored totals (one query for the
// validators, one for the endpoints) and deletes the series of validators
// that are no longer in the set and of endpoints no longer stored.
func (a *missed) export(ctx context.Context) error {
	db, chain := a.cfg.DB, a.chain.Name
	a.m.analyzed.WithLabelValues(chain).Set(float64(a.cursor))
	a.m.waitSet.WithLabelValues(chain).Set(float64(a.waitingSet))
	q := db.Query().SQL("SELECT time FROM cosmos_blocks WHERE chain = ").Arg(chain).SQL(" ORDER BY height DESC LIMIT 1")
	var last int64
	switch err := db.Reader().QueryRowContext(ctx, q.String(), q.Args()...).Scan(&last); {
	case err == nil:
		a.m.sinceLast.WithLabelValues(chain).Set(float64(a.cfg.Now().UnixMilli()-last) / 1000)
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("cosmos/missed/%s: latest block: %w", chain, err)
	}

	q = db.Query().SQL("SELECT s.address, COALESCE(v.moniker, ''), s.signed, s.missed, s.missed_prevote, s.missed_precommit, ",
		"s.consecutive_missed, s.window_missed, s.window_size, s.time_to_jail_ms, s.blocks_to_jail, s.proposed, s.missed_proposals, s.solo_missed ",
		"FROM cosmos_validator_stats s LEFT JOIN cosmos_validators v ON v.chain = s.chain AND v.address = s.address WHERE s.chain = ").Arg(chain)
	seen := map[string]bool{}
	err := query(ctx, db, q, "read stats for metrics", func(scan func(...any) error) error {
		var addr, moniker string
		var v [12]int64
		if err := scan(&addr, &moniker, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11]); err != nil {
			return err
		}
		if old, ok := a.labels[addr]; ok && (old != moniker || v[8] == state.JailNotInSet) {
			a.deleteValidator(addr, old)
		}
		if v[8] == state.JailNotInSet {
			return nil
		}
		seen[addr] = true
		a.labels[addr] = moniker
		vals := [12]float64{float64(v[0]), float64(v[1]), float64(v[2]), float64(v[3]), float64(v[4]), float64(v[5]),
			float64(v[6]), float64(v[7]) / 1000, float64(v[8]), float64(v[9]), float64(v[10]), float64(v[11])}
		if v[8] == state.JailNever {
			vals[7], vals[8] = math.Inf(1), math.Inf(1)
		}
		for i, g := range validatorGauges {
			if (i == 7 || i == 8) && v[8] < 0 && v[8] != state.JailNever ||
				i == 7 && v[7] == state.JailTimeUnknown {
				// unknown slashing parameters: no projection, no series;
				// too few block intervals yet: blocks but no time
				a.m.validator[g[0]].DeleteLabelValues(chain, addr, moniker)
				continue
			}
			a.m.validator[g[0]].WithLabelValues(chain, addr, moniker).Set(vals[i])
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cosmos/missed/%s: %w", chain, err)
	}
	for addr, moniker := range a.labels {
		if !seen[addr] {
			a.deleteValidator(addr, moniker)
		}
	}

	q = db.Query().SQL("SELECT endpoint, healthy, updated_at FROM cosmos_endpoints WHERE chain = ").Arg(chain)
	eps := map[string]bool{}
	// A status older than this is not believed: a sentry republishes every
	// minute, so the endpoint's sentry is gone or no longer watches it (the
	// endpoints_down rule ages rows the same way).
	cutoff := a.cfg.Now().Add(-endpointStaleAfter).UnixMilli()
	if err := query(ctx, db, q, "read endpoints", func(scan func(...any) error) error {
		var ep string
		var ok bool
		var at int64
		if err := scan(&ep, &ok, &at); err != nil {
			return err
		}
		eps[ep] = true
		v := 0.0
		if ok && at >= cutoff {
			v = 1
		}
		a.m.endpoint.WithLabelValues(chain, ep).Set(v)
		return nil
	}); err != nil {
		return fmt.Errorf("cosmos/missed/%s: %w", chain, err)
	}
	for ep := range a.endpoints {
		if !eps[ep] {
			a.m.endpoint.DeleteLabelValues(chain, ep)
		}
	}
	a.endpoints = eps
	return nil
}

func (a *missed) deleteValidator(addr, moniker string) {
	for _, g := range validatorGauges {
		a.m.validator[g[0]].DeleteLabelValues(a.chain.Name, addr, moniker)
	}
	delete(a.labels, addr)
}
