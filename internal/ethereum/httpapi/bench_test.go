package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/ethereum/state/statetest"
)

// benchPeers is small enough for a quick `go test -bench`; bench/api runs
// the 20,000-peer version over real HTTP with concurrent clients.
const benchPeers = 2000

func benchServer(b *testing.B) *api.Server {
	b.Helper()
	st := statetest.SQLite(b)
	peers := make([]testPeer, benchPeers)
	now := time.Now().UTC().Add(-time.Minute)
	clients := []string{"lighthouse", "prysm", "teku", "nimbus", "lodestar"}
	for i := range peers {
		peers[i] = testPeer{id: fmt.Sprintf("16Uiu2HAmBench%06d", i), network: testNet, client: clients[i%len(clients)],
			ip: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), port: 9000, country: "DE", asn: uint32(1 + i%50),
			lat: 50, lon: 10, subnets: []int64{int64(i % 64)}, validators: i % 4, confidence: 0.5,
			handshaken: true, seen: now}
	}
	fillFixture(b, st, peers)
	s, err := api.New(api.Options{Domains: []api.Domain{New(st, nil)}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func benchGet(b *testing.B, h http.Handler, path string) {
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
			if w.Code != 200 {
				b.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
			}
		}
	})
}

func BenchmarkValidators(b *testing.B) {
	benchGet(b, benchServer(b).Handler(), "/validators")
}

func BenchmarkPeers(b *testing.B) {
	benchGet(b, benchServer(b).Handler(), "/api/v1/ethereum/testnet/peers?limit=100")
}
