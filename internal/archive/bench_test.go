package archive

import (
	"fmt"
	"testing"
)

// BenchmarkWriteMetadata measures rows/s as the consumer drives the writer:
// batches of rows, each followed by Sync. merge=1 writes a new file per Sync
// (pure fsync and encode cost); the others merge batches into files.
func BenchmarkWriteMetadata(b *testing.B) {
	for _, batch := range []int{500, 5000} {
		for _, merge := range []int{1, DefaultSyncMergeRows, 8192} {
			b.Run(fmt.Sprintf("batch=%d/merge=%d", batch, merge), func(b *testing.B) {
				benchWrite(b, batch, merge)
			})
		}
	}
}

func benchWrite(b *testing.B, batch, merge int) {
	w, _ := openTest(b, Options{Root: b.TempDir(), SyncMergeRows: merge})
	rows := make([]MetadataRow, batch)
	for i := range rows {
		rows[i] = metaRow(i, ms(t0))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := w.WriteMetadata(rows); err != nil {
			b.Fatal(err)
		}
		if err := w.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkConsumerBatch drives the writer as the consumer does with a mixed
// batch: half discovery events, half metadata events of which a quarter also
// give a validator row, so each Sync writes three partitions.
func BenchmarkConsumerBatch(b *testing.B) {
	for _, batch := range []int{500, 5000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			w, _ := openTest(b, Options{Root: b.TempDir()})
			var disc []DiscoveryRow
			var meta []MetadataRow
			var val []ValidatorMetadataRow
			for i := range batch / 2 {
				disc = append(disc, discRow(i, ms(t0)))
				meta = append(meta, metaRow(i, ms(t0)))
				if i%4 == 0 {
					val = append(val, valRow(i, ms(t0)))
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := w.WriteDiscovery(disc); err != nil {
					b.Fatal(err)
				}
				if err := w.WriteMetadata(meta); err != nil {
					b.Fatal(err)
				}
				if err := w.WriteValidatorMetadata(val); err != nil {
					b.Fatal(err)
				}
				if err := w.Sync(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
