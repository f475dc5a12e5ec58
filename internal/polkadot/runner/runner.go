// Package runner runs the delegation program on one chain, as an analyzer:
// every pass it joins the candidates file with what the store holds (the
// sentry's chain records, telemetry nodes, eras, faults), evaluates
// validity, keeps the rank log and the derived faults, scores the valid
// set once a session (a snapshot that explains every score), and when a
// round is due assigns each nominator its slice of the ranked list —
// recorded only (dry run, the default), or sent: directly, through a
// proxy, or announced through a time-delay proxy and executed after the
// delay, once; before every send (nominate, announce, execute) the
// targets are re-validated on fresh chain reads.
//
// Everything is in the store, so a restart resumes where it stopped: a
// round already started is not started again, an announcement is executed
// once (the store's conditional transition, and the chain's announcements
// and nominations reconciled before any send).
package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/polkadot/program"
	"github.com/valtrack/valtrack/internal/polkadot/state"
	"github.com/valtrack/valtrack/internal/polkadot/telemetry"
)

// Live is the program's own view of the chain (internal/polkadot/chain):
// fresh reads just before a transaction, never the store's. A pass makes
// each read once for all its sends (freshReads).
type Live interface {
	Chain(ctx context.Context) (events.Chain, error)
	Validators(ctx context.Context, at events.Chain, extra []string) ([]events.Validator, error)
	// AnnouncementsOf reads the pending announcements of every delegate
	// in one batched call, by delegate.
	AnnouncementsOf(ctx context.Context, delegates ...string) (map[string][]Announcement, error)
}

// Announcement is one pending proxy announcement of a delegate.
type Announcement struct {
	Real     string
	CallHash string
	Height   uint64
}

// Sent is a transaction included in a block.
type Sent struct {
	TxHash    string
	BlockHash string
	Block     uint64
}

// Sender sends the program's transactions (internal/polkadot/tx).
type Sender interface {
	// Delegate is the account that signs for n (its proxy, or itself).
	Delegate(n program.NominatorConfig) (string, error)
	// CallHash is blake2_256 of the encoded staking.nominate(targets).
	CallHash(ctx context.Context, targets []string) (string, error)
	Nominate(ctx context.Context, n program.NominatorConfig, targets []string) (Sent, error)
	Announce(ctx context.Context, n program.NominatorConfig, targets []string) (Sent, error)
	ExecuteAnnounced(ctx context.Context, n program.NominatorConfig, targets []string) (Sent, error)
	RemoveAnnouncement(ctx context.Context, n program.NominatorConfig, callHash string) (Sent, error)
}

// Program gives the current program file (program.Watcher).
type Program interface {
	Current() (*program.Config, error)
}

// Config configures a Runner.
type Config struct {
	Chain   string
	Store   *state.Store
	Program Program
	// Live and Sender are needed to send (Send) and to execute
	// announcements; without them rounds are dry runs.
	Live   Live
	Sender Sender
	Send   bool
	// Stale is how old the sentry's last chain read may be before the
	// chain facts count as unreadable (their checks unknown, the last
	// known verdicts kept); default 5 minutes.
	Stale time.Duration
	// NoTelemetryFeed is set when this process runs the chain's sentries
	// and no telemetry feed is configured for it (--polkadot-telemetry):
	// the telemetry checks are then unknown with a configuration message,
	// and telemetry records left in the store by an earlier run with a
	// feed are not judged by (nothing refreshes them). A consumer whose
	// sentries run elsewhere leaves it false: it cannot know.
	NoTelemetryFeed bool
	// TelemetryStale is how old the newest telemetry record's feed time
	// (events.Telemetry.FeedAt; At for records without one) may be before
	// the feed counts as down: the telemetry checks are then unknown, the
	// last known verdicts kept, rather than judged on frozen records — a
	// sentry republishes its nodes every 5 minutes (telemetry.DefaultEvery)
	// with their feed time, so the default is twice that, 10 minutes.
	TelemetryStale time.Duration
	// MaxSendAttempts bounds the sends of one nominator in one round (a
	// failed extrinsic still pays its fee): after that many failures the
	// nominator is given up for the round, and the round fails with the
	// error; default 3. SendBackoff is the wait after the first failure,
	// doubled after each further one; default 2 minutes.
	MaxSendAttempts int
	SendBackoff     time.Duration
	// LeaseHolder names this process for the chain's send lease
	// (state.HoldSendLease): with Send, a pass starts rounds and sends only
	// while it holds the lease, so two consumers sending on one store do
	// not send a round twice; the other computes and records validity and
	// scores but nothing to send. Default host/pid/random. LeaseTTL is how
	// long a renewal keeps the lease (longer than a pass's interval, so that
	// the holder keeps it between passes); a sending pass renews it every
	// LeaseTTL/3 and before each send, and stops sending when it is lost
	// (keepLease, renewBeforeSend); default 5 minutes.
	LeaseHolder string
	LeaseTTL    time.Duration
	// After is the timer of the lease's renewal while a pass sends (every
	// LeaseTTL/3): time.After by default, a test's clock otherwise.
	After func(time.Duration) <-chan time.Time
	Log   *slog.Logger
	Now   func() time.Time
}

// Runner is the program on one chain.
type Runner struct {
	cfg      Config
	log      *slog.Logger
	releases releases
	kusama   kusamaRanks
	rules    []program.Rule
	scored   string // era/session last scored, "" none this run
	// eraSeen is the active era and its start last seen, eraMs the era
	// length measured when the active era moved on (0 not yet).
	eraSeen      uint32
	eraSeenStart int64
	eraMs        int64
	warned       string
	// waitLogged is why the due round waited at the last pass, logged once.
	waitLogged string
	// recorded is the nominator set last recorded in the store ("" none
	// this run); delegates the proxies' accounts read from their keys, by
	// account and key file, and failed when the last read failed.
	recorded  string
	delegates map[string]string
	failed    map[string]time.Time
	// noTelemetry is why no telemetry can be judged by in this pass ("" when
	// nodes are known); set by gather, read by env.
	noTelemetry string
	// telemetryNoted is the noTelemetry last seen, so that a stale feed is
	// logged once.
	telemetryNoted string
	// leaseOther is the process last seen holding the send lease ("" when
	// this one holds it, or has not asked), so that it is logged once.
	leaseOther string
	// announcedSeen is how many pending announcements a dry run last saw,
	// so that they are logged once.
	announcedSeen int
	// tx is the Sender with the lease renewed before each send.
	tx Sender
	// leaseMu guards lostLease: why this pass lost the send lease ("" it
	// has not), set by a send's renewal or the renewing goroutine.
	leaseMu   sync.Mutex
	lostLease string
}

// New checks cfg.
func New(cfg Config) (*Runner, error) {
	if err := events.CheckChain(cfg.Chain); err != nil {
		return nil, err
	}
	if cfg.Store == nil || cfg.Program == nil {
		return nil, errors.New("polkadot runner: a store and a program file are required")
	}
	if cfg.Send && (cfg.Live == nil || cfg.Sender == nil) {
		return nil, errors.New("polkadot runner: sending needs the chain's RPC and the nominators' keys")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Stale <= 0 {
		cfg.Stale = 5 * time.Minute
	}
	if cfg.TelemetryStale <= 0 {
		cfg.TelemetryStale = 2 * telemetry.DefaultEvery
	}
	if cfg.MaxSendAttempts <= 0 {
		cfg.MaxSendAttempts = 3
	}
	if cfg.SendBackoff <= 0 {
		cfg.SendBackoff = 2 * time.Minute
	}
	if cfg.LeaseHolder == "" {
		host, _ := os.Hostname()
		cfg.LeaseHolder = fmt.Sprintf("%s/%d/%08x", host, os.Getpid(), rand.Uint32())
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 5 * time.Minute
	}
	if cfg.After == nil {
		cfg.After = time.After
	}
	r := &Runner{cfg: cfg, log: cfg.Log.With("component", "polkadot-program", "chain", cfg.Chain),
		delegates: map[string]string{}, failed: map[string]time.Time{}}
	if cfg.Sender != nil {
		r.tx = leasedSender{Sender: cfg.Sender, r: r}
	}
	return r, nil
}

// Pass is what one Run did, for logs and tests.
type Pass struct {
	Candidates, Valid, Invalid, Unknown int
	Scored                              bool
	SnapshotID                          int64
	Round                               *state.Round
	Executed, Cancelled                 int
	// Waiting is why a due round was not started ("" none waits).
	Waiting string
	// Failed are announcements given up this pass (MaxSendAttempts failed
	// executions).
	Failed int
}

// Run is one pass (the analyzer's function).
func (r *Runner) Run(ctx context.Context) error {
	_, err := r.Pass(ctx)
	return err
}

// Pass runs once and says what it did.
func (r *Runner) Pass(ctx context.Context) (*Pass, error) {
	st := r.cfg.Store
	chain := r.cfg.Chain
	now := r.cfg.Now()
	file, ferr := r.cfg.Program.Current()
	if file == nil {
		return nil, fmt.Errorf("program file: %w", ferr)
	}
	if ferr != nil && ferr.Error() != r.warned {
		r.warned = ferr.Error()
		r.log.Warn("the program file changed but is invalid; the last good one stays in force", "err", ferr)
	}
	cfg := file.WithDefaults(chain)
	ch, err := st.Chain(ctx, chain)
	if err != nil {
		return nil, err
	}
	if ch == nil {
		return &Pass{}, nil // the sentry has not reported yet
	}
	// The chain's records name accounts in its own prefix: a file's
	// address in another (the generic 42) is the same account.
	cfg = cfg.WithPrefix(ch.SS58Prefix)
	if err := r.recordNominators(ctx, &cfg, now); err != nil {
		return nil, err
	}
	meta, err := st.Meta(ctx, chain)
	if err != nil {
		return nil, err
	}
	cands, eras, err := r.gather(ctx, &cfg, ch, now)
	if err != nil {
		return nil, err
	}
	pass := &Pass{Candidates: len(cands)}

	// Faults derived from the eras and telemetry, then ranks: both logs are
	// recomputed from what is stored, so a missed period is backfilled.
	if err := r.derivedFaults(ctx, eras, cands, &cfg, now); err != nil {
		return nil, err
	}
	if err := r.ranks(ctx, cands, &cfg, ch, now); err != nil {
		return nil, err
	}
	counts, err := st.FaultCounts(ctx, chain)
	if err != nil {
		return nil, err
	}
	for _, c := range cands {
		c.Faults = counts[c.Stash]
	}

	env := r.env(ctx, &cfg, ch, cands, now)
	rows := make([]state.CandidateState, 0, len(cands))
	var valid []*program.Candidate
	for _, c := range cands {
		v := program.Evaluate(r.rules, c, env)
		switch v.Status {
		case program.Valid:
			pass.Valid++
			valid = append(valid, c)
		case program.Invalid:
			pass.Invalid++
		default:
			pass.Unknown++
		}
		rows = append(rows, state.CandidateState{Chain: chain, Entry: c.Entry, Validity: v, TelemetryMatch: c.TelemetryMatch,
			Rank: c.Rank, Faults: c.Faults, Inclusion: c.Inclusion, SpanInclusion: c.SpanInclusion, NominatedAt: c.NominatedAt, Updated: now.UnixMilli()})
	}
	if err := st.PutCandidates(ctx, chain, rows); err != nil {
		return nil, err
	}
	keep := make([]string, 0, len(cands))
	for _, c := range cands {
		keep = append(keep, c.Stash)
	}
	if _, err := st.RemoveCandidates(ctx, chain, keep); err != nil {
		return nil, err
	}

	// Only the holder of the send lease settles announcements and starts
	// rounds; while this pass sends, the lease is renewed every TTL/3 so
	// that a pass longer than the TTL keeps it.
	sending, err := r.holdLease(ctx, now)
	if err != nil {
		return pass, err
	}
	r.setLeaseLost("")
	if sending && r.cfg.Send {
		stop := r.keepLease(ctx)
		defer stop()
	}
	// Pending announcements first: a round is not started while one waits.
	pending := 0
	switch {
	case sending && r.cfg.Send:
		pending, err = r.executeAnnounced(ctx, &cfg, ch, cands, env, pass)
		if err != nil {
			r.log.Warn("announced nominations not settled; retrying next pass", "err", err)
		}
	case sending:
		if pending, err = r.announcedHold(ctx); err != nil {
			return pass, err
		}
	}

	due := program.IsRoundDue(meta.LastNominatedEra, ch.ActiveEra, cfg.Nomination.EraPeriod, meta.LastRoundID > 0)
	// A started round of the active era is finished on every pass — due or
	// not (a first round before era_period eras have passed is not "due"
	// again once started), pending announcements or not (they hold back
	// only the start of a new round): its other nominators must not wait
	// for an announcement's delay, nor dangle until the era ends.
	// A round of the active era that failed (its sends gave up) holds the
	// era: a new round would send, and pay, again; the next era period's
	// round tries afresh.
	var open, failed *state.Round
	if sending {
		last, err := st.LastRound(ctx, chain)
		if err != nil {
			return pass, err
		}
		if last != nil && last.Era == ch.ActiveEra {
			switch last.Status {
			case RoundStarted:
				open = last
			case RoundFailed:
				failed = last
			}
		}
	}
	defer func() {
		// After the round, if any: when the next one is due.
		if err := r.noteNextNomination(ctx, chain, ch, cfg.Nomination.EraPeriod, now.UnixMilli()); err != nil {
			r.log.Warn("next nomination not recorded; retrying next pass", "err", err)
		}
	}()
	// The inputs each nominator's number of targets is sized on: while one
	// is unknown the due round waits (TargetCount would fall to 1 target
	// for the whole era period), and is not scored again each pass.
	var inputs []program.NominatorInput
	wait := ""
	startable := due && pending == 0 && open == nil && failed == nil && sending
	if startable {
		if inputs, wait, err = r.roundInputs(ctx, &cfg, ch); err != nil {
			return pass, err
		}
	}
	// Only the process that decides rounds says why they wait: another
	// sharing the store would clear the holder's reason on every pass.
	if sending {
		if err := r.noteRoundWait(ctx, meta, wait, now); err != nil {
			r.log.Warn("why the round waits not recorded; retrying next pass", "err", err)
		}
	}
	pass.Waiting = wait
	// Scored once per era and session, and again for the round it starts:
	// a due round held back (announcements pending, a round open or
	// failed in this era, another process holding the send lease) would
	// otherwise store a full snapshot on every pass until the era ends.
	key := fmt.Sprintf("%d/%d", ch.ActiveEra, ch.Session)
	if r.scored != key || startable && wait == "" {
		snap := program.ScoreRound(valid, program.ScoreInput{Chain: chain, Era: ch.ActiveEra, Session: ch.Session, Now: now,
			Weights: cfg.Score.Weights, Seed: cfg.Score.Seed, Randomness: cfg.Score.Randomness,
			Own: nominatorAccounts(&cfg), BannedProviders: cfg.Rules.BlacklistedProviders, Decimals: ch.Decimals})
		id, err := st.SaveSnapshot(ctx, &snap)
		if err != nil {
			return nil, err
		}
		r.scored, pass.Scored, pass.SnapshotID = key, true, id
		if startable && wait == "" && r.leaseLostReason() == "" {
			round, err := r.round(ctx, &cfg, ch, &snap, id, cands, env, inputs, now)
			if err != nil {
				return pass, err
			}
			pass.Round = round
		}
	}
	if failed != nil {
		pass.Round = failed
	}
	if open != nil && r.leaseLostReason() == "" {
		pass.Round = open
		if err := r.finishRound(ctx, &cfg, ch, open, cands, env, now); err != nil {
			return pass, err
		}
	}
	return pass, nil
}

// holdLease takes or renews the chain's send lease when sending is on,
// and says whether this pass may start rounds and send: always for a dry
// run (it sends nothing). Another holder is logged once, and taking the
// lease over once.
//
// A dry run takes no lease, but leaves the rounds to a sending process
// that holds it: the two share the store's rounds and last nominated
// era, so a dry-run round there would stand as that era's nomination and
// the sender would skip the era.
func (r *Runner) holdLease(ctx context.Context, now time.Time) (bool, error) {
	if !r.cfg.Send {
		holder, err := r.cfg.Store.SendLeaseHolder(ctx, r.cfg.Chain, now)
		if err != nil {
			return false, fmt.Errorf("the send lease: %w", err)
		}
		switch {
		case holder != "" && holder != r.leaseOther:
			r.log.Info("a sending process shares this store and holds the send lease: this dry-run process starts no round while it does (the sender's rounds are the ones recorded)",
				"holder", holder, "self", r.cfg.LeaseHolder)
		case holder == "" && r.leaseOther != "":
			r.log.Info("no sending process holds the send lease any more: this dry-run process starts rounds again", "after", r.leaseOther)
		}
		r.leaseOther = holder
		return holder == "", nil
	}
	held, other, err := r.cfg.Store.HoldSendLease(ctx, r.cfg.Chain, r.cfg.LeaseHolder, now, r.cfg.LeaseTTL)
	switch {
	case err != nil:
		return false, fmt.Errorf("the send lease: %w", err)
	case held && r.leaseOther != "":
		r.log.Info("took the send lease: this process now starts rounds and sends", "holder", r.cfg.LeaseHolder, "after", r.leaseOther)
		r.leaseOther = ""
	case !held && other != r.leaseOther:
		r.log.Info("another process holds the send lease: this one starts no round and sends nothing while it does",
			"holder", other, "self", r.cfg.LeaseHolder, "ttl", r.cfg.LeaseTTL)
		r.leaseOther = other
	}
	return held, nil
}

// gather joins the candidates file with the store: each candidate's
// chain record, telemetry node, Kusama answer, inclusion and the previous
// checks.
func (r *Runner) gather(ctx context.Context, cfg *program.Config, ch *events.Chain, now time.Time) ([]*program.Candidate, []events.Era, error) {
	st, chain := r.cfg.Store, r.cfg.Chain
	r.rules = program.Rules(cfg.Rules)
	from := uint32(0)
	if ch.ActiveEra >= 84 {
		from = ch.ActiveEra - 83
	}
	eras, err := st.ErasFull(ctx, chain, from, ch.ActiveEra)
	if err != nil {
		return nil, nil, err
	}
	nodes, err := st.TelemetryNodes(ctx, chain)
	if err != nil {
		return nil, nil, err
	}
	flat := make([]events.Telemetry, 0, len(nodes))
	for _, n := range nodes {
		flat = append(flat, *n)
	}
	switch {
	case r.cfg.NoTelemetryFeed:
		flat = flat[:0]
		r.noTelemetry = fmt.Sprintf("no telemetry feed configured for %s (--polkadot-telemetry %s=wss://…/feed): the telemetry checks cannot be evaluated; "+
			"give a feed, or list ONLINE, CLIENT_UPGRADE, CONNECTION_TIME, ACCUMULATED_OFFLINE_TIME, PROVIDER and SANCTIONED_GEO_AREA in rules.skip", chain, chain)
	case len(flat) == 0:
		r.noTelemetry = fmt.Sprintf("the telemetry feed has reported no node of %s yet (not connected or not subscribed yet, or it does not follow this chain's genesis)", chain)
	default:
		r.noTelemetry = ""
		if feedAt := newestFeed(flat); now.Sub(time.UnixMilli(feedAt)) > r.cfg.TelemetryStale {
			flat = flat[:0]
			r.noTelemetry = fmt.Sprintf("the telemetry feed of %s has been down or silent since %s (longer than %s): its node records are frozen, so the telemetry checks "+
				"cannot be evaluated until it reports again (see the sentry's telemetry log)", chain, time.UnixMilli(feedAt).UTC().Format(time.RFC3339), r.cfg.TelemetryStale)
		}
	}
	if r.noTelemetry != r.telemetryNoted {
		if r.noTelemetry != "" && len(nodes) > 0 && !r.cfg.NoTelemetryFeed {
			r.log.Warn("telemetry not judged by: the feed is stale", "reason", r.noTelemetry)
		}
		r.telemetryNoted = r.noTelemetry
	}
	prev, err := st.Candidates(ctx, chain, state.CandidateFilter{})
	if err != nil {
		return nil, nil, err
	}
	prevBy := map[string]state.Candidate{}
	for _, p := range prev {
		prevBy[p.Entry.Stash] = p
	}
	// The sentry has not read the chain for a while (its RPC is down): the
	// stored facts are the last known, not the present.
	staleErr := ""
	if ch.SeenAt > 0 && now.Sub(time.UnixMilli(ch.SeenAt)) > r.cfg.Stale {
		staleErr = fmt.Sprintf("no chain read since %s: the sentry cannot reach the chain", time.UnixMilli(ch.SeenAt).UTC().Format(time.RFC3339))
	}
	out := make([]*program.Candidate, 0, len(cfg.Candidates))
	for _, e := range cfg.Candidates {
		c := &program.Candidate{Entry: e}
		v, err := st.Validator(ctx, chain, e.Stash)
		if err != nil {
			return nil, nil, err
		}
		if v != nil && staleErr != "" {
			v = state.MergeValidator(v, unreadable(v, staleErr, now))
		}
		c.Chain = v
		if r.noTelemetry != "" {
			c.TelemetryMatch = program.Match{Note: r.noTelemetry}
		} else {
			node, how, note := telemetry.Match(e.Name, flat)
			c.Telemetry = node
			c.TelemetryMatch = program.Match{How: how, Note: note}
			if node != nil {
				c.TelemetryMatch.Node = node.Name
			}
		}
		if p, ok := prevBy[e.Stash]; ok {
			c.Prev = p.Validity.Checks
		}
		c.Inclusion, c.SpanInclusion, c.NominatedAt = program.Inclusion(eras, e.Stash)
		if e.KusamaStash != "" && cfg.Rules.KusamaAPI != "" && chain != "kusama" {
			c.Kusama = r.kusama.rank(ctx, cfg.Rules.KusamaAPI, cfg.Rules.KusamaChain, e.KusamaStash, now)
		}
		out = append(out, c)
	}
	return out, eras, nil
}

func (r *Runner) env(ctx context.Context, cfg *program.Config, ch *events.Chain, cands []*program.Candidate, now time.Time) *program.Env {
	rel := r.releases.Get(ctx, cfg.Rules, now)
	return &program.Env{Now: now, Chain: ch, Network: r.cfg.Chain, Rules: cfg.Rules, Release: rel, Candidates: cands,
		Decimals: ch.Decimals, Token: ch.Token, TelemetryUnavailable: r.noTelemetry}
}

// derivedFaults records the faults that no chain event carries: an active
// validator of a complete era with no points.
func (r *Runner) derivedFaults(ctx context.Context, eras []events.Era, cands []*program.Candidate, cfg *program.Config, now time.Time) error {
	want := map[string]bool{}
	for _, c := range cands {
		want[c.Stash] = true
	}
	var fs []events.Fault
	for _, f := range program.ZeroPointFaults(eras) {
		if want[f.Stash] {
			f.Chain = r.cfg.Chain
			fs = append(fs, f)
		}
	}
	// Telemetry offline beyond the weekly limit: one fault per candidate
	// and week (its id), the reason with the minutes.
	const week = 7 * 24 * time.Hour
	limit := time.Duration(cfg.Rules.OfflineWeekMax * float64(week))
	for _, c := range cands {
		t := c.Telemetry
		if t == nil || cfg.Rules.OfflineWeekMax <= 0 || time.Duration(t.OfflineWeek)*time.Millisecond <= limit {
			continue
		}
		era, session := uint32(0), uint32(0)
		if len(eras) > 0 {
			era = eras[len(eras)-1].Era
		}
		fs = append(fs, events.Fault{V: events.SchemaVersion, Chain: r.cfg.Chain, ID: fmt.Sprintf("%s/offline/%s/%s", r.cfg.Chain, c.Stash, t.Week),
			Stash: c.Stash, Kind: events.FaultOffline, Era: era, Session: session, At: now.UnixMilli(),
			Reason: fmt.Sprintf("%s was offline %d minutes in week %s by telemetry (node %q), over the %d allowed", c.Name,
				t.OfflineWeek/60_000, t.Week, t.Name, int(limit.Minutes()))})
	}
	if len(fs) == 0 {
		return nil
	}
	return r.cfg.Store.InTx(ctx, "record derived polkadot faults", func(t *state.Tx) error {
		for i := range fs {
			if err := t.AddFault(&fs[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// ranks appends to the rank log the periods that became final since its
// heads, read from the stored eras (which the sentry backfills and the
// store never drops): rank counts every active period of the stored
// history, not of the 84-era inclusion window, so Kusama's 100 is
// reachable. A pass reads only the eras from the earliest period still to
// append.
func (r *Runner) ranks(ctx context.Context, cands []*program.Candidate, cfg *program.Config, ch *events.Chain, now time.Time) error {
	st := r.cfg.Store
	ids := map[string]string{}
	entries := make([]program.Entry, 0, len(cands))
	for _, c := range cands {
		entries = append(entries, c.Entry)
		if c.Chain != nil && c.Chain.Identity.Known && c.Chain.Identity.Value != nil {
			ids[c.Stash] = c.Chain.Identity.Value.Root(c.Stash)
			// Every account of the identity counts for its candidates (1KV v3).
			for _, sub := range c.Chain.Identity.Value.Subs {
				ids[sub] = ids[c.Stash]
			}
		}
	}
	stored, err := st.RankHeads(ctx, r.cfg.Chain)
	if err != nil {
		return err
	}
	period := cfg.Nomination.EraPeriod
	if period == 0 {
		period = 1
	}
	heads := make(map[string]program.RankHead, len(stored))
	from, haveFrom, all := uint32(0), false, false
	for _, c := range cands {
		h, ok := stored[c.Stash]
		if !ok {
			all = true // a stash with no row yet starts at the first stored era
			continue
		}
		heads[c.Stash] = program.RankHead{Period: h.Period, Rank: h.Rank, Has: true}
		if next := h.Period + period; !haveFrom || next < from {
			from, haveFrom = next, true
		}
	}
	if all {
		from = 0
	}
	recs, err := st.Eras(ctx, r.cfg.Chain, from, 0)
	if err != nil {
		return err
	}
	eras := make([]events.Era, 0, len(recs))
	for _, e := range recs {
		eras = append(eras, events.Era{Chain: r.cfg.Chain, Era: e.Era, Validators: e.Validators, Complete: e.Complete, Block: e.Block})
	}
	// An era the sentry no longer reads — before its 84-era window, or
	// older than the chain's history depth — will never be stored: a
	// period missing one is final with what is stored.
	window := uint32(program.InclusionEras)
	if d := ch.HistoryDepth; d > 0 && d < window {
		window = d
	}
	lostBefore := uint32(0)
	if ch.ActiveEra+1 > window {
		lostBefore = ch.ActiveEra + 1 - window
	}
	evs := program.AppendRanks(eras, period, ids, entries, heads, lostBefore)
	rows := make([]state.RankPeriod, 0, len(evs))
	for _, e := range evs {
		rows = append(rows, state.RankPeriod{Stash: e.Stash, Period: e.Period, Eras: e.Eras, Active: e.Active, Rank: e.Rank, At: now.UnixMilli()})
		heads[e.Stash] = program.RankHead{Period: e.Period, Rank: e.Rank, Has: true}
	}
	if err := st.PutRankPeriods(ctx, r.cfg.Chain, rows); err != nil {
		return err
	}
	for _, c := range cands {
		c.Rank = heads[c.Stash].Rank
	}
	return nil
}

// recordNominators records the program file's nominators in the store
// (state.SyncNominators) when the set differs from the one this runner
// last recorded, so that each is known — and listed by the API — before
// its first nomination, and one the file dropped is marked removed.
func (r *Runner) recordNominators(ctx context.Context, cfg *program.Config, now time.Time) error {
	ns := make([]state.Nominator, 0, len(cfg.Nomination.Nominators))
	for _, n := range cfg.Nomination.Nominators {
		ns = append(ns, state.Nominator{Account: n.Account, Proxy: n.Proxy, ProxyDelay: n.ProxyDelay, Delegate: r.delegate(n, now)})
	}
	key := fmt.Sprint(ns)
	if key == r.recorded {
		return nil
	}
	if _, err := r.cfg.Store.SyncNominators(ctx, r.cfg.Chain, ns, now.UnixMilli()); err != nil {
		return err
	}
	r.recorded = key
	return nil
}

// delegateRetry is how long a proxy's account that could not be read
// (its key, or the RPC the sender needs for the chain's prefix) waits
// before the next read.
const delegateRetry = 10 * time.Minute

// delegate is the account of n's proxy: read from its key by the sender,
// so "" for a runner that does not send (it loads no key) and for a
// nominator without a proxy.
func (r *Runner) delegate(n program.NominatorConfig, now time.Time) string {
	if !n.Proxy || r.cfg.Sender == nil {
		return ""
	}
	k := n.Account + "\x00" + n.Key
	if d, ok := r.delegates[k]; ok {
		return d
	}
	if at, ok := r.failed[k]; ok && now.Sub(at) < delegateRetry {
		return ""
	}
	d, err := r.cfg.Sender.Delegate(n)
	if err != nil {
		r.failed[k] = now
		r.log.Warn("the proxy's account of a nominator is not known yet; retrying later", "nominator", n.Account, "retry_in", delegateRetry, "err", err)
		return ""
	}
	delete(r.failed, k)
	r.delegates[k] = d
	return d
}

func nominatorAccounts(cfg *program.Config) []string {
	var out []string
	for _, n := range cfg.Nomination.Nominators {
		out = append(out, n.Account)
	}
	return out
}

// round starts a nomination round: each nominator's slice of the ranked
// valid list, recorded, and sent when sending is on.
func (r *Runner) round(ctx context.Context, cfg *program.Config, ch *events.Chain, snap *program.Snapshot, snapID int64,
	cands []*program.Candidate, env *program.Env, inputs []program.NominatorInput, now time.Time) (*state.Round, error) {
	st, chain := r.cfg.Store, r.cfg.Chain
	last, err := st.LastRound(ctx, chain)
	if err != nil {
		return nil, err
	}
	if last != nil && last.Era == ch.ActiveEra {
		if last.Status == RoundFailed {
			// Given up on for this era (its sends failed up to the bound):
			// a new round now would send, and pay, again. The next era
			// period's round tries afresh.
			return last, nil
		}
		// Started before a restart: finish it, do not start another.
		return last, r.finishRound(ctx, cfg, ch, last, cands, env, now)
	}
	if last != nil && last.Status == RoundStarted {
		// Its era ended with nominators not sent: the round for this era,
		// from this era's scores, replaces it. Marked so that no round
		// stays "started" for ever; its outcome keeps why each was not sent.
		for nominator, out := range last.Outcome {
			for t, o := range out {
				if strings.HasPrefix(o, "not sent") {
					out[t] = fmt.Sprintf("%s (era %d ended first)", o, last.Era)
				}
			}
			last.Outcome[nominator] = out
		}
		if _, err := st.UpdateRound(ctx, chain, last.ID, RoundExpired, last.Outcome, now.UnixMilli()); err != nil {
			return nil, err
		}
		r.log.Warn("nomination round expired: its era ended before every nominator was sent", "round", last.ID, "era", last.Era, "active_era", ch.ActiveEra)
	}
	assign := program.Assign(snap.Scores, inputs)
	round := state.Round{Chain: chain, Era: ch.ActiveEra, Started: now.UnixMilli(), DryRun: !r.cfg.Send, Assignments: assign,
		Status: RoundStarted, Outcome: map[string]map[string]string{}, Updated: now.UnixMilli()}
	id, err := st.StartRound(ctx, round)
	if err != nil {
		return nil, err
	}
	round.ID = id
	r.log.Info("nomination round", "era", ch.ActiveEra, "dry_run", round.DryRun, "nominators", len(assign), "snapshot", snapID)
	return &round, r.finishRound(ctx, cfg, ch, &round, cands, env, now)
}

// roundInputs sizes each nominator's slice of a round (TargetCount, 1KV's
// rule) from its balance and the elected validators' stakes, by the
// sentry's latest read. When one is unknown — a balance never read, no
// elected stakes — it says why instead (wait): sized on nothing, the count
// falls to one target, nominated for a whole era period.
func (r *Runner) roundInputs(ctx context.Context, cfg *program.Config, ch *events.Chain) (inputs []program.NominatorInput, wait string, err error) {
	if len(ch.ElectedStakes) == 0 {
		return nil, fmt.Sprintf("the round waits: the elected validators' stakes of era %d are not known (the sentry's read of the era's exposures has none), "+
			"so the number of targets of each nominator cannot be sized", ch.ActiveEra), nil
	}
	var waits []string
	for _, n := range cfg.Nomination.Nominators {
		v, err := r.cfg.Store.Validator(ctx, r.cfg.Chain, n.Account)
		if err != nil {
			return nil, "", fmt.Errorf("read the balance of nominator %s: %w", n.Account, err)
		}
		switch {
		case v == nil:
			waits = append(waits, fmt.Sprintf("the balance of %s has not been read yet (the sentry reads the program's nominators each poll)", n.Account))
		case !v.Balance.Known:
			waits = append(waits, fmt.Sprintf("the balance of %s could not be read: %s", n.Account, v.Balance.Err))
		default:
			inputs = append(inputs, program.NominatorInput{Account: n.Account,
				Count: program.TargetCount(v.Balance.Value, ch.ElectedStakes, maxTargets(cfg, ch), ch.Decimals)})
		}
	}
	if len(waits) > 0 {
		return nil, "the round waits: " + strings.Join(waits, "; ") + "; a nominator's number of targets cannot be sized without it", nil
	}
	return inputs, "", nil
}

// noteRoundWait records why the due round waits ("" it does not), when
// that changed, and logs each new reason once.
func (r *Runner) noteRoundWait(ctx context.Context, meta state.Meta, wait string, now time.Time) error {
	if wait != "" && wait != r.waitLogged {
		r.log.Warn("nomination round not started: an input it is sized on is unknown; it starts once the sentry reads it", "reason", wait)
	}
	r.waitLogged = wait
	if wait == meta.RoundWait {
		return nil
	}
	return r.cfg.Store.SetRoundWait(ctx, r.cfg.Chain, wait, now.UnixMilli())
}

// The round statuses.
const (
	RoundStarted = "started"
	RoundDone    = "done"
	RoundFailed  = "failed"
	// RoundExpired is a started round whose era ended before every
	// nominator was sent; the next era's round replaced it.
	RoundExpired = "expired"
)

// finishRound does what is left of a round: each nominator not yet
// nominated or announced in this round, and not given up on. A send that
// fails is retried on a later pass after a back-off (SendBackoff,
// doubling), at most MaxSendAttempts times, the count kept in the round
// so that a restart does not reset it; then the nominator is given up and
// the round fails with the error. A nominator whose account is not bonded
// (or not its own controller) is not sent at all: that failure is certain
// and would only cost fees. Before each nominate or announce the round's
// targets are re-validated on fresh chain reads (revalidate, as before an
// execution): when one is now invalid nothing is sent for that nominator in
// this round — its send is cancelled with the reasons, as an announcement
// with an invalid target is — and no attempt is counted.
func (r *Runner) finishRound(ctx context.Context, cfg *program.Config, ch *events.Chain, round *state.Round,
	cands []*program.Candidate, env *program.Env, now time.Time) error {
	st := r.cfg.Store
	if round.Status == RoundDone || round.Status == RoundFailed {
		return nil
	}
	done, err := r.doneInRound(ctx, round.ID)
	if err != nil {
		return err
	}
	if round.Attempts == nil {
		round.Attempts = map[string]state.SendAttempts{}
	}
	var errs []error
	waiting := false           // a nominator left to send on a later pass
	stopped := ""              // why sending stopped this pass (the send lease lost)
	var sends, others []string // the nominators this pass sent (or found sent), and those whose outcome it decided otherwise
	fresh := r.roundReads(cfg, round, done)
	for _, a := range round.Assignments {
		if note := done[a.Nominator]; note != "" {
			if len(round.Outcome[a.Nominator]) == 0 && len(a.Targets) > 0 {
				out := map[string]string{}
				for _, t := range a.Targets {
					out[t] = note
				}
				round.Outcome[a.Nominator] = out
				sends = append(sends, a.Nominator)
			}
			continue
		}
		if len(a.Targets) == 0 {
			continue
		}
		att := round.Attempts[a.Nominator]
		if att.GaveUp || att.Cancelled != "" {
			continue
		}
		if att.Count > 0 {
			if next := time.UnixMilli(att.Last).Add(r.backoff(att.Count)); now.Before(next) {
				waiting = true
				continue
			}
		}
		out := map[string]string{}
		// notSentYet: a failure before anything was submitted — no fee
		// paid, so no attempt counted — tried again next pass.
		notSentYet := func(err error) {
			waiting = true
			errs = append(errs, fmt.Errorf("nominator %s: %w", a.Nominator, err))
			for _, t := range a.Targets {
				out[t] = "not sent: " + err.Error()
			}
			round.Outcome[a.Nominator] = out
			others = append(others, a.Nominator)
		}
		n, ok := nominatorConfig(cfg, a.Nominator)
		sendErr := error(nil) // a send that reached the chain and failed
		switch {
		case round.DryRun || !ok:
			note := "dry run: would nominate"
			if !ok {
				note = "nominator no longer in the program file: not sent"
			}
			for _, t := range a.Targets {
				out[t] = note
			}
			err = st.AddNomination(ctx, state.Nomination{Chain: r.cfg.Chain, ID: fmt.Sprintf("%d-%s", round.ID, a.Nominator), RoundID: round.ID,
				Nominator: a.Nominator, Era: round.Era, Targets: a.Targets, At: now.UnixMilli(), DryRun: true})
		default:
			if perr := r.nominatorReady(ctx, n, ch); perr != nil {
				// Retried each pass (the bond may be fixed within the era),
				// the round expiring with its era otherwise.
				notSentYet(perr)
				continue
			}
			var inv invalidTargets
			if n.Proxy && n.ProxyDelay > 0 {
				sendErr = r.announce(ctx, n, a.Targets, round, fresh, cands, env, now)
				var ns notSent
				if errors.As(sendErr, &ns) {
					notSentYet(ns.err)
					continue
				}
				if errors.As(sendErr, &inv) {
					r.cancelSend(round, a, inv, out)
					others = append(others, a.Nominator)
					continue
				}
				for _, t := range a.Targets {
					out[t] = fmt.Sprintf("announced: executes after %d blocks", n.ProxyDelay)
				}
			} else {
				// The targets and the nominator's own record, read now: sent
				// before a restart that lost its record? Then it is recorded,
				// not sent (and paid) again; otherwise every target must
				// still be valid.
				by, bad, rerr := r.revalidate(ctx, fresh, a.Targets, cands, env)
				found := false
				if rerr == nil {
					found, rerr = nominatedOnChain(by[a.Nominator], a.Nominator, a.Targets, round.Era)
				}
				if rerr != nil {
					notSentYet(rerr)
					continue
				}
				if !found && len(bad) > 0 {
					r.cancelSend(round, a, invalidTargets{bad}, out)
					others = append(others, a.Nominator)
					continue
				}
				var sent Sent
				note := "nominated"
				if found {
					note = "nominated (found on chain: sent before a restart)"
				} else {
					sent, sendErr = r.tx.Nominate(ctx, n, a.Targets)
				}
				if sendErr == nil {
					err = st.AddNomination(ctx, state.Nomination{Chain: r.cfg.Chain, ID: fmt.Sprintf("%d-%s", round.ID, a.Nominator), RoundID: round.ID,
						Nominator: a.Nominator, Era: round.Era, Targets: a.Targets, At: now.UnixMilli(), BlockHash: sent.BlockHash, TxHash: sent.TxHash})
				}
				for _, t := range a.Targets {
					out[t] = note
				}
			}
		}
		if why, lost := isLeaseLost(sendErr); lost {
			// Nothing submitted: no attempt; the rest waits for the holder.
			// Its note is written only where the round has no outcome for
			// the nominator: the new holder may have sent it since.
			stopped = why
			if len(round.Outcome[a.Nominator]) == 0 {
				for _, t := range a.Targets {
					out[t] = "not sent: " + why
				}
				round.Outcome[a.Nominator] = out
				others = append(others, a.Nominator)
			}
			errs = append(errs, fmt.Errorf("nominator %s: %w", a.Nominator, sendErr))
			break
		}
		if sendErr != nil {
			att.Count++
			att.Last, att.Error = now.UnixMilli(), sendErr.Error()
			note := fmt.Sprintf("not sent: %s (attempt %d of %d)", sendErr, att.Count, r.cfg.MaxSendAttempts)
			if att.Count >= r.cfg.MaxSendAttempts {
				att.GaveUp = true
				note = fmt.Sprintf("not sent: %s (gave up after %d attempts)", sendErr, att.Count)
			} else {
				waiting = true
			}
			round.Attempts[a.Nominator] = att
			errs = append(errs, fmt.Errorf("nominator %s, attempt %d of %d: %w", a.Nominator, att.Count, r.cfg.MaxSendAttempts, sendErr))
			for _, t := range a.Targets {
				out[t] = note
			}
		} else if err != nil {
			// Sent, but not recorded (a store error): the next pass
			// reconciles with the chain before sending again.
			waiting = true
			errs = append(errs, fmt.Errorf("nominator %s: %w", a.Nominator, err))
		}
		round.Outcome[a.Nominator] = out
		if sendErr == nil {
			sends = append(sends, a.Nominator)
		} else {
			others = append(others, a.Nominator)
		}
	}
	round.Status, round.Reason = RoundDone, ""
	var gaveUp []string
	for _, a := range round.Assignments {
		if att := round.Attempts[a.Nominator]; att.GaveUp {
			gaveUp = append(gaveUp, fmt.Sprintf("nominator %s: %s (after %d attempts)", a.Nominator, att.Error, att.Count))
		}
	}
	switch {
	case stopped != "":
		// Left started with why: the lease's holder finishes it, after
		// reconciling with the chain.
		round.Status, round.Reason = RoundStarted, stopped
	case waiting:
		round.Status = RoundStarted // the rest on a later pass
	case len(gaveUp) > 0:
		round.Status, round.Reason = RoundFailed, strings.Join(gaveUp, "; ")
		r.log.Error("nomination round failed: sends given up", "round", round.ID, "era", round.Era, "reason", round.Reason)
	}
	round.Updated = now.UnixMilli()
	holder := ""
	if r.cfg.Send {
		holder = r.cfg.LeaseHolder
	}
	saved, err := st.SaveOpenRound(ctx, state.OpenRoundSave{Round: *round, Holder: holder, Sent: sends, Others: others})
	if err != nil {
		return err
	}
	switch saved {
	case state.RoundNotSaved:
		// Finished meanwhile by the process that took the send lease: its
		// record stands (it records what this one sent from the
		// nominations table).
		r.log.Warn("nomination round finished by another process meanwhile; this pass's view of it is not saved", "round", round.ID)
		return errors.Join(errs...)
	case state.RoundSendsSaved:
		r.log.Warn("the send lease is held by another process: of this pass's view of the round only its sends are saved", "round", round.ID, "sent", len(sends))
		return errors.Join(errs...)
	}
	if round.Status == RoundDone {
		if err := st.SetLastNominatedEra(ctx, r.cfg.Chain, round.Era, now.UnixMilli()); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

// nominatedOnChain reports whether v, account's record read from the
// chain just now, holds in staking.nominators a nomination of targets
// submitted in era or later: sent by this round before a restart lost its
// record (the process died waiting for the inclusion). The same targets
// from an earlier era are not this round's. An unreadable record is an
// error: nothing is sent on a guess.
func nominatedOnChain(v *events.Validator, account string, targets []string, era uint32) (bool, error) {
	if v == nil {
		return false, nil
	}
	ts, in := v.NominationTargets, v.NominationEra
	if !ts.Known || !in.Known {
		why := ts.Err
		if why == "" {
			why = in.Err
		}
		return false, fmt.Errorf("read the nominations of %s before sending: %s", account, why)
	}
	return in.Value >= era && sameSet(ts.Value, targets), nil
}

// invalidTargets are the reasons of a send's targets found invalid on
// fresh reads just before it: the send is not made.
type invalidTargets struct{ reasons []string }

func (e invalidTargets) Error() string {
	return "targets invalid before sending: " + strings.Join(e.reasons, "; ")
}

// cancelSend records that a's send is cancelled for the round (a target
// invalid on fresh reads): nothing sent, no attempt counted, the reason
// kept in the round's attempts and in each target's outcome.
func (r *Runner) cancelSend(round *state.Round, a program.Assignment, inv invalidTargets, out map[string]string) {
	att := round.Attempts[a.Nominator]
	att.Cancelled = inv.Error()
	round.Attempts[a.Nominator] = att
	for _, t := range a.Targets {
		out[t] = "cancelled: " + inv.Error()
	}
	round.Outcome[a.Nominator] = out
	r.log.Warn("nomination not sent: a target became invalid since the round began", "round", round.ID, "nominator", a.Nominator, "reason", att.Cancelled)
}

// notSent is a failure before any transaction was submitted (reading
// the chain, building the call): it costs no fee, so it is not counted
// against the bound on sends.
type notSent struct{ err error }

func (e notSent) Error() string { return e.err.Error() }
func (e notSent) Unwrap() error { return e.err }

// backoff is the wait after the n-th failed send (n ≥ 1).
func (r *Runner) backoff(n int) time.Duration {
	d := r.cfg.SendBackoff
	for i := 1; i < n && d < 24*time.Hour; i++ {
		d *= 2
	}
	return d
}

// nominatorReady checks, on the sentry's latest record, that n's account
// can nominate: it is bonded (staking.bonded names a controller) with an
// active ledger, and is its own controller — staking.nominate is
// dispatched as the account (directly or through the proxy), and the
// chain refuses it from anything but the controller (1KV's isBonded).
func (r *Runner) nominatorReady(ctx context.Context, n program.NominatorConfig, ch *events.Chain) error {
	v, err := r.cfg.Store.Validator(ctx, r.cfg.Chain, n.Account)
	if err != nil {
		return fmt.Errorf("read the nominator's bond: %w", err)
	}
	if v == nil {
		return fmt.Errorf("the bond of %s has not been read yet (the sentry reads the program's nominators each poll)", n.Account)
	}
	ctl := v.Controller
	switch {
	case !ctl.Known:
		return fmt.Errorf("the bond of %s could not be read: %s", n.Account, ctl.Err)
	case ctl.Value == "":
		return fmt.Errorf("%s is not bonded (staking.bonded has no controller): bond it (staking.bond) before it can nominate", n.Account)
	case ctl.Value != n.Account:
		return fmt.Errorf("%s is bonded with controller %s, so nominate must come from the controller: make the stash its own controller (staking.set_controller) or configure the controller's account", n.Account, ctl.Value)
	}
	if f := v.SelfStake; f.Known && (f.Value == "" || f.Value.Big().Sign() <= 0) {
		return fmt.Errorf("%s has no active bond (ledger active %s): bond funds before it can nominate", n.Account, program.FormatAmount(events.AmountOf(f.Value.Big()), ch.Decimals, ch.Token))
	}
	return nil
}

// doneInRound: the nominators of the round already nominated or
// announced, each with the outcome its record says (for a round whose
// outcome lacks it: the process that sent it lost the send lease before
// saving the round, and the round was finished without it).
func (r *Runner) doneInRound(ctx context.Context, roundID int64) (map[string]string, error) {
	out := map[string]string{}
	ns, err := r.cfg.Store.LatestNominations(ctx, r.cfg.Chain)
	if err != nil {
		return nil, err
	}
	for _, n := range ns {
		if n.RoundID == roundID {
			out[n.Nominator] = "nominated"
			if n.DryRun {
				out[n.Nominator] = "dry run: would nominate"
			}
		}
	}
	txs, err := r.cfg.Store.ProxyTxs(ctx, r.cfg.Chain, false, 1000)
	if err != nil {
		return nil, err
	}
	for _, t := range txs {
		if t.RoundID == roundID {
			out[t.Nominator] = fmt.Sprintf("announced: proxy tx %s, %s", t.ID, t.State)
		}
	}
	return out, nil
}

func nominatorConfig(cfg *program.Config, account string) (program.NominatorConfig, bool) {
	for _, n := range cfg.Nomination.Nominators {
		if n.Account == account {
			return n, true
		}
	}
	return program.NominatorConfig{}, false
}

func maxTargets(cfg *program.Config, ch *events.Chain) int {
	m := cfg.Nomination.MaxTargets
	if ch.MaxNominations > 0 && (m == 0 || int(ch.MaxNominations) < m) {
		m = int(ch.MaxNominations)
	}
	return m
}

// announce announces nominate(targets) through the time-delay proxy,
// unless the chain already holds that announcement (sent before a
// restart): then it is only recorded. Before announcing, the targets are
// re-validated on the pass's fresh reads: an invalid one is
// invalidTargets, nothing announced.
func (r *Runner) announce(ctx context.Context, n program.NominatorConfig, targets []string, round *state.Round, fresh *freshReads,
	cands []*program.Candidate, env *program.Env, now time.Time) error {
	delegate, err := r.cfg.Sender.Delegate(n)
	if err != nil {
		return notSent{err}
	}
	hash, err := r.cfg.Sender.CallHash(ctx, targets)
	if err != nil {
		return notSent{err}
	}
	anns, err := fresh.announcements(ctx, delegate)
	if err != nil {
		return notSent{err}
	}
	var block uint64
	var txs []string
	for _, a := range anns {
		if a.Real == n.Account && strings.EqualFold(a.CallHash, hash) {
			block = a.Height
		}
	}
	if block == 0 {
		_, bad, err := r.revalidate(ctx, fresh, targets, cands, env)
		if err != nil {
			return notSent{err}
		}
		if len(bad) > 0 {
			return invalidTargets{bad}
		}
		sent, err := r.tx.Announce(ctx, n, targets)
		if err != nil {
			return err
		}
		// Not sent.Block: that is the staking chain's block, and on Asset
		// Hub the proxy pallet counts relay blocks. The head read before
		// sending, in the proxy pallet's numbering, is where the delay
		// starts at the earliest; the on-chain height replaces it when the
		// announcement is next read (settle), and before that an early
		// look is refused by that height, not by the chain (no fee).
		if fresh.head != nil {
			block = proxyHead(*fresh.head)
		}
		txs = []string{sent.TxHash}
	}
	return r.cfg.Store.AddProxyTx(ctx, state.ProxyTx{Chain: r.cfg.Chain, ID: fmt.Sprintf("%d-%s", round.ID, n.Account), RoundID: round.ID,
		Nominator: n.Account, Delegate: delegate, CallHash: hash, Targets: targets, AnnouncedBlock: block,
		ExecuteAfter: block + uint64(n.ProxyDelay), State: state.ProxyAnnounced, TxHashes: txs, Created: now.UnixMilli()})
}

// proxyHead is ch's block number in the proxy pallet's numbering (the
// one announcement heights and delays are counted in).
func proxyHead(ch events.Chain) uint64 {
	if ch.ProxyBlock > 0 {
		return ch.ProxyBlock
	}
	return ch.Block
}

// announcedHold counts, for a dry run, the announcements a sending run
// left pending in the store (stopped before their delay passed): a dry
// run cannot execute them, and its round would stand as the era's
// nomination, so no round starts until a sending process settles them.
// Logged once per change, not on every pass.
func (r *Runner) announcedHold(ctx context.Context) (int, error) {
	txs, err := r.cfg.Store.ProxyTxs(ctx, r.cfg.Chain, true, 1000)
	if err != nil {
		return 0, fmt.Errorf("read the pending announcements: %w", err)
	}
	if n := len(txs); n != r.announcedSeen {
		if n > 0 {
			r.log.Warn("announced nominations of a sending run are pending in this store: this dry run cannot execute them and starts no round until a process with --polkadot-send settles them",
				"pending", n)
		} else if r.announcedSeen > 0 {
			r.log.Info("no announced nomination is pending any more: this dry run starts rounds again")
		}
		r.announcedSeen = n
	}
	return len(txs), nil
}

// executeAnnounced settles the announced nominations whose delay has
// passed: targets re-validated on fresh chain reads (an invalid target
// cancels the announcement), the chain reconciled (an announcement
// already executed before a restart is recorded, not sent again), then
// proxy_announced. It returns how many remain pending.
func (r *Runner) executeAnnounced(ctx context.Context, cfg *program.Config, stored *events.Chain, cands []*program.Candidate, env *program.Env, pass *Pass) (int, error) {
	st, chain := r.cfg.Store, r.cfg.Chain
	if err := r.revive(ctx, cfg); err != nil {
		r.log.Warn("orphaned announcements not revived; retrying next pass", "err", err)
	}
	txs, err := st.ProxyTxs(ctx, chain, true, 1000)
	if err != nil || len(txs) == 0 {
		return len(txs), err
	}
	if r.cfg.Live == nil || r.cfg.Sender == nil {
		return len(txs), errors.New("announced nominations wait: valtrack runs without --polkadot-send, so it cannot execute them")
	}
	ch, err := r.cfg.Live.Chain(ctx)
	if err != nil {
		return len(txs), fmt.Errorf("read the chain head: %w", err)
	}
	now := r.cfg.Now()
	pending := 0
	var errs []error
	// The announcements to settle now, first: the fresh reads they are
	// judged on are made once for all of them.
	type due struct {
		p state.ProxyTx
		n program.NominatorConfig
	}
	var dues []due
	fresh := &freshReads{live: r.cfg.Live, head: &ch}
	for _, p := range txs {
		// Checked before the delay: an orphan would otherwise count as
		// pending until its delay passed, and hold back rounds meanwhile.
		n, ok := nominatorConfig(cfg, p.Nominator)
		if !ok {
			if err := r.orphan(ctx, p, now); err != nil {
				pending++ // not recorded: still announced, tried next pass
				errs = append(errs, fmt.Errorf("announcement %s: %w", p.ID, err))
			}
			continue
		}
		if proxyHead(ch) < p.ExecuteAfter {
			pending++
			continue
		}
		if att := p.Attempts; att.Count > 0 && now.Before(time.UnixMilli(att.Last).Add(r.backoff(att.Count))) {
			pending++ // backing off after a failed execution
			continue
		}
		dues = append(dues, due{p, n})
		fresh.want(p.Targets, p.Nominator, p.Delegate)
	}
	for i, d := range dues {
		p, n := d.p, d.n
		outcome, err := r.settle(ctx, cfg, fresh, n, p, cands, env, now)
		if _, lost := isLeaseLost(err); lost {
			// Nothing submitted: the announcements stay announced for the
			// lease's holder to settle.
			pending += len(dues) - i
			errs = append(errs, fmt.Errorf("announcement %s: %w", p.ID, err))
			break
		}
		var early notDue
		if errors.As(err, &early) {
			pending++
			continue
		}
		var unknown factUnknown
		if errors.As(err, &unknown) {
			// Nothing sent and nothing decided: neither an attempt nor a
			// reason to withdraw it as stale.
			pending++
			errs = append(errs, fmt.Errorf("announcement %s: %w", p.ID, err))
			continue
		}
		var failed sendFailed
		if errors.As(err, &failed) {
			gaveUp, aerr := r.executionFailed(ctx, n, p, failed, now)
			if aerr != nil {
				errs = append(errs, fmt.Errorf("announcement %s: %w", p.ID, aerr))
			}
			if gaveUp {
				pass.Failed++
			} else {
				pending++
			}
			errs = append(errs, fmt.Errorf("announcement %s: %w", p.ID, err))
			continue
		}
		if err != nil {
			// Not executable for 1.2× its delay (1KV's CancelJob rule): a
			// stale announcement is withdrawn rather than left to execute
			// targets chosen long ago.
			if stale := p.AnnouncedBlock + uint64(n.ProxyDelay)*6/5; n.ProxyDelay > 0 && proxyHead(ch) > stale {
				sent, cerr := r.tx.RemoveAnnouncement(ctx, n, p.CallHash)
				if _, lost := isLeaseLost(cerr); lost {
					pending += len(dues) - i
					errs = append(errs, fmt.Errorf("announcement %s: %w", p.ID, cerr))
					break
				}
				if cerr == nil {
					if _, ferr := st.FinishProxyTx(ctx, chain, p.ID, state.ProxyCancelled,
						fmt.Sprintf("stale: not executable by block %d (1.2× the delay): %v", stale, err), sent.TxHash, now.UnixMilli()); ferr == nil {
						pass.Cancelled++
						continue
					}
				} else {
					// A failed withdrawal paid its fee too: bounded alike.
					gaveUp, aerr := r.executionFailed(ctx, n, p, sendFailed{fmt.Errorf("withdraw the stale announcement: %w", cerr), true}, now)
					if aerr != nil {
						errs = append(errs, fmt.Errorf("announcement %s: %w", p.ID, aerr))
					}
					if gaveUp {
						pass.Failed++
						continue
					}
				}
			}
			pending++
			errs = append(errs, fmt.Errorf("announcement %s: %w", p.ID, err))
			continue
		}
		switch outcome {
		case state.ProxyExecuted:
			pass.Executed++
		case state.ProxyCancelled:
			pass.Cancelled++
		}
	}
	return pending, errors.Join(errs...)
}

// orphan records that p's nominator is no longer in the program file: its
// key (and so the only way this program had to execute or withdraw p) went
// with the entry, so waiting for p would stop every later round for good.
// p leaves the pending set as orphaned, the reason saying how the operator
// removes it from the chain; logged once (the conditional transition
// changes it once).
func (r *Runner) orphan(ctx context.Context, p state.ProxyTx, now time.Time) error {
	reason := fmt.Sprintf("nominator %s is no longer in the program file, so valtrack neither executes nor withdraws this announcement; "+
		"it stays on chain (its deposit reserved) until removed: send proxy.remove_announcement(real=%s, call_hash=%s) signed by the delegate %s, "+
		"or proxy.reject_announcement(delegate=%s, call_hash=%s) signed by %s", p.Nominator, p.Nominator, p.CallHash, p.Delegate, p.Delegate, p.CallHash, p.Nominator)
	changed, err := r.cfg.Store.FinishProxyTx(ctx, r.cfg.Chain, p.ID, state.ProxyOrphaned, reason, "", now.UnixMilli())
	if err != nil {
		return fmt.Errorf("record the announcement of removed nominator %s as orphaned: %w", p.Nominator, err)
	}
	if changed {
		r.log.Warn("announcement orphaned: its nominator left the program file; rounds go on without it", "id", p.ID,
			"nominator", p.Nominator, "delegate", p.Delegate, "call_hash", p.CallHash, "reason", reason)
	}
	return nil
}

// revive moves an orphaned announcement back to announced when its
// nominator is in the program file again with the same proxy (its
// delegate's key is back, so it can be executed or withdrawn): settled
// like any other, it is executed if still valid and of the current round,
// else withdrawn — not left on chain with its deposit reserved. An
// orphan whose nominator came back with another proxy stays orphaned:
// its reason says how to remove it by hand.
func (r *Runner) revive(ctx context.Context, cfg *program.Config) error {
	st, chain := r.cfg.Store, r.cfg.Chain
	txs, err := st.ProxyTxsIn(ctx, chain, state.ProxyOrphaned, 1000)
	if err != nil || len(txs) == 0 {
		return err
	}
	now := r.cfg.Now()
	var errs []error
	for _, p := range txs {
		n, ok := nominatorConfig(cfg, p.Nominator)
		if !ok || !n.Proxy || r.delegate(n, now) != p.Delegate {
			continue
		}
		reason := fmt.Sprintf("revived: nominator %s is in the program file again with delegate %s", p.Nominator, p.Delegate)
		changed, err := st.ReviveProxyTx(ctx, chain, p.ID, reason, now.UnixMilli())
		if err != nil {
			errs = append(errs, fmt.Errorf("announcement %s: %w", p.ID, err))
			continue
		}
		if changed {
			r.log.Info("orphaned announcement revived: its nominator is in the program file again; it is executed or withdrawn as usual",
				"id", p.ID, "nominator", p.Nominator, "delegate", p.Delegate, "call_hash", p.CallHash)
		}
	}
	return errors.Join(errs...)
}

// settle executes or cancels one announcement whose delay has passed.
func (r *Runner) settle(ctx context.Context, cfg *program.Config, fresh *freshReads, n program.NominatorConfig, p state.ProxyTx,
	cands []*program.Candidate, env *program.Env, now time.Time) (string, error) {
	st, chain := r.cfg.Store, r.cfg.Chain
	// Fresh facts of the targets and the nominator, read in this pass, and
	// the targets judged on them.
	by, bad, err := r.revalidate(ctx, fresh, p.Targets, cands, env)
	if err != nil {
		return "", err
	}
	// Executed already (before a restart)? The announcement is gone and the
	// nominator's targets are these.
	anns, err := fresh.announcements(ctx, p.Delegate)
	if err != nil {
		return "", err
	}
	announced, height := false, uint64(0)
	for _, a := range anns {
		if a.Real == p.Nominator && strings.EqualFold(a.CallHash, p.CallHash) {
			announced, height = true, a.Height
		}
	}
	if announced && height > 0 && height != p.AnnouncedBlock {
		// The chain's own height, in the proxy pallet's numbering, over the
		// estimate recorded when it was sent.
		if _, err := st.SetProxyTxHeight(ctx, chain, p.ID, height, height+uint64(n.ProxyDelay), now.UnixMilli()); err != nil {
			return "", err
		}
		p.AnnouncedBlock, p.ExecuteAfter = height, height+uint64(n.ProxyDelay)
	}
	if announced && fresh.head != nil && height > 0 && proxyHead(*fresh.head) < height+uint64(n.ProxyDelay) {
		// The chain's own height says the delay has not passed (a record
		// from before heights were read back, or an estimate): executing
		// now would fail on chain (Proxy.Unannounced) and pay its fee.
		return "", notDue{height + uint64(n.ProxyDelay)}
	}
	if !announced {
		// Gone: executed, or removed some other way. Only a nomination read
		// now decides which — an unreadable one is no verdict, and the same
		// targets nominated before the announcement's round are not its
		// execution.
		v := by[p.Nominator]
		if v == nil || !v.NominationTargets.Known || !v.NominationEra.Known {
			why := "not in the answer"
			if v != nil {
				why = cmp.Or(v.NominationTargets.Err, v.NominationEra.Err, "unknown")
			}
			return "", factUnknown{fmt.Errorf("the announcement is no longer on chain, and whether it was executed is unknown: "+
				"the nomination of %s could not be read (%s); retried next pass", p.Nominator, why)}
		}
		era, found, err := st.RoundEra(ctx, chain, p.RoundID)
		if err != nil {
			return "", factUnknown{fmt.Errorf("the announcement is no longer on chain: %w", err)}
		}
		// A round is never deleted; without one (a record written by hand)
		// any era of the nomination is accepted.
		if !found {
			era = 0
		}
		if v.NominationEra.Value >= era && sameSet(v.NominationTargets.Value, p.Targets) {
			return state.ProxyExecuted, r.executed(ctx, p, Sent{}, "found executed on chain", now)
		}
		reason := fmt.Sprintf("the announcement is no longer on chain and its targets were not nominated in era %d or later "+
			"(staking.nominators holds %d targets submitted in era %d)", era, len(v.NominationTargets.Value), v.NominationEra.Value)
		changed, err := st.FinishProxyTx(ctx, chain, p.ID, state.ProxyFailed, reason, "", now.UnixMilli())
		if err == nil && changed {
			r.log.Warn("announcement vanished without being executed", "id", p.ID, "reason", reason)
		}
		return state.ProxyFailed, err
	}
	if len(bad) > 0 {
		sent, err := r.tx.RemoveAnnouncement(ctx, n, p.CallHash)
		if err != nil {
			return "", sendFailed{fmt.Errorf("cancel (targets invalid: %s): %w", strings.Join(bad, "; "), err), true}
		}
		_, err = st.FinishProxyTx(ctx, chain, p.ID, state.ProxyCancelled, "targets invalid at execution: "+strings.Join(bad, "; "), sent.TxHash, now.UnixMilli())
		return state.ProxyCancelled, err
	}
	sent, err := r.tx.ExecuteAnnounced(ctx, n, p.Targets)
	if err != nil {
		return "", sendFailed{fmt.Errorf("execute: %w", err), false}
	}
	return state.ProxyExecuted, r.executed(ctx, p, sent, "", now)
}

// revalidate is the one check before every transaction that names
// targets (nominate, announce, proxy_announced): it takes the targets'
// records — and those of the other accounts the phase asked for — from
// the pass's fresh reads of the chain (read once for all the phase's
// sends, at the head read in this pass), and evaluates each target with
// the pass's rules and candidates on the fresh facts over the stored ones
// (a fact the read failed keeps its stored value, so unknown never
// invalidates). It returns the fresh records by stash and the reason of
// each target now invalid (a target no longer in the candidates file is
// invalid). A failed read is an error: nothing is to be sent on it.
func (r *Runner) revalidate(ctx context.Context, fresh *freshReads, targets []string,
	cands []*program.Candidate, env *program.Env) (map[string]*events.Validator, []string, error) {
	by, err := fresh.records(ctx)
	if err != nil {
		return nil, nil, err
	}
	var bad []string
	for _, t := range targets {
		c := findCandidate(cands, t)
		if c == nil {
			bad = append(bad, t+" is no longer a candidate")
			continue
		}
		cc := *c
		if v := by[t]; v != nil {
			cc.Chain = mergeFresh(v, c.Chain)
		}
		if v := program.Evaluate(r.rules, &cc, env); v.Status == program.Invalid {
			bad = append(bad, firstInvalid(v))
		}
	}
	return by, bad, nil
}

// notDue is an announcement whose delay, by its on-chain height, passes
// at block after (the proxy pallet's numbering): it stays pending.
type notDue struct{ after uint64 }

func (e notDue) Error() string { return fmt.Sprintf("the delay passes at block %d", e.after) }

// factUnknown is a fact an announcement's settlement depends on that could
// not be read: the announcement stays announced (pending), with no attempt
// counted, and the next pass reads again.
type factUnknown struct{ err error }

func (e factUnknown) Error() string { return e.err.Error() }
func (e factUnknown) Unwrap() error { return e.err }

// sendFailed is a settling transaction (proxy_announced, or the
// remove_announcement of a cancellation) that was sent and failed: it paid
// a fee, so it counts against MaxSendAttempts. withdrawal: it was the
// remove_announcement.
type sendFailed struct {
	err        error
	withdrawal bool
}

func (e sendFailed) Error() string { return e.err.Error() }
func (e sendFailed) Unwrap() error { return e.err }

// executionFailed counts a failed settling send of p, persisted so that a
// restart keeps the count and the back-off. At MaxSendAttempts the
// announcement is recorded failed with the error, and — when the failing
// send was the execution — withdrawn once (remove_announcement) so that it
// cannot execute stale targets later; when that or the failing send was a
// withdrawal, the reason says the announcement is left on chain. It
// reports whether p was given up.
func (r *Runner) executionFailed(ctx context.Context, n program.NominatorConfig, p state.ProxyTx, failed sendFailed, now time.Time) (bool, error) {
	st, chain, sendErr := r.cfg.Store, r.cfg.Chain, failed.err
	att := p.Attempts
	att.Count++
	att.Last, att.Error = now.UnixMilli(), sendErr.Error()
	if att.Count < r.cfg.MaxSendAttempts {
		r.log.Warn("announced nomination not settled; retrying after a back-off", "id", p.ID, "attempt", att.Count,
			"of", r.cfg.MaxSendAttempts, "retry_in", r.backoff(att.Count), "err", sendErr)
		_, err := st.SetProxyTxAttempts(ctx, chain, p.ID, att, now.UnixMilli())
		return false, err
	}
	att.GaveUp = true
	if _, err := st.SetProxyTxAttempts(ctx, chain, p.ID, att, now.UnixMilli()); err != nil {
		return false, err
	}
	reason := fmt.Sprintf("gave up after %d failed attempts: %s", att.Count, sendErr)
	txHash := ""
	const left = "it stays on chain unexecuted until proxy.remove_announcement removes it"
	switch sent, err := r.withdrawOnce(ctx, n, p, failed.withdrawal); {
	case failed.withdrawal:
		reason += "; " + left
	case err != nil:
		reason += fmt.Sprintf("; withdrawing the announcement failed too (%v): %s", err, left)
	default:
		reason += "; the announcement was withdrawn"
		txHash = sent.TxHash
	}
	r.log.Error("announced nomination given up", "id", p.ID, "nominator", p.Nominator, "reason", reason)
	_, err := st.FinishProxyTx(ctx, chain, p.ID, state.ProxyFailed, reason, txHash, now.UnixMilli())
	return true, err
}

// withdrawOnce sends p's remove_announcement unless the failures were
// withdrawals already (then it sends nothing).
func (r *Runner) withdrawOnce(ctx context.Context, n program.NominatorConfig, p state.ProxyTx, wasWithdrawal bool) (Sent, error) {
	if wasWithdrawal {
		return Sent{}, nil
	}
	return r.tx.RemoveAnnouncement(ctx, n, p.CallHash)
}

// executed moves the announcement to executed — once: a second caller's
// conditional update changes nothing — and records the nomination.
func (r *Runner) executed(ctx context.Context, p state.ProxyTx, sent Sent, reason string, now time.Time) error {
	st := r.cfg.Store
	changed, err := st.FinishProxyTx(ctx, r.cfg.Chain, p.ID, state.ProxyExecuted, reason, sent.TxHash, now.UnixMilli())
	if err != nil || !changed {
		return err
	}
	era := uint32(0)
	if ch, err := st.Chain(ctx, r.cfg.Chain); err == nil && ch != nil {
		era = ch.ActiveEra
	}
	return st.AddNomination(ctx, state.Nomination{Chain: r.cfg.Chain, ID: p.ID, RoundID: p.RoundID, Nominator: p.Nominator, Era: era,
		Targets: p.Targets, At: now.UnixMilli(), BlockHash: sent.BlockHash, TxHash: sent.TxHash})
}

func findCandidate(cs []*program.Candidate, stash string) *program.Candidate {
	for _, c := range cs {
		if c.Stash == stash {
			return c
		}
	}
	return nil
}

// mergeFresh is the fresh record over the stored one: a fact the fresh
// read failed keeps the stored value (with the error).
func mergeFresh(fresh, stored *events.Validator) *events.Validator {
	if stored == nil {
		return fresh
	}
	m := state.MergeValidator(stored, fresh)
	return m
}

func firstInvalid(v program.Validity) string {
	for _, c := range v.Checks {
		if !c.Valid {
			return c.Details
		}
	}
	return "invalid"
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// unreadable is a record of stash whose every fact failed with why: merged
// over the stored one it keeps the values and carries the error.
func unreadable(v *events.Validator, why string, now time.Time) *events.Validator {
	at := now.UnixMilli()
	err := errors.New(why)
	return &events.Validator{V: v.V, Chain: v.Chain, Stash: v.Stash, Block: v.Block, BlockHash: v.BlockHash,
		Intention: events.Failed[bool](err, at), Commission: events.Failed[uint32](err, at), Blocked: events.Failed[bool](err, at),
		Active: events.Failed[bool](err, at), Controller: events.Failed[string](err, at), SelfStake: events.Failed[events.Amount](err, at),
		Payee: events.Failed[string](err, at), Balance: events.Failed[events.Amount](err, at), Identity: events.Failed[*events.Identity](err, at),
		NextKeys: events.Failed[map[string]string](err, at), UnclaimedEras: events.Failed[[]uint32](err, at),
		ActiveNominators: events.Failed[[]events.Backer](err, at), InactiveNominators: events.Failed[[]events.Backer](err, at),
		NominationTargets: events.Failed[[]string](err, at), NominationEra: events.Failed[uint32](err, at), Observer: v.Observer}
}

// newestFeed is the newest feed time of the records: when the sentry
// that published them last knew its feed connected (FeedAt; a record from
// before FeedAt existed counts by its publication time).
func newestFeed(ns []events.Telemetry) int64 {
	newest := int64(0)
	for _, n := range ns {
		at := n.FeedAt
		if at == 0 {
			at = n.At
		}
		newest = max(newest, at)
	}
	return newest
}

// defaultEraMs are the era lengths of the chains whose length is fixed by
// their runtime, used until one era change has been seen.
var defaultEraMs = map[string]int64{"polkadot": 24 * 3600 * 1000, "kusama": 6 * 3600 * 1000}

// noteNextNomination records when the next round is due (1KV's
// nextNomination): its era, and when that era should start, from the
// active era's start and the era length measured between two era starts
// (the chain's known length before that). A known estimate is not
// overwritten by an unknown one.
func (r *Runner) noteNextNomination(ctx context.Context, chain string, ch *events.Chain, period uint32, now int64) error {
	meta, err := r.cfg.Store.Meta(ctx, chain)
	if err != nil {
		return err
	}
	if ch.ActiveEraStart > 0 {
		if r.eraSeenStart > 0 && ch.ActiveEra > r.eraSeen && ch.ActiveEraStart > r.eraSeenStart {
			r.eraMs = (ch.ActiveEraStart - r.eraSeenStart) / int64(ch.ActiveEra-r.eraSeen)
		}
		r.eraSeen, r.eraSeenStart = ch.ActiveEra, ch.ActiveEraStart
	}
	eraMs := r.eraMs
	if eraMs == 0 {
		eraMs = defaultEraMs[ch.SpecName]
	}
	next := program.NextRoundEra(meta.LastNominatedEra, ch.ActiveEra, period, meta.LastRoundID > 0)
	at := program.EstimateEraStart(next, ch.ActiveEra, ch.ActiveEraStart, eraMs, now)
	if next == meta.NextNominationEra && (at == 0 || at == meta.NextNomination || next <= ch.ActiveEra && meta.NextNomination > 0) {
		return nil
	}
	return r.cfg.Store.SetNextNomination(ctx, chain, next, at, now)
}
