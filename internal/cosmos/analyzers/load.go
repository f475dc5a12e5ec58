package analyzers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
)

// load rebuilds the in-memory state from the tables: the cursor, the
// validators' totals, the sliding window of the last w analysed heights
// (their sets and absent signatures), and the recent block intervals. It
// reads at most w heights of history, once per start (or when the window
// length changes).
func (a *missed) load(ctx context.Context, w int64) error {
	db, chain := a.cfg.DB, a.chain.Name
	a.cursor, a.stats, a.window, a.intervals, a.current, a.voteSeq = 0, map[string]*stat{}, nil, nil, nil, -1
	q := db.Query().SQL("SELECT analyzed_height FROM cosmos_chains WHERE chain = ").Arg(chain)
	if err := db.Reader().QueryRowContext(ctx, q.String(), q.Args()...).Scan(&a.cursor); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read cursor: %w", err)
	}
	q = db.Query().SQL("SELECT address, signed, missed, missed_prevote, missed_precommit, solo_missed, proposed, missed_proposals, ",
		"consecutive_missed, window_size, window_missed, blocks_to_jail, time_to_jail_ms, last_height, last_signed_height ",
		"FROM cosmos_validator_stats WHERE chain = ").Arg(chain)
	if err := query(ctx, db, q, "read validator stats", func(scan func(...any) error) error {
		var addr string
		st := &stat{}
		err := scan(&addr, &st.signed, &st.missed, &st.missedPrevote, &st.missedPrecommit, &st.soloMissed, &st.proposed,
			&st.missedProposals, &st.consecutive, &st.windowSize, &st.windowMissed, &st.blocksToJail, &st.timeToJail,
			&st.lastHeight, &st.lastSigned)
		a.stats[addr] = st
		return err
	}); err != nil {
		return err
	}
	a.winW, a.loaded = w, true
	if a.cursor == 0 {
		return nil
	}
	lo := max(0, a.cursor-w) // the window is the heights in (lo, cursor]
	ss, err := a.loadSets(ctx, lo+1, a.cursor)
	if err != nil {
		return err
	}
	a.current = ss.at(a.cursor)
	absent := map[int64][]string{}
	q = db.Query().SQL("SELECT height, validator_address FROM cosmos_misses WHERE chain = ").Arg(chain).
		SQL(" AND height > ").Arg(lo).SQL(" AND height <= ").Arg(a.cursor).SQL(" AND missed_signature")
	if err := query(ctx, db, q, "read window misses", func(scan func(...any) error) error {
		var h int64
		var addr string
		err := scan(&h, &addr)
		absent[h] = append(absent[h], addr)
		return err
	}); err != nil {
		return err
	}
	q = db.Query().SQL("SELECT height FROM cosmos_heights WHERE chain = ").Arg(chain).
		SQL(" AND height > ").Arg(lo).SQL(" AND height <= ").Arg(a.cursor).SQL(" ORDER BY height")
	if err := query(ctx, db, q, "read window heights", func(scan func(...any) error) error {
		var h int64
		if err := scan(&h); err != nil {
			return err
		}
		set := ss.at(h)
		if set == nil {
			return nil
		}
		e := windowEntry{height: h, set: set}
		for _, addr := range absent[h] {
			if i, ok := set.index[addr]; ok {
				e.absent = append(e.absent, i)
			}
		}
		a.window = append(a.window, e)
		return nil
	}); err != nil {
		return err
	}
	// The window totals follow from the entries; they differ from the
	// stored ones only when the window length changed.
	size, miss := map[string]int64{}, map[string]int64{}
	for _, e := range a.window {
		for _, addr := range e.set.addrs {
			size[addr]++
		}
		for _, i := range e.absent {
			miss[e.set.addrs[i]]++
		}
	}
	for addr := range size {
		a.stat(addr)
	}
	for addr, st := range a.stats {
		if st.windowSize != size[addr] || st.windowMissed != miss[addr] {
			st.windowSize, st.windowMissed, st.dirty = size[addr], miss[addr], true
		}
	}
	q = db.Query().SQL("SELECT interval_ms FROM cosmos_heights WHERE chain = ").Arg(chain).
		SQL(" AND height <= ").Arg(a.cursor).SQL(" AND interval_ms > 0 ORDER BY height DESC LIMIT ").Arg(recentIntervals)
	if err := query(ctx, db, q, "read recent intervals", func(scan func(...any) error) error {
		var v int64
		err := scan(&v)
		a.intervals = append(a.intervals, v)
		return err
	}); err != nil {
		return err
	}
	slices.Reverse(a.intervals)
	return nil
}

// firstHeight is where a chain without a cursor starts: the lowest height
// with a block, a commit and a validator set at or below it.
func (a *missed) firstHeight(ctx context.Context) (int64, bool, error) {
	q := a.cfg.DB.Query().SQL("SELECT MIN(c.height) FROM cosmos_commits c JOIN cosmos_blocks b ON b.chain = c.chain AND b.height = c.height WHERE c.chain = ").
		Arg(a.chain.Name).SQL(" AND c.height >= (SELECT MIN(height) FROM cosmos_validator_sets WHERE chain = ").Arg(a.chain.Name).SQL(")")
	var h sql.NullInt64
	if err := a.cfg.DB.Reader().QueryRowContext(ctx, q.String(), q.Args()...).Scan(&h); err != nil {
		return 0, false, fmt.Errorf("find the first height: %w", err)
	}
	return h.Int64, h.Valid, nil
}

// latestComplete is the highest height with its block and commit stored
// (0: none).
func (a *missed) latestComplete(ctx context.Context) (int64, error) {
	q := a.cfg.DB.Query().SQL("SELECT c.height FROM cosmos_commits c JOIN cosmos_blocks b ON b.chain = c.chain AND b.height = c.height WHERE c.chain = ").
		Arg(a.chain.Name).SQL(" ORDER BY c.height DESC LIMIT 1")
	var h int64
	err := a.cfg.DB.Reader().QueryRowContext(ctx, q.String(), q.Args()...).Scan(&h)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("find the latest complete height: %w", err)
	}
	return h, nil
}
