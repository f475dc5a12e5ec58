package statetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/valtrack/valtrack/internal/ethereum/state"
)

// BenchApply measures Apply with batches of 500 new observations spread
// over 2,000 peers (so most batches update existing peers), and reports
// rows/s.
func BenchApply(b *testing.B, s state.Store) {
	const perBatch, peers = 500, 2000
	ctx := context.Background()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		batch := state.Batch{Observations: make([]state.Observation, perBatch)}
		for i := range batch.Observations {
			batch.Observations[i] = Obs("bench", n%peers, n)
			n++
		}
		if err := s.Apply(ctx, batch); err != nil {
			b.Fatalf("apply: %v", err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
}

// SeedPeers stores n handshaken peers of network "bench" with IP metadata
// and estimates, as the API benchmarks need.
func SeedPeers(tb testing.TB, s state.Store, n int) {
	tb.Helper()
	ctx := context.Background()
	clients := []string{"lighthouse", "prysm", "teku", "nimbus", "lodestar"}
	for start := 0; start < n; start += 1000 {
		var b state.Batch
		var es []state.Estimate
		var infos []state.IPInfo
		for i := start; i < min(n, start+1000); i++ {
			o := Obs("bench", i, i)
			o.ClientName = clients[i%len(clients)]
			o.SubscribedSubnets = []int64{int64(i % 64)}
			o.IP = fmt.Sprintf("127.%d.%d.%d", i>>16&255, i>>8&255, i&255)
			b.Observations = append(b.Observations, o)
			es = append(es, state.Estimate{Network: "bench", PeerID: o.PeerID, Validators: i % 40, Method: "aggregation"})
			infos = append(infos, state.IPInfo{IP: o.IP, CountryCode: []string{"DE", "US", "FR"}[i%3], ASN: uint32(i % 50), Class: "hosting"})
		}
		if err := s.Apply(ctx, b); err != nil {
			tb.Fatalf("seed peers: %v", err)
		}
		if err := s.PutEstimates(ctx, es); err != nil {
			tb.Fatalf("seed estimates: %v", err)
		}
		if err := s.PutIPInfo(ctx, infos); err != nil {
			tb.Fatalf("seed ip info: %v", err)
		}
	}
}

// BenchListPeers seeds n peers, then walks pages of 100 with 50 concurrent
// callers, per filter: none, subnet+client (rare: scans), validators+country.
func BenchListPeers(b *testing.B, s state.Store, n int) {
	SeedPeers(b, s, n)
	subnet := 7
	for _, bc := range []struct {
		name string
		f    state.PeerFilter
	}{
		{"all", state.PeerFilter{Network: "bench", Limit: 100}},
		{"subnet+client", state.PeerFilter{Network: "bench", Limit: 100, Subnet: &subnet, Client: "Teku"}},
		{"validators+country", state.PeerFilter{Network: "bench", Limit: 100, MinValidators: 20, CountryCode: "de"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			b.SetParallelism(25) // ×2 CPUs here = 50 callers
			b.RunParallel(func(pb *testing.PB) {
				f := bc.f
				for pb.Next() {
					page, err := s.ListPeers(ctx, f)
					if err != nil {
						b.Errorf("list peers: %v", err)
						return
					}
					f.Cursor = page.NextCursor
				}
			})
		})
	}
}
