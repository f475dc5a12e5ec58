package runner

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/polkadot/program"
	"github.com/valtrack/valtrack/internal/polkadot/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

// BenchmarkPass1000 is a full scoring round of the program for 1,000
// candidates on a SQLite store: read every candidate's chain record,
// telemetry node and the 84 eras, evaluate the 15 rules, append the rank
// log, score the valid set and store the snapshot and the candidates.
func BenchmarkPass1000(b *testing.B) {
	const n = 1000
	st := state.New(storetest.SQLite(b, store.WithMigrations(state.Migrations())))
	cfg := &program.Config{}
	cfg.Rules.ClientForcedVersion = "1.0.0"
	cfg.Score.Seed = 7
	ctx := context.Background()
	ch := &events.Chain{V: 1, Chain: chain, Block: 100, BlockHash: "0x100", ActiveEra: 90, Session: 540, Decimals: 12, Token: "WND",
		MaxNominations: 16, SS58Prefix: 42}
	err := st.InTx(ctx, "bench fixture", func(tx *state.Tx) error {
		if err := tx.PutChain(ch); err != nil {
			return err
		}
		for i := range n {
			name, stash := fmt.Sprintf("node-%04d", i), fmt.Sprintf("stash-%04d", i)
			cfg.Candidates = append(cfg.Candidates, program.Entry{Name: name, Stash: stash})
			v := goodValidator(stash, 100)
			var backers []events.Backer
			for k := range i % 64 {
				backers = append(backers, events.Backer{Who: fmt.Sprintf("nom-%d", (i*7+k)%5000), Value: "1000000000000000"})
			}
			v.ActiveNominators = events.Got(backers, 1)
			if err := tx.PutValidator(&v); err != nil {
				return err
			}
			node := &events.Telemetry{V: 1, Chain: chain, Name: name, Implementation: "Parity Polkadot", Version: "1.0.0",
				Online: true, DiscoveredAt: now.Add(-30 * 24 * time.Hour).UnixMilli(), Week: "2026-W49", At: now.UnixMilli(),
				Location: &events.Location{City: fmt.Sprintf("city-%d", i%40), Country: fmt.Sprintf("c-%d", i%15), Provider: fmt.Sprintf("p-%d", i%12)}}
			if err := tx.PutTelemetry(node); err != nil {
				return err
			}
		}
		for era := uint32(7); era <= 90; era++ {
			e := &events.Era{V: 1, Chain: chain, Era: era, Points: map[string]uint32{}, Complete: era < 90, Block: 100}
			for i := range n {
				if (int(era)+i)%3 != 0 {
					s := fmt.Sprintf("stash-%04d", i)
					e.Validators = append(e.Validators, s)
					e.Points[s] = uint32(20 + i%50)
				}
			}
			if err := tx.PutEra(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	r, err := New(Config{Chain: chain, Store: st, Program: staticProgram{cfg}, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := r.Pass(ctx); err != nil { // the first round and rank log
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	valid := 0
	for b.Loop() {
		r.scored = "" // score again, as at a new session
		p, err := r.Pass(ctx)
		if err != nil || !p.Scored {
			b.Fatalf("pass %+v: %v", p, err)
		}
		valid = p.Valid
	}
	b.ReportMetric(float64(valid), "valid")
}
