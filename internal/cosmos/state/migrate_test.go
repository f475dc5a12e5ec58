package state_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/valtrack/valtrack/internal/cosmos/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

// Both dialects take the migrations, and the tables are there after.
func TestMigrationsApply(t *testing.T) {
	for name, open := range map[string]func(testing.TB, ...store.Option) *store.DB{"sqlite": storetest.SQLite, "postgres": storetest.Postgres} {
		t.Run(name, func(t *testing.T) {
			db := open(t, store.WithMigrations(state.Migrations()))
			for _, table := range []string{"cosmos_votes", "cosmos_commits", "cosmos_misses", "cosmos_validator_stats", "cosmos_chains", "cosmos_alerts", "cosmos_alert_deliveries", "cosmos_pruned_heights", "cosmos_skipped_heights"} {
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
