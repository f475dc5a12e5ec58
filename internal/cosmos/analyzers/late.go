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
// to H, for the round it names, when H was analysed within the last
// Config.LateVotes (cosmos_heights.analyzed_at, not the distance to the
// cursor: a catch-up analyses thousands of heights within that time): the
// miss rows that say a vote is absent while that very vote (the commit's
// round, same type) is now stored are corrected — the vote codes,
// missed_prevote and missed_precommit, the cause (a precommit seen for the
// block but absent from the commit becomes precommit_not_included), the
// row itself when nothing is missed any more — and the validator's
// missed_prevote and missed_precommit totals, in the pass's transaction. A
// vote stored later than that is kept but not counted. Nothing else
// depends on the votes: the signature flags (the window, consecutive
// misses, solo misses, time to jail and so the alert rules) come from the
// commit, which a late vote does not change.
//
// What a pass reads is what changed since the previous one: the votes with
// a stored_seq above the vote sequence the previous pass read (see
// state.VoteSeq for why a sequence and not a clock), up to the one this
// pass read before anything else (index cosmos_votes_stored), joined on
// their keys to the miss rows of the heights analysed within LateVotes. A
// vote stored before the previous pass is either in the analysis of its
// height (which reads the votes after the sequence) or was credited by a
// pass already; so an idle pass reads nothing, whatever the window holds.
// After a start (or a reload) the analyzer does not know what the last
// pass read: its first pass re-checks every height of the window — its
// miss rows with an absent vote, one primary-key probe of cosmos_votes per
// absent vote — which also covers the votes stored during a downtime and
// the rows stored before migration 0009, whose stored_seq is 0. Each
// correction applies once: a corrected row no longer says the vote is
// absent, so reading a vote twice changes nothing.

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
// analysed at or after since, and applies them to the validators' totals:
// of the votes with a stored_seq in (fromSeq, toSeq], or of every vote
// when fromSeq < 0 (the first pass after a load).
func (a *missed) lateVotes(ctx context.Context, cursor, since, fromSeq, toSeq int64) ([]lateFix, error) {
	if cursor <= 0 || (fromSeq >= 0 && toSeq <= fromSeq) {
		return nil, nil
	}
	db, chain := a.cfg.DB, a.chain.Name
	// From the new votes (or, after a load, the heights by analysed time),
	// to their heights' misses with an absent vote, to that vote if it is
	// now stored. Each vote is joined on its whole primary key (type
	// included, one join per type): a join on the type by OR would scan
	// every vote of the round per miss row. CROSS JOIN makes SQLite keep
	// this order (its planner, without statistics, would rather read every
	// miss row up to the cursor: the whole history); for PostgreSQL it is a
	// plain inner join, ordered by its planner. The literal stored_seq > 0
	// lets both use the partial index.
	q := db.Query().SQL("SELECT m.height, m.validator_address, m.prevote, m.precommit, m.missed_signature, m.missed_proposals, ",
		"c.block_hash, vp.block_hash, vc.block_hash FROM ")
	if fromSeq >= 0 {
		q.SQL("(SELECT DISTINCT height, validator_address FROM cosmos_votes WHERE chain = ").Arg(chain).
			SQL(" AND stored_seq > 0 AND stored_seq > ").Arg(fromSeq).SQL(" AND stored_seq <= ").Arg(toSeq).
			SQL(" AND height <= ").Arg(cursor).SQL(") n CROSS JOIN ")
	}
	q.SQL("cosmos_heights h CROSS JOIN cosmos_misses m ",
		"JOIN cosmos_commits c ON c.chain = m.chain AND c.height = m.height ",
		"LEFT JOIN cosmos_votes vp ON vp.chain = m.chain AND vp.height = m.height AND vp.round = c.round AND vp.type = ").Arg(typePrevote).
		SQL(" AND vp.validator_address = m.validator_address AND m.prevote = ").Arg(state.VoteAbsent).
		SQL(" LEFT JOIN cosmos_votes vc ON vc.chain = m.chain AND vc.height = m.height AND vc.round = c.round AND vc.type = ").Arg(state.TypePrecommit).
		SQL(" AND vc.validator_address = m.validator_address AND m.precommit = ").Arg(state.VoteAbsent).
		SQL(" WHERE m.chain = h.chain AND m.height = h.height AND h.chain = ").Arg(chain).SQL(" AND h.analyzed_at >= ").Arg(since).SQL(" AND h.height <= ").Arg(cursor)
	if fromSeq >= 0 {
		q.SQL(" AND h.height = n.height AND m.validator_address = n.validator_address")
	}
	q.SQL(" AND h.votes_observed AND (m.prevote = ").Arg(state.VoteAbsent).SQL(" OR m.precommit = ").Arg(state.VoteAbsent).
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
