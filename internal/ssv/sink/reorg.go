package sink

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/valtrack/valtrack/internal/ssv/events"
	"github.com/valtrack/valtrack/internal/ssv/state"
	"github.com/valtrack/valtrack/internal/store"
)

// replayPage is how many logged events a rebuild reads at a time.
const replayPage = 5000

// registryTables are what a rebuild empties and replays.
var registryTables = []string{"ssv_operators", "ssv_operator_whitelist", "ssv_validators", "ssv_validator_operators",
	"ssv_clusters", "ssv_owners", "ssv_network_params", "ssv_invalid"}

// reorg rolls back the processed blocks from FromBlock on: it deletes them,
// their logged and pending events, then rebuilds the registry by replaying
// the remaining applied-event log from the start, and announces what
// changed. The rebuild costs one pass over every applied event of the
// network (no signature is verified again: the stateless verdicts are
// logged) plus two scans of operators and validators to find the changes;
// reorgs deeper than the sentry's follow distance are rare, so this beats
// keeping undo records for every event.
//
// A redelivered reorg changes nothing: one already applied is skipped
// unless FromBlock is again processed with OldHash (the chain went back).
func (b *batch) reorg(r *events.Reorg) error {
	n, err := b.net(r.Network)
	if err != nil {
		return err
	}
	for h, evs := range n.held {
		if len(evs) > 0 && evs[0].Block >= r.FromBlock {
			delete(n.held, h)
		}
	}
	var seen int
	q := b.q().SQL("SELECT COUNT(*) FROM ssv_reorgs WHERE network = ").Arg(r.Network).SQL(" AND from_block = ").Arg(store.U64(r.FromBlock)).
		SQL(" AND old_hash = ").Arg(r.OldHash).SQL(" AND new_hash = ").Arg(r.NewHash)
	if err := b.tx.QueryRowContext(b.ctx, q.String(), q.Args()...).Scan(&seen); err != nil {
		return fmt.Errorf("read ssv reorgs: %w", err)
	}
	var hash string
	q = b.q().SQL("SELECT hash FROM ssv_blocks WHERE network = ").Arg(r.Network).SQL(" AND number = ").Arg(store.U64(r.FromBlock))
	err = b.tx.QueryRowContext(b.ctx, q.String(), q.Args()...).Scan(&hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read ssv block %d: %w", r.FromBlock, err)
	}
	if seen > 0 && hash != r.OldHash {
		return nil // redelivered
	}
	if seen == 0 {
		if _, err := b.exec("record ssv reorg", b.q().SQL("INSERT INTO ssv_reorgs (network, from_block, old_hash, new_hash) VALUES ").
			Row(r.Network, store.U64(r.FromBlock), r.OldHash, r.NewHash)); err != nil {
			return err
		}
	}
	n.reorgs++
	if err := b.flushBlock(n); err != nil {
		return err
	}
	var skipped uint64
	q = b.q().SQL("SELECT CAST(COALESCE(SUM(skipped), 0) AS BIGINT) FROM ssv_blocks WHERE network = ").Arg(r.Network).SQL(" AND number >= ").Arg(store.U64(r.FromBlock))
	if err := b.tx.QueryRowContext(b.ctx, q.String(), q.Args()...).Scan(store.U64Into(&skipped)); err != nil {
		return fmt.Errorf("read ssv skipped logs: %w", err)
	}
	n.skipped -= min(n.skipped, skipped)
	for _, t := range []struct{ table, col string }{{"ssv_blocks", "number"}, {"ssv_events", "block"}, {"ssv_pending", "block"}, {"ssv_skipped", "block"}, {"ssv_held", "number"}} {
		if _, err := b.exec("roll back "+t.table, b.q().SQL("DELETE FROM ", t.table, " WHERE network = ").Arg(r.Network).
			SQL(" AND ", t.col, " >= ").Arg(store.U64(r.FromBlock))); err != nil {
			return err
		}
	}
	n.firstHold, n.holdRead = nil, false
	return b.rebuild(n)
}

// rebuild empties the network's registry tables and replays its applied
// events, then records a change for every operator and validator that
// differs.
func (b *batch) rebuild(n *network) error {
	before, err := b.dump(n)
	if err != nil {
		return err
	}
	for _, t := range registryTables {
		if _, err := b.exec("empty "+t, b.q().SQL("DELETE FROM ", t, " WHERE network = ").Arg(n.name)); err != nil {
			return err
		}
	}
	n.resetCaches()
	n.nextIndex = 1
	n.v2Block, n.version, n.versionBlock = 0, "", 0 // found again by the replay
	n.replaying = true
	var block, logIndex uint64
	first := true
	for {
		q := b.q().SQL("SELECT block, log_index, block_hash, tx_hash, tx_index, name, args, stateless FROM ssv_events WHERE network = ").Arg(n.name)
		if !first {
			q.SQL(" AND (block > ").Arg(store.U64(block)).SQL(" OR (block = ").Arg(store.U64(block)).SQL(" AND log_index > ").Arg(store.U64(logIndex)).SQL("))")
		}
		q.SQL(" ORDER BY block, log_index LIMIT ").Arg(replayPage)
		page, err := b.readLog(q)
		if err != nil {
			return err
		}
		for _, e := range page {
			if _, err := b.apply(n, e); err != nil {
				return fmt.Errorf("replay ssv event %d/%d: %w", e.block, e.logIndex, err)
			}
		}
		if len(page) < replayPage {
			break
		}
		first = false
		block, logIndex = page[len(page)-1].block, page[len(page)-1].logIndex
	}
	n.replaying = false
	if err := b.flushOwners(n); err != nil {
		return err
	}
	after, err := b.dump(n)
	if err != nil {
		return err
	}
	for _, kind := range []string{state.KindOperator, state.KindValidator} {
		for _, id := range sortedUnion(before[kind], after[kind]) {
			if before[kind][id] != after[kind][id] {
				n.note(kind, id)
			}
		}
	}
	return b.flushBlock(n)
}

func (b *batch) readLog(q *store.Query) ([]*entry, error) {
	rows, err := b.tx.QueryContext(b.ctx, q.String(), q.Args()...)
	if err != nil {
		return nil, fmt.Errorf("read ssv applied events: %w", err)
	}
	defer rows.Close()
	var out []*entry
	for rows.Next() {
		e := &entry{}
		var args string
		var stateless sql.NullString
		if err := rows.Scan(store.U64Into(&e.block), store.U64Into(&e.logIndex), &e.blockHash, &e.txHash, store.U64Into(&e.txIndex),
			&e.name, &args, &stateless); err != nil {
			return nil, fmt.Errorf("read ssv applied events: %w", err)
		}
		e.args = []byte(args)
		if stateless.Valid {
			e.stateless = &stateless.String
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read ssv applied events: %w", err)
	}
	return out, nil
}

// dump is every operator and validator of the network as text, by kind
// and id, to compare a registry before and after a rebuild.
func (b *batch) dump(n *network) (map[string]map[uint64]string, error) {
	out := map[string]map[uint64]string{state.KindOperator: {}, state.KindValidator: {}}
	queries := map[string]*store.Query{
		state.KindOperator: b.q().SQL(`SELECT o.id, o.owner || '|' || o.public_key || '|' || o.fee || '|' || o.pending_fee || '|' ||
			CAST(o.pending_fee_block AS TEXT) || '|' || CAST(o.private AS TEXT) || '|' || o.whitelisting_contract || '|' || CAST(o.removed AS TEXT) || '|' ||
			CAST(o.updated_block AS TEXT) || '|' ||
			CAST((SELECT COUNT(*) FROM ssv_validator_operators vo JOIN ssv_validators v ON v.network = vo.network AND v.idx = vo.validator_idx
			WHERE vo.network = o.network AND vo.operator_id = o.id AND v.status <> 'removed' AND NOT v.liquidated) AS TEXT)
			FROM ssv_operators o WHERE o.network = `).Arg(n.name),
		"whitelist": b.q().SQL("SELECT operator_id, address FROM ssv_operator_whitelist WHERE network = ").Arg(n.name).SQL(" ORDER BY operator_id, address"),
		state.KindValidator: b.q().SQL(`SELECT idx, public_key || '|' || owner || '|' || operator_ids || '|' || status || '|' ||
			CAST(liquidated AS TEXT) || '|' || CAST(updated_block AS TEXT) FROM ssv_validators WHERE network = `).Arg(n.name),
	}
	for _, kind := range []string{state.KindOperator, "whitelist", state.KindValidator} {
		q := queries[kind]
		rows, err := b.tx.QueryContext(b.ctx, q.String(), q.Args()...)
		if err != nil {
			return nil, fmt.Errorf("read ssv %ss: %w", kind, err)
		}
		for rows.Next() {
			var id uint64
			var v string
			if err := rows.Scan(store.U64Into(&id), &v); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read ssv %ss: %w", kind, err)
			}
			if kind == "whitelist" {
				out[state.KindOperator][id] += "|" + v
			} else {
				out[kind][id] = v
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read ssv %ss: %w", kind, err)
		}
	}
	return out, nil
}

func sortedUnion(a, b map[uint64]string) []uint64 {
	var out []uint64
	for id := range a {
		out = append(out, id)
	}
	for id := range b {
		if _, ok := a[id]; !ok {
			out = append(out, id)
		}
	}
	sortU64(out)
	return out
}
