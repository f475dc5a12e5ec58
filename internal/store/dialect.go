package store

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect is everything that differs between SQLite and PostgreSQL; the SQL
// itself is shared (both speak ON CONFLICT … DO UPDATE with excluded.*).
type dialect struct {
	postgres bool
}

func (d dialect) name() string {
	if d.postgres {
		return "postgres"
	}
	return "sqlite"
}

// least and greatest are scalar min/max of two non-null values.
func (d dialect) least() string {
	if d.postgres {
		return "LEAST"
	}
	return "min"
}

func (d dialect) greatest() string {
	if d.postgres {
		return "GREATEST"
	}
	return "max"
}

// maxParams bounds the bind parameters of one statement (SQLite's default
// limit is 32766, PostgreSQL's 65535); multi-row inserts are chunked below it.
func (d dialect) maxParams() int {
	if d.postgres {
		return 60000
	}
	return 30000
}

// timeArg converts a time for binding: SQLite stores unix microseconds,
// PostgreSQL timestamptz (microsecond precision too). The zero time is NULL.
func (d dialect) timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	if d.postgres {
		return t.UTC().Truncate(time.Microsecond)
	}
	return t.UnixMicro()
}

// retryable reports whether a failed transaction can simply be run again:
// PostgreSQL deadlocks and serialization failures between concurrent
// batches, and SQLite busy errors that outlasted busy_timeout.
func (d dialect) retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "40P01" || pgErr.Code == "40001"
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		code := sqErr.Code() & 0xff
		return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
	}
	return false
}

// query builds a statement and its arguments with the dialect's placeholders.
type query struct {
	d    dialect
	sb   strings.Builder
	args []any
}

func (q *query) sql(s ...string) *query {
	for _, p := range s {
		q.sb.WriteString(p)
	}
	return q
}

// arg binds v and writes its placeholder.
func (q *query) arg(v any) *query {
	q.args = append(q.args, v)
	if q.d.postgres {
		q.sb.WriteString("$")
		q.sb.WriteString(strconv.Itoa(len(q.args)))
	} else {
		q.sb.WriteString("?")
	}
	return q
}

// row writes "(a, b, c)" binding every value.
func (q *query) row(vals ...any) *query {
	q.sb.WriteByte('(')
	for i, v := range vals {
		if i > 0 {
			q.sb.WriteString(", ")
		}
		q.arg(v)
	}
	q.sb.WriteByte(')')
	return q
}

func (q *query) String() string { return q.sb.String() }

// timeCol scans a time column of either dialect; NULL is the zero time.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.t = time.Time{}
	case int64:
		*c.t = time.UnixMicro(v).UTC()
	case time.Time:
		*c.t = v.UTC()
	default:
		return fmt.Errorf("scan time: unexpected %T", src)
	}
	return nil
}

// u64 bit-casts a uint64 into the signed 64-bit column types of both
// databases, so values above 2^63 (hostile or not) round-trip instead of
// failing the batch.
func u64(v uint64) int64 { return int64(v) }

// u64Col scans a bit-cast uint64 column.
type u64Col struct{ v *uint64 }

func (c u64Col) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.v = 0
	case int64:
		*c.v = uint64(v)
	default:
		return fmt.Errorf("scan uint64: unexpected %T", src)
	}
	return nil
}

// optU64 binds a nullable uint64.
func optU64(p *uint64) any {
	if p == nil {
		return nil
	}
	return int64(*p)
}

// optU64Col scans a nullable bit-cast uint64 column.
type optU64Col struct{ v **uint64 }

func (c optU64Col) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.v = nil
	case int64:
		u := uint64(v)
		*c.v = &u
	default:
		return fmt.Errorf("scan uint64: unexpected %T", src)
	}
	return nil
}

// nonZeroTime stamps rows that arrive without a time with the write time,
// so NOT NULL columns never see NULL.
func nonZeroTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}
