package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/valtrack/valtrack/internal/store"
)

// Store reads and writes the polkadot_* tables. It is safe for concurrent
// use.
type Store struct {
	db *store.DB
}

// New returns the Store over db (migrated with Migrations).
func New(db *store.DB) *Store { return &Store{db: db} }

// DB is the database the Store works on.
func (s *Store) DB() *store.DB { return s.db }

// Tx is a write transaction of the Store: the sink applies a batch through
// one, the runner's multi-row writes run in one.
type Tx struct {
	s   *Store
	ctx context.Context
	tx  *sql.Tx
}

// InTx runs fn in one write transaction (retried on a transient conflict,
// so fn must be safe to run again); op names it in the error.
func (s *Store) InTx(ctx context.Context, op string, fn func(*Tx) error) error {
	return s.db.InTx(ctx, op, func(tx *sql.Tx) error { return fn(&Tx{s: s, ctx: ctx, tx: tx}) })
}

func (t *Tx) q() *store.Query { return t.s.db.Query() }

func (t *Tx) exec(op string, q *store.Query) (sql.Result, error) {
	r, err := t.tx.ExecContext(t.ctx, q.String(), q.Args()...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return r, nil
}

// changed runs an UPDATE or DELETE in the transaction: whether it
// touched a row (the conditional writes say by it whether they applied).
func (t *Tx) changed(op string, q *store.Query) (bool, error) {
	r, err := t.exec(op, q)
	if err != nil {
		return false, err
	}
	n, err := r.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("%s: %w", op, err)
	}
	return n > 0, nil
}

// row reads one row in the transaction; found false without error when
// there is none.
func (t *Tx) row(op string, q *store.Query, dest ...any) (bool, error) {
	err := t.tx.QueryRowContext(t.ctx, q.String(), q.Args()...).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s: %w", op, err)
	}
	return true, nil
}

func (s *Store) query(ctx context.Context, op string, q *store.Query) (*sql.Rows, error) {
	rows, err := s.db.Reader().QueryContext(ctx, q.String(), q.Args()...)
	if err != nil {
		return nil, fmt.Errorf("%s in %s: %w", op, s.db.Where(), s.db.Scrub(err))
	}
	return rows, nil
}

// one reads one row; found false without error when there is none.
func (s *Store) one(ctx context.Context, op string, q *store.Query, dest ...any) (bool, error) {
	err := s.db.Reader().QueryRowContext(ctx, q.String(), q.Args()...).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s in %s: %w", op, s.db.Where(), s.db.Scrub(err))
	}
	return true, nil
}

// each runs scan on every row and closes rows.
func each(rows *sql.Rows, op string, scan func() error) error {
	defer rows.Close()
	for rows.Next() {
		if err := scan(); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// encode is a value as its JSON column. Only a NaN or infinite float can
// fail it: the caller's data is then refused, not stored half.
func encode(what string, v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode %s: %w", what, err)
	}
	return string(b), nil
}

// decode reads a JSON column; a row that does not parse names its table.
func decode(what, s string, v any) error {
	if s == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("decode %s: %w", what, err)
	}
	return nil
}

// Networks lists the chains with data: observed or with candidates.
func (s *Store) Networks(ctx context.Context) ([]string, error) {
	const op = "list polkadot chains"
	rows, err := s.query(ctx, op, s.db.Query().SQL(
		"SELECT chain FROM polkadot_chains UNION SELECT chain FROM polkadot_candidates UNION SELECT chain FROM polkadot_validators ORDER BY 1"))
	if err != nil {
		return nil, err
	}
	return store.ScanStrings(rows, op)
}

// txSQL is the database transaction store.DB.InTx hands out.
type txSQL = sql.Tx
