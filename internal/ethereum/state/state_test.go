package state_test

import (
	"os"
	"testing"

	"github.com/valtrack/valtrack/internal/ethereum/state"
	"github.com/valtrack/valtrack/internal/ethereum/state/statetest"
)

func TestSQLite(t *testing.T) {
	statetest.Run(t, func(t *testing.T) state.Store { return statetest.SQLite(t) })
}

func TestPostgres(t *testing.T) {
	if os.Getenv(statetest.PostgresEnv) == "" {
		t.Skipf("%s not set", statetest.PostgresEnv)
	}
	statetest.Run(t, func(t *testing.T) state.Store { return statetest.Postgres(t) })
}

func BenchmarkApplyBatch(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { statetest.BenchApply(b, statetest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { statetest.BenchApply(b, statetest.Postgres(b)) })
}

func BenchmarkListPeers(b *testing.B) {
	const peers = 20000
	b.Run("sqlite", func(b *testing.B) { statetest.BenchListPeers(b, statetest.SQLite(b), peers) })
	b.Run("postgres", func(b *testing.B) { statetest.BenchListPeers(b, statetest.Postgres(b), peers) })
}
