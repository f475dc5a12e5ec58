package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Permanent reports whether err is the database refusing the data itself —
// a value out of range, an invalid byte sequence, a constraint violated, a
// row too large — so that running the same statement again can never
// succeed. A consumer uses it to tell a poison event (set it aside) from an
// outage (retry everything later). Connection failures, timeouts, deadlocks
// and anything unknown are not permanent.
func Permanent(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case len(pgErr.Code) != 5:
			return false
		case pgErr.Code[:2] == "22": // data exception: 22021 invalid byte sequence, 22003 out of range, 22008 datetime overflow, 22P05 untranslatable character
			return true
		case pgErr.Code[:2] == "23": // integrity constraint violation
			return true
		case pgErr.Code == "54000": // program limit exceeded (e.g. index row too large)
			return true
		}
		return false
	}
	// pgx refuses on the client a value its column type cannot hold (an
	// INTEGER beyond 2^31, say) before the statement reaches the server. It
	// has no error type for that: its message is the one sign.
	if err != nil && strings.Contains(err.Error(), "failed to encode args[") {
		return true
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() & 0xff {
		case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_MISMATCH:
			return true
		}
	}
	return false
}

// Unavailable reports whether err says the store cannot be reached or
// cannot work right now — a connection refused, reset or closed, a
// timeout, a server shutting down or out of resources, a database locked
// or its disk failing — as opposed to refusing the data. Every event fails
// alike then, so a consumer must never set events aside for it: it waits
// for the store instead.
func Unavailable(err error) bool {
	if err == nil || Permanent(err) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	if pgconn.Timeout(err) {
		return true
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && len(pgErr.Code) == 5 {
		switch {
		case pgErr.Code[:2] == "08": // connection exception
			return true
		case pgErr.Code[:2] == "53": // insufficient resources: disk full, out of memory, too many connections
			return true
		case pgErr.Code[:3] == "57P": // admin shutdown, crash shutdown, cannot connect now
			return true
		case pgErr.Code == "57014": // query cancelled: statement timeout
			return true
		case pgErr.Code == "25006": // read-only transaction: a standby, or a primary demoted
			return true
		}
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL,
			sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_NOMEM:
			return true
		}
	}
	// Errors that reach here without a type (wrapped as text by a driver
	// or a pool): their words are the one sign.
	msg := strings.ToLower(err.Error())
	for _, s := range []string{"connection refused", "connection reset", "broken pipe", "i/o timeout",
		"no such host", "database is closed", "server closed the connection", "conn closed", "database is locked",
		"unexpected eof", "failed to connect"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
