package sink_test

import (
	"context"
	"testing"

	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/cosmos/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

// BenchmarkSinkVotes applies votes in consumer-sized batches (2000) on
// SQLite: a mainnet chain is ~180 validators × 2 votes per ~6 s block.
func BenchmarkSinkVotes(b *testing.B) {
	db := storetest.SQLite(b, store.WithMigrations(state.Migrations()))
	sk := newSink(b, db, nil)
	const validators = 180
	const per = consumer.DefaultBatchSize
	evs := make([]consumer.Event, 0, per)
	h := int64(1)
	i := 0
	next := func() *events.Vote {
		typ := events.Prevote
		if i%2 == 1 {
			typ = events.Precommit
		}
		v := vote(h, typ, i/2, "AB12", "node-a:26657", 1_750_000_000_000+h)
		i++
		if i == 2*validators {
			i, h = 0, h+1
		}
		return v
	}
	ctx := context.Background()
	b.ResetTimer()
	applied := 0
	for b.Loop() {
		evs = evs[:0]
		for range per {
			v := next()
			evs = append(evs, consumer.Event{Network: chain, Kind: events.KindVote, MsgID: v.MsgID(), Value: v})
		}
		if err := sk.Apply(ctx, evs); err != nil {
			b.Fatal(err)
		}
		applied += per
	}
	b.ReportMetric(float64(applied)/b.Elapsed().Seconds(), "votes/s")
}
