package store_test

import (
	"os"
	"testing"

	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return storetest.SQLite(t) })
}

func TestPostgres(t *testing.T) {
	if os.Getenv(storetest.PostgresEnv) == "" {
		t.Skipf("%s not set", storetest.PostgresEnv)
	}
	storetest.Run(t, func(t *testing.T) store.Store { return storetest.Postgres(t) })
}

func BenchmarkApplyBatch(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { storetest.BenchApply(b, storetest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { storetest.BenchApply(b, storetest.Postgres(b)) })
}

func BenchmarkListPeers(b *testing.B) {
	const peers = 20000
	b.Run("sqlite", func(b *testing.B) { storetest.BenchListPeers(b, storetest.SQLite(b), peers) })
	b.Run("postgres", func(b *testing.B) { storetest.BenchListPeers(b, storetest.Postgres(b), peers) })
}
