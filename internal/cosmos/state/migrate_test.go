package state_test

import (
	"context"
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
			for _, table := range []string{"cosmos_votes", "cosmos_commits", "cosmos_misses", "cosmos_validator_stats", "cosmos_chains"} {
				if _, err := db.Reader().ExecContext(context.Background(), "SELECT count(*) FROM "+table); err != nil {
					t.Errorf("%s: %v", table, err)
				}
			}
		})
	}
}
