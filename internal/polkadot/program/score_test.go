package program

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/valtrack/valtrack/internal/polkadot/events"
)

func TestQuantileInterpolatesOnTheSortedArray(t *testing.T) {
	arr := []float64{1.0, 0.1, 0.9, 0.2, 0.5} // unsorted on purpose
	// sorted {0.1, 0.2, 0.5, 0.9, 1.0}; position (5−1)·q
	near(t, "q0.05", quantile(arr, 0.05), 0.1+0.2*(0.2-0.1)) // pos 0.2
	near(t, "q0.95", quantile(arr, 0.95), 0.9+0.8*(1.0-0.9)) // pos 3.8
	near(t, "q0.5", quantile(arr, 0.5), 0.5)                 // pos 2
	near(t, "q0", quantile(arr, 0), 0.1)
	near(t, "q1", quantile(arr, 1), 1.0)
	near(t, "empty", quantile(nil, 0.5), 0)
	if arr[0] != 1.0 {
		t.Error("quantile sorted its argument in place")
	}
}

func TestScaledClampsBetweenQuantiles(t *testing.T) {
	arr := []float64{0, 10, 20, 30, 40}
	// q10 at pos 0.4 = 4, q90 at pos 3.6 = 36
	near(t, "below", scaled(3, arr), 0)
	near(t, "above", scaled(37, arr), 1)
	near(t, "mid", scaled(20, arr), (20-4.0)/(36-4.0))
	near(t, "empty", scaledDefined(5, nil, 0.1, 0.9), 0)
	// A flat distribution: v ≤ lo is checked first, so 0, never NaN.
	near(t, "flat", scaledDefined(3, []float64{3, 3, 3}, 0, 1), 0)
}

// golden are five candidates whose every component is computed by hand
// below from 1KV's definitions (research §2).
func golden() ([]*Candidate, []string) {
	at := ms(testNow)
	own := "OWN-NOMINATOR"
	type rec struct {
		stash, impl             string
		incl, span              float64
		disc                    int64
		nomAt                   uint32
		rank, faults, unclaimed int
		bonded                  float64 // DOT
		offline                 int64   // ms this week
		loc                     *events.Location
		active, inactive        []events.Backer
	}
	b := func(who string, tokens float64) events.Backer { return events.Backer{Who: who, Value: dot(tokens)} }
	recs := []rec{
		{"A", "Parity Polkadot", 0.1, 0.25, 1000, 100, 0, 0, 0, 1000, 0,
			&events.Location{City: "Berlin", Region: "Europe-West", Country: "DE", Provider: "Hetzner Online GmbH"},
			[]events.Backer{b("n1", 100)}, []events.Backer{b(own, 10000)}},
		{"B", "Parity Polkadot", 0.2, 0.5, 2000, 100, 5, 0, 2, 2000, 60000,
			&events.Location{City: "berlin ", Region: "Europe-West", Country: "de ", Provider: "OVH"},
			[]events.Backer{b("n2", 400), b("n3", 900)}, nil},
		{"C", "Kagome Node", 0.5, 0.5, 3000, 110, 10, 0, 0, 3000, 0,
			&events.Location{City: "Paris", Region: "Europe-West", Country: "FR", Provider: "OVH"},
			[]events.Backer{b("n1", 100)}, []events.Backer{b("n4", 100)}},
		{"D", "Parity Polkadot", 0.9, 0.75, 4000, 120, 20, 1, 0, 4000, 0,
			&events.Location{City: "Tokyo", Region: "Kanto", Country: "JP", Provider: "OVH"},
			nil, nil},
		{"E", "Parity Polkadot", 1.0, 1.0, 5000, 0, 40, 3, 0, 5000, 600000,
			nil,
			[]events.Backer{b("n5", 2500)}, []events.Backer{b("n5", 2500), b("n6", 1600)}},
	}
	var out []*Candidate
	for _, r := range recs {
		c := goodCandidate("node-"+r.stash, r.stash)
		c.Inclusion, c.SpanInclusion, c.NominatedAt = r.incl, r.span, r.nomAt
		c.Rank, c.Faults = r.rank, r.faults
		c.Chain.SelfStake = events.Got(dot(r.bonded), at)
		eras := []uint32{}
		for i := 0; i < r.unclaimed; i++ {
			eras = append(eras, uint32(1400+i))
		}
		c.Chain.UnclaimedEras = events.Got(eras, at)
		c.Chain.ActiveNominators = events.Got(r.active, at)
		c.Chain.InactiveNominators = events.Got(r.inactive, at)
		c.Telemetry.Implementation = r.impl
		c.Telemetry.DiscoveredAt = r.disc
		c.Telemetry.OfflineWeek = r.offline
		c.Telemetry.Location = r.loc
		out = append(out, c)
	}
	return out, []string{own}
}

// goldenWant is every component of every golden candidate, by hand.
func goldenWant() map[string]map[string]float64 {
	// inclusion {0.1,0.2,0.5,0.9,1.0}: q05 = 0.1+0.2·0.1 = 0.12 (pos 0.2),
	// q95 = 0.9+0.8·0.1 = 0.98 (pos 3.8); value (1 − (v−0.12)/0.86)·220.
	incl := func(v float64) float64 { return 220 * (1 - (v-0.12)/(0.98-0.12)) }
	// spanInclusion {0.25,0.5,0.5,0.75,1}: q05 = 0.25+0.2·0.25 = 0.3,
	// q95 = 0.75+0.8·0.25 = 0.95.
	span := func(v float64) float64 { return 220 * (1 - (v-0.3)/(0.95-0.3)) }
	// discovered {1000..5000}: q10 = 1000+0.4·1000 = 1400, q90 = 4000+0.6·1000 = 4600.
	disc := func(v float64) float64 { return 5 * (1 - (v-1400)/(4600-1400)) }
	// nominated {0,100,100,110,120}: q10 = 0+0.4·100 = 40, q90 = 110+0.6·10 = 116.
	nom := func(v float64) float64 { return 80 * (1 - (v-40)/(116-40)) }
	// rank {0,5,10,20,40}: q10 = 0.4·5 = 2, q90 = 20+0.6·20 = 32.
	rank := func(v float64) float64 { return 5 * (v - 2) / (32 - 2) }
	// bonded {1000..5000} DOT in planck: q05 = 1000+0.2·1000 = 1200 DOT,
	// q85 = 4000+0.4·1000 = 4400 DOT (pos 3.4).
	bond := func(v float64) float64 { return 50 * (v - 1200) / (4400 - 1200) }
	// faults {0,0,0,1,3}: q10 = 0, q90 = 1+0.6·2 = 2.2.
	faults := func(v float64) float64 { return 5 * (1 - v/2.2) }
	// offline {0,0,0,60000,600000}: q10 = 0, q90 = 60000+0.6·540000 = 384000.
	off := func(v float64) float64 { return 2 * (1 - v/384000) }
	// nominatorStake Σ√tokens: A √100 = 10 (own 10000 excluded); B √400+√900
	// = 50; C √100+√100 = 20; D 0; E √2500 (n5 once)+√1600 = 90.
	// {0,10,20,50,90}: q05 = 0.2·10 = 2, q95 = 50+0.8·40 = 82.
	ns := func(v float64) float64 { return 100 * (v - 2) / (82 - 2) }
	// City counts (case/space-insensitive): berlin 2, paris 1, tokyo 1 →
	// dist {1,1,2}: min 1, max 2; factor 1 − (count−1)/(2−1). E: no
	// location: 0.25·W. Region: europe-west 3, kanto 1 → {1,3}. Country:
	// de 2, fr 1, jp 1 → {1,1,2}. Provider: hetzner 1, ovh 3 → {1,3}.
	return map[string]map[string]float64{
		"A": {CompInclusion: 220, CompSpanInclusion: 220, CompDiscovered: 5, CompNominated: nom(100),
			CompRank: 0, CompUnclaimed: 0, CompBonded: 0, CompFaults: 5, CompOffline: 2,
			CompLocation: 0, CompRegion: 0, CompCountry: 0, CompProvider: 100, CompNominatorStake: ns(10), CompClient: 0},
		"B": {CompInclusion: incl(0.2), CompSpanInclusion: span(0.5), CompDiscovered: disc(2000), CompNominated: nom(100),
			CompRank: rank(5), CompUnclaimed: -2 * 10, CompBonded: bond(2000), CompFaults: 5, CompOffline: off(60000),
			CompLocation: 0, CompRegion: 0, CompCountry: 0, CompProvider: 0, CompNominatorStake: ns(50), CompClient: 0},
		"C": {CompInclusion: incl(0.5), CompSpanInclusion: span(0.5), CompDiscovered: disc(3000), CompNominated: nom(110),
			CompRank: rank(10), CompUnclaimed: 0, CompBonded: bond(3000), CompFaults: 5, CompOffline: 2,
			CompLocation: 40, CompRegion: 0, CompCountry: 10, CompProvider: 0, CompNominatorStake: ns(20), CompClient: 200},
		"D": {CompInclusion: incl(0.9), CompSpanInclusion: span(0.75), CompDiscovered: disc(4000), CompNominated: 0,
			CompRank: rank(20), CompUnclaimed: 0, CompBonded: bond(4000), CompFaults: faults(1), CompOffline: 2,
			CompLocation: 40, CompRegion: 10, CompCountry: 10, CompProvider: 0, CompNominatorStake: 0, CompClient: 0},
		"E": {CompInclusion: 0, CompSpanInclusion: 0, CompDiscovered: 0, CompNominated: 80,
			CompRank: 5, CompUnclaimed: 0, CompBonded: 50, CompFaults: 0, CompOffline: 0,
			CompLocation: 10, CompRegion: 2.5, CompCountry: 2.5, CompProvider: 25, CompNominatorStake: 100, CompClient: 0},
	}
}

func TestScoreRoundGolden(t *testing.T) {
	cands, own := golden()
	zero := 0.0
	snap := ScoreRound(cands, ScoreInput{Chain: "polkadot", Era: 1500, Now: testNow, Seed: 7, Randomness: &zero, Own: own, Decimals: dotDecimals})
	want := goldenWant()
	if len(snap.Scores) != 5 {
		t.Fatalf("%d scores, want 5", len(snap.Scores))
	}
	for _, sc := range snap.Scores {
		w := want[sc.Stash]
		sum := 0.0
		if len(sc.Components) != len(ComponentNames) {
			t.Fatalf("%s has %d components, want %d", sc.Stash, len(sc.Components), len(ComponentNames))
		}
		for i, comp := range sc.Components {
			if comp.Name != ComponentNames[i] {
				t.Errorf("%s component %d is %s, want %s", sc.Stash, i, comp.Name, ComponentNames[i])
			}
			near(t, sc.Stash+"."+comp.Name, comp.Value, w[comp.Name])
			near(t, sc.Stash+"."+comp.Name+" factor×weight", comp.Factor*comp.Weight, comp.Value)
			sum += w[comp.Name]
		}
		near(t, sc.Stash+" aggregate", sc.Aggregate, sum)
		near(t, sc.Stash+" randomness (width 0)", sc.Randomness, 1)
		near(t, sc.Stash+" total", sc.Total, sum)
	}
	for i := 1; i < len(snap.Scores); i++ {
		if snap.Scores[i-1].Total < snap.Scores[i].Total {
			t.Errorf("scores not by total: %s %.3f before %s %.3f", snap.Scores[i-1].Stash, snap.Scores[i-1].Total, snap.Scores[i].Stash, snap.Scores[i].Total)
		}
	}
	st := snap.Stats[CompInclusion]
	near(t, "inclusion loValue", st.LoValue, 0.12)
	near(t, "inclusion hiValue", st.HiValue, 0.98)
	near(t, "inclusion q50", st.Q50, 0.5)
	near(t, "inclusion mean", st.Mean, (0.1+0.2+0.5+0.9+1.0)/5)
	// sample std: deviations from 0.54: −0.44 −0.34 −0.04 0.36 0.46
	near(t, "inclusion std", st.Std, math.Sqrt((0.44*0.44+0.34*0.34+0.04*0.04+0.36*0.36+0.46*0.46)/4))
	if got := snap.Stats[CompLocation].Values; !slices.Equal(got, []float64{1, 1, 2}) {
		t.Errorf("location stats values = %v, want the per-city counts [1 1 2]", got)
	}
	e, _ := snap.ScoreOf("E")
	if c := e.Components[slices.Index(ComponentNames, CompNominatorStake)]; c.Raw != 90 {
		t.Errorf("E nominatorStake raw = %v, want 90 (√2500 once + √1600, in tokens)", c.Raw)
	}
	if c := e.Components[slices.Index(ComponentNames, CompLocation)]; c.Note != "no location" || c.Factor != 0.25 {
		t.Errorf("E location = %+v, want factor 0.25 with note", c)
	}
}

func TestScoreWeightZeroDisables(t *testing.T) {
	cands, own := golden()
	zero := 0.0
	snap := ScoreRound(cands, ScoreInput{Now: testNow, Seed: 1, Randomness: &zero, Own: own, Decimals: dotDecimals,
		Weights: map[string]float64{CompClient: 0, CompInclusion: 0}})
	want := goldenWant()
	for _, sc := range snap.Scores {
		sum := 0.0
		for _, comp := range sc.Components {
			if comp.Name == CompClient || comp.Name == CompInclusion {
				if comp.Weight != 0 || comp.Value != 0 || comp.Note != "weight 0: disabled" {
					t.Errorf("%s.%s = %+v, want weight 0, value 0, disabled note", sc.Stash, comp.Name, comp)
				}
				continue
			}
			sum += want[sc.Stash][comp.Name]
		}
		near(t, sc.Stash+" aggregate without client and inclusion", sc.Aggregate, sum)
	}
	if snap.Weights[CompClient] != 0 || snap.Weights[CompBonded] != 50 {
		t.Errorf("snapshot weights = %v, want client 0 and the default bonded 50", snap.Weights)
	}
}

func TestScoreSeedReproducesTheRound(t *testing.T) {
	cands, own := golden()
	in := ScoreInput{Now: testNow, Seed: 42, Own: own, Decimals: dotDecimals}
	a := ScoreRound(cands, in)
	rev := slices.Clone(cands)
	slices.Reverse(rev)
	b := ScoreRound(rev, in)
	for i := range a.Scores {
		if a.Scores[i].Stash != b.Scores[i].Stash || a.Scores[i].Randomness != b.Scores[i].Randomness || a.Scores[i].Total != b.Scores[i].Total {
			t.Errorf("seed 42, input order reversed: %+v ≠ %+v", a.Scores[i], b.Scores[i])
		}
		r := a.Scores[i].Randomness
		if r < 1 || r >= 1+DefaultRandomness {
			t.Errorf("randomness %v outside [1, 1.15)", r)
		}
	}
	c := ScoreRound(cands, ScoreInput{Now: testNow, Seed: 43, Own: own, Decimals: dotDecimals})
	same := true
	for i := range a.Scores {
		s, _ := c.ScoreOf(a.Scores[i].Stash)
		same = same && s.Randomness == a.Scores[i].Randomness
	}
	if same {
		t.Error("seeds 42 and 43 drew the same randomness for every candidate")
	}
	d := ScoreRound(cands, ScoreInput{Now: testNow, Own: own, Decimals: dotDecimals})
	if d.Seed == 0 {
		t.Fatal("seed 0 was not replaced by a drawn seed")
	}
	e := ScoreRound(cands, ScoreInput{Now: testNow, Seed: d.Seed, Own: own, Decimals: dotDecimals})
	for i := range d.Scores {
		if d.Scores[i].Total != e.Scores[i].Total {
			t.Errorf("the recorded seed %d did not reproduce %s", d.Seed, d.Scores[i].Stash)
		}
	}
}

func TestScoreBannedProviderZeroesLocation(t *testing.T) {
	cands, own := golden()
	zero := 0.0
	snap := ScoreRound(cands, ScoreInput{Now: testNow, Seed: 1, Randomness: &zero, Own: own, Decimals: dotDecimals,
		BannedProviders: []string{" hetzner online gmbh"}})
	a, _ := snap.ScoreOf("A")
	for _, comp := range a.Components {
		if isGroup(comp.Name) && (comp.Value != 0 || comp.Note != "banned provider") {
			t.Errorf("A (Hetzner, banned) %s = %+v, want 0 with note", comp.Name, comp)
		}
	}
	// Without the ban A's provider is the least crowded: the full weight.
	want := goldenWant()
	d, _ := snap.ScoreOf("D")
	near(t, "D provider (not banned)", d.Components[slices.Index(ComponentNames, CompProvider)].Value, want["D"][CompProvider])
}

// The location components' statistics name each group and its size
// (1KV's {name, numberOfNodes}), the values being those sizes.
func TestScoreRoundNamesLocationGroups(t *testing.T) {
	cands, own := golden()
	snap := ScoreRound(cands, ScoreInput{Chain: "polkadot", Era: 1500, Now: testNow, Seed: 7, Own: own, Decimals: dotDecimals})
	for comp, want := range map[string]string{
		CompLocation: "berlin=2 paris=1 tokyo=1", CompCountry: "de=2 fr=1 jp=1", CompRegion: "europe-west=3 kanto=1",
		CompProvider: "hetzner online gmbh=1 ovh=3",
	} {
		st := snap.Stats[comp]
		var got []string
		total := 0
		for _, g := range st.Groups {
			got = append(got, fmt.Sprintf("%s=%d", g.Name, g.NumberOfNodes))
			total += g.NumberOfNodes
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%s groups %v, want %s", comp, got, want)
		}
		if len(st.Values) != len(st.Groups) || total != 4 {
			t.Errorf("%s: %d values for %d groups, %d nodes (want 4)", comp, len(st.Values), len(st.Groups), total)
		}
	}
	if g := snap.Stats[CompBonded].Groups; g != nil {
		t.Errorf("bonded has groups %v", g)
	}
}
