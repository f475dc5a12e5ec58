package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// migrationLockKey is the pg_advisory_lock key that serialises migrations of
// several processes against one database ("valtrack" in ASCII).
const migrationLockKey = 0x76616c747261636b

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the embedded files of a dialect, NNNN_name.sql, in
// version order.
func loadMigrations(d dialect) ([]migration, error) {
	dir := "migrations/" + d.name()
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations %s: %w", dir, err)
	}
	var out []migration
	for _, e := range entries {
		base := strings.TrimSuffix(e.Name(), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("embedded migration %s: name is not NNNN_name.sql", e.Name())
		}
		body, err := migrationFiles.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read embedded migration %s: %w", e.Name(), err)
		}
		out = append(out, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("embedded migrations: version %d appears twice", out[i].version)
		}
	}
	return out, nil
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at TEXT    NOT NULL
)`

// Migrate applies every embedded migration not yet applied, each in its own
// transaction. On PostgreSQL an advisory lock makes concurrent callers (several
// consumers starting at once) wait for each other; on SQLite the write
// transaction (BEGIN IMMEDIATE) does the same.
func (s *sqlStore) Migrate(ctx context.Context) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s: connect: %w", s.where, s.scrub(err))
	}
	defer conn.Close()
	if s.d.postgres {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", int64(migrationLockKey)); err != nil {
			return fmt.Errorf("migrate %s: take the migration lock: %w", s.where, s.scrub(err))
		}
		defer func() {
			// A fresh context: the lock must go even if ctx was cancelled.
			uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := conn.ExecContext(uctx, "SELECT pg_advisory_unlock($1)", int64(migrationLockKey)); err != nil {
				s.log.Warn("release migration lock", "db", s.where, "err", s.scrub(err))
			}
		}()
	}
	if _, err := conn.ExecContext(ctx, createMigrationsTable); err != nil {
		return fmt.Errorf("migrate %s: create schema_migrations: %w", s.where, s.scrub(err))
	}
	for _, m := range s.migrations {
		applied, err := s.applyMigration(ctx, conn, m)
		if err != nil {
			return fmt.Errorf("migrate %s: migration %04d_%s: %w; fix the database or restore a backup, then run `valtrack db migrate` again", s.where, m.version, m.name, s.scrub(err))
		}
		if applied {
			s.log.Info("applied migration", "db", s.where, "version", m.version, "name", m.name)
		}
	}
	return nil
}

// applyMigration runs one migration unless another process already did.
func (s *sqlStore) applyMigration(ctx context.Context, conn *sql.Conn, m migration) (bool, error) {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	q := &query{d: s.d}
	q.sql("SELECT count(*) FROM schema_migrations WHERE version = ").arg(m.version)
	var n int
	if err := tx.QueryRowContext(ctx, q.String(), q.args...).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, err
	}
	q = &query{d: s.d}
	q.sql("INSERT INTO schema_migrations (version, name, applied_at) VALUES ").
		row(m.version, m.name, time.Now().UTC().Format(time.RFC3339Nano))
	if _, err := tx.ExecContext(ctx, q.String(), q.args...); err != nil {
		return false, err
	}
	return true, tx.Commit()
}

// MigrationStatus lists every embedded migration and whether it is applied.
func (s *sqlStore) MigrationStatus(ctx context.Context) ([]MigrationState, error) {
	// Status only reads: a database never migrated lists everything pending.
	exists := "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
	if s.d.postgres {
		exists = "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'"
	}
	var n int
	if err := s.r.QueryRowContext(ctx, exists).Scan(&n); err != nil {
		return nil, fmt.Errorf("migration status %s: %w", s.where, s.scrub(err))
	}
	applied := map[int]time.Time{}
	if n > 0 {
		if err := s.readApplied(ctx, applied); err != nil {
			return nil, err
		}
	}
	out := make([]MigrationState, 0, len(s.migrations))
	for _, m := range s.migrations {
		at, ok := applied[m.version]
		out = append(out, MigrationState{Version: m.version, Name: m.name, Applied: ok, AppliedAt: at})
	}
	return out, nil
}

func (s *sqlStore) readApplied(ctx context.Context, applied map[int]time.Time) error {
	rows, err := s.r.QueryContext(ctx, "SELECT version, applied_at FROM schema_migrations")
	if err != nil {
		return fmt.Errorf("migration status %s: %w", s.where, s.scrub(err))
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		var at string
		if err := rows.Scan(&v, &at); err != nil {
			return fmt.Errorf("migration status %s: %w", s.where, err)
		}
		t, _ := time.Parse(time.RFC3339Nano, at)
		applied[v] = t
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("migration status %s: %w", s.where, s.scrub(err))
	}
	return nil
}
