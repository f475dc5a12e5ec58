package analyzers

import (
	"context"
	"database/sql"
	"fmt"
	"sort"

	"github.com/valtrack/valtrack/internal/cosmos/events"
)

// Heights the analyzer cannot analyse: how long it waits for them, and
// the ranges the sentry found pruned on every endpoint (blocks, or
// validator sets), which it does not wait for at all.

// maxPrunedSpans bounds the pruned ranges one read takes (each sentry
// reports a range per gap it gave up; overlapping reports are merged). A
// range beyond the bound is simply not known this pass: its heights wait
// their SkipAfter as any missing height does.
const maxPrunedSpans = 4096

// maxSightings bounds the clock's record of when each latest complete
// height was first seen (about one entry per block while the analysis is
// held up; the entries at or below the cursor are dropped every pass).
const maxSightings = 4096

// span is a range of heights, both ends included.
type span struct{ from, to int64 }

// spans are disjoint ranges, ascending.
type spans []span

// covering is the range holding h.
func (ss spans) covering(h int64) (span, bool) {
	i := sort.Search(len(ss), func(i int) bool { return ss[i].to >= h })
	if i < len(ss) && ss[i].from <= h {
		return ss[i], true
	}
	return span{}, false
}

// prunedSpans reads the ranges of pruned blocks that overlap from..to,
// merged.
func (a *missed) prunedSpans(ctx context.Context, from, to int64) (spans, error) {
	return a.prunedOf(ctx, events.PrunedBlocks, from, to)
}

// prunedSets reads the ranges of heights whose validator sets were pruned
// that overlap from..to, merged.
func (a *missed) prunedSets(ctx context.Context, from, to int64) (spans, error) {
	return a.prunedOf(ctx, events.PrunedValidatorSet, from, to)
}

func (a *missed) prunedOf(ctx context.Context, what string, from, to int64) (spans, error) {
	q := a.cfg.DB.Query().SQL("SELECT from_height, to_height FROM cosmos_pruned_heights WHERE chain = ").Arg(a.chain.Name).
		SQL(" AND what = ").Arg(what).SQL(" AND from_height <= ").Arg(to).SQL(" AND to_height >= ").Arg(from).
		SQL(" ORDER BY from_height LIMIT ").Arg(maxPrunedSpans)
	var out spans
	err := query(ctx, a.cfg.DB, q, "read pruned "+what, func(scan func(...any) error) error {
		var s span
		if err := scan(&s.from, &s.to); err != nil {
			return err
		}
		if n := len(out); n > 0 && s.from <= out[n-1].to+1 {
			out[n-1].to = max(out[n-1].to, s.to)
			return nil
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

// prunedPrefix is how far from start the heights are pruned on every
// endpoint with nothing of them stored (no block, no commit): those are
// skipped whole, however many, without reading them. start-1: none.
func (a *missed) prunedPrefix(ctx context.Context, start int64) (int64, error) {
	end := start - 1
	for range 16 { // ranges reported back to back; bounded, the rest next pass
		ss, err := a.prunedSpans(ctx, end+1, end+1)
		if err != nil {
			return 0, err
		}
		s, ok := ss.covering(end + 1)
		if !ok {
			break
		}
		stored, err := a.firstStored(ctx, end+1, s.to)
		if err != nil {
			return 0, err
		}
		if stored > 0 {
			return stored - 1, nil
		}
		end = s.to
	}
	return end, nil
}

// firstStored is the lowest height in from..to with a block or a commit
// stored (0: none).
func (a *missed) firstStored(ctx context.Context, from, to int64) (int64, error) {
	var first int64
	for _, table := range []string{"cosmos_blocks", "cosmos_commits"} {
		q := a.cfg.DB.Query().SQL("SELECT MIN(height) FROM " + table + " WHERE chain = ").Arg(a.chain.Name).
			SQL(" AND height >= ").Arg(from).SQL(" AND height <= ").Arg(to)
		var h sql.NullInt64
		if err := a.cfg.DB.Reader().QueryRowContext(ctx, q.String(), q.Args()...).Scan(&h); err != nil {
			return 0, fmt.Errorf("find stored heights in %d..%d: %w", from, to, err)
		}
		if h.Valid && (first == 0 || h.Int64 < first) {
			first = h.Int64
		}
	}
	return first, nil
}

// sighting: at (unix ms) the analyzer first saw height complete (its block
// and commit stored).
type sighting struct{ height, at int64 }

// sight records the latest complete height of a pass. The waiting clock of
// a missing height h starts at the first sighting above h: when the
// analyzer first saw a later height complete, whether or not it had got
// as far as h. So a run of missing heights waits one SkipAfter in all,
// not one each after the previous was given up.
func (a *missed) sight(latest, now int64) {
	if n := len(a.sightings); n > 0 && latest <= a.sightings[n-1].height {
		return
	}
	a.sightings = append(a.sightings, sighting{latest, now})
	if len(a.sightings) > maxSightings {
		// Dropping a sighting hands its heights the next one's (later)
		// time: they wait longer, never less.
		kept := a.sightings[:0]
		for i, s := range a.sightings {
			if i%2 == 1 || i == len(a.sightings)-1 {
				kept = append(kept, s)
			}
		}
		a.sightings = kept
	}
}

// waitingSince is when the clock of a missing height h started (false: no
// later height has been seen complete; it is not waited for yet).
func (a *missed) waitingSince(h int64) (int64, bool) {
	i := sort.Search(len(a.sightings), func(i int) bool { return a.sightings[i].height > h })
	if i == len(a.sightings) {
		return 0, false
	}
	return a.sightings[i].at, true
}

// forget drops what no height above done needs.
func (a *missed) forget(done int64) {
	i := sort.Search(len(a.sightings), func(i int) bool { return a.sightings[i].height > done })
	a.sightings = append(a.sightings[:0], a.sightings[i:]...)
	for h := range a.pending {
		if h <= done {
			delete(a.pending, h)
		}
	}
}

// progress notes whether a backfill is filling the heights the analyzer
// waits for: one that was missing (with a later height complete) at the
// previous pass is complete now. While that goes on, no missing height is
// given up: a long backfill, done in order, may take longer than SkipAfter
// to reach the end of its gap, and its last heights are slow, not lost.
// The heights of from..to missing now are remembered for the next pass
// (at most Batch of them).
func (a *missed) progress(d *heights, from, to, latest, now int64) {
	next := map[int64]bool{}
	for h := from; h <= to && h < latest; h++ {
		_, okB := d.blocks[h]
		_, okC := d.commits[h]
		switch {
		case okB && okC && a.pending[h]:
			a.progressAt = now
		case !okB || !okC:
			next[h] = true
		}
	}
	a.pending = next
}

// skipRun is a run of consecutive heights skipped for one reason; why is
// the log's explanation of its first height ("": not logged again).
type skipRun struct {
	from, to    int64
	reason, why string
}

// skip adds h..to to the output's runs (counted and logged once they are
// written).
func (out *output) skip(h, to int64, reason, why string) {
	if n := len(out.skips); n > 0 && out.skips[n-1].to == h-1 && out.skips[n-1].reason == reason {
		out.skips[n-1].to = to
		return
	}
	out.skips = append(out.skips, skipRun{h, to, reason, why})
}
