package store

import (
	"errors"
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
