package analyzers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/valtrack/valtrack/internal/cosmos/state"
	"github.com/valtrack/valtrack/internal/store"
)

const typePrevote = state.TypePrevote

// Causes of a cosmos_misses row.
const (
	CauseObserverGap          = "observer_gap"           // votes not watched; signature absent
	CauseNoVote               = "no_vote"                // neither prevote nor precommit seen
	CausePrevoteOnly          = "prevote_only"           // prevote for the block, no precommit
	CausePrevoteNotSeen       = "prevote_not_seen"       // precommit for the block, no prevote seen
	CauseNilVote              = "nil_vote"               // voted nil (or another block) in either
	CausePrecommitNotIncluded = "precommit_not_included" // precommit seen, absent from the commit (late)
	CauseNotInSet             = "not_in_set"             // left the set at this height
	CauseMissedProposal       = "missed_proposal"        // only a proposer turn that made no block
)

// Causes are every value of cosmos_misses.cause, the API's
// CosmosMissCause enum (a test holds the two and the analyzer together).
var Causes = []string{CauseObserverGap, CauseNoVote, CausePrevoteOnly, CausePrevoteNotSeen, CauseNilVote,
	CausePrecommitNotIncluded, CauseNotInSet, CauseMissedProposal}

// Incident reasons of a height (cosmos_heights.incident, comma-separated).
const (
	IncidentRound = "round" // committed in a round > 0
	IncidentStall = "stall" // the block came after StallAfter, or > 5× the recent median interval
)

// Bounds of the in-memory recent intervals.
const (
	recentIntervals = 100 // block intervals kept for the mean and the median
	minForMedian    = 10  // intervals needed before the median test applies
	// minForProjection intervals are needed before blocks to jail become
	// time to jail: before, the mean is of nothing (a fresh start) or of
	// too few to mean anything, and time_to_jail_ms is JailTimeUnknown.
	minForProjection  = 10
	stallMedianFactor = 5
)

// stat is a validator's row of cosmos_validator_stats.
type stat struct {
	signed, missed, missedPrevote, missedPrecommit, soloMissed, proposed, missedProposals   int64
	consecutive, windowSize, windowMissed, blocksToJail, timeToJail, lastHeight, lastSigned int64
	dirty                                                                                   bool
}

// windowEntry is an analysed height of the sliding window: its set and the
// indexes whose signature was absent.
type windowEntry struct {
	height int64
	set    *valSet
	absent []int
}

// missed is the missed-vote analyzer of one chain.
type missed struct {
	cfg   Config
	chain Chain
	m     *metrics

	loaded    bool
	cursor    int64
	stats     map[string]*stat
	window    []windowEntry // ascending
	winW      int64         // the window length the entries were kept for
	intervals []int64       // recent block intervals (ms), oldest first
	current   *valSet       // the set in effect at the cursor
	setCache  map[int64]*valSet
	// sightings: when each latest complete height was first seen
	// (ascending), the start of the waiting clocks of the heights below
	// it; pending: the heights of the last pass missing while a later one
	// was complete; progressAt: when one of those last arrived.
	sightings  []sighting
	pending    map[int64]bool
	progressAt int64
	// waitingSet is the height held up because its own validator set (the
	// validators_hash its block names) is not stored yet; 0 none. Exported
	// as valtrack_cosmos_waiting_for_validator_set.
	waitingSet int64
	// voteSeq: the votes with a stored_seq at or below it have been
	// re-checked for late votes (state.VoteSeq); -1 after a load, when the
	// next pass re-checks every height of the late-vote window instead. It
	// is not stored: that one full re-check after a start costs what every
	// pass cost before migration 0009, covers the votes stored while no
	// analyzer ran and those numbered 0 by the migration, and needs no
	// stored cursor kept in step with the analysis (another instance may
	// have moved it meanwhile).
	voteSeq int64
	// paramsWarned: the unknown slashing parameters were logged;
	// written: the parameters the last write stored.
	paramsWarned bool
	written      state.Params
	lostSets     map[string]bool   // validators hashes waited for in vain: later heights of them skip at once
	setLogged    int64             // the height whose wait for its set was logged
	labels       map[string]string // address → moniker of the validator series set
	endpoints    map[string]bool
}

func newMissed(cfg Config, ch Chain, m *metrics) *missed {
	return &missed{cfg: cfg, chain: ch, m: m, setCache: map[int64]*valSet{}, pending: map[int64]bool{},
		labels: map[string]string{}, endpoints: map[string]bool{}, lostSets: map[string]bool{}}
}

// errStale: another instance moved the cursor; this one reloads.
var errStale = errors.New("cursor moved by another analyzer")

// params returns the slashing parameters in force: the configured ones
// (Chain.Window > 0; a min signed of 0 is honoured) over what the sentry
// read from the chain (cosmos_params: its LCD, gRPC or abci_query). Without
// either they are unknown: the window counters then cover the last
// DefaultSignedBlocksWindow heights, and no jail projection is made.
func (a *missed) params(ctx context.Context) (state.Params, error) {
	if a.chain.Window > 0 {
		return state.Params{SignedBlocksWindow: a.chain.Window, MinSignedPerWindow: a.chain.MinSigned, Source: state.ParamsConfigured}, nil
	}
	q := a.cfg.DB.Query().SQL("SELECT signed_blocks_window, min_signed_per_window, source FROM cosmos_params WHERE chain = ").Arg(a.chain.Name)
	var p state.Params
	err := a.cfg.DB.Reader().QueryRowContext(ctx, q.String(), q.Args()...).Scan(&p.SignedBlocksWindow, &p.MinSignedPerWindow, &p.Source)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if !a.paramsWarned {
			a.paramsWarned = true
			a.cfg.Log.Warn("slashing parameters unknown: blocks and time to jail are reported as unknown until they are known. "+
				"Give them with --cosmos-slashing "+a.chain.Name+"=WINDOW:MIN (signed_blocks_window:min_signed_per_window, e.g. 10000:0.05), "+
				"or an LCD with --cosmos-lcd "+a.chain.Name+"=URL or a gRPC endpoint with --cosmos-grpc "+a.chain.Name+"=HOST:PORT; the sentry also asks the RPC (abci_query), which a chain without x/slashing does not answer",
				"chain", a.chain.Name, "window_counters_over", DefaultSignedBlocksWindow)
		}
		return state.Params{SignedBlocksWindow: DefaultSignedBlocksWindow, Source: state.ParamsUnknown}, nil
	case err != nil:
		return state.Params{}, fmt.Errorf("read slashing params: %w", err)
	}
	if p.Source == state.ParamsUnknown {
		p.Source = "chain" // an event that named no source: still the chain's
	}
	if a.paramsWarned {
		a.paramsWarned = false
		a.cfg.Log.Info("slashing parameters now known", "chain", a.chain.Name, "signed_blocks_window", p.SignedBlocksWindow,
			"min_signed_per_window", p.MinSignedPerWindow, "source", p.Source)
	}
	return p, nil
}

// Run is one pass: up to Batch heights after the cursor, in one transaction.
func (a *missed) Run(ctx context.Context) error {
	err := a.pass(ctx)
	if err != nil {
		// In-memory state may be ahead of the tables: rebuild it next time.
		a.loaded = false
		if errors.Is(err, errStale) {
			return nil
		}
		return fmt.Errorf("cosmos/missed/%s: %w", a.chain.Name, err)
	}
	return a.export(ctx)
}

func (a *missed) pass(ctx context.Context) error {
	now := a.cfg.Now().UnixMilli()
	p, err := a.params(ctx)
	if err != nil {
		return err
	}
	if p.Known() {
		a.m.paramWindow.WithLabelValues(a.chain.Name).Set(float64(p.SignedBlocksWindow))
		a.m.paramMin.WithLabelValues(a.chain.Name).Set(p.MinSignedPerWindow)
	} else {
		a.m.paramWindow.DeleteLabelValues(a.chain.Name)
		a.m.paramMin.DeleteLabelValues(a.chain.Name)
	}
	w := p.SignedBlocksWindow
	if !a.loaded || w != a.winW {
		if err := a.load(ctx, w); err != nil {
			return err
		}
	}
	startCursor := a.cursor
	start := a.cursor + 1
	if a.cursor == 0 {
		first, ok, err := a.firstHeight(ctx)
		if err != nil || !ok {
			return err
		}
		start = first
	}
	var out output
	// Votes stored since their heights were analysed correct those rows.
	// The vote sequence is read before any vote (here and in read below):
	// the votes at or below it are in this pass, those above in the next.
	seq, err := state.VoteSeq(ctx, a.cfg.DB)
	if err != nil {
		return err
	}
	if out.late, err = a.lateVotes(ctx, startCursor, now-a.cfg.LateVotes.Milliseconds(), a.voteSeq, seq); err != nil {
		return err
	}
	// Pruned heights of which nothing is stored are passed over whole.
	if skipTo, err := a.prunedPrefix(ctx, start); err != nil {
		return err
	} else if skipTo >= start {
		out.skip(start, skipTo, SkipPruned, "")
		start = skipTo + 1
	}
	done := start - 1
	end := start + int64(a.cfg.Batch) - 1
	d, err := a.read(ctx, start, end)
	if err != nil {
		return err
	}
	pruned, err := a.prunedSpans(ctx, start, end)
	if err != nil {
		return err
	}
	prunedSets, err := a.prunedSets(ctx, start, end)
	if err != nil {
		return err
	}
	latest, err := a.latestComplete(ctx)
	if err != nil {
		return err
	}
	a.sight(latest, now)
	a.progress(d, start, end, latest, now)
	a.waitingSet = 0
	for h := start; h <= end; h++ {
		b, okB := d.blocks[h]
		c, okC := d.commits[h]
		set, mismatch := d.setOf(h)
		if !okB || !okC || set == nil || len(c.flags) != len(set.addrs) {
			_, isPruned := pruned.covering(h)
			_, setPruned := prunedSets.covering(h)
			reason, why, skip := a.skippable(h, latest, now, okB, okC, gone{isPruned, setPruned}, set, c, mismatch, b.vhash)
			if !skip {
				if mismatch {
					a.waitingSet = h
				}
				break
			}
			out.skip(h, h, reason, why)
			done = h
			continue
		}
		a.analyse(h, b, c, set, d, now, w, &out)
		done = h
	}
	a.cursor = done
	for addr, st := range a.stats {
		a.jail(addr, st, p)
	}
	if done == startCursor && !a.anyDirty() && p == a.written && len(out.late) == 0 {
		a.voteSeq = seq
		return nil
	}
	if err := a.write(ctx, startCursor, done, &out, now, p); err != nil {
		return err
	}
	a.written, a.voteSeq = p, seq
	a.m.late.WithLabelValues(a.chain.Name).Add(float64(len(out.late)))
	a.forget(done)
	for _, r := range out.skips {
		a.m.skipped.WithLabelValues(a.chain.Name, r.reason).Add(float64(r.to - r.from + 1))
		switch {
		case r.reason == SkipPruned:
			a.cfg.Log.Warn("skipping heights pruned on every endpoint (the sentry could not read them back): no miss is recorded for them",
				"chain", a.chain.Name, "from", r.from, "to", r.to, "heights", r.to-r.from+1)
		case r.reason == SkipSetPruned:
			a.cfg.Log.Warn("skipping heights whose validator set every endpoint had pruned (the sentry could not read it): no miss is recorded for them",
				"chain", a.chain.Name, "from", r.from, "to", r.to, "heights", r.to-r.from+1)
		case r.why != "":
			a.cfg.Log.Warn("skipping heights: their data did not arrive", "chain", a.chain.Name, "from", r.from, "to", r.to,
				"heights", r.to-r.from+1, "why", r.why, "waited", a.cfg.SkipAfter)
		}
	}
	return nil
}

// gone says what the sentry found pruned on every endpoint at a height.
type gone struct{ blocks, set bool }

// skippable decides about an incomplete height: skip it at once when the
// sentry found it pruned on every endpoint and its block or commit is
// missing, or found its validator set pruned and its block names a set
// that is not stored (set nil); else wait for its data, or skip it once a later height is
// complete and SkipAfter has passed since the analyzer first saw one
// and since a backfill last filled a missing height. A
// height whose own validator set is missing (mismatch: the stored set in
// effect has another validators_hash) is never analysed against the wrong
// set: it waits like the others, and once one height of a hash has been
// given up on, the later heights of that hash are skipped at once.
func (a *missed) skippable(h, latest, now int64, okB, okC bool, pruned gone, set *valSet, c commit, mismatch bool, vhash string) (reason, why string, skip bool) {
	if pruned.blocks && (!okB || !okC) {
		return SkipPruned, "", true
	}
	if pruned.set && okB && set == nil {
		return SkipSetPruned, "", true
	}
	if mismatch && !a.lostSets[vhash] && a.setLogged != h {
		a.setLogged = h
		a.cfg.Log.Info("waiting for the validator set of a height (the set in effect has another validators_hash)",
			"chain", a.chain.Name, "height", h, "validators_hash", vhash, "up_to", a.cfg.SkipAfter)
	}
	first, ok := a.waitingSince(h)
	if latest <= h || !ok {
		return "", "", false // the chain (or the sentry) has not got past h yet
	}
	first = max(first, a.progressAt)
	if now-first < a.cfg.SkipAfter.Milliseconds() && !(mismatch && a.lostSets[vhash]) {
		return "", "", false
	}
	why, reason = "block missing", SkipBlockMissing
	switch {
	case !okC:
		why, reason = "commit missing", SkipCommitMissing
	case mismatch:
		if a.lostSets[vhash] {
			return SkipSetNotStored, "", true // logged with the first height of this hash
		}
		a.lostSets[vhash] = true
		why, reason = "its validator set (validators_hash "+vhash+") was never stored; later heights of that set are skipped too. Check the sentry's log for validator set errors", SkipSetNotStored
	case set == nil:
		why, reason = "no validator set stored at or below it", SkipNoSet
	case okB:
		why, reason = fmt.Sprintf("commit has %d signatures, the stored set %d validators", len(c.flags), len(set.addrs)), SkipSizeMismatch
	}
	return reason, why, true // logged with its run
}

// Reasons a height is skipped (valtrack_cosmos_skipped_heights_total's
// reason label).
const (
	SkipBlockMissing  = "block_missing"
	SkipCommitMissing = "commit_missing"
	SkipSetNotStored  = "validator_set_not_stored" // its validators_hash's set never arrived
	SkipNoSet         = "no_validator_set"         // no set stored at or below it
	SkipSizeMismatch  = "signatures_set_mismatch"  // the commit's signatures do not match the set's size
	SkipPruned        = "pruned"                   // every endpoint had pruned it (the sentry's pruned_heights): not waited for
	SkipSetPruned     = "validator_set_pruned"     // every endpoint had pruned its validator set (pruned_heights, what validator_set): not waited for
)

// SkipReasons are every reason, the API's CosmosSkipReason enum.
var SkipReasons = []string{SkipPruned, SkipSetPruned, SkipBlockMissing, SkipCommitMissing, SkipSetNotStored, SkipNoSet, SkipSizeMismatch}

// output is what a pass writes.
type output struct {
	heights, misses [][]any
	skips           []skipRun
	late            []lateFix // rows of heights analysed before, corrected for votes stored since
}

// analyse one complete height.
func (a *missed) analyse(h int64, b block, c commit, set *valSet, d *heights, now, w int64, out *output) {
	interval := int64(0)
	if p, ok := d.blocks[h-1]; ok && b.time >= p.time {
		interval = b.time - p.time
	}
	var incident []string
	if c.round > 0 {
		incident = append(incident, IncidentRound)
	}
	if interval > 0 && (interval > a.cfg.StallAfter.Milliseconds() ||
		(len(a.intervals) >= minForMedian && interval > stallMedianFactor*median(a.intervals))) {
		incident = append(incident, IncidentStall)
	}
	if interval > 0 {
		a.intervals = append(a.intervals, interval)
		if len(a.intervals) > recentIntervals {
			a.intervals = a.intervals[len(a.intervals)-recentIntervals:]
		}
	}
	isIncident := len(incident) > 0

	var signedPower int64
	absent := 0
	for i := range set.addrs {
		if c.flags[i] != 'A' {
			signedPower += set.power[i]
		} else {
			absent++
		}
	}
	solo := absent == 1 && 3*signedPower >= 2*set.total
	failed := map[string]int{}
	for _, p := range d.failedRounds[h] {
		failed[p]++
	}
	votes := d.votes[h]
	entry := windowEntry{height: h, set: set}
	for i, addr := range set.addrs {
		st := a.stat(addr)
		st.dirty = true
		st.lastHeight = h
		st.windowSize++
		flag := c.flags[i]
		missedSig := flag == 'A'
		if missedSig {
			st.missed++
			st.consecutive++
			st.windowMissed++
			entry.absent = append(entry.absent, i)
			if solo {
				st.soloMissed++
			}
		} else {
			st.signed++
			st.consecutive = 0
			st.lastSigned = h
		}
		if b.proposer == addr {
			st.proposed++
		}
		props := failed[addr]
		st.missedProposals += int64(props)

		pv, pc := state.VoteUnknown, state.VoteUnknown
		var missedPV, missedPC bool
		if b.observed {
			var v seen
			if votes != nil {
				v = votes[i]
			}
			pv, pc = voteCode(v.hasPrevote, v.prevote, c.hash), voteCode(v.hasPrecommit, v.precommit, c.hash)
			missedPV, missedPC = pv != state.VoteBlock, pc != state.VoteBlock
			if missedPV {
				st.missedPrevote++
			}
			if missedPC {
				st.missedPrecommit++
			}
		}
		if !missedSig && !missedPV && !missedPC && props == 0 {
			continue
		}
		out.misses = append(out.misses, []any{a.chain.Name, h, addr, i, set.power[i], pv, pc, flagCode(flag),
			missedPV, missedPC, missedSig, props, cause(b.observed, pv, pc, missedSig, missedPV || missedPC), missedSig && solo, isIncident})
	}
	// Validators of the previous height's set that are not in this one
	// left here: one row says so.
	if prev, _ := d.setOf(h - 1); prev != nil && prev != set {
		for _, addr := range prev.addrs {
			if _, ok := set.index[addr]; ok {
				continue
			}
			st := a.stat(addr)
			st.dirty = true
			out.misses = append(out.misses, []any{a.chain.Name, h, addr, -1, int64(0), state.VoteUnknown, state.VoteUnknown, 0,
				false, false, false, 0, CauseNotInSet, false, isIncident})
		}
	}
	a.current = set
	a.window = append(a.window, entry)
	a.evict(h, w)
	out.heights = append(out.heights, []any{a.chain.Name, h, b.time, c.round, b.proposer, b.observed, len(set.addrs), set.total,
		signedPower, absent, interval, strings.Join(incident, ","), now})
}

// evict drops the heights that left the window ending at h.
func (a *missed) evict(h, w int64) {
	n := 0
	for n < len(a.window) && a.window[n].height <= h-w {
		e := a.window[n]
		for _, addr := range e.set.addrs {
			st := a.stat(addr)
			st.windowSize--
			st.dirty = true
		}
		for _, i := range e.absent {
			a.stat(e.set.addrs[i]).windowMissed--
		}
		n++
	}
	a.window = a.window[n:]
}

// jail sets blocks_to_jail and time_to_jail_ms. x/slashing jails when the
// missed count of the window exceeds maxMissed = W − round(min_signed·W)
// (x/slashing/keeper/infractions.go), so a validator that misses every block
// from now is jailed after maxMissed − window_missed + 1 more; never when
// maxMissed ≥ W (min_signed 0). Without parameters there is no projection
// (state.JailUnknown), out of the set none either (state.JailNotInSet).
// With fewer than minForProjection recent block intervals the blocks are
// projected but not the time (state.JailTimeUnknown).
func (a *missed) jail(addr string, st *stat, p state.Params) {
	blocks := int64(state.JailNotInSet)
	w := p.SignedBlocksWindow
	maxMissed := w - int64(math.RoundToEven(p.MinSignedPerWindow*float64(w)))
	if a.current == nil {
		// nothing analysed yet
	} else if _, in := a.current.index[addr]; !in {
		// out of the set
	} else if !p.Known() {
		blocks = state.JailUnknown
	} else if maxMissed >= w {
		blocks = state.JailNever
	} else {
		blocks = max(0, maxMissed-st.windowMissed+1)
	}
	ms := blocks
	switch {
	case blocks >= 0 && len(a.intervals) < minForProjection:
		ms = state.JailTimeUnknown
	case blocks >= 0:
		ms = blocks * mean(a.intervals)
	}
	if blocks != st.blocksToJail || ms != st.timeToJail {
		st.blocksToJail, st.timeToJail, st.dirty = blocks, ms, true
	}
}

func (a *missed) anyDirty() bool {
	for _, st := range a.stats {
		if st.dirty {
			return true
		}
	}
	return false
}

func (a *missed) stat(addr string) *stat {
	st := a.stats[addr]
	if st == nil {
		st = &stat{blocksToJail: -1, timeToJail: -1}
		a.stats[addr] = st
	}
	return st
}

func voteCode(has bool, hash, block string) int {
	switch {
	case !has:
		return state.VoteAbsent
	case hash == block:
		return state.VoteBlock
	}
	return state.VoteNil // nil, or a vote for another block: not for the one decided
}

func flagCode(f byte) int {
	switch f {
	case 'C':
		return state.FlagCommit
	case 'N':
		return state.FlagNil
	}
	return state.FlagAbsent
}

// cause explains a row. The signature is what x/slashing counts, so a
// cause that explains an absent signature comes before one about votes.
func cause(observed bool, pv, pc int, missedSig, missedVote bool) string {
	switch {
	case !observed:
		if missedSig {
			return CauseObserverGap
		}
		return CauseMissedProposal
	case pv == state.VoteNil || pc == state.VoteNil:
		return CauseNilVote
	case pc == state.VoteBlock && missedSig:
		return CausePrecommitNotIncluded
	case pv == state.VoteAbsent && pc == state.VoteAbsent:
		return CauseNoVote
	case pv == state.VoteBlock && pc == state.VoteAbsent:
		return CausePrevoteOnly
	case pc == state.VoteBlock && pv == state.VoteAbsent:
		return CausePrevoteNotSeen
	case !missedVote && !missedSig:
		return CauseMissedProposal
	}
	return CauseNoVote
}

func median(xs []int64) int64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func mean(xs []int64) int64 {
	if len(xs) == 0 {
		return 0
	}
	var t int64
	for _, x := range xs {
		t += x
	}
	return t / int64(len(xs))
}

var (
	heightCols = []string{"chain", "height", "time", "round", "proposer_address", "votes_observed", "validators", "total_power",
		"signed_power", "missed", "interval_ms", "incident", "analyzed_at"}
	missCols = []string{"chain", "height", "validator_address", "validator_index", "voting_power", "prevote", "precommit", "commit_flag",
		"missed_prevote", "missed_precommit", "missed_signature", "missed_proposals", "cause", "solo", "incident"}
	statCols = []string{"chain", "address", "signed", "missed", "missed_prevote", "missed_precommit", "solo_missed", "proposed",
		"missed_proposals", "consecutive_missed", "window_size", "window_missed", "blocks_to_jail", "time_to_jail_ms",
		"last_height", "last_signed_height", "updated_at"}

	insHeights = store.Insert{Table: "cosmos_heights", Cols: heightCols, Suffix: "ON CONFLICT (chain, height) DO NOTHING"}
	insMisses  = store.Insert{Table: "cosmos_misses", Cols: missCols, Suffix: "ON CONFLICT (chain, height, validator_address) DO NOTHING"}
	insStats   = store.Insert{Table: "cosmos_validator_stats", Cols: statCols, Suffix: store.UpsertAll([]string{"chain", "address"}, statCols)}
	insSkipped = store.Insert{Table: "cosmos_skipped_heights", Cols: []string{"chain", "from_height", "to_height", "reason", "skipped_at"},
		Suffix: "ON CONFLICT (chain, from_height) DO NOTHING"}
)

// write stores a pass in one transaction, moving the cursor from `from` to
// `to` only if no other instance moved it meanwhile.
func (a *missed) write(ctx context.Context, from, to int64, out *output, now int64, p state.Params) error {
	db := a.cfg.DB
	var stats [][]any
	addrs := make([]string, 0, len(a.stats))
	for addr, st := range a.stats {
		if st.dirty {
			addrs = append(addrs, addr)
		}
	}
	slices.Sort(addrs)
	for _, addr := range addrs {
		st := a.stats[addr]
		stats = append(stats, []any{a.chain.Name, addr, st.signed, st.missed, st.missedPrevote, st.missedPrecommit, st.soloMissed,
			st.proposed, st.missedProposals, st.consecutive, st.windowSize, st.windowMissed, st.blocksToJail, st.timeToJail,
			st.lastHeight, st.lastSigned, now})
	}
	err := db.InTx(ctx, "store missed-vote analysis", func(tx *sql.Tx) error {
		// The cursor first: on PostgreSQL its row lock serialises two
		// instances, and the loser sees the moved cursor and gives up.
		q := db.Query().SQL("INSERT INTO cosmos_chains (chain, analyzed_height, updated_at, signed_blocks_window, min_signed_per_window, params_source) VALUES ").
			Row(a.chain.Name, to, now, p.SignedBlocksWindow, p.MinSignedPerWindow, p.Source).
			SQL(" ON CONFLICT (chain) DO UPDATE SET analyzed_height = excluded.analyzed_height, updated_at = excluded.updated_at, ",
				"signed_blocks_window = excluded.signed_blocks_window, min_signed_per_window = excluded.min_signed_per_window, ",
				"params_source = excluded.params_source WHERE cosmos_chains.analyzed_height = ").Arg(from)
		res, err := tx.ExecContext(ctx, q.String(), q.Args()...)
		if err != nil {
			return fmt.Errorf("move cursor: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("move cursor: %w", err)
		} else if n == 0 {
			return errStale
		}
		if err := db.InsertRows(ctx, tx, insHeights, out.heights); err != nil {
			return err
		}
		if err := db.InsertRows(ctx, tx, insMisses, out.misses); err != nil {
			return err
		}
		if err := a.writeLate(ctx, tx, out.late); err != nil {
			return err
		}
		skips := make([][]any, len(out.skips))
		for i, r := range out.skips {
			skips[i] = []any{a.chain.Name, r.from, r.to, r.reason, now}
		}
		if err := db.InsertRows(ctx, tx, insSkipped, skips); err != nil {
			return err
		}
		return db.InsertRows(ctx, tx, insStats, stats)
	})
	if err != nil {
		return err
	}
	for _, st := range a.stats {
		st.dirty = false
	}
	return nil
}
