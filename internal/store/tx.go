package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// maxTxAttempts bounds retries of a transaction that lost a deadlock or
// busy race; each retry is a full re-run, so the work stays idempotent.
const maxTxAttempts = 5

// InTx runs fn in a write transaction, retrying it when the database reports
// a transient conflict (a PostgreSQL deadlock or serialization failure, a
// SQLite busy error that outlasted busy_timeout). fn must be safe to run
// again. The error names op and the database.
func (s *DB) InTx(ctx context.Context, op string, fn func(*sql.Tx) error) error {
	var err error
	for attempt := 1; attempt <= maxTxAttempts; attempt++ {
		err = s.tryTx(ctx, fn)
		if err == nil || !s.d.retryable(err) || ctx.Err() != nil {
			break
		}
		s.log.Debug("retrying transaction", "op", op, "attempt", attempt, "err", s.Scrub(err))
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt*attempt) * 10 * time.Millisecond):
		}
	}
	if err != nil {
		return fmt.Errorf("%s in %s: %w", op, s.where, s.Scrub(err))
	}
	return nil
}

func (s *DB) tryTx(ctx context.Context, fn func(*sql.Tx) error) error {
	if !s.d.postgres {
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err := runTx(tx, fn); err != nil {
			return err
		}
		s.ck.committed()
		return nil
	}
	// On PostgreSQL the transaction runs on a connection of its own, kept
	// beside it, so that InsertRows can reach the pgx connection under it
	// for COPY (database/sql offers no way from a Tx to its connection).
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	s.txConns.Store(tx, conn)
	defer s.txConns.Delete(tx)
	return runTx(tx, fn)
}

func runTx(tx *sql.Tx, fn func(*sql.Tx) error) error {
	if err := fn(tx); err != nil {
		tx.Rollback() //nolint:errcheck // the first error is the one to report
		return err
	}
	return tx.Commit()
}

// sqliteChunkRows is the row count of SQLite's multi-row statements: small
// enough that the compiled statement is cheap to cache and reuse, large
// enough that per-statement overhead is amortised.
const sqliteChunkRows = 64

// Insert describes a multi-row INSERT: the table, its columns and what
// follows the VALUES list (an ON CONFLICT clause, or nothing).
type Insert struct {
	Table  string
	Cols   []string
	Suffix string
}

// InsertRows writes rows (each with one value per column of ins) with
// multi-row INSERTs, chunked under the dialect's parameter limit. On SQLite
// a statement prepared with Prepare is reused. On PostgreSQL a large batch
// inside InTx goes through COPY instead (see copyRows).
func (s *DB) InsertRows(ctx context.Context, tx *sql.Tx, ins Insert, rows [][]any) error {
	if s.d.postgres && len(rows) >= copyMinRows && copyable(ins.Suffix) {
		if conn, ok := s.txConns.Load(tx); ok {
			if err := s.copyRows(ctx, tx, conn.(*sql.Conn), ins, rows); err != nil {
				return fmt.Errorf("insert into %s: %w", ins.Table, err)
			}
			return nil
		}
	}
	per := s.chunkRows(ins.Cols)
	for len(rows) > 0 {
		n := min(per, len(rows))
		args := make([]any, 0, n*len(ins.Cols))
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		text := s.insertSQL(ins, n)
		var err error
		if stmt := s.stmt(text); stmt != nil {
			_, err = tx.StmtContext(ctx, stmt).ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, text, args...)
		}
		if err != nil {
			return fmt.Errorf("insert into %s: %w", ins.Table, err)
		}
		rows = rows[n:]
	}
	return nil
}

// chunkRows is the number of rows per multi-row statement.
func (s *DB) chunkRows(cols []string) int {
	per := max(1, s.d.maxParams()/len(cols))
	if !s.d.postgres {
		per = min(per, sqliteChunkRows)
	}
	return per
}

// insertSQL is the text of a multi-row INSERT of n rows.
func (s *DB) insertSQL(ins Insert, n int) string {
	q := s.Query()
	q.SQL("INSERT INTO ", ins.Table, " (", strings.Join(ins.Cols, ", "), ") VALUES ")
	row := make([]any, len(ins.Cols))
	for i := range n {
		if i > 0 {
			q.SQL(", ")
		}
		q.Row(row...)
	}
	if ins.Suffix != "" {
		q.SQL(" ", ins.Suffix)
	}
	return q.String()
}

// stmt returns the cached compiled form of a statement, or nil.
func (s *DB) stmt(text string) *sql.Stmt {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	return s.stmts[text]
}

// Prepare compiles, once per statement text, the full-chunk statements of
// the inserts a hot path runs most, on SQLite, where every Exec would
// otherwise parse a large statement anew (pgx caches prepared statements per
// connection by itself, so on PostgreSQL this does nothing). It runs outside
// transactions: the single writer connection is busy inside one. Failure is
// not fatal (Exec with the text works, only slower) and is retried at the
// next call: the schema may not be migrated yet.
func (s *DB) Prepare(ctx context.Context, inserts ...Insert) {
	if s.d.postgres {
		return
	}
	var todo []string
	s.stmtMu.Lock()
	for _, ins := range inserts {
		text := s.insertSQL(ins, s.chunkRows(ins.Cols))
		if _, ok := s.stmts[text]; !ok {
			todo = append(todo, text)
		}
	}
	s.stmtMu.Unlock()
	if len(todo) == 0 {
		return
	}
	prepared := map[string]*sql.Stmt{}
	for _, text := range todo {
		p, err := s.w.PrepareContext(ctx, text)
		if err != nil {
			s.log.Debug("prepare statement", "err", err)
			for _, p := range prepared {
				p.Close()
			}
			return
		}
		prepared[text] = p
	}
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if s.stmts == nil {
		s.stmts = map[string]*sql.Stmt{}
	}
	for text, p := range prepared {
		if _, ok := s.stmts[text]; ok { // another goroutine won the race
			p.Close()
			continue
		}
		s.stmts[text] = p
	}
}

// UpsertAll is "ON CONFLICT (key) DO UPDATE SET every other column".
func UpsertAll(key, cols []string) string {
	isKey := map[string]bool{}
	for _, k := range key {
		isKey[k] = true
	}
	var set []string
	for _, c := range cols {
		if !isKey[c] {
			set = append(set, c+" = excluded."+c)
		}
	}
	return "ON CONFLICT (" + strings.Join(key, ", ") + ") DO UPDATE SET " + strings.Join(set, ", ")
}

// ScanStrings reads a one-column result of strings and closes rows.
func ScanStrings(rows *sql.Rows, op string) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return out, nil
}
