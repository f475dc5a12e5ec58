package sink_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/cosmos/sink"
	"github.com/valtrack/valtrack/internal/cosmos/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

// voteBatches makes consumer-sized batches (2000) of one chain's votes: a
// mainnet chain is ~180 validators × 2 votes per ~6 s block.
type voteBatches struct {
	chain string
	h     int64
	i     int
	evs   []consumer.Event
}

func (g *voteBatches) next() []consumer.Event {
	const validators = 180
	g.evs = g.evs[:0]
	for range consumer.DefaultBatchSize {
		typ := events.Prevote
		if g.i%2 == 1 {
			typ = events.Precommit
		}
		v := vote(g.h, typ, g.i/2, "AB12", "node-a:26657", 1_750_000_000_000+g.h)
		v.Chain = g.chain
		g.i++
		if g.i == 2*validators {
			g.i, g.h = 0, g.h+1
		}
		g.evs = append(g.evs, consumer.Event{Network: g.chain, Kind: events.KindVote, MsgID: v.MsgID(), Value: v})
	}
	return g.evs
}

// BenchmarkSinkVotes applies votes in consumer-sized batches on SQLite.
func BenchmarkSinkVotes(b *testing.B) {
	db := storetest.SQLite(b, store.WithMigrations(state.Migrations()))
	sk := newSink(b, db, nil)
	g := &voteBatches{chain: chain, h: 1}
	ctx := context.Background()
	applied := 0
	for b.Loop() {
		if err := sk.Apply(ctx, g.next()); err != nil {
			b.Fatal(err)
		}
		applied += consumer.DefaultBatchSize
	}
	b.ReportMetric(float64(applied)/b.Elapsed().Seconds(), "votes/s")
}

// BenchmarkSinkVotesConcurrent is the scale-out case on PostgreSQL: N
// consumers (one sink each, as N processes would have) store the votes of
// N chains on one database at the same time. Every vote batch takes its
// stored_seq values from the one row of cosmos_vote_seq, which stays
// locked until its transaction commits, so the vote inserts of concurrent
// batches queue behind each other; votes/s at consumers=2 and 4 against
// consumers=1 shows what that costs. Skips without VALTRACK_TEST_POSTGRES.
func BenchmarkSinkVotesConcurrent(b *testing.B) {
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("consumers=%d", n), func(b *testing.B) {
			db := storetest.Postgres(b, store.WithMigrations(state.Migrations()))
			sinks := make([]*sink.Sink, n)
			gens := make([]*voteBatches, n)
			for c := range n {
				sinks[c] = newSink(b, db, nil)
				gens[c] = &voteBatches{chain: fmt.Sprintf("chain-%d", c), h: 1}
			}
			ctx := context.Background()
			applied := 0
			for b.Loop() {
				// One round: every consumer applies one batch at once.
				var wg sync.WaitGroup
				errs := make([]error, n)
				for c := range n {
					wg.Go(func() { errs[c] = sinks[c].Apply(ctx, gens[c].next()) })
				}
				wg.Wait()
				for _, err := range errs {
					if err != nil {
						b.Fatal(err)
					}
				}
				applied += n * consumer.DefaultBatchSize
			}
			b.ReportMetric(float64(applied)/b.Elapsed().Seconds(), "votes/s")
		})
	}
}
