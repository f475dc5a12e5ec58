package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

const copyTable = `CREATE TABLE copy_t (
    id   BIGINT PRIMARY KEY,
    v    TEXT NOT NULL,
    b    BYTEA,
    at   TIMESTAMPTZ,
    flag BOOLEAN NOT NULL DEFAULT false
)`

var copyCols = []string{"id", "v", "b", "at"}

func copyDB(t testing.TB) *store.DB {
	db := storetest.Postgres(t)
	ctx := context.Background()
	if err := db.InTx(ctx, "create table", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, copyTable)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return db
}

func copyRowsOf(db *store.DB, from, n int) [][]any {
	rows := make([][]any, n)
	at := time.Date(2026, 12, 2, 10, 0, 0, 123456000, time.UTC)
	for i := range rows {
		id := from + i
		var b any
		if id%3 != 0 { // every third row leaves the nullable columns NULL
			b = []byte{byte(id), 0, 0xff}
		}
		rows[i] = []any{int64(id), fmt.Sprintf("row %d ü", id), b, db.Dialect().TimeArg(at.Add(time.Duration(id) * time.Second))}
	}
	return rows
}

// stagingUsed reports whether the batch went through COPY: the session's
// staging table exists.
func stagingUsed(ctx context.Context, tx *sql.Tx) (bool, error) {
	var used bool
	err := tx.QueryRowContext(ctx, "SELECT to_regclass('pg_temp.valtrack_copy_copy_t') IS NOT NULL").Scan(&used)
	return used, err
}

func count(t *testing.T, db *store.DB, where string) int {
	t.Helper()
	var n int
	if err := db.Reader().QueryRow("SELECT count(*) FROM copy_t " + where).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestInsertRowsCopyKeepsConflictRules: a large PostgreSQL batch goes
// through COPY, and ON CONFLICT DO NOTHING still leaves existing rows and
// duplicates within the batch alone; values (bytes, NULLs, times, UTF-8)
// arrive unchanged.
func TestInsertRowsCopyKeepsConflictRules(t *testing.T) {
	db := copyDB(t)
	ctx := context.Background()
	ins := store.Insert{Table: "copy_t", Cols: copyCols, Suffix: "ON CONFLICT (id) DO NOTHING"}
	// Row 5 exists with another value before the batch.
	if err := db.InTx(ctx, "seed", func(tx *sql.Tx) error {
		return db.InsertRows(ctx, tx, ins, [][]any{{int64(5), "old", nil, nil}})
	}); err != nil {
		t.Fatal(err)
	}
	rows := copyRowsOf(db, 0, 4000)
	rows = append(rows, copyRowsOf(db, 3990, 20)...) // 10 duplicates inside the batch
	if err := db.InTx(ctx, "copy", func(tx *sql.Tx) error {
		if err := db.InsertRows(ctx, tx, ins, rows); err != nil {
			return err
		}
		used, err := stagingUsed(ctx, tx)
		if err == nil && !used {
			err = errors.New("the batch did not go through COPY")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, ""); n != 4010 {
		t.Fatalf("rows = %d, want 4010", n)
	}
	if n := count(t, db, "WHERE id = 5 AND v = 'old'"); n != 1 {
		t.Fatal("the existing row 5 was overwritten")
	}
	var (
		v  string
		b  []byte
		at time.Time
	)
	if err := db.Reader().QueryRow("SELECT v, b, at FROM copy_t WHERE id = 7").Scan(&v, &b, &at); err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 12, 2, 10, 0, 7, 123456000, time.UTC)
	if v != "row 7 ü" || string(b) != string([]byte{7, 0, 0xff}) || !at.Equal(want) {
		t.Fatalf("row 7 = %q %x %v", v, b, at)
	}
	if n := count(t, db, "WHERE b IS NULL"); n != 1337+1 { // ids divisible by 3 in 0..4009, plus the seeded row
		t.Fatalf("NULL b rows = %d, want 1338", n)
	}
	if n := count(t, db, "WHERE flag"); n != 0 {
		t.Fatalf("a column outside the insert lost its default: %d rows flagged", n)
	}
}

// TestInsertRowsCopyTwiceInOneTx: two COPY batches of one table in one
// transaction each insert their own rows only (the staging table is emptied
// between them), and the staging table is empty again at commit.
func TestInsertRowsCopyTwiceInOneTx(t *testing.T) {
	db := copyDB(t)
	ctx := context.Background()
	ins := store.Insert{Table: "copy_t", Cols: copyCols} // no suffix: a re-insert would violate the key
	for range 2 {                                        // the second transaction reuses the session's staging table
		err := db.InTx(ctx, "copy twice", func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM copy_t").Scan(&n); err != nil {
				return err
			}
			if err := db.InsertRows(ctx, tx, ins, copyRowsOf(db, n, 3000)); err != nil {
				return err
			}
			return db.InsertRows(ctx, tx, ins, copyRowsOf(db, n+3000, 3000))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, db, ""); n != 12000 {
		t.Fatalf("rows = %d, want 12000", n)
	}
}

// TestInsertRowsCopyRollback: a transaction that fails after a COPY leaves
// nothing behind, and the next one (whose session lost the staging table
// with the rollback) copies again.
func TestInsertRowsCopyRollback(t *testing.T) {
	db := copyDB(t)
	ctx := context.Background()
	ins := store.Insert{Table: "copy_t", Cols: copyCols}
	boom := errors.New("boom")
	err := db.InTx(ctx, "copy then fail", func(tx *sql.Tx) error {
		if err := db.InsertRows(ctx, tx, ins, copyRowsOf(db, 0, 3000)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if n := count(t, db, ""); n != 0 {
		t.Fatalf("rows after rollback = %d", n)
	}
	if err := db.InTx(ctx, "copy", func(tx *sql.Tx) error {
		return db.InsertRows(ctx, tx, ins, copyRowsOf(db, 0, 3000))
	}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, ""); n != 3000 {
		t.Fatalf("rows = %d, want 3000", n)
	}
}

// TestInsertRowsCopyErrorNamesTable: a value the column refuses fails the
// batch with the table named, as a multi-row INSERT does.
func TestInsertRowsCopyErrorNamesTable(t *testing.T) {
	db := copyDB(t)
	ctx := context.Background()
	rows := copyRowsOf(db, 0, 3000)
	rows[500][1] = nil // v is NOT NULL
	err := db.InTx(ctx, "copy", func(tx *sql.Tx) error {
		return db.InsertRows(ctx, tx, store.Insert{Table: "copy_t", Cols: copyCols}, rows)
	})
	if err == nil || !containsAll(err.Error(), "copy_t", "not-null") {
		t.Fatalf("err = %v, want the table and the NOT NULL violation", err)
	}
	if n := count(t, db, ""); n != 0 {
		t.Fatalf("rows = %d after a failed batch", n)
	}
}

// TestInsertRowsUpsertStaysOnValues: DO UPDATE batches keep multi-row
// INSERTs (one INSERT … SELECT may not touch a row twice) and update.
func TestInsertRowsUpsertStaysOnValues(t *testing.T) {
	db := copyDB(t)
	ctx := context.Background()
	ins := store.Insert{Table: "copy_t", Cols: copyCols, Suffix: store.UpsertAll([]string{"id"}, copyCols)}
	for _, v := range []string{"first", "second"} {
		rows := copyRowsOf(db, 0, 3000)
		for _, r := range rows {
			r[1] = v
		}
		if err := db.InTx(ctx, "upsert", func(tx *sql.Tx) error {
			if err := db.InsertRows(ctx, tx, ins, rows); err != nil {
				return err
			}
			used, err := stagingUsed(ctx, tx)
			if err == nil && used {
				err = errors.New("an upsert went through COPY")
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, db, "WHERE v = 'second'"); n != 3000 {
		t.Fatalf("updated rows = %d, want 3000", n)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// BenchmarkInsertRowsPostgres compares one transaction of N rows written
// with multi-row INSERTs (values) and with COPY (copy), ON CONFLICT DO
// NOTHING, on the server of VALTRACK_TEST_POSTGRES.
func BenchmarkInsertRowsPostgres(b *testing.B) {
	for _, n := range []int{256, 1024, 2048, 4096, 8192} {
		for _, mode := range []string{"values", "copy"} {
			b.Run(fmt.Sprintf("rows=%d/%s", n, mode), func(b *testing.B) {
				limit := math.MaxInt
				if mode == "copy" {
					limit = 1
				}
				defer store.SetCopyMinRows(limit)()
				db := copyDB(b)
				ctx := context.Background()
				ins := store.Insert{Table: "copy_t", Cols: copyCols, Suffix: "ON CONFLICT (id) DO NOTHING"}
				b.ReportAllocs()
				next := 0
				for b.Loop() {
					rows := copyRowsOf(db, next, n)
					next += n
					if err := db.InTx(ctx, "bench", func(tx *sql.Tx) error { return db.InsertRows(ctx, tx, ins, rows) }); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}
