package state

import (
	"context"
	"database/sql"
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

// Progress is what the progress line says of a chain's analysis.
type Progress struct {
	AnalyzedHeight int64
	// ConsecutiveMissing counts validators whose latest analysed height
	// misses their signature.
	ConsecutiveMissing int64
}

// ProgressOf reads a chain's Progress (zero before the first pass).
func ProgressOf(ctx context.Context, db *store.DB, chain string) (Progress, error) {
	var p Progress
	q := db.Query().SQL("SELECT (SELECT analyzed_height FROM cosmos_chains WHERE chain = ").Arg(chain).
		SQL("), (SELECT count(*) FROM cosmos_validator_stats WHERE consecutive_missed > 0 AND chain = ").Arg(chain).SQL(")")
	var h sql.NullInt64
	if err := db.Reader().QueryRowContext(ctx, q.String(), q.Args()...).Scan(&h, &p.ConsecutiveMissing); err != nil {
		return p, fmt.Errorf("read the analysis progress of %s: %w", chain, db.Scrub(err))
	}
	p.AnalyzedHeight = h.Int64
	return p, nil
}

// Params are the slashing parameters the analyzer used for a chain.
type Params struct {
	SignedBlocksWindow int64
	MinSignedPerWindow float64
	Source             string // Params* ("" unknown: no parameters known)
}

// Known: the parameters came from the configuration or the chain.
func (p Params) Known() bool { return p.Source != ParamsUnknown }

// ParamsInForce reads what the analyzer last used for chain (unknown
// before its first pass).
func ParamsInForce(ctx context.Context, db *store.DB, chain string) (Params, error) {
	var p Params
	q := db.Query().SQL("SELECT signed_blocks_window, min_signed_per_window, params_source FROM cosmos_chains WHERE chain = ").Arg(chain)
	err := db.Reader().QueryRowContext(ctx, q.String(), q.Args()...).Scan(&p.SignedBlocksWindow, &p.MinSignedPerWindow, &p.Source)
	if err != nil && err != sql.ErrNoRows {
		return Params{}, fmt.Errorf("read the slashing parameters in force on %s: %w", chain, db.Scrub(err))
	}
	return p, nil
}

// Analysis is what /healthz judges of a chain's missed-vote analysis.
type Analysis struct {
	AnalyzedHeight int64 // cosmos_chains.analyzed_height (0: none yet)
	UpdatedAt      int64 // unix ms of the analyzer's last write (0: none)
	LatestBlock    int64 // the highest block stored (0: none)
}

// AnalysisOf reads a chain's Analysis.
func AnalysisOf(ctx context.Context, db *store.DB, chain string) (Analysis, error) {
	q := db.Query().SQL("SELECT (SELECT analyzed_height FROM cosmos_chains WHERE chain = ").Arg(chain).
		SQL("), (SELECT updated_at FROM cosmos_chains WHERE chain = ").Arg(chain).
		SQL("), (SELECT MAX(height) FROM cosmos_blocks WHERE chain = ").Arg(chain).SQL(")")
	var h, u, l sql.NullInt64
	if err := db.Reader().QueryRowContext(ctx, q.String(), q.Args()...).Scan(&h, &u, &l); err != nil {
		return Analysis{}, fmt.Errorf("read the analysis state of %s: %w", chain, db.Scrub(err))
	}
	return Analysis{AnalyzedHeight: h.Int64, UpdatedAt: u.Int64, LatestBlock: l.Int64}, nil
}
