package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// copyMinRows is the batch size from which COPY beats multi-row INSERTs on
// PostgreSQL (BenchmarkInsertRowsPostgres in docs/BENCHMARKS.md: even at
// 2,048 rows, 1.4× at 4,096 and 1.7× at 8,192): below it the three extra
// statements of the staging table cost more than the binary transfer saves.
var copyMinRows = 2048

// copyable reports whether an insert's suffix keeps its meaning when the
// rows arrive in one INSERT … SELECT rather than in chunks: no suffix, or
// ON CONFLICT … DO NOTHING. DO UPDATE is left to multi-row INSERTs because
// PostgreSQL refuses one command that updates the same row twice, which a
// batch spread over chunks never asked of it.
func copyable(suffix string) bool {
	s := strings.ToUpper(strings.TrimSpace(suffix))
	return s == "" || (strings.HasPrefix(s, "ON CONFLICT") && strings.HasSuffix(s, "DO NOTHING"))
}

// copyRows writes rows with COPY into a session-local staging table shaped
// like the target's columns (no constraints), then one
// INSERT … SELECT that applies ins.Suffix, so conflicts resolve as they do
// for VALUES. COPY's binary format skips the per-parameter work of a
// 65,535-parameter statement, which is where multi-row INSERTs spend time.
func (s *DB) copyRows(ctx context.Context, tx *sql.Tx, conn *sql.Conn, ins Insert, rows [][]any) error {
	stage := "valtrack_copy_" + ins.Table
	cols := strings.Join(ins.Cols, ", ")
	// The staging table lives as long as the session; CREATE inside this
	// transaction is undone by a rollback, so IF NOT EXISTS runs each time.
	if _, err := tx.ExecContext(ctx, "CREATE TEMP TABLE IF NOT EXISTS "+stage+
		" AS SELECT "+cols+" FROM "+ins.Table+" WITH NO DATA"); err != nil {
		return fmt.Errorf("create staging table: %w", err)
	}
	err := conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return errors.New("copy: the PostgreSQL driver is not pgx")
		}
		_, err := c.Conn().CopyFrom(ctx, pgx.Identifier{stage}, ins.Cols, pgx.CopyFromRows(rows))
		return err
	})
	if err != nil {
		return fmt.Errorf("copy %d rows: %w", len(rows), err)
	}
	q := "INSERT INTO " + ins.Table + " (" + cols + ") SELECT " + cols + " FROM " + stage
	if ins.Suffix != "" {
		q += " " + ins.Suffix
	}
	if _, err := tx.ExecContext(ctx, q); err != nil {
		return err
	}
	// Emptied at once, so a second batch of the same table does not insert
	// these rows again. TRUNCATE rather than DELETE: autovacuum never visits
	// temporary tables, so deleted rows would bloat it for the session's
	// life; and rather than ON COMMIT DELETE ROWS, which cost a quarter more
	// per transaction in BenchmarkInsertRowsPostgres. A rollback undoes the
	// COPY with the rest, leaving the table empty too.
	_, err = tx.ExecContext(ctx, "TRUNCATE "+stage)
	return err
}
