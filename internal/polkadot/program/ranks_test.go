package program

import (
	"reflect"
	"slices"
	"testing"

	"github.com/valtrack/valtrack/internal/polkadot/events"
)

func era(n uint32, complete bool, vals ...string) events.Era {
	pts := map[string]uint32{}
	total := uint32(0)
	for _, v := range vals {
		pts[v] = 20
		total += 20
	}
	return events.Era{Chain: "kusama", Era: n, Validators: vals, Points: pts, Total: total, Complete: complete}
}

func TestRanksPerPeriodWithIdentities(t *testing.T) {
	// Kusama: periods of 4 eras (100–103, 104–107, 108–111). A and A2 are
	// subs of one identity ROOT; B its own.
	eras := []events.Era{
		era(100, true, "A"), era(101, true, "A", "B"), era(103, true, "A"),
		era(105, true, "A2"), // A's identity, through its sub
		era(109, true, "B"), era(110, false, "ROOT"),
	}
	ids := map[string]string{"A": "ROOT", "A2": "ROOT"}
	cands := []Entry{{Name: "b", Stash: "B"}, {Name: "a", Stash: "A"}}
	got := Ranks(eras, 4, ids, cands)
	want := []RankEvent{
		{Stash: "A", Period: 100, Eras: []uint32{100, 101, 103}, Active: true, Rank: 1},
		{Stash: "B", Period: 100, Eras: []uint32{101}, Active: true, Rank: 1},
		{Stash: "A", Period: 104, Eras: []uint32{105}, Active: true, Rank: 2},
		{Stash: "B", Period: 104, Eras: []uint32{}, Active: false, Rank: 1},
		{Stash: "A", Period: 108, Eras: []uint32{110}, Active: true, Rank: 3},
		{Stash: "B", Period: 108, Eras: []uint32{109}, Active: true, Rank: 2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rank log\n got %+v\nwant %+v", got, want)
	}
	if r := CurrentRanks(got); r["A"] != 3 || r["B"] != 2 {
		t.Errorf("current ranks = %v", r)
	}
}

func TestRanksBackfillAndDeterminism(t *testing.T) {
	// Eras arriving out of order, one twice, with a gap (era 3 never
	// seen): the log is the same as from the clean list.
	clean := []events.Era{era(1, true, "A"), era(2, true, "A"), era(4, true, "B", "A")}
	messy := []events.Era{era(4, true, "A", "B"), era(1, true, "A"), era(2, false), era(2, true, "A")}
	cands := []Entry{{Stash: "A"}, {Stash: "B"}}
	a := Ranks(clean, 1, nil, cands)
	b := Ranks(messy, 1, nil, cands)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("the same history in another order gave another log:\n%+v\n%+v", a, b)
	}
	// Polkadot's period 1: one period per era; A active in all three.
	if len(a) != 6 || a[len(a)-2].Stash != "A" || a[len(a)-2].Rank != 3 {
		t.Errorf("log = %+v", a)
	}
	// Backfill: a later call with the missing era 3 recomputes the log
	// with it in place.
	c := Ranks(append(messy, era(3, true, "B")), 1, nil, cands)
	if r := CurrentRanks(c); r["A"] != 3 || r["B"] != 2 {
		t.Errorf("after backfilling era 3: %v", r)
	}
	if len(c) != 8 || c[4].Period != 3 || c[5].Stash != "B" || !c[5].Active {
		t.Errorf("era 3 not in place: %+v", c)
	}
}

func TestZeroPointFaults(t *testing.T) {
	e1 := era(7, true, "A", "B", "C")
	e1.Chain, e1.Block = "polkadot", 1234
	e1.Points["B"] = 0
	delete(e1.Points, "C") // active, not in the points map: no points
	running := era(8, false, "A", "B")
	running.Points["B"] = 0 // not final yet
	noPoints := events.Era{Era: 9, Validators: []string{"A"}, Complete: true}
	got := ZeroPointFaults([]events.Era{running, e1, noPoints, e1})
	if len(got) != 2 {
		t.Fatalf("%d faults, want 2 (B and C in era 7): %+v", len(got), got)
	}
	for i, stash := range []string{"B", "C"} {
		f := got[i]
		want := stash + " was active in era 7 and earned no era points"
		if f.Stash != stash || f.Kind != events.FaultZeroPoints || f.Reason != want || f.Era != 7 || f.Block != 1234 ||
			f.ID != "polkadot/zero_points/7/"+stash || f.V != events.SchemaVersion {
			t.Errorf("fault %d = %+v", i, f)
		}
	}
	if again := ZeroPointFaults([]events.Era{e1, running}); !reflect.DeepEqual(again, got) {
		t.Error("fault IDs or order changed with the input order")
	}
}

func TestInclusion(t *testing.T) {
	var eras []events.Era
	// Eras 1..100 complete; A earns points in eras 81..100 and in every
	// even era before; era 101 is running and A has points in it.
	for n := uint32(1); n <= 100; n++ {
		e := era(n, true, "B")
		if n > 80 || n%2 == 0 {
			e = era(n, true, "A", "B")
		}
		eras = append(eras, e)
	}
	eras = append(eras, era(101, false, "A"))
	incl, span, nomAt := Inclusion(eras, "A")
	// Window 84: eras 17..100 → 20 (81..100) + even eras 18..80 (32) = 52.
	near(t, "inclusion", incl, 52.0/84)
	// Window 28: eras 73..100 → 20 + even 74..80 (4) = 24.
	near(t, "span", span, 24.0/28)
	if nomAt != 101 {
		t.Errorf("nominatedAt = %d, want 101 (the running era with points)", nomAt)
	}
	if i, s, n := Inclusion(eras, "nobody"); i != 0 || s != 0 || n != 0 {
		t.Errorf("a stash never active: %v %v %v", i, s, n)
	}
	// Fewer eras stored than the window: still over 84 (as 1KV).
	short := []events.Era{era(1, true, "A"), era(2, true, "A")}
	i, _, _ := Inclusion(short, "A")
	near(t, "two eras", i, 2.0/84)
	if !slices.Equal(short[0].Validators, []string{"A"}) {
		t.Error("Inclusion changed its input")
	}
}

// eraRange are eras from..to, each with vals in its set.
func eraRange(from, to uint32, vals ...string) []events.Era {
	var out []events.Era
	for e := from; e <= to; e++ {
		out = append(out, era(e, true, vals...))
	}
	return out
}

func headsOf(evs []RankEvent, heads map[string]RankHead) map[string]RankHead {
	if heads == nil {
		heads = map[string]RankHead{}
	}
	for _, e := range evs {
		heads[e.Stash] = RankHead{Period: e.Period, Rank: e.Rank, Has: true}
	}
	return heads
}

// Rank counts every active period of the history, past any window: 200
// eras on Polkadot give 200; 440 on Kusama (periods of 4) give 110, over
// the Kusama-rank rule's 100.
func TestAppendRanksGrowOverTheWholeHistory(t *testing.T) {
	cands := []Entry{{Name: "a", Stash: "A"}}
	evs := AppendRanks(eraRange(1, 200, "A"), 1, nil, cands, nil, 117)
	if len(evs) != 200 || evs[199].Rank != 200 || evs[0].Period != 1 {
		t.Fatalf("polkadot: %d rows, last %+v: want 200 rows, rank 200", len(evs), evs[len(evs)-1])
	}
	evs = AppendRanks(eraRange(0, 439, "A"), 4, nil, cands, nil, 356)
	if len(evs) != 110 || evs[109].Rank != 110 || evs[109].Period != 436 {
		t.Fatalf("kusama: %d rows, last %+v: want 110 periods, rank 110", len(evs), evs[len(evs)-1])
	}
}

// Appending in steps from the heads gives the same log as one pass over
// everything, reading only the eras after the heads.
func TestAppendRanksIncrementalEqualsFull(t *testing.T) {
	cands := []Entry{{Name: "a", Stash: "A"}, {Name: "b", Stash: "B"}}
	all := append(eraRange(0, 49, "A"), eraRange(50, 99, "A", "B")...)
	full := AppendRanks(all, 4, nil, cands, nil, 16)
	var steps []RankEvent
	heads := map[string]RankHead{}
	for end := uint32(9); end < 100; end += 10 {
		from := uint32(0)
		if h, ok := heads["A"]; ok {
			from = h.Period + 4
		}
		evs := AppendRanks(all[from:end+1], 4, nil, cands, heads, 0)
		steps = append(steps, evs...)
		heads = headsOf(evs, heads)
	}
	sortEvents := func(e []RankEvent) {
		slices.SortFunc(e, func(a, b RankEvent) int {
			if a.Stash != b.Stash {
				if a.Stash < b.Stash {
					return -1
				}
				return 1
			}
			return int(a.Period) - int(b.Period)
		})
	}
	sortEvents(full)
	sortEvents(steps)
	if !reflect.DeepEqual(full, steps) {
		t.Fatalf("incremental log differs from the full one:\n full %+v\nsteps %+v", full, steps)
	}
	if h := heads["B"]; h.Rank != 13 { // periods 48 (era 50, 51), 52 … 96
		t.Errorf("B's rank %d, want 13", h.Rank)
	}
}

// A missing era still readable holds the appends at its period (the
// sentry will backfill it), then they continue in order; one older than
// the readable window is a gap for good, passed over.
func TestAppendRanksWaitForABackfillAndPassOverLostEras(t *testing.T) {
	cands := []Entry{{Name: "a", Stash: "A"}}
	gap := append(eraRange(1, 4, "A"), eraRange(6, 10, "A")...)
	evs := AppendRanks(gap, 1, nil, cands, nil, 0)
	if len(evs) != 4 || evs[3].Period != 4 || evs[3].Rank != 4 {
		t.Fatalf("with era 5 missing but readable: %+v, want periods 1..4 only", evs)
	}
	heads := headsOf(evs, nil)
	evs = AppendRanks(eraRange(5, 10, "A"), 1, nil, cands, heads, 0) // era 5 backfilled
	if len(evs) != 6 || evs[0].Period != 5 || evs[5].Rank != 10 {
		t.Fatalf("after the backfill: %+v, want periods 5..10 up to rank 10", evs)
	}
	evs = AppendRanks(gap, 1, nil, cands, nil, 6) // era 5 will never come
	if len(evs) != 9 || evs[3].Period != 4 || evs[4].Period != 6 || evs[8].Rank != 9 {
		t.Fatalf("with era 5 lost: %+v, want 9 rows skipping period 5", evs)
	}
	// A stash without a head waits for the window's start to be stored.
	if evs := AppendRanks(eraRange(10, 12, "A"), 1, nil, cands, nil, 8); len(evs) != 0 {
		t.Fatalf("eras 8, 9 readable and not stored yet: %+v, want nothing appended", evs)
	}
}
