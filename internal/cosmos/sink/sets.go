package sink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/store"
)

// member is one validator of a stored set, in index order.
type member struct {
	address string
	power   int64
}

// storedSet is a set as cosmos_validator_sets and cosmos_set_members hold it.
type storedSet struct {
	height  int64
	hash    string // validators_hash; "" unknown
	members []member
}

var (
	insSet     = store.Insert{Table: "cosmos_validator_sets", Cols: []string{"chain", "height", "size", "total_power", "validators_hash"}, Suffix: "ON CONFLICT (chain, height) DO NOTHING"}
	insMembers = store.Insert{Table: "cosmos_set_members", Cols: []string{"chain", "height", "idx", "address", "voting_power", "proposer_priority"},
		Suffix: "ON CONFLICT (chain, height, idx) DO NOTHING"}
	insChanges = store.Insert{Table: "cosmos_validator_changes", Cols: []string{"chain", "height", "address", "change", "old_power", "new_power"},
		Suffix: "ON CONFLICT (chain, height, address) DO NOTHING"}
	// Every member of a stored set has a row; the first height is the lowest
	// stored set it is in (0 is a row made by a name before any set).
	insMemberValidators = store.Insert{Table: "cosmos_validators", Cols: []string{"chain", "address", "pub_key_type", "pub_key", "first_height", "updated_at"},
		Suffix: "ON CONFLICT (chain, address) DO UPDATE SET " +
			"pub_key_type = CASE WHEN excluded.pub_key = '' THEN cosmos_validators.pub_key_type ELSE excluded.pub_key_type END, " +
			"pub_key = CASE WHEN excluded.pub_key = '' THEN cosmos_validators.pub_key ELSE excluded.pub_key END, " +
			"first_height = CASE WHEN cosmos_validators.first_height = 0 OR excluded.first_height < cosmos_validators.first_height THEN excluded.first_height ELSE cosmos_validators.first_height END"}
	insLatest = store.Insert{Table: "cosmos_validators", Cols: []string{"chain", "address", "voting_power", "in_set", "updated_at"},
		Suffix: "ON CONFLICT (chain, address) DO UPDATE SET voting_power = excluded.voting_power, in_set = excluded.in_set"}
)

// applySets stores each set that differs from the one in effect at its
// height (a set is stored only where it changed), records the changes
// against the stored set before it, and keeps cosmos_validators' in_set and
// voting_power those of the latest stored set.
//
// Sets normally arrive in height order. One that arrives late, below a
// stored set (a backfill), is inserted between its neighbours: the changes
// of the next stored set are recomputed against it, and if the next set is
// now identical to it, that set is redundant and removed with its changes
// (its changes are those of the new set, recorded at the new set's height).
func (s *Sink) applySets(ctx context.Context, tx *sql.Tx, sets []*events.ValidatorSet) error {
	touched := map[string]bool{}
	var chains []string
	for _, e := range sets {
		changed, err := s.applySet(ctx, tx, e)
		if err != nil {
			return fmt.Errorf("validator set %s@%d: %w", e.Chain, e.Height, err)
		}
		if changed && !touched[e.Chain] {
			touched[e.Chain] = true
			chains = append(chains, e.Chain)
		}
	}
	for _, chain := range chains {
		if err := s.refreshInSet(ctx, tx, chain); err != nil {
			return fmt.Errorf("validators of %s: %w", chain, err)
		}
	}
	return nil
}

func (s *Sink) applySet(ctx context.Context, tx *sql.Tx, e *events.ValidatorSet) (bool, error) {
	in := storedSet{height: e.Height}
	for _, v := range e.Validators {
		in.members = append(in.members, member{v.Address, v.VotingPower})
	}
	cur, err := s.setAt(ctx, tx, e.Chain, "height <= ", e.Height, "DESC")
	if err != nil {
		return false, err
	}
	if cur != nil && (cur.height == e.Height || sameSet(cur.members, in.members)) {
		// Identical to the set in effect, or a second copy of the height
		// (the first stored wins): nothing to store — but a hash the stored
		// copy lacks is learnt, so that the heights it covers can be
		// matched to it.
		if cur.hash == "" && e.ValidatorsHash != "" && sameSet(cur.members, in.members) {
			q := s.db.Query().SQL("UPDATE cosmos_validator_sets SET validators_hash = ").Arg(e.ValidatorsHash).
				SQL(" WHERE chain = ").Arg(e.Chain).SQL(" AND height = ").Arg(cur.height)
			if _, err := tx.ExecContext(ctx, q.String(), q.Args()...); err != nil {
				return false, fmt.Errorf("store the set's validators hash: %w", err)
			}
		}
		return false, nil
	}
	var total int64
	rows := make([][]any, len(e.Validators))
	vals := make([][]any, len(e.Validators))
	for i, v := range e.Validators {
		total += v.VotingPower
		rows[i] = []any{e.Chain, e.Height, i, v.Address, v.VotingPower, v.ProposerPriority}
		vals[i] = []any{e.Chain, v.Address, v.PubKeyType, v.PubKey, e.Height, e.SeenAt}
	}
	if err := s.db.InsertRows(ctx, tx, insSet, [][]any{{e.Chain, e.Height, len(e.Validators), total, e.ValidatorsHash}}); err != nil {
		return false, err
	}
	if err := s.db.InsertRows(ctx, tx, insMembers, rows); err != nil {
		return false, err
	}
	if err := s.db.InsertRows(ctx, tx, insMemberValidators, sortedByAddress(vals)); err != nil {
		return false, err
	}
	if err := s.insertChanges(ctx, tx, e.Chain, cur, &in); err != nil {
		return false, err
	}
	next, err := s.setAt(ctx, tx, e.Chain, "height > ", e.Height, "ASC")
	if err != nil || next == nil {
		return true, err
	}
	if err := s.deleteAt(ctx, tx, "cosmos_validator_changes", e.Chain, next.height); err != nil {
		return false, err
	}
	if sameSet(next.members, in.members) {
		for _, t := range []string{"cosmos_set_members", "cosmos_validator_sets"} {
			if err := s.deleteAt(ctx, tx, t, e.Chain, next.height); err != nil {
				return false, err
			}
		}
		return true, nil
	}
	return true, s.insertChanges(ctx, tx, e.Chain, &in, next)
}

func sortedByAddress(rows [][]any) [][]any {
	out := append([][]any(nil), rows...)
	sortRows(out)
	return out
}

func sameSet(a, b []member) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// insertChanges records, at to's height, what changed from from (nil: the
// first stored set, which has no changes).
func (s *Sink) insertChanges(ctx context.Context, tx *sql.Tx, chain string, from, to *storedSet) error {
	if from == nil {
		return nil
	}
	old := make(map[string]int64, len(from.members))
	for _, m := range from.members {
		old[m.address] = m.power
	}
	var rows [][]any
	for _, m := range to.members {
		p, ok := old[m.address]
		switch {
		case !ok:
			rows = append(rows, []any{chain, to.height, m.address, "added", int64(0), m.power})
		case p != m.power:
			rows = append(rows, []any{chain, to.height, m.address, "power", p, m.power})
		}
		delete(old, m.address)
	}
	for _, m := range from.members {
		if p, ok := old[m.address]; ok {
			rows = append(rows, []any{chain, to.height, m.address, "removed", p, int64(0)})
		}
	}
	return s.db.InsertRows(ctx, tx, insChanges, rows)
}

// setAt reads the stored set nearest a height in one direction: cmp is
// "height <= " with DESC (the set in effect) or "height > " with ASC (the
// next one). nil when there is none.
func (s *Sink) setAt(ctx context.Context, tx *sql.Tx, chain, cmp string, height int64, order string) (*storedSet, error) {
	q := s.db.Query().SQL("SELECT height, validators_hash FROM cosmos_validator_sets WHERE chain = ").Arg(chain).
		SQL(" AND ", cmp).Arg(height).SQL(" ORDER BY height ", order, " LIMIT 1")
	var h int64
	var hash string
	if err := tx.QueryRowContext(ctx, q.String(), q.Args()...).Scan(&h, &hash); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		return nil, fmt.Errorf("find stored set: %w", err)
	}
	q = s.db.Query().SQL("SELECT address, voting_power FROM cosmos_set_members WHERE chain = ").Arg(chain).
		SQL(" AND height = ").Arg(h).SQL(" ORDER BY idx")
	rows, err := tx.QueryContext(ctx, q.String(), q.Args()...)
	if err != nil {
		return nil, fmt.Errorf("read stored set: %w", err)
	}
	defer rows.Close()
	set := &storedSet{height: h, hash: hash}
	for rows.Next() {
		var m member
		if err := rows.Scan(&m.address, &m.power); err != nil {
			return nil, fmt.Errorf("read stored set: %w", err)
		}
		set.members = append(set.members, m)
	}
	return set, rows.Err()
}

func (s *Sink) deleteAt(ctx context.Context, tx *sql.Tx, table, chain string, height int64) error {
	q := s.db.Query().SQL("DELETE FROM ", table, " WHERE chain = ").Arg(chain).SQL(" AND height = ").Arg(height)
	if _, err := tx.ExecContext(ctx, q.String(), q.Args()...); err != nil {
		return fmt.Errorf("delete from %s: %w", table, err)
	}
	return nil
}

// refreshInSet makes in_set and voting_power those of the latest stored set.
func (s *Sink) refreshInSet(ctx context.Context, tx *sql.Tx, chain string) error {
	latest, err := s.setAt(ctx, tx, chain, "height <= ", 1<<62, "DESC")
	if err != nil || latest == nil {
		return err
	}
	q := s.db.Query().SQL("UPDATE cosmos_validators SET in_set = FALSE, voting_power = 0 WHERE chain = ").Arg(chain).SQL(" AND in_set")
	if _, err := tx.ExecContext(ctx, q.String(), q.Args()...); err != nil {
		return fmt.Errorf("clear in_set: %w", err)
	}
	rows := make([][]any, len(latest.members))
	for i, m := range latest.members {
		rows[i] = []any{chain, m.address, m.power, true, int64(0)}
	}
	return s.db.InsertRows(ctx, tx, insLatest, sortedByAddress(rows))
}
