package program

import (
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
