package httpapi

import (
	"context"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/ethereum/state"
)

func addEstimate(t *testing.T, f *fixture, peerID string) {
	t.Helper()
	err := f.st.PutEstimates(context.Background(), []state.Estimate{{Network: testNet, PeerID: peerID,
		Validators: 7, Low: 7, High: 8, Confidence: 0.6, Method: "aggregation", Epochs: 3, UpdatedAt: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestValidatorsServedFromCacheWithinTTL(t *testing.T) {
	f := newFixture(t, func(o *api.Options, _ *[]string) { o.CacheTTL = time.Hour })
	var rows []validatorRow
	f.getJSON("/validators", "", 200, &rows)
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3", len(rows))
	}
	addEstimate(t, f, "16Uiu2HAmPeerCharlie")
	f.getJSON("/validators?junk=1", "", 200, &rows)
	if len(rows) != 3 {
		t.Errorf("within the TTL: %d rows, want the cached 3", len(rows))
	}
	// The admin view is cached apart: it never gets a public body, nor the reverse.
	f.getJSON("/validators", keyAlice, 200, &rows)
	if len(rows) != 4 || rows[0].IP == "" {
		t.Errorf("admin view: %d rows (ip %q), want 4 fresh rows with IPs", len(rows), rows[0].IP)
	}
	f.getJSON("/validators", "", 200, &rows)
	if rows[0].IP != "" {
		t.Error("public view served an admin body")
	}
}

func TestCacheDisabled(t *testing.T) {
	f := newFixture(t, func(o *api.Options, _ *[]string) { o.CacheTTL = -1 })
	var rows []validatorRow
	f.getJSON("/validators", "", 200, &rows)
	addEstimate(t, f, "16Uiu2HAmPeerCharlie")
	var p peersResponse
	f.getJSON("/api/v1/ethereum/testnet/peers?min_validators=7", "", 200, &p)
	f.getJSON("/validators", "", 200, &rows)
	if len(rows) != 4 || len(p.Peers) != 1 {
		t.Errorf("without a cache: %d validator rows and %d peers, want 4 and 1", len(rows), len(p.Peers))
	}
}
