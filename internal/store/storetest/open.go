// Package storetest gives tests a real, empty database of either dialect:
// SQLite in a temporary directory, or a fresh schema on the PostgreSQL server
// named by VALTRACK_TEST_POSTGRES.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/valtrack/valtrack/internal/store"
)

// PostgresEnv names the variable holding the DSN of a PostgreSQL server for
// tests; without it PostgreSQL tests skip.
const PostgresEnv = "VALTRACK_TEST_POSTGRES"

// setupTimeout bounds creating or dropping a test database.
const setupTimeout = 30 * time.Second

// SQLite returns a SQLite database in a fresh temporary directory, closed
// when the test ends (migrated with the migrations given as options).
func SQLite(t testing.TB, opts ...store.Option) *store.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "valtrack.db")
	s, err := store.Open(context.Background(), "sqlite://"+path, "", discardLogger(), opts...)
	if err != nil {
		t.Fatalf("open sqlite database: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Postgres returns a database in a new schema of the server named by
// VALTRACK_TEST_POSTGRES (skipping without it); the schema is dropped when
// the test ends.
func Postgres(t testing.TB, opts ...store.Option) *store.DB {
	t.Helper()
	dsn := PostgresDSN(t)
	s, err := store.Open(context.Background(), dsn, "", discardLogger(), opts...)
	if err != nil {
		t.Fatalf("open postgres database: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// PostgresDSN creates an empty schema valtrack_test_<random> on the test
// server (skipping without VALTRACK_TEST_POSTGRES), registers its removal,
// and returns a DSN whose search_path points at it.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skipf("%s not set: no PostgreSQL server to test against", PostgresEnv)
	}
	cfg, err := pgx.ParseConfig(base)
	if err != nil {
		t.Fatalf("parse %s %s: %v", PostgresEnv, store.RedactDSN(base), err)
	}
	admin := stdlib.OpenDB(*cfg)
	var rnd [8]byte
	rand.Read(rnd[:])
	schema := "valtrack_test_" + hex.EncodeToString(rnd[:])
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("create test schema on %s: %v; is the server running?", store.RedactDSN(base), err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s %s: %v", PostgresEnv, store.RedactDSN(base), err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
