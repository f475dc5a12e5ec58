package analyzers

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/valtrack/valtrack/internal/cosmos/state"
	"github.com/valtrack/valtrack/internal/store"
)

// Late votes. A height is analysed as soon as its block, commit and set
// are stored, but a vote of it may be stored later: a precommit of H
// reaches the sentries after NewBlock(H), a slower endpoint or a late
// consumer batch delivers it after the pass. Such a vote is still credited
// to H: each pass looks, among the heights it analysed within the last
// Config.LateVotes — chosen by cosmos_heights.analyzed_at (index
// cosmos_heights_analyzed), not by their distance to the cursor, so that a
// vote for a height many batches behind (a catch-up analyses thousands of
// heights within the window) is corrected too — for the miss rows that say
// a vote is absent while that very vote (same type) is now stored, and
// corrects them — the vote codes, missed_prevote and missed_precommit, the
// cause (a precommit seen for the block but absent from the commit becomes
// precommit_not_included), the row itself when nothing is missed any more
// — and the validator's missed_prevote and missed_precommit totals, in the
// pass's transaction. Nothing else depends on the votes: the signature
// flags (the window, consecutive misses, solo misses, time to jail and so
// the alert rules) come from the commit, which a late vote does not change.
// Only absent votes can change (one vote per height, round, type and
// validator is stored), so the rows read are those few, not the votes: per
// height of the window, its miss rows (few: a validator that signed has
// none) and one primary-key probe of cosmos_votes per absent vote; a row
// is returned only when its vote has arrived.

// lateFix is the corrected row of a miss whose vote arrived after its
// height's analysis; drop: nothing is missed any more, the row goes.
type lateFix struct {
	height                   int64
	addr                     string
	pv, pc                   int
	missedPV, missedPC, drop bool
	cause                    string
}

// lateVotes finds the corrections of the heights at or below cursor
// analysed at or after since, and applies them to the validators' totals.
func (a *missed) lateVotes(ctx context.Context, cursor, since int64) ([]lateFix, error) {
	if cursor <= 0 {
		return nil, nil
	}
	db, chain := a.cfg.DB, a.chain.Name
	// From the heights (by analysed time), to their misses with an absent
	// vote, to that vote if it is now stored. Each vote is joined on its
	// whole primary key (type included, one join per type): a join on the
	// type by OR would scan every vote of the round per miss row. CROSS
	// JOIN makes SQLite start from the heights by analyzed_at (its planner,
	// without statistics, would rather read every miss row up to the
	// cursor: the whole history); for PostgreSQL it is a plain inner join,
	// ordered by its planner.
	q := db.Query().SQL("SELECT m.height, m.validator_address, m.prevote, m.precommit, m.missed_signature, m.missed_proposals, ",
		"c.block_hash, vp.block_hash, vc.block_hash FROM cosmos_heights h ",
		"CROSS JOIN cosmos_misses m ",
		"JOIN cosmos_commits c ON c.chain = m.chain AND c.height = m.height ",
		"LEFT JOIN cosmos_votes vp ON vp.chain = m.chain AND vp.height = m.height AND vp.round = c.round AND vp.type = ").Arg(typePrevote).
		SQL(" AND vp.validator_address = m.validator_address AND m.prevote = ").Arg(state.VoteAbsent).
		SQL(" LEFT JOIN cosmos_votes vc ON vc.chain = m.chain AND vc.height = m.height AND vc.round = c.round AND vc.type = ").Arg(state.TypePrecommit).
		SQL(" AND vc.validator_address = m.validator_address AND m.precommit = ").Arg(state.VoteAbsent).
		SQL(" WHERE m.chain = h.chain AND m.height = h.height AND h.chain = ").Arg(chain).SQL(" AND h.analyzed_at >= ").Arg(since).SQL(" AND h.height <= ").Arg(cursor).
		SQL(" AND h.votes_observed AND (m.prevote = ").Arg(state.VoteAbsent).SQL(" OR m.precommit = ").Arg(state.VoteAbsent).
		SQL(") AND (vp.block_hash IS NOT NULL OR vc.block_hash IS NOT NULL) ORDER BY m.height, m.validator_address")
	type found struct {
		was, now lateFix
		sig      bool
		props    int
	}
	var rows []found
	if err := query(ctx, db, q, "read late votes", func(scan func(...any) error) error {
		var r found
		var blockHash string
		var pvHash, pcHash sql.NullString
		if err := scan(&r.was.height, &r.was.addr, &r.was.pv, &r.was.pc, &r.sig, &r.props, &blockHash, &pvHash, &pcHash); err != nil {
			return err
		}
		r.now = r.was
		if pvHash.Valid {
			r.now.pv = voteCode(true, pvHash.String, blockHash)
		}
		if pcHash.Valid {
			r.now.pc = voteCode(true, pcHash.String, blockHash)
		}
		rows = append(rows, r)
		return nil
	}); err != nil {
		return nil, err
	}
	var fixes []lateFix
	for _, r := range rows {
		f := r.now
		f.missedPV, f.missedPC = f.pv != state.VoteBlock, f.pc != state.VoteBlock
		f.cause = cause(true, f.pv, f.pc, r.sig, f.missedPV || f.missedPC)
		f.drop = !r.sig && !f.missedPV && !f.missedPC && r.props == 0
		st := a.stat(f.addr)
		if r.was.pv != state.VoteBlock && !f.missedPV {
			st.missedPrevote--
			st.dirty = true
		}
		if r.was.pc != state.VoteBlock && !f.missedPC {
			st.missedPrecommit--
			st.dirty = true
		}
		fixes = append(fixes, f)
	}
	return fixes, nil
}

// writeLate stores the corrections in the pass's transaction.
func (a *missed) writeLate(ctx context.Context, tx *sql.Tx, fixes []lateFix) error {
	db := a.cfg.DB
	for _, f := range fixes {
		var q *store.Query
		if f.drop {
			q = db.Query().SQL("DELETE FROM cosmos_misses WHERE chain = ").Arg(a.chain.Name)
		} else {
			q = db.Query().SQL("UPDATE cosmos_misses SET prevote = ").Arg(f.pv).SQL(", precommit = ").Arg(f.pc).
				SQL(", missed_prevote = ").Arg(f.missedPV).SQL(", missed_precommit = ").Arg(f.missedPC).
				SQL(", cause = ").Arg(f.cause).SQL(" WHERE chain = ").Arg(a.chain.Name)
		}
		q.SQL(" AND height = ").Arg(f.height).SQL(" AND validator_address = ").Arg(f.addr)
		if _, err := tx.ExecContext(ctx, q.String(), q.Args()...); err != nil {
			return fmt.Errorf("correct the miss of %s at height %d for a late vote: %w", f.addr, f.height, err)
		}
	}
	return nil
}
