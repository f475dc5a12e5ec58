package state

import (
	"database/sql"
	"embed"
	"io/fs"
	"log/slog"

	"github.com/valtrack/valtrack/internal/store"
)

// Domain is the domain these tables belong to; every table name carries it
// as a prefix so that domains sharing one database never collide.
const Domain = "ethereum"

// The tables. 0002_prefix renamed them from the unprefixed names of
// databases made before the domain platform.
const (
	tPeers         = "ethereum_peers"
	tDiscoveries   = "ethereum_discoveries"
	tObservations  = "ethereum_observations"
	tSubscriptions = "ethereum_subscription_changes"
	tIPInfo        = "ethereum_ip_info"
	tEstimates     = "ethereum_estimates"
)

// historyTables hold events (keyed by message id, pruned by time).
var historyTables = []string{tDiscoveries, tObservations, tSubscriptions}

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// Migrations are the Ethereum tables' migrations. The domain adopts the
// unkeyed schema_migrations of databases from before domains: those held
// only Ethereum tables.
func Migrations() store.Migrations {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return store.Migrations{Domain: Domain, FS: sub, AdoptsLegacy: true}
}

// sqlStore implements Store over the shared database.
type sqlStore struct {
	db    *store.DB
	d     store.Dialect
	r     *sql.DB
	log   *slog.Logger
	where string
}

// New is the Ethereum state in db, whose schema must be migrated with
// Migrations (store.WithMigrations).
func New(db *store.DB) Store {
	return &sqlStore{db: db, d: db.Dialect(), r: db.Reader(), log: db.Log(), where: db.Where()}
}
