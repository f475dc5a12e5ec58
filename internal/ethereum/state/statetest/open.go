// Package statetest is the suite every backend of the Ethereum state must
// pass, fixtures, and helpers that give other packages' tests a real, empty,
// migrated Ethereum state on SQLite or PostgreSQL.
package statetest

import (
	"fmt"
	"testing"

	"github.com/valtrack/valtrack/internal/ethereum/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

// PostgresEnv names the variable holding the DSN of a PostgreSQL server for
// tests; without it PostgreSQL tests skip.
const PostgresEnv = storetest.PostgresEnv

// SQLite returns the Ethereum state in a migrated SQLite database in a fresh
// temporary directory, closed when the test ends.
func SQLite(t testing.TB, opts ...store.Option) state.Store {
	t.Helper()
	return state.New(storetest.SQLite(t, append([]store.Option{store.WithMigrations(state.Migrations())}, opts...)...))
}

// Postgres returns the Ethereum state in a new migrated schema of the
// server named by VALTRACK_TEST_POSTGRES (skipping without it).
func Postgres(t testing.TB, opts ...store.Option) state.Store {
	t.Helper()
	return state.New(storetest.Postgres(t, append([]store.Option{store.WithMigrations(state.Migrations())}, opts...)...))
}

// PeerID returns a deterministic, sortable test peer id.
func PeerID(i int) string { return fmt.Sprintf("16Uiu2HAmTest%08d", i) }
