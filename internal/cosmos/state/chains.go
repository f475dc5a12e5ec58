package state

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

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

// Vote sequence. Every vote the sink stores carries a stored_seq from the
// single row of cosmos_vote_seq (migration 0009), taken by TakeVoteSeqs in
// the transaction that inserts the votes. The analyzer reads the votes
// stored since its previous pass as those with stored_seq above the value
// VoteSeq returned then, and up to the one it returns now. That needs
// every value at or below a value a reader has seen to be committed
// already. A wall clock (a stored_at column) cannot promise it: consumer
// processes sharing a PostgreSQL store have clocks of their own, and even
// one clock is read before the commit, which may come seconds later. A
// PostgreSQL sequence cannot either: its values are handed out when rows
// are inserted, not when they commit, so a batch holding value 100 can
// commit after one holding 101 has been read. The row of cosmos_vote_seq
// is updated, and so locked, until the inserting transaction ends; the
// next batch waits for that lock and then reads the committed value, so
// batches commit in the order of their values. The lock is taken after
// everything else of the batch is written (the sink inserts votes last),
// so it is held for the votes' insert and the commit only. On SQLite there
// is one writer at a time anyway.

// TakeVoteSeqs reserves n values of stored_seq in tx, returning the
// first; tx holds the sequence's row lock until it ends. Values of rows
// that are not inserted (a vote already stored) are simply never used.
func TakeVoteSeqs(ctx context.Context, tx *sql.Tx, n int) (int64, error) {
	if _, err := tx.ExecContext(ctx, "UPDATE cosmos_vote_seq SET seq = seq + "+strconv.Itoa(n)+" WHERE id = 1"); err != nil {
		return 0, fmt.Errorf("take %d vote sequence values: %w", n, err)
	}
	var last int64
	if err := tx.QueryRowContext(ctx, "SELECT seq FROM cosmos_vote_seq WHERE id = 1").Scan(&last); err != nil {
		return 0, fmt.Errorf("read the vote sequence (is migration cosmos 0009 applied?): %w", err)
	}
	return last - int64(n) + 1, nil
}

// VoteSeq is the highest stored_seq handed out and committed: every vote
// with a stored_seq at or below it is visible to a read that starts after
// this one, and every vote stored later gets a higher value.
func VoteSeq(ctx context.Context, db *store.DB) (int64, error) {
	var seq int64
	if err := db.Reader().QueryRowContext(ctx, "SELECT seq FROM cosmos_vote_seq WHERE id = 1").Scan(&seq); err != nil {
		return 0, fmt.Errorf("read the vote sequence (is migration cosmos 0009 applied?): %w", db.Scrub(err))
	}
	return seq, nil
}
