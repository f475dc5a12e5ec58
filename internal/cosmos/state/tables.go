// Package state holds the Cosmos domain's tables: what the sentries
// observed (votes, rounds, steps, blocks, commits, validator sets, names,
// endpoint health, slashing parameters) and what the missed-vote analyzer
// derived from it. Every table is cosmos_*; the schema and its codes are
// described in migrations/postgres/0001_init.sql.
package state

import (
	"embed"
	"io/fs"

	"github.com/valtrack/valtrack/internal/store"
)

// Domain owns these tables.
const Domain = "cosmos"

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// Migrations are the cosmos_* tables' migrations.
func Migrations() store.Migrations {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return store.Migrations{Domain: Domain, FS: sub}
}

// Codes of the vote and commit columns (see the migration's header).
const (
	VoteUnknown = -1 // the height's votes were not observed
	VoteAbsent  = 0
	VoteBlock   = 1
	VoteNil     = 2

	TypePrevote   = 1
	TypePrecommit = 2

	FlagAbsent = 1
	FlagCommit = 2
	FlagNil    = 3
)

// Values of cosmos_validator_stats.blocks_to_jail and time_to_jail_ms
// other than a projection (≥ 0).
const (
	JailNotInSet = -1 // the validator is not in the set
	JailUnknown  = -2 // the chain's slashing parameters are unknown
	JailNever    = -3 // min_signed_per_window lets the whole window be missed: never jailed for downtime
	// JailTimeUnknown is time_to_jail_ms only, beside a blocks_to_jail
	// projection: too few block intervals seen yet to turn blocks into
	// time (a fresh start has none, and 0 ms would read as "jailed now").
	JailTimeUnknown = -4
)

// Sources of cosmos_chains.params_source: where the slashing parameters in
// force came from ("" unknown).
const (
	ParamsConfigured = "config" // --cosmos-slashing
	ParamsLCD        = "lcd"
	ParamsGRPC       = "grpc" // a cosmos-sdk gRPC endpoint
	ParamsABCI       = "abci" // abci_query over the RPC
	ParamsUnknown    = ""
)
