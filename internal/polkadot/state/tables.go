// Package state holds the Polkadot domain's tables (polkadot_*, described
// in migrations/postgres/0001_init.sql) and Store, through which the sink
// writes what the sentry observed, the runner persists the delegation
// program's state (so a restart resumes mid-round) and the API reads both.
package state

import (
	"embed"
	"io/fs"

	"github.com/valtrack/valtrack/internal/store"
)

// Domain owns these tables.
const Domain = "polkadot"

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// Migrations are the polkadot_* tables' migrations.
func Migrations() store.Migrations {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return store.Migrations{Domain: Domain, FS: sub}
}

// Limits of the list readers.
const (
	DefaultLimit = 100   // a limit of 0 or less
	MaxLimit     = 10000 // larger limits are cut to this
	// InclusionEras is the window of EraPoints (1KV's inclusion: 84 eras).
	InclusionEras = 84
)

func limit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// The states of a proxy transaction.
const (
	ProxyAnnounced = "announced"
	ProxyExecuted  = "executed"
	ProxyCancelled = "cancelled"
	ProxyFailed    = "failed"
	// ProxyOrphaned is an announcement whose nominator left the program
	// file: the key that could execute or withdraw it went with the entry,
	// so the runner stops waiting for it (it would hold back every round)
	// and its reason tells the operator how to remove it from the chain.
	ProxyOrphaned = "orphaned"
)
