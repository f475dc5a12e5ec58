package e2e

import (
	"testing"

	"github.com/valtrack/valtrack/internal/bus/bustest"
	"github.com/valtrack/valtrack/internal/ethereum/state/statetest"
)

// A spread of validator counts: many small nodes, some large, a few on
// every subnet (the devnet's default share).
const spread = "0:25%,1-8:30%,10-40:25%,60-150:20%"

// TestEndToEndEmbedded: devnet → sentry → embedded JetStream → consumer →
// Parquet + SQLite → API, answers checked against the devnet's truth.
func TestEndToEndEmbedded(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	dn := startDevnet(t, 40, spread, 21)
	p := startPipeline(t, dn, bustest.Embedded(t), statetest.SQLite(t))
	checkPipeline(t, p)
}

// TestEndToEndPostgresExternalNATS is the same over an external NATS server
// and PostgreSQL (VALTRACK_TEST_NATS_URL, VALTRACK_TEST_POSTGRES).
func TestEndToEndPostgresExternalNATS(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	b := bustest.External(t)
	st := statetest.Postgres(t)
	dn := startDevnet(t, 40, spread, 22)
	p := startPipeline(t, dn, b, st)
	checkPipeline(t, p)
}
