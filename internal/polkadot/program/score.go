package program

import (
	crand "crypto/rand"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/events"
)

// quantile is the q-quantile of arr by linear interpolation on the sorted
// array at position (n−1)·q (1KV's score.ts); 0 for an empty array.
func quantile(arr []float64, q float64) float64 {
	s := append([]float64(nil), arr...)
	sort.Float64s(s)
	return quantileSorted(s, q)
}

func quantileSorted(s []float64, q float64) float64 {
	if len(s) == 0 {
		return 0
	}
	pos := float64(len(s)-1) * q
	base := int(math.Floor(pos))
	if base < 0 {
		return s[0]
	}
	if base+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[base] + (pos-float64(base))*(s[base+1]-s[base])
}

// scaled is v between arr's 10th and 90th percentiles, clamped to [0, 1].
func scaled(v float64, arr []float64) float64 { return scaledDefined(v, arr, 0.10, 0.90) }

// scaledDefined is v between arr's lo and hi quantiles, clamped to [0, 1]:
// 0 at or below the lo value (checked first, so a flat distribution
// scales everything to 0), 1 at or above the hi value; 0 for an empty arr.
func scaledDefined(v float64, arr []float64, lo, hi float64) float64 {
	s := append([]float64(nil), arr...)
	sort.Float64s(s)
	return scaleSorted(v, s, lo, hi)
}

func scaleSorted(v float64, s []float64, lo, hi float64) float64 {
	if len(s) == 0 {
		return 0
	}
	return clampScale(v, quantileSorted(s, lo), quantileSorted(s, hi))
}

func clampScale(v, loV, hiV float64) float64 {
	if v <= loV {
		return 0
	}
	if v >= hiV {
		return 1
	}
	return (v - loV) / (hiV - loV)
}

// ScoreInput is what a round's scoring needs besides the valid candidates.
type ScoreInput struct {
	Chain        string
	Era, Session uint32
	Now          time.Time
	// Weights by component; merged with DefaultWeights here (absent: the
	// default; 0: disabled).
	Weights map[string]float64
	// Seed of the random factor; 0 draws one from crypto/rand (recorded in
	// the snapshot so the round can be reproduced).
	Seed int64
	// Randomness is the width w of the factor 1 + U[0, w); nil: 0.15.
	Randomness *float64
	// Own are the program's nominator accounts: their stake on a candidate
	// is not the candidate's merit (1KV excludes them too).
	Own []string
	// BannedProviders zero the four location components.
	BannedProviders []string
	// Decimals of the chain's token: nominatorStake is Σ√(bond in tokens).
	Decimals int
}

// The factor of a component with no location value (1KV: 0.25·W).
const noLocationFactor = 0.25

// Parity's implementation name: any other client earns the client bonus
// (client diversity).
const parityImplementation = "Parity Polkadot"

// compSpec says how a component scales.
type compSpec struct {
	lo, hi  float64
	scaled  bool // scaled against its distribution
	inverse bool // less is better: factor 1 − scaled
}

var compSpecs = map[string]compSpec{
	CompInclusion:      {0.05, 0.95, true, true},
	CompSpanInclusion:  {0.05, 0.95, true, true},
	CompDiscovered:     {0.10, 0.90, true, true},
	CompNominated:      {0.10, 0.90, true, true},
	CompRank:           {0.10, 0.90, true, false},
	CompUnclaimed:      {0.10, 0.90, false, false},
	CompBonded:         {0.05, 0.85, true, false},
	CompFaults:         {0.10, 0.90, true, true},
	CompOffline:        {0.10, 0.90, true, true},
	CompLocation:       {0, 1, true, true},
	CompRegion:         {0, 1, true, true},
	CompCountry:        {0, 1, true, true},
	CompProvider:       {0, 1, true, true},
	CompNominatorStake: {0.05, 0.95, true, false},
	CompClient:         {0.10, 0.90, false, false},
}

// groupComps are the location components: their distribution is the
// per-group counts (one value per distinct city, region, country,
// provider), not one value per candidate.
var groupComps = []string{CompLocation, CompRegion, CompCountry, CompProvider}

// ScoreRound scores the valid candidates (research §2):
//
//   - inclusion, spanInclusion: (1 − scaledDefined(v, 0.05, 0.95))·W
//   - discovered (telemetry first sighting, unix ms; now when never seen),
//     nominated (last era with points), faults, offline (ms offline this
//     ISO week): (1 − scaled(v))·W
//   - rank: scaled(v)·W; bonded (self stake, planck): scaledDefined(v,
//     0.05, 0.85)·W
//   - unclaimed: −len(unclaimed eras)·W, not scaled (Scaled = Raw)
//   - location, region, country, provider: v is the number of valid
//     candidates sharing the candidate's city (region …), compared trimmed
//     and case-insensitively; the distribution is the per-group counts, one
//     value per distinct group, so scaledDefined(v, 0, 1) is (v − min
//     count)/(max count − min count) and the factor 1 − that: the least
//     crowded group earns W, the most crowded 0. A banned provider makes
//     all four 0; a missing value (no telemetry, no location, or that field
//     empty) 0.25·W.
//   - nominatorStake: Σ √(bond in tokens) over the active and inactive
//     nominators (each counted once, active first), the program's own
//     accounts excluded: scaledDefined(v, 0.05, 0.95)·W
//   - client: W when the implementation is not "Parity Polkadot" (Scaled
//     = Raw = 1), else 0
//
// aggregate = Σ values; total = aggregate × (1 + U[0, width)), the
// uniform drawn from a PCG seeded with Seed in stash order.
func ScoreRound(valid []*Candidate, in ScoreInput) Snapshot {
	weights := MergeWeights(in.Weights)
	width := DefaultRandomness
	if in.Randomness != nil {
		width = *in.Randomness
	}
	seed := in.Seed
	for seed == 0 {
		var b [8]byte
		_, _ = crand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
		seed = int64(binary.LittleEndian.Uint64(b[:]))
	}
	now := in.Now.UnixMilli()
	n := len(valid)
	own := make(map[string]bool, len(in.Own))
	for _, a := range in.Own {
		own[a] = true
	}

	// Raw values, one row per component.
	raw := make(map[string][]float64, len(ComponentNames))
	for _, name := range ComponentNames {
		raw[name] = make([]float64, n)
	}
	notes := make(map[string][]string)
	note := func(comp string, i int, s string) {
		if notes[comp] == nil {
			notes[comp] = make([]string, n)
		}
		notes[comp][i] = s
	}
	banned := make([]bool, n)
	seen := map[string]bool{}
	groupKey := make(map[string][]string, len(groupComps))
	for _, g := range groupComps {
		groupKey[g] = make([]string, n)
	}
	for i, c := range valid {
		raw[CompInclusion][i] = c.Inclusion
		raw[CompSpanInclusion][i] = c.SpanInclusion
		raw[CompNominated][i] = float64(c.NominatedAt)
		raw[CompRank][i] = float64(c.Rank)
		raw[CompFaults][i] = float64(c.Faults)
		t := c.Telemetry
		if t != nil && t.DiscoveredAt > 0 {
			raw[CompDiscovered][i] = float64(t.DiscoveredAt)
		} else {
			raw[CompDiscovered][i] = float64(now)
			note(CompDiscovered, i, "never seen on telemetry: counted as discovered now")
		}
		raw[CompOffline][i] = float64(offlineThisWeek(t, in.Now).Milliseconds())
		if t != nil {
			if t.Implementation != parityImplementation {
				raw[CompClient][i] = 1
			}
		} else {
			note(CompClient, i, "no telemetry node: implementation unknown")
		}
		if t != nil && t.Location != nil {
			l := t.Location
			groupKey[CompLocation][i] = norm(l.City)
			groupKey[CompRegion][i] = norm(l.Region)
			groupKey[CompCountry][i] = norm(l.Country)
			groupKey[CompProvider][i] = norm(l.Provider)
			banned[i] = inList(in.BannedProviders, l.Provider)
		}
		if ch := c.Chain; ch != nil {
			raw[CompUnclaimed][i] = float64(len(ch.UnclaimedEras.Value))
			raw[CompBonded][i] = amountFloat(ch.SelfStake.Value)
			if ch.ActiveNominators.Known || ch.InactiveNominators.Known {
				raw[CompNominatorStake][i] = nominatorStake(ch.ActiveNominators.Value, ch.InactiveNominators.Value, own, seen, in.Decimals)
			} else {
				note(CompNominatorStake, i, "nominators not known")
			}
		} else {
			note(CompBonded, i, "no chain record")
			note(CompNominatorStake, i, "no chain record")
		}
	}
	// The location components: the raw value is the group's size; the
	// distribution the group sizes.
	groupDist := make(map[string][]float64, len(groupComps))
	groupList := make(map[string][]Group, len(groupComps))
	for _, g := range groupComps {
		counts := map[string]int{}
		for _, k := range groupKey[g] {
			if k != "" {
				counts[k]++
			}
		}
		dist := make([]float64, 0, len(counts))
		list := make([]Group, 0, len(counts))
		for k, c := range counts {
			dist = append(dist, float64(c))
			list = append(list, Group{Name: k, NumberOfNodes: c})
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
		groupDist[g], groupList[g] = dist, list
		for i, k := range groupKey[g] {
			if k != "" {
				raw[g][i] = float64(counts[k])
			}
		}
	}

	snap := Snapshot{
		Chain: in.Chain, Era: in.Era, Session: in.Session, At: now, Seed: seed,
		Weights: weights, Stats: make(map[string]Stats, len(ComponentNames)),
		Scores: make([]Score, n),
	}
	sortedDist := make(map[string][]float64, len(ComponentNames))
	for _, name := range ComponentNames {
		dist := raw[name]
		if d, ok := groupDist[name]; ok {
			dist = d
		}
		s := append([]float64(nil), dist...)
		sort.Float64s(s)
		sortedDist[name] = s
		st := stats(s, compSpecs[name])
		if gs, ok := groupList[name]; ok {
			st.Groups = gs
		}
		snap.Stats[name] = st
	}

	for i, c := range valid {
		sc := Score{Stash: c.Stash, Name: c.Name, Components: make([]Component, 0, len(ComponentNames))}
		for _, name := range ComponentNames {
			spec := compSpecs[name]
			w := weights[name]
			comp := Component{Name: name, Raw: raw[name][i], Weight: w}
			if ns := notes[name]; ns != nil {
				comp.Note = ns[i]
			}
			switch {
			case name == CompUnclaimed:
				comp.Scaled, comp.Factor = comp.Raw, -comp.Raw
			case name == CompClient:
				comp.Scaled, comp.Factor = comp.Raw, comp.Raw
			case isGroup(name) && banned[i]:
				comp.Stats = name
				comp.Note = "banned provider"
			case isGroup(name) && groupKey[name][i] == "":
				comp.Stats = name
				comp.Factor = noLocationFactor
				comp.Note = "no location"
			default:
				st := snap.Stats[name]
				comp.Stats = name
				if len(sortedDist[name]) > 0 {
					comp.Scaled = clampScale(comp.Raw, st.LoValue, st.HiValue)
				}
				comp.Factor = comp.Scaled
				if spec.inverse {
					comp.Factor = 1 - comp.Scaled
				}
			}
			if w == 0 {
				comp.Note = "weight 0: disabled"
			} else {
				comp.Value = comp.Factor * w
			}
			sc.Aggregate += comp.Value
			sc.Components = append(sc.Components, comp)
		}
		snap.Scores[i] = sc
	}

	// The random factor, drawn in stash order so a seed reproduces the
	// round whatever order the candidates came in.
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return valid[order[a]].Stash < valid[order[b]].Stash })
	rng := rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
	for _, i := range order {
		s := &snap.Scores[i]
		s.Randomness = 1 + rng.Float64()*width
		s.Total = s.Aggregate * s.Randomness
	}
	sort.Slice(snap.Scores, func(a, b int) bool {
		x, y := snap.Scores[a], snap.Scores[b]
		if x.Total != y.Total {
			return x.Total > y.Total
		}
		return x.Stash < y.Stash
	})
	return snap
}

func isGroup(name string) bool {
	return name == CompLocation || name == CompRegion || name == CompCountry || name == CompProvider
}

// nominatorStake is Σ √(bond in tokens) over the backers, each once, the
// program's own accounts left out.
// seen is a scratch set, cleared here (one for the round saves a map per
// candidate).
func nominatorStake(active, inactive []events.Backer, own, seen map[string]bool, decimals int) float64 {
	clear(seen)
	unit := math.Pow10(decimals)
	sum := 0.0
	for _, list := range [][]events.Backer{active, inactive} {
		for _, b := range list {
			if own[b.Who] || seen[b.Who] {
				continue
			}
			seen[b.Who] = true
			sum += math.Sqrt(amountFloat(b.Value) / unit)
		}
	}
	return sum
}

// stats are the statistics of a sorted distribution; Std is the sample
// standard deviation (n − 1, as mathjs's std that 1KV uses), 0 below two
// values.
func stats(s []float64, spec compSpec) Stats {
	st := Stats{Values: s, Lo: spec.lo, Hi: spec.hi}
	if len(s) == 0 {
		st.Values = []float64{}
		return st
	}
	st.Min, st.Max = s[0], s[len(s)-1]
	st.Q10 = quantileSorted(s, 0.10)
	st.Q25 = quantileSorted(s, 0.25)
	st.Q50 = quantileSorted(s, 0.50)
	st.Q75 = quantileSorted(s, 0.75)
	st.Q90 = quantileSorted(s, 0.90)
	st.LoValue = quantileSorted(s, spec.lo)
	st.HiValue = quantileSorted(s, spec.hi)
	sum := 0.0
	for _, v := range s {
		sum += v
	}
	st.Mean = sum / float64(len(s))
	if len(s) > 1 {
		ss := 0.0
		for _, v := range s {
			ss += (v - st.Mean) * (v - st.Mean)
		}
		st.Std = math.Sqrt(ss / float64(len(s)-1))
	}
	return st
}

// ScoreOf finds a stash's score in a snapshot.
func (s *Snapshot) ScoreOf(stash string) (Score, bool) {
	for _, sc := range s.Scores {
		if sc.Stash == stash {
			return sc, true
		}
	}
	return Score{}, false
}
