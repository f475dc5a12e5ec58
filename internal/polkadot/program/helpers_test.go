package program

import (
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/events"
)

// testNow is the evaluation time of the tests: a Thursday (ISO week 48).
var testNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

const dotDecimals = 10

// dot is n DOT in planck.
func dot(n float64) events.Amount {
	f := new(big.Float).SetPrec(200).SetFloat64(n)
	f.Mul(f, new(big.Float).SetPrec(200).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(dotDecimals), nil)))
	b, _ := f.Int(nil)
	return events.AmountOf(b)
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// goodCandidate passes every rule under polkadotEnv.
func goodCandidate(name, stash string) *Candidate {
	at := ms(testNow)
	return &Candidate{
		Entry: Entry{Name: name, Stash: stash},
		Chain: &events.Validator{
			Chain:              "polkadot",
			Stash:              stash,
			Intention:          events.Got(true, at),
			Commission:         events.Got(uint32(30_000_000), at), // 3 %
			Blocked:            events.Got(false, at),
			Active:             events.Got(true, at),
			Controller:         events.Got(stash, at),
			SelfStake:          events.Got(dot(6000), at),
			Identity:           events.Got(&events.Identity{Display: name, Judgements: []string{"Reasonable"}}, at),
			NextKeys:           events.Got(map[string]string{"beefy": "0x02aabbcc", "grandpa": "0x11"}, at),
			UnclaimedEras:      events.Got([]uint32{}, at),
			ActiveNominators:   events.Got([]events.Backer{}, at),
			InactiveNominators: events.Got([]events.Backer{}, at),
		},
		Telemetry: &events.Telemetry{
			Name:           name,
			Implementation: "Parity Polkadot",
			Version:        "1.17.1-8a6c4d0e1",
			Online:         true,
			DiscoveredAt:   ms(testNow.Add(-30 * 24 * time.Hour)),
			OnlineSince:    ms(testNow.Add(-20 * 24 * time.Hour)),
			Week:           week(testNow),
			Location:       &events.Location{City: "Zurich", Region: "Zurich", Country: "Switzerland", Provider: "Init7"},
		},
		TelemetryMatch: Match{Node: name, How: "exact"},
	}
}

func polkadotEnv(cands ...*Candidate) *Env {
	cfg := Defaults("polkadot")
	// KUSAMA_RANK reads the candidate's Kusama answer; the rule only needs
	// to know an instance is configured (nothing dials it here).
	cfg.Rules.KusamaAPI = "http://127.0.0.1:8081"
	return &Env{
		Now:        testNow,
		Chain:      &events.Chain{Chain: "polkadot", ActiveEra: 1500, Decimals: dotDecimals, Token: "DOT"},
		Rules:      cfg.Rules,
		Release:    Release{Version: "1.17.1", Published: ms(testNow.Add(-10 * 24 * time.Hour))},
		Candidates: cands,
		Decimals:   dotDecimals,
		Token:      "DOT",
	}
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9 || math.IsNaN(got) {
		t.Errorf("%s = %.12g, want %.12g", what, got, want)
	}
}
