// Package store is valtrack's database handle, shared by every domain: the
// two dialects (SQLite, the embedded default, and PostgreSQL for a fleet),
// connection pools, transactions with retry of transient conflicts,
// multi-row inserts, the migrator of the domains' embedded migrations and
// DSN parsing. It holds no domain's tables or types: each domain keeps its
// own queries beside its own migrations and uses this package to run them.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Defaults of the connection pools; see the Option functions.
const (
	defaultBusyTimeout = 10 * time.Second
	defaultPGConns     = 16
	// connectTimeout bounds the first contact with the database at Open.
	connectTimeout = 15 * time.Second
)

type options struct {
	migrate     bool
	migrations  []Migrations
	readers     int
	busyTimeout time.Duration
	pgConns     int
	existing    bool
}

// Option tunes Open.
type Option func(*options)

// WithMigrations registers the migrations of domains (in order). Open
// applies the pending ones unless WithoutMigrate is given; Migrate and
// MigrationStatus work on them.
func WithMigrations(ms ...Migrations) Option {
	return func(o *options) { o.migrations = append(o.migrations, ms...) }
}

// WithoutMigrate makes Open leave the schema alone. By default Open applies
// every pending registered migration (Migrate is idempotent and safe to run
// from several processes at once); `valtrack db migrate` and deployments
// that migrate as a separate step use this option.
func WithoutMigrate() Option { return func(o *options) { o.migrate = false } }

// WithExisting makes Open refuse a SQLite database that does not exist
// yet instead of creating it (and its directory): a command that only
// reads (`valtrack db status`) on a mistyped --data-dir must say there is
// no database there, not leave an empty one behind.
func WithExisting() Option { return func(o *options) { o.existing = true } }

// WithReaders sets the size of the SQLite reader pool (default 2×CPUs, at
// least 4). Ignored for PostgreSQL.
func WithReaders(n int) Option { return func(o *options) { o.readers = n } }

// WithBusyTimeout sets how long a SQLite connection waits for a lock held by
// another process before failing (default 10s).
func WithBusyTimeout(d time.Duration) Option { return func(o *options) { o.busyTimeout = d } }

// WithPostgresConns sets the PostgreSQL pool size (default 16).
func WithPostgresConns(n int) Option { return func(o *options) { o.pgConns = n } }

// DB is an open database of either dialect. It is safe for concurrent use.
type DB struct {
	d Dialect
	// w takes writes. For SQLite it holds one connection, since SQLite
	// admits one writer at a time and queueing in Go beats SQLITE_BUSY.
	w *sql.DB
	// r serves queries; for PostgreSQL it is the same pool as w.
	r          *sql.DB
	log        *slog.Logger
	where      string // redacted DSN or path, for messages
	password   string // scrubbed from driver errors
	migrations []domainMigrations

	// stmts caches compiled writer statements (a handful of fixed texts).
	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt
	// ck checkpoints SQLite's WAL off the writer's path (nil on PostgreSQL).
	ck *checkpointer
	// txConns maps each open PostgreSQL *sql.Tx of InTx to its *sql.Conn,
	// through which copyRows reaches the pgx connection.
	txConns sync.Map
}

// Open opens the database named by dsn:
//
//	""                               SQLite at <dataDir>/valtrack.db
//	"sqlite://PATH", "file:PATH"     SQLite at PATH
//	"postgres://…", "postgresql://…" PostgreSQL
//
// and, unless WithoutMigrate is given, applies the pending migrations given
// with WithMigrations. The DSN's password never appears in logs or errors
// (see RedactDSN).
func Open(ctx context.Context, dsn, dataDir string, log *slog.Logger, opts ...Option) (*DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o := options{migrate: true, busyTimeout: defaultBusyTimeout, pgConns: defaultPGConns}
	o.readers = max(4, 2*runtime.NumCPU())
	for _, opt := range opts {
		opt(&o)
	}
	t, err := parseDSN(dsn, dataDir)
	if err != nil {
		return nil, err
	}
	var s *DB
	switch t.backend {
	case backendSQLite:
		s, err = openSQLite(ctx, t.path, o, log)
	default:
		s, err = openPostgres(ctx, t.dsn, o, log)
	}
	if err != nil {
		return nil, err
	}
	if s.migrations, err = loadMigrations(s.d, o.migrations); err != nil {
		s.Close()
		return nil, err
	}
	if o.migrate {
		if err := s.Migrate(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	log.Info("database open", "backend", s.d.Name(), "db", s.where)
	return s, nil
}

func openSQLite(ctx context.Context, path string, o options, log *slog.Logger) (*DB, error) {
	s := &DB{d: Dialect{}, log: log, where: path}
	var err error
	if o.existing {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no database at %s (%v): check --data-dir and --db; `valtrack db migrate` or `valtrack run` creates one", path, errors.Unwrap(err))
		}
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open sqlite %s: create directory: %w; check --data-dir and its permissions", path, err)
		}
	}
	base := "file:" + (&url.URL{Path: path}).EscapedPath()
	params := url.Values{}
	params.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", o.busyTimeout.Milliseconds()))
	params.Add("_pragma", "foreign_keys(1)")
	params.Add("_pragma", "synchronous(NORMAL)")
	// Statement journals (multi-row upserts inside a transaction) and
	// temporary b-trees stay in memory: on disk they cost a write syscall
	// per page on the pipeline's hot path.
	params.Add("_pragma", "temp_store(MEMORY)")
	params.Add("_pragma", "cache_size(-65536)")
	ckParams := url.Values{"_pragma": append([]string(nil), params["_pragma"]...)}
	writerParams := url.Values{"_pragma": append([]string{"journal_mode(WAL)", fmt.Sprintf("wal_autocheckpoint(%d)", walBackstopPages)}, params["_pragma"]...)}
	// IMMEDIATE: a write transaction takes the lock at BEGIN, so it waits
	// (busy_timeout) instead of failing when it later upgrades.
	writerParams.Set("_txlock", "immediate")
	if s.w, err = sql.Open("sqlite", base+"?"+writerParams.Encode()); err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxIdleTime(0)
	// The first connection creates the file and switches it to WAL before
	// any reader opens it.
	pctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := pingSQLite(pctx, s.w); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w; check the path is writable and not held by another program", path, err)
	}
	ck, err := sql.Open("sqlite", base+"?"+ckParams.Encode())
	if err != nil {
		s.w.Close()
		return nil, fmt.Errorf("open sqlite %s checkpointer: %w", path, err)
	}
	s.ck = startCheckpointer(ck, log)
	params.Add("_pragma", "query_only(1)")
	if s.r, err = sql.Open("sqlite", base+"?"+params.Encode()); err != nil {
		s.ck.close()
		s.w.Close()
		return nil, fmt.Errorf("open sqlite %s readers: %w", path, err)
	}
	readers := max(1, o.readers)
	s.r.SetMaxOpenConns(readers)
	s.r.SetMaxIdleConns(readers)
	return s, nil
}

// pingSQLite opens the first connection. Switching a new file to WAL
// needs its lock for a moment, and SQLite answers SQLITE_BUSY at once —
// without waiting busy_timeout — when another process opening the same
// file holds it: such an answer is retried until ctx ends.
func pingSQLite(ctx context.Context, db *sql.DB) error {
	for {
		err := db.PingContext(ctx)
		if err == nil || !strings.Contains(err.Error(), "SQLITE_BUSY") {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func openPostgres(ctx context.Context, dsn string, o options, log *slog.Logger) (*DB, error) {
	s := &DB{d: Dialect{postgres: true}, log: log, where: RedactDSN(dsn), password: dsnPassword(dsn)}
	var err error
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgres %s: parse DSN: %w; %s", s.where, s.Scrub(err), acceptedDSNForms)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = connectTimeout
	}
	db := stdlib.OpenDB(*cfg)
	conns := max(1, o.pgConns)
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres %s: %w; check that the server runs and the DSN's host, user and database are right", s.where, s.Scrub(err))
	}
	s.w, s.r = db, db
	return s, nil
}

// Close closes the pools.
func (s *DB) Close() error {
	var err error
	s.stmtMu.Lock()
	for _, st := range s.stmts {
		err = errors.Join(err, st.Close())
	}
	s.stmts = nil
	s.stmtMu.Unlock()
	// Before the writer: its close runs the final checkpoint, which must
	// not race a background one.
	err = errors.Join(err, s.ck.close())
	err = errors.Join(err, s.w.Close())
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	if err != nil {
		return fmt.Errorf("close database %s: %w", s.where, s.Scrub(err))
	}
	return nil
}

// scrubbedError keeps the chain (errors.Is/As) but replaces the message.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// Scrub removes the DSN password from a driver error's text, whatever the
// driver chose to quote. Every error that leaves a query goes through it.
func (s *DB) Scrub(err error) error {
	if err == nil || s.password == "" {
		return err
	}
	msg := err.Error()
	if !strings.Contains(msg, s.password) {
		return err
	}
	return &scrubbedError{msg: strings.ReplaceAll(msg, s.password, redacted), err: err}
}

// Dialect is the database's dialect.
func (s *DB) Dialect() Dialect { return s.d }

// Reader is the pool for queries (on SQLite read-only connections beside
// the single writer; on PostgreSQL the one pool).
func (s *DB) Reader() *sql.DB { return s.r }

// Where names the database for messages: the SQLite path or the redacted DSN.
func (s *DB) Where() string { return s.where }

// Log is the database's logger.
func (s *DB) Log() *slog.Logger { return s.log }

// Query starts a statement in the database's dialect.
func (s *DB) Query() *Query { return &Query{d: s.d} }

// Ping checks that the database answers.
func (s *DB) Ping(ctx context.Context) error {
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", s.where, s.Scrub(err))
	}
	return nil
}
