package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

// A database a newer binary migrated (alpha 0099, which this binary has no
// file for) is refused for writing with what to do, nothing of this
// binary's pending migrations is applied, and the status lists the
// unknown version.
func TestNewerDatabaseIsRefused(t *testing.T) {
	for name, dsn := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "n.db") },
		"postgres": func(t *testing.T) string { return storetest.PostgresDSN(t) },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			dsn := dsn(t)
			// This binary's alpha, plus what a newer one recorded, and a
			// domain this binary does not have.
			s, err := store.Open(ctx, dsn, "", nil, store.WithMigrations(testMigrations("alpha")))
			if err != nil {
				t.Fatal(err)
			}
			for _, row := range [][]any{{"alpha", 99, "future", "2030-01-01T00:00:00Z"}, {"zeta", 1, "init", "2030-01-01T00:00:00Z"}} {
				if err := s.InTx(ctx, "record newer migrations", func(tx *sql.Tx) error {
					return s.InsertRows(ctx, tx, store.Insert{Table: "schema_migrations", Cols: []string{"domain", "version", "name", "applied_at"}}, [][]any{row})
				}); err != nil {
					t.Fatal(err)
				}
			}
			s.Close()

			_, err = store.Open(ctx, dsn, "", nil, store.WithMigrations(testMigrations("alpha"), testMigrations("beta")))
			if err == nil {
				t.Fatal("open a database with alpha 0099 applied by a newer binary: no error")
			}
			for _, want := range []string{"newer valtrack", "domain alpha", "0099_future", "up to 0002", "restore a backup"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if strings.Contains(err.Error(), "zeta") {
				t.Errorf("error %q names zeta, a domain this binary does not touch", err)
			}

			ro, err := store.Open(ctx, dsn, "", nil, store.WithoutMigrate(), store.WithMigrations(testMigrations("alpha"), testMigrations("beta")))
			if err != nil {
				t.Fatal(err)
			}
			defer ro.Close()
			if err := ro.Migrate(ctx); err == nil {
				t.Error("Migrate on the newer database: no error")
			}
			st, err := ro.MigrationStatus(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var unknown []string
			for _, m := range st {
				if m.Domain == "beta" && m.Applied {
					t.Errorf("beta %04d applied although the database was refused", m.Version)
				}
				if m.Unknown {
					if !m.Applied {
						t.Errorf("unknown %s %d not marked applied", m.Domain, m.Version)
					}
					unknown = append(unknown, m.Domain+"/"+m.Name)
				}
			}
			if strings.Join(unknown, ",") != "alpha/future,zeta/init" {
				t.Errorf("status lists unknown migrations %v, want [alpha/future zeta/init]", unknown)
			}
		})
	}
}
