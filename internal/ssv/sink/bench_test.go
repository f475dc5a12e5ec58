package sink_test

import (
	"encoding/binary"
	"testing"

	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/ssv/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

// BenchmarkValidatorAdded applies 10,000 ValidatorAdded events (100 owners,
// 100 per block) in consumer-sized batches of about 2,000 events, into a
// registry of 13 operators, and reports events/s.
func BenchmarkValidatorAdded(b *testing.B) {
	for _, d := range []struct {
		name string
		open func(testing.TB, ...store.Option) *store.DB
	}{{"sqlite", storetest.SQLite}, {"postgres", storetest.Postgres}} {
		b.Run(d.name, func(b *testing.B) {
			const total, perBlock, blocksPerBatch = 10000, 100, 20
			var applied int
			for b.Loop() {
				b.StopTimer()
				db := d.open(b, store.WithMigrations(state.Migrations()))
				sk := newSink(b, db, nil)
				c := &chain{fork: "bench"}
				var ops []ev
				for i := uint64(1); i <= 13; i++ {
					ops = append(ops, opAdded(i, addr(0), "1"))
				}
				mustApply(b, sk, c.block(ops...))
				var batches [][]consumer.Event
				var cur []consumer.Event
				for k := 0; k < total; k += perBlock {
					evs := make([]ev, perBlock)
					for j := range evs {
						key := make([]byte, 48)
						binary.BigEndian.PutUint64(key, uint64(k+j))
						o := uint64(k+j) % 10
						evs[j] = valAdded(addr(1+(k+j)%100), key, []uint64{1 + o, 2 + o, 3 + o, 4 + o})
					}
					cur = append(cur, c.block(evs...)...)
					if len(cur) >= blocksPerBatch*(perBlock+1) {
						batches = append(batches, cur)
						cur = nil
					}
				}
				if cur != nil {
					batches = append(batches, cur)
				}
				b.StartTimer()
				for _, batch := range batches {
					mustApply(b, sk, batch)
				}
				applied += total
			}
			b.ReportMetric(float64(applied)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
