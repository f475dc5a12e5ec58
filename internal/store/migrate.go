package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migrations are one domain's embedded schema migrations. FS holds one
// directory per dialect, sqlite/ and postgres/, of NNNN_name.sql files;
// versions are local to the domain (every domain starts at 0001), and
// schema_migrations records them keyed by domain and version.
type Migrations struct {
	Domain string
	FS     fs.FS
	// AdoptsLegacy marks the domain that owned a database from before
	// migrations were keyed by domain (a schema_migrations table without a
	// domain column): its applied versions become this domain's when the
	// table is upgraded. At most one domain may set it.
	AdoptsLegacy bool
}

// MigrationState reports one registered migration.
type MigrationState struct {
	Domain    string
	Version   int
	Name      string
	Applied   bool
	AppliedAt time.Time
	// Unknown: schema_migrations records this version but this binary has
	// no such migration — a newer valtrack migrated the database (or the
	// domain is one this binary does not have).
	Unknown bool
}

// migrationLockKey is the pg_advisory_lock key that serialises migrations of
// several processes against one database ("valtrack" in ASCII).
const migrationLockKey = 0x76616c747261636b

type migration struct {
	version int
	name    string
	sql     string
}

// domainMigrations are the loaded migrations of one domain, in version order.
type domainMigrations struct {
	domain string
	adopts bool
	list   []migration
}

var domainNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// loadMigrations reads every domain's files of the dialect.
func loadMigrations(d Dialect, sets []Migrations) ([]domainMigrations, error) {
	var out []domainMigrations
	seen := map[string]bool{}
	adopter := ""
	for _, set := range sets {
		if !domainNameRE.MatchString(set.Domain) {
			return nil, fmt.Errorf("migrations: domain %q must be lower-case letters, digits and _", set.Domain)
		}
		if seen[set.Domain] {
			return nil, fmt.Errorf("migrations: domain %q registered twice", set.Domain)
		}
		seen[set.Domain] = true
		if set.AdoptsLegacy {
			if adopter != "" {
				return nil, fmt.Errorf("migrations: domains %q and %q both adopt the legacy schema_migrations", adopter, set.Domain)
			}
			adopter = set.Domain
		}
		list, err := loadDir(set.FS, d.Name(), set.Domain)
		if err != nil {
			return nil, err
		}
		out = append(out, domainMigrations{domain: set.Domain, adopts: set.AdoptsLegacy, list: list})
	}
	return out, nil
}

func loadDir(fsys fs.FS, dir, domain string) ([]migration, error) {
	if fsys == nil {
		return nil, fmt.Errorf("migrations of %s: no files given", domain)
	}
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations of %s (%s): %w", domain, dir, err)
	}
	var out []migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		base := strings.TrimSuffix(e.Name(), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("embedded migration %s/%s of %s: name is not NNNN_name.sql", dir, e.Name(), domain)
		}
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read embedded migration %s of %s: %w", e.Name(), domain, err)
		}
		out = append(out, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("embedded migrations of %s: version %d appears twice", domain, out[i].version)
		}
	}
	return out, nil
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    domain     TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    name       TEXT    NOT NULL,
    applied_at TEXT    NOT NULL,
    PRIMARY KEY (domain, version)
)`

// Migrate applies every registered migration not yet applied, each in its
// own transaction, domain by domain in registration order. On PostgreSQL an
// advisory lock makes concurrent callers (several consumers starting at
// once) wait for each other; on SQLite the write transaction (BEGIN
// IMMEDIATE) does the same. A schema_migrations table from before domains is
// first upgraded in place (see Migrations.AdoptsLegacy).
func (s *DB) Migrate(ctx context.Context) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s: connect: %w", s.where, s.Scrub(err))
	}
	defer conn.Close()
	if s.d.postgres {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", int64(migrationLockKey)); err != nil {
			return fmt.Errorf("migrate %s: take the migration lock: %w", s.where, s.Scrub(err))
		}
		defer func() {
			// A fresh context: the lock must go even if ctx was cancelled.
			uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := conn.ExecContext(uctx, "SELECT pg_advisory_unlock($1)", int64(migrationLockKey)); err != nil {
				s.log.Warn("release migration lock", "db", s.where, "err", s.Scrub(err))
			}
		}()
	}
	if err := s.upgradeLegacy(ctx, conn); err != nil {
		return fmt.Errorf("migrate %s: upgrade schema_migrations to per-domain versions: %w", s.where, s.Scrub(err))
	}
	if _, err := conn.ExecContext(ctx, createMigrationsTable); err != nil {
		return fmt.Errorf("migrate %s: create schema_migrations: %w", s.where, s.Scrub(err))
	}
	if err := s.refuseNewer(ctx, conn); err != nil {
		return err
	}
	for _, dm := range s.migrations {
		for _, m := range dm.list {
			applied, err := s.applyMigration(ctx, conn, dm.domain, m)
			if err != nil {
				return fmt.Errorf("migrate %s: migration %s %04d_%s: %w; fix the database or restore a backup, then run `valtrack db migrate` again", s.where, dm.domain, m.version, m.name, s.Scrub(err))
			}
			if applied {
				s.log.Info("applied migration", "db", s.where, "domain", dm.domain, "version", m.version, "name", m.name)
			}
		}
	}
	return nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// migrationsTable tells whether schema_migrations exists and whether it has
// the domain column.
func (s *DB) migrationsTable(ctx context.Context, q querier) (exists, keyed bool, err error) {
	existsSQL := "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
	keyedSQL := "SELECT count(*) FROM pragma_table_info('schema_migrations') WHERE name = 'domain'"
	if s.d.postgres {
		existsSQL = "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'"
		keyedSQL = "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'schema_migrations' AND column_name = 'domain'"
	}
	var n int
	if err := q.QueryRowContext(ctx, existsSQL).Scan(&n); err != nil || n == 0 {
		return false, false, err
	}
	if err := q.QueryRowContext(ctx, keyedSQL).Scan(&n); err != nil {
		return true, false, err
	}
	return true, n > 0, nil
}

func (s *DB) adopter() string {
	for _, dm := range s.migrations {
		if dm.adopts {
			return dm.domain
		}
	}
	return ""
}

// upgradeLegacy rewrites a schema_migrations(version, name, applied_at)
// table of a database from before domains into the keyed form, its rows
// assigned to the adopting domain, in one transaction.
func (s *DB) upgradeLegacy(ctx context.Context, conn *sql.Conn) error {
	exists, keyed, err := s.migrationsTable(ctx, conn)
	if err != nil || !exists || keyed {
		return err
	}
	domain := s.adopter()
	if domain == "" {
		return fmt.Errorf("the database's schema_migrations has no domain column and no registered domain adopts it")
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	for _, stmt := range []string{"ALTER TABLE schema_migrations RENAME TO schema_migrations_legacy", createMigrationsTable} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	q := s.Query()
	q.SQL("INSERT INTO schema_migrations (domain, version, name, applied_at) SELECT CAST(").Arg(domain).
		SQL(" AS TEXT), version, name, applied_at FROM schema_migrations_legacy")
	if _, err := tx.ExecContext(ctx, q.String(), q.Args()...); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DROP TABLE schema_migrations_legacy"); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.log.Info("upgraded schema_migrations to per-domain versions", "db", s.where, "adopted_by", domain)
	return nil
}

// applyMigration runs one migration unless another process already did.
func (s *DB) applyMigration(ctx context.Context, conn *sql.Conn, domain string, m migration) (bool, error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	q := s.Query()
	q.SQL("SELECT count(*) FROM schema_migrations WHERE domain = ").Arg(domain).SQL(" AND version = ").Arg(m.version)
	var n int
	if err := tx.QueryRowContext(ctx, q.String(), q.Args()...).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, err
	}
	q = s.Query()
	q.SQL("INSERT INTO schema_migrations (domain, version, name, applied_at) VALUES ").
		Row(domain, m.version, m.name, time.Now().UTC().Format(time.RFC3339Nano))
	if _, err := tx.ExecContext(ctx, q.String(), q.Args()...); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// MigrationStatus lists every registered migration, domain by domain, and
// whether it is applied. It only reads: a database never migrated lists
// everything pending, and a legacy schema_migrations counts for the domain
// that adopts it.
func (s *DB) MigrationStatus(ctx context.Context) ([]MigrationState, error) {
	exists, keyed, err := s.migrationsTable(ctx, s.r)
	if err != nil {
		return nil, fmt.Errorf("migration status %s: %w", s.where, s.Scrub(err))
	}
	var applied []appliedRow
	if exists {
		if applied, err = s.readApplied(ctx, s.r, keyed); err != nil {
			return nil, fmt.Errorf("migration status %s: %w", s.where, s.Scrub(err))
		}
	}
	type key struct {
		domain  string
		version int
	}
	byKey := map[key]appliedRow{}
	for _, a := range applied {
		byKey[key{a.domain, a.version}] = a
	}
	var out []MigrationState
	known := map[key]bool{}
	for _, dm := range s.migrations {
		for _, m := range dm.list {
			k := key{dm.domain, m.version}
			known[k] = true
			a, ok := byKey[k]
			out = append(out, MigrationState{Domain: dm.domain, Version: m.version, Name: m.name, Applied: ok, AppliedAt: a.at})
		}
	}
	// What a newer binary applied is listed too, after the known ones:
	// an operator about to run this binary must see it.
	for _, a := range applied {
		if !known[key{a.domain, a.version}] {
			out = append(out, MigrationState{Domain: a.domain, Version: a.version, Name: a.name, Applied: true, AppliedAt: a.at, Unknown: true})
		}
	}
	return out, nil
}

// appliedRow is one row of schema_migrations.
type appliedRow struct {
	domain  string
	version int
	name    string
	at      time.Time
}

type rowsQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// readApplied reads schema_migrations in (domain, version) order; a legacy
// table's rows belong to the adopting domain.
func (s *DB) readApplied(ctx context.Context, q rowsQuerier, keyed bool) ([]appliedRow, error) {
	b := s.Query()
	if keyed {
		b.SQL("SELECT domain, version, name, applied_at FROM schema_migrations ORDER BY domain, version")
	} else {
		b.SQL("SELECT CAST(").Arg(s.adopter()).SQL(" AS TEXT), version, name, applied_at FROM schema_migrations ORDER BY version")
	}
	rows, err := q.QueryContext(ctx, b.String(), b.Args()...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []appliedRow
	for rows.Next() {
		var a appliedRow
		var at string
		if err := rows.Scan(&a.domain, &a.version, &a.name, &at); err != nil {
			return nil, err
		}
		a.at, _ = time.Parse(time.RFC3339Nano, at)
		out = append(out, a)
	}
	return out, rows.Err()
}

// refuseNewer fails when schema_migrations holds versions of a registered
// domain that this binary has no migration for: a newer valtrack changed
// that domain's tables, and writing to them with this binary's queries
// could corrupt them or fail half way. Nothing is applied then. Versions of
// a domain this binary does not register are another binary's business
// (its tables are never touched here); `db status` lists them.
func (s *DB) refuseNewer(ctx context.Context, conn *sql.Conn) error {
	applied, err := s.readApplied(ctx, conn, true)
	if err != nil {
		return fmt.Errorf("migrate %s: read schema_migrations: %w", s.where, s.Scrub(err))
	}
	var problems []string
	for _, dm := range s.migrations {
		known := map[int]bool{}
		last := 0
		for _, m := range dm.list {
			known[m.version] = true
			last = max(last, m.version)
		}
		var unknown []string
		for _, a := range applied {
			if a.domain == dm.domain && !known[a.version] {
				unknown = append(unknown, fmt.Sprintf("%04d_%s", a.version, a.name))
			}
		}
		if len(unknown) > 0 {
			problems = append(problems, fmt.Sprintf("domain %s has migration(s) %s applied, and this binary knows %s up to %04d",
				dm.domain, strings.Join(unknown, ", "), dm.domain, last))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("migrate %s: the database was migrated by a newer valtrack: %s; refusing to write to it. "+
		"Run the newer valtrack, or restore a backup from before it ran (`valtrack db status` lists the migrations)",
		s.where, strings.Join(problems, "; "))
}
