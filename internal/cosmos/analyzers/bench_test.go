package analyzers_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/cosmos/analyzers"
	"github.com/valtrack/valtrack/internal/cosmos/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

const benchValidators = 150

// benchChain stores n heights of a 150-validator chain on SQLite (every
// vote observed, a round 1 every 50 heights); down(h) names the validators
// offline at h.
func benchChain(b *testing.B, n int64, down func(h int64) []int) *store.DB {
	db := storetest.SQLite(b, store.WithMigrations(state.Migrations()))
	powers := make([]int64, benchValidators)
	for i := range powers {
		powers[i] = int64(1000 - i)
	}
	s := newSim(b, powers...)
	s.set(1)
	for h := int64(1); h <= n; h++ {
		o := heightOpts{who: map[int]behaviour{}}
		for _, v := range down(h) {
			o.who[v] = offline
		}
		if h%50 == 0 {
			o.round = 1
		}
		s.height(h, o)
	}
	apply(b, newSink(b, db), s.take(), 2000)
	return db
}

// resetAnalysis empties what the analyzer wrote, so that the next one
// starts from nothing.
func resetAnalysis(b *testing.B, db *store.DB) {
	ctx := context.Background()
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
}

// BenchmarkAnalyzePass is one pass over 1000 new heights of a 150-validator
// chain on SQLite (every vote observed, a few validators missing some),
// from an empty analysis each time: the cost of catching up 1000 heights.
func BenchmarkAnalyzePass(b *testing.B) {
	const heights = 1000
	db := benchChain(b, heights, func(h int64) []int {
		if h%7 == 0 {
			return []int{int(h) % benchValidators}
		}
		return nil
	})
	for b.Loop() {
		b.StopTimer()
		resetAnalysis(b, db)
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

// BenchmarkAnalyzeCatchUp catches up 4000 heights in passes of 500 within
// one late-vote window (the hand clock stands still, so every height
// analysed is still re-checked for late votes by every later pass), with
// five validators absent at every height — the miss rows with absent votes
// that the re-check reads — and then runs one pass with nothing new: the
// cost of the late-vote re-check after a long catch-up. Reported: the
// catch-up's ns/height and the idle pass's ns (idle-ns).
func BenchmarkAnalyzeCatchUp(b *testing.B) {
	// The idle pass should not grow with the window it has analysed:
	// measured at three sizes of it.
	for _, heights := range []int{1000, 4000, 16000} {
		b.Run(fmt.Sprintf("heights=%d", heights), func(b *testing.B) { benchCatchUp(b, heights) })
	}
}

func benchCatchUp(b *testing.B, heights int) {
	const batch = 500
	db := benchChain(b, int64(heights), func(h int64) []int {
		return []int{int(h) % benchValidators, 10, 20, 30, 40}
	})
	var idle time.Duration
	for b.Loop() {
		b.StopTimer()
		resetAnalysis(b, db)
		a := newAnalyzerCfg(b, analyzers.Chain{Window: 10000, MinSigned: 0.05}, &clock{start}, analyzers.Config{DB: db, Batch: batch})
		b.StartTimer()
		for range heights / batch {
			run(b, a)
		}
		b.StopTimer()
		if c := cursor(b, db); c != int64(heights) {
			b.Fatalf("analysed to %d, want %d", c, heights)
		}
		t0 := time.Now()
		run(b, a)
		idle += time.Since(t0)
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*heights), "ns/height")
	b.ReportMetric(float64(idle.Nanoseconds())/float64(b.N), "idle-ns")
}
