package state

import (
	"context"
	"fmt"

	"github.com/valtrack/valtrack/internal/store"
)

// Chains are the chains the store holds validator sets of: every chain a
// sentry has published for (a sentry publishes the set when it starts).
// The sets table is small (a row per set change), so this is cheap.
func Chains(ctx context.Context, db *store.DB) ([]string, error) {
	rows, err := db.Reader().QueryContext(ctx, "SELECT DISTINCT chain FROM cosmos_validator_sets")
	if err != nil {
		return nil, fmt.Errorf("list cosmos chains: %w", db.Scrub(err))
	}
	return store.ScanStrings(rows, "list cosmos chains")
}
