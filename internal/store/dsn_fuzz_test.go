package store

import (
	"net/url"
	"strings"
	"testing"
)

func FuzzRedactDSN(f *testing.F) {
	for _, s := range []string{
		"postgres://u:secretpw@127.0.0.1:5432/db?sslmode=disable",
		"postgresql://u:sec%40ret@127.0.0.1/db",
		"postgres://127.0.0.1/db?password=secretpw",
		"host=127.0.0.1 password=secretpw",
		"postgres://u:p@ss@127.0.0.1/db",
		"", "://:@", "file:x.db",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		out := RedactDSN(dsn)
		u, err := url.Parse(dsn)
		if err != nil || u.User == nil {
			return
		}
		pw, ok := u.User.Password()
		if !ok || len(pw) < 6 || strings.Contains(pw, redacted) {
			return
		}
		// The password must not survive, raw or as the URL spells it.
		if strings.Contains(out, pw) && !strings.Contains(strings.Replace(dsn, pw, "", 1), pw) {
			t.Errorf("RedactDSN(%q) = %q keeps the password", dsn, out)
		}
	})
}

func FuzzParseDSN(f *testing.F) {
	for _, s := range []string{"", "postgres://u:p@127.0.0.1/db", "sqlite:///tmp/x.db", "file:x.db", "mysql://x", "file:", "sqlite://a?b", "POSTGRESQL://h/d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dsn string) {
		tg, err := parseDSN(dsn, "/data")
		if err != nil {
			return
		}
		switch tg.backend {
		case backendSQLite:
			if tg.path == "" {
				t.Errorf("parseDSN(%q): sqlite without a path", dsn)
			}
		case backendPostgres:
			if tg.dsn != dsn {
				t.Errorf("parseDSN(%q): postgres DSN altered", dsn)
			}
		default:
			t.Errorf("parseDSN(%q): no backend", dsn)
		}
	})
}
