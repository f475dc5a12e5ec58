package analyzers_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/valtrack/valtrack/internal/analyze"
	"github.com/valtrack/valtrack/internal/cosmos/analyzers"
	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/cosmos/sink"
	"github.com/valtrack/valtrack/internal/store"
)

// split takes the events of heights from..to out of evs: what the store
// gets now, and what a backfill would bring later.
func split(evs []events.Event, from, to int64) (rest, gap []events.Event) {
	for _, e := range evs {
		if h := events.HeightOf(e); h >= from && h <= to {
			gap = append(gap, e)
		} else {
			rest = append(rest, e)
		}
	}
	return rest, gap
}

// onlyKind keeps the events of one kind.
func onlyKind(evs []events.Event, kind string) []events.Event {
	var out []events.Event
	for _, e := range evs {
		if events.Kind(e) == kind {
			out = append(out, e)
		}
	}
	return out
}

// gap is a chain of heights 1..top whose heights from..to are not
// stored (their events kept in gap), after one pass of an analyzer at
// start.
type gap struct {
	sim   *sim
	sink  *sink.Sink
	clock *clock
	reg   *prometheus.Registry
	a     analyze.Analyzer
	gap   []events.Event
}

func newGap(t *testing.T, db *store.DB, from, to, top int64) *gap {
	t.Helper()
	g := &gap{sim: newSim(t, 10, 10, 10, 10), sink: newSink(t, db), clock: &clock{start}, reg: prometheus.NewRegistry()}
	g.sim.set(1)
	g.sim.heights(1, top, heightOpts{})
	var evs []events.Event
	evs, g.gap = split(g.sim.take(), from, to)
	apply(t, g.sink, evs, 256)
	g.a = newAnalyzer(t, db, analyzers.Chain{Window: 100, MinSigned: 0.5}, g.reg, g.clock)
	run(t, g.a)
	return g
}

// passAt runs a pass at a time and wants the cursor at want after it.
func passAt(t *testing.T, a analyze.Analyzer, c *clock, db *store.DB, at time.Time, want int64, why string) {
	t.Helper()
	c.now = at
	run(t, a)
	if got := cursor(t, db); got != want {
		t.Fatalf("cursor %d %s", got, why)
	}
}

func prunedEvent(from, to int64) *events.PrunedHeights {
	return &events.PrunedHeights{V: 1, Chain: chainName, From: from, To: to, LowestAvailable: to + 1, Endpoints: 2, Observer: obs(genesisMs)}
}

func skippedCount(t *testing.T, reg *prometheus.Registry, reason string) float64 {
	t.Helper()
	v, _ := gauge(t, reg, "valtrack_cosmos_skipped_heights_total", map[string]string{"chain": chainName, "reason": reason})
	return v
}

// skippedRows are the rows of cosmos_skipped_heights as FROM..TO:REASON.
func skippedRows(t *testing.T, db *store.DB) string {
	t.Helper()
	rows, err := db.Reader().Query("SELECT from_height, to_height, reason FROM cosmos_skipped_heights ORDER BY from_height")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var from, to int64
		var reason string
		if err := rows.Scan(&from, &to, &reason); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d..%d:%s", from, to, reason))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, " ")
}

// passOnce stores evs, runs one pass of a new analyzer and wants the
// cursor at want after it; it returns the analyzer's registry.
func passOnce(t *testing.T, db *store.DB, evs []events.Event, want int64, why string) *prometheus.Registry {
	t.Helper()
	apply(t, newSink(t, db), evs, 64)
	reg := prometheus.NewRegistry()
	run(t, newAnalyzer(t, db, analyzers.Chain{Window: 100, MinSigned: 0.5}, reg, &clock{start}))
	if got := cursor(t, db); got != want {
		t.Fatalf("cursor %d after one pass, want %d: %s", got, want, why)
	}
	return reg
}

// wantSkipped wants the skipped runs rows (skippedRows) and n heights
// counted for reason.
func wantSkipped(t *testing.T, db *store.DB, reg *prometheus.Registry, rows, reason string, n float64) {
	t.Helper()
	if got := skippedRows(t, db); got != rows {
		t.Errorf("skipped rows %q, want %q", got, rows)
	}
	if got := skippedCount(t, reg, reason); got != n {
		t.Errorf("skipped heights (%s) %v, want %v", reason, got, n)
	}
}

// A gap of 1,500 heights (more than a pass's batch) that the sentry found
// pruned on every endpoint is skipped in one pass, without waiting and
// with no clock moved: counted as pruned, stored as one skipped run,
// nobody charged with a miss there; the heights after it are analysed in
// the same pass as usual, validator 3's absences there included.
func TestPrunedGapSkippedInOnePass(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		s := newSim(t, 10, 10, 10, 10)
		s.set(1)
		s.heights(1, 4, heightOpts{})
		sk := newSink(t, db)
		apply(t, sk, s.take(), 256)
		reg := prometheus.NewRegistry()
		a := newAnalyzer(t, db, analyzers.Chain{Window: 100, MinSigned: 0.5}, reg, &clock{start})
		run(t, a)
		s.heights(5, 1504, heightOpts{})
		s.heights(1505, 1510, heightOpts{who: map[int]behaviour{3: offline}})
		evs, _ := split(s.take(), 5, 1504)
		evs = append(evs, prunedEvent(5, 1504))
		apply(t, sk, evs, 256)
		run(t, a)
		if got := cursor(t, db); got != 1510 {
			t.Fatalf("cursor %d after one pass, want 1510: the pruned gap is not waited for", got)
		}
		if n := skippedCount(t, reg, analyzers.SkipPruned); n != 1500 {
			t.Errorf("skipped heights (pruned) %v, want 1500", n)
		}
		for _, r := range []string{analyzers.SkipBlockMissing, analyzers.SkipCommitMissing} {
			if n := skippedCount(t, reg, r); n != 0 {
				t.Errorf("skipped heights (%s) %v, want 0", r, n)
			}
		}
		if got := skippedRows(t, db); got != "5..1504:pruned" {
			t.Errorf("skipped rows %q, want one run 5..1504:pruned", got)
		}
		if n := count(t, db, "cosmos_heights"); n != 10 {
			t.Errorf("%d analysed heights, want 10 (1..4, 1505..1510)", n)
		}
		ms := readMisses(t, db)
		if len(ms) != 6 || len(only(ms, addr(3))) != 6 || ms[0].Height != 1505 {
			t.Errorf("misses %+v, want validator 3 at 1505..1510 only", ms)
		}
		st := readStats(t, db)
		if v := st[addr(0)]; v.Signed != 10 || v.Missed != 0 {
			t.Errorf("validator 0 %+v, want 10 signed and no miss", v)
		}
		if v := st[addr(3)]; v.Signed != 4 || v.Missed != 6 || v.Consecutive != 6 {
			t.Errorf("validator 3 %+v, want 4 signed, 6 missed in a row (nothing charged in the gap)", v)
		}
	})
}

// Within a pruned range, what was stored anyway is analysed (heights seen
// live), and the heights missing their block or commit are skipped at once
// as pruned, interleaved, in the pass that reaches them.
func TestPrunedRangeWithStoredHeights(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		s := newSim(t, 10, 10, 10, 10)
		s.set(1)
		s.heights(1, 12, heightOpts{})
		evs, gap := split(s.take(), 5, 9)
		others, seven := split(gap, 7, 7)
		evs = append(evs, seven...)                              // 7 seen live, complete
		evs = append(evs, onlyKind(others, events.KindBlock)...) // blocks of 5, 6, 8, 9 seen live, their commits not
		evs = append(evs, prunedEvent(5, 9))
		reg := passOnce(t, db, evs, 12, "the pruned heights are not waited for")
		wantSkipped(t, db, reg, "5..6:pruned 8..9:pruned", analyzers.SkipPruned, 4) // 7 analysed
		if n := count(t, db, "cosmos_heights"); n != 8 {
			t.Errorf("%d analysed heights, want 8 (1..4, 7, 10..12)", n)
		}
		if ms := readMisses(t, db); len(ms) != 0 {
			t.Errorf("misses %+v, want none", ms)
		}
		if v := readStats(t, db)[addr(0)]; v.Signed != 8 {
			t.Errorf("validator 0 signed %d, want 8", v.Signed)
		}
	})
}

// A run of 50 missing heights (no pruning known) is skipped after one
// SkipAfter in all, not fifty: each height's clock started when a later
// height was first seen complete, though the analyzer stood at the first.
// Before the bound none is skipped. Afterwards the heights are analysed as
// usual, and a height missing later has a clock of its own.
func TestMissingRunSkippedAfterOneBound(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		g := newGap(t, db, 5, 54, 60)
		s, sk, c, reg, a := g.sim, g.sink, g.clock, g.reg, g.a
		passAt(t, a, c, db, start.Add(analyzers.DefaultSkipAfter-time.Second), 4, "a second before the bound, want 4")
		if n := skippedCount(t, reg, analyzers.SkipCommitMissing); n != 0 {
			t.Errorf("%v heights skipped before the bound, want 0", n)
		}
		passAt(t, a, c, db, start.Add(analyzers.DefaultSkipAfter+time.Second), 60, "after one bound, want 60: 5..54 skipped together")
		if n := skippedCount(t, reg, analyzers.SkipCommitMissing); n != 50 {
			t.Errorf("skipped heights (commit_missing) %v, want 50", n)
		}
		if got := skippedRows(t, db); got != "5..54:commit_missing" {
			t.Errorf("skipped rows %q, want one run 5..54", got)
		}

		// Later: 61..65 complete, 66 missing, 67..70 complete. 66's clock
		// starts now (the old run's is long past): it waits its own bound.
		s.heights(61, 70, heightOpts{who: map[int]behaviour{2: offline}})
		evs, _ := split(s.take(), 66, 66)
		apply(t, sk, evs, 256)
		later := c.now
		passAt(t, a, c, db, later, 65, "want 65: 66 has just begun to wait")
		passAt(t, a, c, db, later.Add(analyzers.DefaultSkipAfter-time.Second), 65, "a second before 66's bound, want 65")
		passAt(t, a, c, db, later.Add(analyzers.DefaultSkipAfter+time.Second), 70, "after 66's bound, want 70")
		if n := count(t, db, "cosmos_heights"); n != 4+6+9 {
			t.Errorf("%d analysed heights, want 19 (1..4, 55..65, 67..70 but 66)", n)
		}
		if ms := readMisses(t, db); len(ms) != 9 || len(only(ms, addr(2))) != 9 {
			t.Errorf("misses %+v, want validator 2's at 61..70 but 66", ms)
		}
		if v := readStats(t, db)[addr(0)]; v.Signed != 4+6+9 {
			t.Errorf("validator 0 signed %d, want 19", v.Signed)
		}
	})
}

// A backfill that is filling a gap is slow, not lost: while heights that
// were missing keep arriving, the rest of the gap is not given up at the
// first bound; once arrivals stop, it is, one bound after the last.
func TestBackfillInProgressNotSkipped(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		g := newGap(t, db, 5, 20, 25)
		sk, c, a, gap := g.sink, g.clock, g.a, g.gap
		arrived := start.Add(90 * time.Second)
		first, _ := split(gap, 13, 20) // 5..12 backfilled
		apply(t, sk, first, 256)
		passAt(t, a, c, db, arrived, 12, "want 12 (5..12 backfilled)")
		passAt(t, a, c, db, start.Add(analyzers.DefaultSkipAfter+time.Second), 12, "one bound after the gap was seen, want 12: the backfill was filling it 30 s ago")
		passAt(t, a, c, db, arrived.Add(analyzers.DefaultSkipAfter+time.Second), 25, "one bound after the last arrival, want 25")
		if got := skippedRows(t, db); got != "13..20:commit_missing" {
			t.Errorf("skipped rows %q, want 13..20", got)
		}
		if n := count(t, db, "cosmos_heights"); n != 17 {
			t.Errorf("%d analysed heights, want 17 (1..12, 21..25)", n)
		}
	})
}

// A set change whose set every endpoint had pruned (the sentry's
// pruned_heights of what validator_set, 4..6 below the lowest height it
// could read a set at, 7) is skipped at once as validator_set_pruned, with
// no clock moved and nothing analysed against the old set; from 7 on the
// heights are analysed against the set the sentry read there (without a
// hash: it did not know 7's header), the newcomer's absences included. A
// blocks range elsewhere is not read as a sets range, nor the reverse.
func TestPrunedSetSkippedAtOnce(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		s := replacedAt4(t)
		read := s.setEvent(7)
		read.ValidatorsHash = ""
		sets := prunedEvent(4, 6)
		sets.What, sets.ValidatorsHash = events.PrunedValidatorSet, s.setHash()
		reg := passOnce(t, db, append(s.take(), sets, read, prunedEvent(20, 30)), 9, "the heights of the pruned set are not waited for")
		wantSkipped(t, db, reg, "4..6:validator_set_pruned", analyzers.SkipSetPruned, 3)
		for _, r := range []string{analyzers.SkipPruned, analyzers.SkipSetNotStored} {
			if n := skippedCount(t, reg, r); n != 0 {
				t.Errorf("skipped heights (%s) %v, want 0", r, n)
			}
		}
		if n := count(t, db, "cosmos_heights"); n != 6 {
			t.Errorf("%d analysed heights, want 6 (1..3, 7..9)", n)
		}
		ms := readMisses(t, db)
		if got := only(ms, addr(4)); len(got) != 3 || got[0].Height != 7 || got[0].Index != 2 {
			t.Errorf("newcomer's misses %+v, want 7..9 at index 2", got)
		}
		if v := readStats(t, db)[addr(2)]; v.Signed != 3 || v.Missed != 0 {
			t.Errorf("leaver %+v, want 3 signed and nothing missed (4..6 not analysed against the old set)", v)
		}
	})
}
