package state_test

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/ethereum/state"
	"github.com/valtrack/valtrack/internal/ethereum/state/statetest"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

// testdata/v1-sqlite.db was written by valtrack before the domain platform
// (commit 115faba: unprefixed tables, schema_migrations without a domain
// column) with three peers of network devnet, an estimate and an IP row.
// Opening it now must upgrade it in place and lose nothing.
func TestLegacySQLiteDatabaseUpgradesInPlace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "valtrack.db")
	copyFile(t, "testdata/v1-sqlite.db", path)
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite://"+path, "", nil, store.WithMigrations(state.Migrations()))
	if err != nil {
		t.Fatalf("open a database from before the domain platform: %v", err)
	}
	defer db.Close()
	checkUpgraded(t, db, true, "2026-12-01T21:33:34.837985092Z")
}

// The same on PostgreSQL, whose pre-platform schema is rebuilt here from the
// first migration (unchanged since) and the old schema_migrations layout.
func TestLegacyPostgresDatabaseUpgradesInPlace(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	ctx := context.Background()
	raw, err := store.Open(ctx, dsn, "", nil, store.WithoutMigrate())
	if err != nil {
		t.Fatal(err)
	}
	init, err := fs.ReadFile(state.Migrations().FS, "postgres/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		string(init),
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`,
		`INSERT INTO schema_migrations VALUES (1, 'init', '2026-11-01T00:00:00Z')`,
		`INSERT INTO peers (network, peer_id, node_id, ip, client_name, handshaken, same_network, first_seen, last_seen, last_observation_at)
		 VALUES ('devnet', '` + statetest.PeerID(1) + `', '` + nodeHex(1) + `', '127.0.0.2', 'lighthouse', TRUE, TRUE, now(), now(), now())`,
		`INSERT INTO estimates VALUES ('devnet', '` + statetest.PeerID(1) + `', 12, 8, 16, 0.5, 'aggregation', 3, 4, now())`,
		`INSERT INTO ip_info (ip, country, country_code, asn, as_org, class, updated_at) VALUES ('127.0.0.2', 'Germany', 'DE', 3320, 'Deutsche Telekom AG', 'residential', now())`,
	} {
		if _, err := raw.Reader().ExecContext(ctx, stmt); err != nil {
			t.Fatalf("build the legacy schema: %v", err)
		}
	}
	raw.Close()
	db, err := store.Open(ctx, dsn, "", nil, store.WithMigrations(state.Migrations()))
	if err != nil {
		t.Fatalf("open a database from before the domain platform: %v", err)
	}
	defer db.Close()
	checkUpgraded(t, db, false, "2026-11-01T00:00:00Z")
}

func nodeHex(i int) string {
	const hex = "0123456789abcdef"
	b := make([]byte, 64)
	for j := range b {
		b[j] = '0'
	}
	b[63] = hex[(i+1)%16]
	return string(b)
}

func checkUpgraded(t *testing.T, db *store.DB, full bool, legacyAppliedAt string) {
	t.Helper()
	ctx := context.Background()
	ms, err := db.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 2 {
		t.Fatalf("status %+v: want the ethereum migrations", ms)
	}
	for _, m := range ms {
		if m.Domain != state.Domain || !m.Applied {
			t.Errorf("migration %+v: want applied, of domain ethereum", m)
		}
	}
	if want, _ := time.Parse(time.RFC3339Nano, legacyAppliedAt); !ms[0].AppliedAt.Equal(want) {
		t.Errorf("0001 applied at %s, want the legacy record's %s", ms[0].AppliedAt, want)
	}
	st := state.New(db)
	p, err := st.GetPeer(ctx, "devnet", statetest.PeerID(1), 10)
	if err != nil {
		t.Fatalf("the legacy peer is gone: %v", err)
	}
	if p.Estimate == nil || p.Estimate.Validators != 12 || p.Geo.ASN != 3320 || p.ClientName != "lighthouse" {
		t.Errorf("legacy peer after upgrade: estimate %+v, geo %+v, client %q", p.Estimate, p.Geo, p.ClientName)
	}
	if full {
		if len(p.History) != 2 || len(p.Subscriptions) != 1 {
			t.Errorf("legacy history: %d observations, %d subscription changes; want 2 and 1", len(p.History), len(p.Subscriptions))
		}
		nets, err := st.Networks(ctx)
		if err != nil || len(nets) != 1 || nets[0] != "devnet" {
			t.Errorf("networks %v %v", nets, err)
		}
	}
	// New events still apply on top of the upgraded tables.
	if err := st.Apply(ctx, state.Batch{Observations: []state.Observation{statetest.Obs("devnet", 1, 100)}}); err != nil {
		t.Fatalf("apply after upgrade: %v", err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
