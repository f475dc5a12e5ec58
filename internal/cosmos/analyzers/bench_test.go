package analyzers_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/valtrack/valtrack/internal/cosmos/analyzers"
	"github.com/valtrack/valtrack/internal/cosmos/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

// BenchmarkAnalyzePass is one pass over 1000 new heights of a 150-validator
// chain on SQLite (every vote observed, a few validators missing some),
// from an empty analysis each time: the cost of catching up 1000 heights.
func BenchmarkAnalyzePass(b *testing.B) {
	const heights, validators = 1000, 150
	db := storetest.SQLite(b, store.WithMigrations(state.Migrations()))
	powers := make([]int64, validators)
	for i := range powers {
		powers[i] = int64(1000 - i)
	}
	s := newSim(b, powers...)
	s.set(1)
	for h := int64(1); h <= heights; h++ {
		o := heightOpts{who: map[int]behaviour{}}
		if h%7 == 0 {
			o.who[int(h)%validators] = offline
		}
		if h%50 == 0 {
			o.round = 1
		}
		s.height(h, o)
	}
	apply(b, newSink(b, db), s.take(), 2000)
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		if err := db.InTx(ctx, "reset analysis", func(tx *sql.Tx) error {
			for _, t := range []string{"cosmos_heights", "cosmos_misses", "cosmos_validator_stats", "cosmos_chains"} {
				if _, err := tx.ExecContext(ctx, "DELETE FROM "+t); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		a := newAnalyzer(b, db, analyzers.Chain{Window: 10000, MinSigned: 0.05}, nil, &clock{start})
		b.StartTimer()
		run(b, a)
		b.StopTimer()
		if c := cursor(b, db); c != heights {
			b.Fatalf("analysed to %d, want %d", c, heights)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*heights), "ns/height")
}
