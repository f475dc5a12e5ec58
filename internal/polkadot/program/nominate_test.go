package program

import (
	"math"
	"reflect"
	"testing"

	"github.com/valtrack/valtrack/internal/polkadot/events"
)

func dots(ns ...float64) []events.Amount {
	out := make([]events.Amount, len(ns))
	for i, n := range ns {
		out[i] = dot(n)
	}
	return out
}

func TestTargetCount(t *testing.T) {
	five := []float64{1, 1, 1, 1, 1} // the 5 lowest, skipped
	for _, tc := range []struct {
		name    string
		balance float64
		elected []float64
		max     int
		want    int
	}{
		// 10,000 DOT − max(20 DOT = 0.2 %, 20 DOT) = 9,980 buffered; totals
		// after the skipped five 2,000 3,000 4,000 5,000 (given unsorted):
		// sums 2,000, 5,000, 9,000 < 9,980, 14,000 ≥ → 3; ceil(3 × 1.05) = 4.
		{"hand example", 10_000, append([]float64{5000, 3000}, append(five, 4000, 2000)...), 16, 4},
		{"capped", 10_000, append(five, 2000, 3000, 4000, 5000), 3, 3},
		// 100,000 DOT: 0.2 % = 200 DOT > 20, buffered 99,800; totals 49,800,
		// 50,000: 49,800 < 99,800, 99,800 is not below → 1; ceil(1.05) = 2.
		// (A 20 DOT buffer would have fit both: 3.)
		{"0.2 % buffer", 100_000, append(five, 50_000, 49_800), 16, 2},
		{"balance below the buffer", 10, append(five, 1, 1), 16, 1},
		{"no elected stakes", 1_000_000, nil, 16, 1},
		// 30 totals of 10,000 all fit 998,000: ceil(31.5) = 32, capped at 24.
		{"rich, capped", 1_000_000, append(five, repeat(10_000, 30)...), 24, 24},
		{"rich, uncapped", 1_000_000, append(five, repeat(10_000, 30)...), 0, 32},
	} {
		if got := TargetCount(dot(tc.balance), dots(tc.elected...), tc.max, dotDecimals); got != tc.want {
			t.Errorf("%s: %d targets, want %d", tc.name, got, tc.want)
		}
	}
}

func repeat(v float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestAssignCutsConsecutiveSlices(t *testing.T) {
	var ranked []Score
	for _, s := range []string{"S1", "S2", "S3", "S4", "S5"} {
		ranked = append(ranked, Score{Stash: s})
	}
	got := Assign(ranked, []NominatorInput{{"N1", 2}, {"N2", 0}, {"N3", 2}, {"N4", 3}, {"N5", 1}})
	want := []Assignment{
		{Nominator: "N1", Targets: []string{"S1", "S2"}, Count: 2},
		{Nominator: "N2", Targets: []string{}, Count: 0, Note: "no targets: its balance backs none"},
		{Nominator: "N3", Targets: []string{"S3", "S4"}, Count: 2},
		{Nominator: "N4", Targets: []string{"S5"}, Count: 3, Note: "only 1 of 3 targets left in the ranked list"},
		{Nominator: "N5", Targets: []string{}, Count: 1, Note: "no targets left: the 5 ranked candidates went to the nominators before it"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("assignments\n got %+v\nwant %+v", got, want)
	}
}

func TestIsRoundDue(t *testing.T) {
	for _, tc := range []struct {
		last, active, period uint32
		have                 bool
		want                 bool
	}{
		{0, 10, 4, false, true}, // never nominated
		{10, 10, 1, true, false},
		{10, 11, 1, true, true},
		{10, 13, 4, true, false},
		{10, 14, 4, true, true},
		{10, 11, 0, true, true}, // period 0 counts as 1
		{4294967295, 4294967295, 4, true, false},
	} {
		if got := IsRoundDue(tc.last, tc.active, tc.period, tc.have); got != tc.want {
			t.Errorf("IsRoundDue(%d, %d, %d, %v) = %v", tc.last, tc.active, tc.period, tc.have, got)
		}
	}
}

// The next round's era and when it starts (1KV's nextNomination).
func TestNextRoundEraAndItsStart(t *testing.T) {
	const day = int64(86_400_000)
	for _, c := range []struct {
		last, active, period uint32
		have                 bool
		start, eraMs, now    int64
		wantEra              uint32
		wantAt               int64
	}{
		{0, 5, 1, false, 1000, day, 7000, 5, 7000},               // never nominated: due now
		{5, 5, 1, true, 1000, day, 7000, 6, 1000 + day},          // next era
		{8, 9, 4, true, 1000, day / 4, 7000, 12, 1000 + 3*day/4}, // Kusama: 3 eras of 6 h ahead
		{8, 9, 0, true, 1000, day, 7000, 9, 7000},                // period 0 counts as 1: due now
		{5, 5, 1, true, 0, day, 7000, 6, 0},                      // era start unknown
		{5, 5, 1, true, 1000, 0, 7000, 6, 0},                     // era length unknown
		{math.MaxUint32 - 1, 3, 4, true, 1000, day, 7000, math.MaxUint32, 1000 + int64(math.MaxUint32-3)*day},
	} {
		era := NextRoundEra(c.last, c.active, c.period, c.have)
		at := EstimateEraStart(era, c.active, c.start, c.eraMs, c.now)
		if era != c.wantEra || at != c.wantAt {
			t.Errorf("%+v: era %d at %d, want %d at %d", c, era, at, c.wantEra, c.wantAt)
		}
	}
}
