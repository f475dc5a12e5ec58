package store_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

// testMigrations is a domain's migrations: every dialect, two versions.
func testMigrations(domain string) store.Migrations {
	fs := fstest.MapFS{}
	for _, d := range []string{"sqlite", "postgres"} {
		fs[d+"/0001_init.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE " + domain + "_t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);")}
		fs[d+"/0002_more.sql"] = &fstest.MapFile{Data: []byte("CREATE INDEX " + domain + "_t_v ON " + domain + "_t (v);")}
	}
	return store.Migrations{Domain: domain, FS: fs}
}

func insertRow(ctx context.Context, db *store.DB, table string) error {
	return db.InTx(ctx, "insert test row", func(tx *sql.Tx) error {
		return db.InsertRows(ctx, tx, store.Insert{Table: table, Cols: []string{"id", "v"}}, [][]any{{1, "x"}})
	})
}

func TestOpenDefaultSQLiteInDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, err := store.Open(context.Background(), "", dir, nil, store.WithMigrations(testMigrations("alpha")))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	if err := insertRow(context.Background(), s, "alpha_t"); err != nil {
		t.Fatalf("insert: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "valtrack.db")); err != nil {
		t.Errorf("database file: %v", err)
	}
	// WAL mode keeps a -wal file beside the database while it is open.
	if _, err := os.Stat(filepath.Join(dir, "valtrack.db-wal")); err != nil {
		t.Errorf("WAL file: %v (journal mode is not WAL)", err)
	}
}

func TestOpenWithoutMigrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.db")
	s, err := store.Open(context.Background(), "file:"+path, "", nil, store.WithoutMigrate(), store.WithMigrations(testMigrations("alpha")))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	checkPendingThenMigrate(t, s)
}

func TestOpenWithoutMigratePostgres(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	s, err := store.Open(context.Background(), dsn, "", nil, store.WithoutMigrate(), store.WithMigrations(testMigrations("alpha")))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	checkPendingThenMigrate(t, s)
}

func checkPendingThenMigrate(t *testing.T, s *store.DB) {
	t.Helper()
	ctx := context.Background()
	st, err := s.MigrationStatus(ctx)
	if err != nil {
		t.Fatalf("status before migrate: %v", err)
	}
	if len(st) != 2 || st[0].Domain != "alpha" || st[0].Version != 1 || st[0].Name != "init" {
		t.Fatalf("status: %+v, want alpha 0001_init first of two", st)
	}
	for _, m := range st {
		if m.Applied {
			t.Errorf("migration %d applied before Migrate", m.Version)
		}
	}
	if err := insertRow(ctx, s, "alpha_t"); err == nil {
		t.Error("insert on an unmigrated database succeeded")
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	st, err = s.MigrationStatus(ctx)
	if err != nil {
		t.Fatalf("status after migrate: %v", err)
	}
	for _, m := range st {
		if !m.Applied || m.AppliedAt.IsZero() {
			t.Errorf("migration %d not applied (with a time) after Migrate", m.Version)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	again, err := s.MigrationStatus(ctx)
	if err != nil || !reflect.DeepEqual(st, again) {
		t.Errorf("migrate again changed status: %+v → %+v (%v)", st, again, err)
	}
}

// Two domains both start at version 0001: versions are local to a domain,
// and each domain's migrations apply.
func TestDomainsHaveTheirOwnVersions(t *testing.T) {
	for name, dsn := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "v.db") },
		"postgres": func(t *testing.T) string { return storetest.PostgresDSN(t) },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, err := store.Open(ctx, dsn(t), "", nil, store.WithMigrations(testMigrations("alpha"), testMigrations("beta")))
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer s.Close()
			st, err := s.MigrationStatus(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(st) != 4 || st[0].Domain != "alpha" || st[2].Domain != "beta" || st[2].Version != 1 {
				t.Fatalf("status: %+v, want alpha 1,2 then beta 1,2", st)
			}
			for _, m := range st {
				if !m.Applied {
					t.Errorf("%s %d not applied", m.Domain, m.Version)
				}
			}
			for _, table := range []string{"alpha_t", "beta_t"} {
				if err := insertRow(ctx, s, table); err != nil {
					t.Errorf("insert into %s: %v", table, err)
				}
			}
		})
	}
}

func TestMigrationsRefuseBadRegistrations(t *testing.T) {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "v.db")
	for what, ms := range map[string][]store.Migrations{
		"twice":      {testMigrations("alpha"), testMigrations("alpha")},
		"bad name":   {testMigrations("Alpha-1")},
		"two adopt":  {{Domain: "a", FS: testMigrations("a").FS, AdoptsLegacy: true}, {Domain: "b", FS: testMigrations("b").FS, AdoptsLegacy: true}},
		"no files":   {{Domain: "a"}},
		"bad number": {{Domain: "a", FS: fstest.MapFS{"sqlite/x_init.sql": &fstest.MapFile{Data: []byte("SELECT 1")}}}},
	} {
		s, err := store.Open(context.Background(), dsn, "", nil, store.WithMigrations(ms...))
		if err == nil {
			s.Close()
			t.Errorf("%s: opened", what)
		}
	}
}

// Several processes (here: stores) opening one fresh database at once must
// all succeed, each migration applied once.
func TestConcurrentOpenMigrates(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		concurrentOpen(t, "sqlite://"+filepath.Join(t.TempDir(), "v.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		concurrentOpen(t, storetest.PostgresDSN(t))
	})
}

func concurrentOpen(t *testing.T, dsn string) {
	const n = 4
	var wg sync.WaitGroup
	stores := make([]*store.DB, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = store.Open(context.Background(), dsn, "", nil, store.WithMigrations(testMigrations("alpha")))
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("open %d: %v", i, errs[i])
			continue
		}
		st, err := stores[i].MigrationStatus(context.Background())
		if err != nil || len(st) == 0 || !st[0].Applied {
			t.Errorf("store %d status: %+v %v", i, st, err)
		}
		stores[i].Close()
	}
}

func TestOpenRejectsUnknownDSN(t *testing.T) {
	for _, dsn := range []string{"mysql://u:hunter2@h/db", "host=x password=hunter2", "sqlite://", "file:/tmp/x.db?mode=ro"} {
		_, err := store.Open(context.Background(), dsn, t.TempDir(), nil)
		if err == nil {
			t.Errorf("%q: opened", dsn)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q: error leaks the password: %v", dsn, err)
		}
		if !strings.Contains(err.Error(), "postgres://") && !strings.Contains(err.Error(), "query parameters") {
			t.Errorf("%q: error does not say what is accepted: %v", dsn, err)
		}
	}
}

func TestOpenPostgresErrorHidesPassword(t *testing.T) {
	// Port 1 on loopback: nothing listens, the connection is refused at once.
	_, err := store.Open(context.Background(), "postgres://valtrack:s3cretpw@127.0.0.1:1/db?sslmode=disable&connect_timeout=2", "", nil)
	if err == nil {
		t.Fatal("opened a database on port 1")
	}
	if strings.Contains(err.Error(), "s3cretpw") {
		t.Errorf("error leaks the password: %v", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("error does not name the server: %v", err)
	}
}

func TestRedactDSN(t *testing.T) {
	for dsn, want := range map[string]string{
		"postgres://u:pw@127.0.0.1:5432/db?sslmode=disable":   "postgres://u:xxxxx@127.0.0.1:5432/db?sslmode=disable",
		"postgres://u@127.0.0.1/db":                           "postgres://u@127.0.0.1/db",
		"postgres://127.0.0.1/db?password=pw&sslmode=require": "postgres://127.0.0.1/db?password=xxxxx&sslmode=require",
		"host=127.0.0.1 password=pw user=u":                   "host=127.0.0.1 password=xxxxx user=u",
		"sqlite:///var/lib/valtrack.db":                       "sqlite:///var/lib/valtrack.db",
		"":                                                    "",
	} {
		if got := store.RedactDSN(dsn); got != want {
			t.Errorf("RedactDSN(%q) = %q, want %q", dsn, got, want)
		}
	}
	// A password with URL-special characters, unparseable as a URL.
	if got := store.RedactDSN("postgres://u:p@ss%zz/w@127.0.0.1/db"); strings.Contains(got, "ss%zz") || strings.Contains(got, "p@ss") {
		t.Errorf("unparseable DSN leaks: %q", got)
	}
}
