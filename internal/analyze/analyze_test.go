package analyze

import (
	"context"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/ethereum/estimate"
	"github.com/valtrack/valtrack/internal/ethereum/state"
	"github.com/valtrack/valtrack/internal/ethereum/state/statetest"
	"github.com/valtrack/valtrack/internal/ethereum/subnets"
	"github.com/valtrack/valtrack/internal/geo"
)

// TestOnceLocatesAndEstimates: one pass classifies every new peer IP and
// writes an estimate for every handshaken peer of a configured network.
func TestOnceLocatesAndEstimates(t *testing.T) {
	ctx := context.Background()
	st := statetest.SQLite(t)
	var b state.Batch
	for i := 0; i < 5; i++ {
		b.Observations = append(b.Observations, statetest.Obs("net", i, 0), statetest.Obs("net", i, 120))
	}
	if err := st.Apply(ctx, b); err != nil {
		t.Fatal(err)
	}
	g, err := geo.Open(geo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := estimate.Params{Subnets: subnets.ParamsMainnet(), ActiveValidators: 1000, GenesisTime: statetest.At(0).Add(-time.Hour), SlotDuration: 12 * time.Second, LeadSlots: 1}
	cfg := Config{Store: st, Geo: g, Networks: map[string]estimate.Params{"net": p}, Window: 24 * time.Hour,
		Now: func() time.Time { return statetest.At(200) }}
	if err := Once(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if ips, err := st.IPsWithoutInfo(ctx, "net", 10); err != nil || len(ips) != 0 {
		t.Fatalf("IPs left without info: %v %v", ips, err)
	}
	page, err := st.ListPeers(ctx, state.PeerFilter{Network: "net", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Peers) != 5 {
		t.Fatalf("%d peers", len(page.Peers))
	}
	for _, pp := range page.Peers {
		if pp.Geo.Class != geo.ClassLoopback {
			t.Errorf("peer %s at %s classed %q, want loopback", pp.PeerID, pp.IP, pp.Geo.Class)
		}
		if pp.Estimate == nil || pp.Estimate.Method == "" {
			t.Errorf("peer %s has no estimate", pp.PeerID)
		}
	}
}
