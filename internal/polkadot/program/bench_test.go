package program

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/events"
)

// benchCandidates are n candidates with the spread of a real programme:
// a few under shared identities, mixed versions, 40 cities in 15
// countries on 12 providers, 0–300 nominators each, some failing rules.
func benchCandidates(n int) []*Candidate {
	rng := rand.New(rand.NewPCG(1, 2))
	at := ms(testNow)
	cities := make([]*events.Location, 40)
	for i := range cities {
		cities[i] = &events.Location{
			City: fmt.Sprintf("City%d", i), Region: fmt.Sprintf("Region%d", i%20),
			Country: fmt.Sprintf("Country%d", i%15), Provider: fmt.Sprintf("Provider%d", i%12),
		}
	}
	// Most on the latest release, some ahead, some behind (invalid).
	versions := []string{"1.17.1-8a6c4d0e1", "1.17.1-8a6c4d0e1", "1.17.1", "1.17.1-8a6c4d0e1", "1.18.0", "1.17.1", "1.16.2", "1.17.1"}
	out := make([]*Candidate, n)
	for i := range out {
		name := fmt.Sprintf("node-%04d", i)
		c := goodCandidate(name, fmt.Sprintf("1STASH%06d", i))
		ch, tl := c.Chain, c.Telemetry
		if i%10 == 0 {
			ch.Identity.Value = &events.Identity{Display: "Group", Parent: fmt.Sprintf("ROOT%d", i/30), SubName: name, Judgements: []string{"KnownGood"}}
		}
		ch.Commission.Value = uint32(rng.IntN(55_000_000)) // 0–5.5 %: a tenth above the 5 % maximum
		ch.SelfStake.Value = dot(4000 + rng.Float64()*50_000)
		ch.UnclaimedEras.Value = []uint32{}
		if rng.IntN(8) == 0 {
			ch.UnclaimedEras.Value = []uint32{1495, 1497}
		}
		var act, inact []events.Backer
		for k := rng.IntN(300); k > 0; k-- {
			b := events.Backer{Who: fmt.Sprintf("nom%d", rng.IntN(20000)), Value: dot(rng.Float64() * 100_000)}
			if k%3 == 0 {
				inact = append(inact, b)
			} else {
				act = append(act, b)
			}
		}
		ch.ActiveNominators = events.Got(act, at)
		ch.InactiveNominators = events.Got(inact, at)
		tl.Version = versions[rng.IntN(len(versions))]
		tl.DiscoveredAt = ms(testNow.Add(-time.Duration(rng.IntN(400*24)) * time.Hour))
		tl.OfflineWeek = int64(rng.IntN(300)) * 60_000
		tl.Location = cities[rng.IntN(len(cities))]
		if rng.IntN(50) == 0 {
			tl.Location = nil
		}
		c.Inclusion = float64(rng.IntN(85)) / 84
		c.SpanInclusion = float64(rng.IntN(29)) / 28
		c.NominatedAt = uint32(1400 + rng.IntN(100))
		c.Rank = rng.IntN(500)
		c.Faults = rng.IntN(4)
		c.Prev = nil
		out[i] = c
	}
	return out
}

// BenchmarkScoreRound1000 is a full round for 1,000 candidates: every rule
// on every candidate, then the score of the valid ones.
func BenchmarkScoreRound1000(b *testing.B) {
	cands := benchCandidates(1000)
	rules := Rules(RulesConfig{})
	b.ReportAllocs()
	valid := 0
	for b.Loop() {
		env := polkadotEnv(cands...)
		ok := make([]*Candidate, 0, len(cands))
		for _, c := range cands {
			if Evaluate(rules, c, env).Valid() {
				ok = append(ok, c)
			}
		}
		snap := ScoreRound(ok, ScoreInput{Chain: "polkadot", Era: 1500, Now: testNow, Seed: 5, Decimals: dotDecimals})
		valid = len(snap.Scores)
	}
	b.ReportMetric(float64(valid), "valid")
}
