package state_test

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/valtrack/valtrack/internal/cosmos/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

// Both dialects take the migrations, and the tables are there after.
func TestMigrationsApply(t *testing.T) {
	for name, open := range map[string]func(testing.TB, ...store.Option) *store.DB{"sqlite": storetest.SQLite, "postgres": storetest.Postgres} {
		t.Run(name, func(t *testing.T) {
			db := open(t, store.WithMigrations(state.Migrations()))
			for _, table := range []string{"cosmos_votes", "cosmos_commits", "cosmos_misses", "cosmos_validator_stats", "cosmos_chains", "cosmos_alerts", "cosmos_alert_deliveries", "cosmos_pruned_heights", "cosmos_skipped_heights", "cosmos_alert_watchers"} {
				if _, err := db.Reader().ExecContext(context.Background(), "SELECT count(*) FROM "+table); err != nil {
					t.Errorf("%s: %v", table, err)
				}
			}
			names, err := state.Chains(context.Background(), db)
			if err != nil || len(names) != 0 {
				t.Errorf("Chains of an empty store: %v, %v", names, err)
			}
			if err := db.InTx(context.Background(), "insert sets", func(tx *sql.Tx) error {
				_, err := tx.Exec("INSERT INTO cosmos_validator_sets (chain, height, size, total_power) VALUES ('b-1', 1, 1, 1), ('a-1', 1, 1, 1), ('a-1', 9, 1, 1)")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			names, err = state.Chains(context.Background(), db)
			if err != nil || len(names) != 2 {
				t.Errorf("Chains: %v, %v; want a-1 and b-1 once each", names, err)
			}
		})
	}
}

// Migration 0006 keeps the pruned ranges stored before it, as ranges of
// blocks, and then lets a range of sets sit beside a blocks range of the
// same heights.
func TestPrunedRangesKeptByMigration6(t *testing.T) {
	for name, dsn := range map[string]func(t testing.TB) string{
		"sqlite":   func(t testing.TB) string { return "sqlite://" + filepath.Join(t.TempDir(), "v.db") },
		"postgres": storetest.PostgresDSN,
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			url := dsn(t)
			log := slog.New(slog.DiscardHandler)
			old, err := store.Open(ctx, url, "", log, store.WithMigrations(migrationsBefore(t, 6)))
			if err != nil {
				t.Fatal(err)
			}
			exec := func(db *store.DB, stmt string) {
				t.Helper()
				if err := db.InTx(ctx, "fixture", func(tx *sql.Tx) error { _, err := tx.Exec(stmt); return err }); err != nil {
					t.Fatal(err)
				}
			}
			exec(old, "INSERT INTO cosmos_pruned_heights (chain, from_height, to_height, lowest_available, endpoints, endpoint, sentry_id, seen_at) VALUES ('c-1', 5, 9, 10, 2, 'e', 's', 1)")
			if _, err := old.Reader().ExecContext(ctx, "SELECT what FROM cosmos_pruned_heights"); err == nil {
				t.Fatal("the table before 0006 has a what column: the migrations were not cut at 6")
			}
			old.Close()
			db, err := store.Open(ctx, url, "", log, store.WithMigrations(state.Migrations()))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			exec(db, "INSERT INTO cosmos_pruned_heights (chain, what, from_height, to_height, lowest_available, endpoints, validators_hash, endpoint, sentry_id, seen_at) VALUES ('c-1', 'validator_set', 5, 9, 10, 1, 'AB', 'e', 's', 2)")
			rows, err := db.Reader().QueryContext(ctx, "SELECT what, validators_hash, from_height, to_height, endpoints FROM cosmos_pruned_heights ORDER BY what")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var got []string
			for rows.Next() {
				var what, hash string
				var from, to int64
				var n int
				if err := rows.Scan(&what, &hash, &from, &to, &n); err != nil {
					t.Fatal(err)
				}
				got = append(got, fmt.Sprintf("%s:%s %d..%d n%d", what, hash, from, to, n))
			}
			if want := "blocks: 5..9 n2|validator_set:AB 5..9 n1"; strings.Join(got, "|") != want {
				t.Errorf("rows %q, want %q", strings.Join(got, "|"), want)
			}
		})
	}
}

// migrationsBefore are the cosmos migrations below version v.
func migrationsBefore(t *testing.T, v int) store.Migrations {
	t.Helper()
	ms := state.Migrations()
	out := fstest.MapFS{}
	err := fs.WalkDir(ms.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n, err := strconv.Atoi(strings.SplitN(filepath.Base(path), "_", 2)[0])
		if err != nil || n >= v {
			return err
		}
		data, err := fs.ReadFile(ms.FS, path)
		out[path] = &fstest.MapFile{Data: data}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ms.FS = out
	return ms
}
