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
