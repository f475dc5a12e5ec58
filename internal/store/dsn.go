package store

import (
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
)

// maxDSNLen bounds what is parsed: a DSN comes from flags or the environment,
// and nothing legitimate is this long.
const maxDSNLen = 4096

// redacted replaces secrets in DSNs shown to people.
const redacted = "xxxxx"

// acceptedDSNForms is repeated in every DSN error so the fix is in the message.
const acceptedDSNForms = `accepted forms: "" (SQLite in the data directory), "sqlite://PATH", "file:PATH", "postgres://USER:PASS@HOST:PORT/DB?sslmode=…" or "postgresql://…"`

type backend int

const (
	backendSQLite backend = iota + 1
	backendPostgres
)

// target is a parsed DSN: which backend, and where.
type target struct {
	backend backend
	path    string // SQLite file
	dsn     string // Postgres connection string, verbatim
}

// parseDSN decides the backend from the DSN's form.
func parseDSN(dsn, dataDir string) (target, error) {
	if len(dsn) > maxDSNLen {
		return target{}, fmt.Errorf("parse database DSN: longer than %d bytes; %s", maxDSNLen, acceptedDSNForms)
	}
	lower := strings.ToLower(dsn)
	switch {
	case dsn == "":
		if dataDir == "" {
			dataDir = "."
		}
		return target{backend: backendSQLite, path: filepath.Join(dataDir, "valtrack.db")}, nil
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		if _, err := url.Parse(dsn); err != nil {
			return target{}, fmt.Errorf("parse database DSN %s: not a valid URL; %s", RedactDSN(dsn), acceptedDSNForms)
		}
		return target{backend: backendPostgres, dsn: dsn}, nil
	case strings.HasPrefix(lower, "sqlite://"):
		return sqliteTarget(dsn, dsn[len("sqlite://"):])
	case strings.HasPrefix(lower, "file:"):
		return sqliteTarget(dsn, dsn[len("file:"):])
	default:
		return target{}, fmt.Errorf("parse database DSN %s: unknown form; %s", RedactDSN(dsn), acceptedDSNForms)
	}
}

func sqliteTarget(dsn, path string) (target, error) {
	if strings.ContainsAny(path, "?#") {
		return target{}, fmt.Errorf("parse database DSN %s: query parameters are not supported for SQLite (the store sets its own pragmas); give only the path", RedactDSN(dsn))
	}
	if path == "" || strings.ContainsRune(path, 0) {
		return target{}, fmt.Errorf("parse database DSN %s: empty or invalid SQLite path; %s", RedactDSN(dsn), acceptedDSNForms)
	}
	return target{backend: backendSQLite, path: path}, nil
}

var (
	// keyword=value secrets, in URL queries and libpq keyword strings alike.
	secretParam = regexp.MustCompile(`(?i)((?:^|[?&\s;])(?:password|sslpassword|pass|pwd|api_key|apikey|token|secret)=)('[^']*'|[^&\s;]*)`)
	// user:password@ in anything that looks like scheme://user:password@host;
	// greedy up to the last @, so a password holding @ is hidden whole.
	userInfo = regexp.MustCompile(`(://[^/@:\s]*:)\S*@`)
)

// RedactDSN returns the DSN with its password (in the user info or in a
// password-like parameter) replaced, safe for logs and error messages.
func RedactDSN(dsn string) string {
	if len(dsn) > maxDSNLen {
		dsn = dsn[:maxDSNLen] + "…"
	}
	out := userInfo.ReplaceAllString(dsn, "${1}"+redacted+"@")
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), redacted)
			out = u.String()
		}
	}
	return secretParam.ReplaceAllString(out, "${1}"+redacted)
}

// dsnPassword extracts the password so error texts from drivers can be
// scrubbed of it, whatever they chose to quote.
func dsnPassword(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return ""
	}
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			return p
		}
	}
	return u.Query().Get("password")
}
