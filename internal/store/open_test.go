package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

func TestOpenDefaultSQLiteInDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s, err := store.Open(context.Background(), "", dir, nil)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	if err := s.Apply(context.Background(), store.Batch{Observations: []store.Observation{storetest.Obs("devnet", 1, 1)}}); err != nil {
		t.Fatalf("apply: %v", err)
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
	s, err := store.Open(context.Background(), "file:"+path, "", nil, store.WithoutMigrate())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	checkPendingThenMigrate(t, s)
}

func TestOpenWithoutMigratePostgres(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	s, err := store.Open(context.Background(), dsn, "", nil, store.WithoutMigrate())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	checkPendingThenMigrate(t, s)
}

func checkPendingThenMigrate(t *testing.T, s store.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := s.MigrationStatus(ctx)
	if err != nil {
		t.Fatalf("status before migrate: %v", err)
	}
	if len(st) == 0 || st[0].Version != 1 || st[0].Name != "init" {
		t.Fatalf("status: %+v, want 0001_init first", st)
	}
	for _, m := range st {
		if m.Applied {
			t.Errorf("migration %d applied before Migrate", m.Version)
		}
	}
	if err := s.Apply(ctx, store.Batch{Observations: []store.Observation{storetest.Obs("devnet", 1, 1)}}); err == nil {
		t.Error("apply on an unmigrated database succeeded")
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	st, err = s.MigrationStatus(ctx)
	if err != nil {
		t.Fatalf("status after migrate: %v", err)
	}
	for _, m := range st {
		if !m.Applied {
			t.Errorf("migration %d not applied after Migrate", m.Version)
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
	stores := make([]store.Store, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = store.Open(context.Background(), dsn, "", nil)
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
