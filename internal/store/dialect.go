package store

import (
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect is everything that differs between SQLite and PostgreSQL; the SQL
// itself is shared (both speak ON CONFLICT … DO UPDATE with excluded.*).
type Dialect struct {
	postgres bool
}

// Postgres reports whether this is PostgreSQL (else SQLite).
func (d Dialect) Postgres() bool { return d.postgres }

// Name is "postgres" or "sqlite", also the directory of a dialect's
// migrations.
func (d Dialect) Name() string {
	if d.postgres {
		return "postgres"
	}
	return "sqlite"
}

// Least and Greatest name the scalar min/max of two non-null values.
func (d Dialect) Least() string {
	if d.postgres {
		return "LEAST"
	}
	return "min"
}

// Greatest: see Least.
func (d Dialect) Greatest() string {
	if d.postgres {
		return "GREATEST"
	}
	return "max"
}

// maxParams bounds the bind parameters of one statement (SQLite's default
// limit is 32766, PostgreSQL's 65535); multi-row inserts are chunked below it.
func (d Dialect) maxParams() int {
	if d.postgres {
		return 60000
	}
	return 30000
}

// TimeArg converts a time for binding: SQLite stores unix microseconds,
// PostgreSQL timestamptz (microsecond precision too). The zero time is NULL.
func (d Dialect) TimeArg(t time.Time) any {
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
func (d Dialect) retryable(err error) bool {
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

// Query builds a statement and its arguments with the dialect's
// placeholders ($n or ?). Values always go through Arg, never into the text.
type Query struct {
	d    Dialect
	sb   strings.Builder
	args []any
}

// SQL appends statement text.
func (q *Query) SQL(s ...string) *Query {
	for _, p := range s {
		q.sb.WriteString(p)
	}
	return q
}

// Arg binds v and writes its placeholder.
func (q *Query) Arg(v any) *Query {
	q.args = append(q.args, v)
	if q.d.postgres {
		q.sb.WriteString("$")
		q.sb.WriteString(strconv.Itoa(len(q.args)))
	} else {
		q.sb.WriteString("?")
	}
	return q
}

// Row writes "(a, b, c)" binding every value.
func (q *Query) Row(vals ...any) *Query {
	q.sb.WriteByte('(')
	for i, v := range vals {
		if i > 0 {
			q.sb.WriteString(", ")
		}
		q.Arg(v)
	}
	q.sb.WriteByte(')')
	return q
}

// String is the statement text.
func (q *Query) String() string { return q.sb.String() }

// Args are the bound values, in placeholder order.
func (q *Query) Args() []any { return q.args }

// TimeInto scans a time column of either dialect into t; NULL is the zero
// time.
func TimeInto(t *time.Time) sql.Scanner { return timeCol{t} }

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

// U64 bit-casts a uint64 into the signed 64-bit column types of both
// databases, so values above 2^63 (hostile or not) round-trip instead of
// failing the batch.
func U64(v uint64) int64 { return int64(v) }

// U64Into scans a bit-cast uint64 column into v.
func U64Into(v *uint64) sql.Scanner { return u64Col{v} }

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

// OptU64 binds a nullable uint64.
func OptU64(p *uint64) any {
	if p == nil {
		return nil
	}
	return int64(*p)
}

// OptU64Into scans a nullable bit-cast uint64 column into v.
func OptU64Into(v **uint64) sql.Scanner { return optU64Col{v} }

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

// NonZeroTime stamps rows that arrive without a time with the write time,
// so NOT NULL columns never see NULL.
func NonZeroTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}
