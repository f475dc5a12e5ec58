package sink

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/ssv/events"
	"github.com/valtrack/valtrack/internal/store"
)

// batch is one Apply: its transaction and what it caches of each network.
type batch struct {
	s    *Sink
	ctx  context.Context
	tx   *sql.Tx
	nets map[string]*network
	// pre are the registrations' BLS checks done before the transaction,
	// by their exact inputs (precheck).
	pre map[checkKey]error
}

// network is a network's counters (ssv_networks) and caches for a batch.
type network struct {
	name                         string
	nextIndex, nextSeq           uint64
	reorgs, skipped              uint64
	owners                       map[string]*ownerState
	operators                    map[uint64]*opState
	held                         map[string][]*events.ContractEvent // by block hash: events whose marker is later in the batch
	changes                      []change
	changed                      map[change]bool
	replaying                    bool // rebuilding after a reorg: no changes recorded
	lastApplied, blocksThisBatch uint64
	// v2Block is the first block of SSVNetwork v2: an Upgraded log whose
	// implementation answers a v2 version, or else the first event only
	// v2 emits (0: none yet). Clusters created from it on pay in ETH.
	v2Block uint64
	// version is the implementation's version after the last Upgraded
	// log with a known one, at versionBlock ("": none).
	version      string
	versionBlock uint64
	// firstHold is the first held block (held.go) once read; holdRead
	// says whether it was.
	firstHold *heldRef
	holdRead  bool
}

type ownerState struct {
	nonce        uint64
	feeRecipient string
	dirty        bool
}

type opState struct {
	exists, removed bool
}

type change struct {
	kind string
	id   uint64
}

// entry is a contract event being applied: from the batch, from
// ssv_pending or, in a rebuild, from ssv_events.
type entry struct {
	block     uint64
	blockHash string
	txHash    string
	txIndex   uint64
	logIndex  uint64
	name      string
	args      []byte
	stateless *string // the ValidatorAdded stateless verdict, when known
}

func (b *batch) exec(op string, q *store.Query) (sql.Result, error) {
	r, err := b.tx.ExecContext(b.ctx, q.String(), q.Args()...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return r, nil
}

func (b *batch) q() *store.Query { return b.s.db.Query() }

// net loads (creating it) and, on PostgreSQL, locks a network's row, so
// that two consumers never apply one network's blocks at once.
func (b *batch) net(name string) (*network, error) {
	if n := b.nets[name]; n != nil {
		return n, nil
	}
	// A new network has nothing to rebuild (rows from before migration
	// 0003 default to rebuild).
	if _, err := b.exec("add ssv network", b.q().SQL("INSERT INTO ssv_networks (network, rebuild) VALUES (").Arg(name).SQL(", ").Arg(false).SQL(") ON CONFLICT (network) DO NOTHING")); err != nil {
		return nil, err
	}
	q := b.q().SQL("SELECT next_index, next_seq, reorgs, skipped_logs, v2_block, contract_version, version_block, rebuild FROM ssv_networks WHERE network = ").Arg(name)
	if b.s.db.Dialect().Postgres() {
		q.SQL(" FOR UPDATE")
	}
	n := &network{name: name, held: map[string][]*events.ContractEvent{}}
	n.resetCaches()
	var rebuild bool
	if err := b.tx.QueryRowContext(b.ctx, q.String(), q.Args()...).Scan(store.U64Into(&n.nextIndex), store.U64Into(&n.nextSeq),
		store.U64Into(&n.reorgs), store.U64Into(&n.skipped), store.U64Into(&n.v2Block), &n.version, store.U64Into(&n.versionBlock), &rebuild); err != nil {
		return nil, fmt.Errorf("read ssv network %s: %w", name, err)
	}
	b.nets[name] = n
	if rebuild {
		// Synced before the registry derived what it derives now (the
		// clusters' fee tokens): replayed once from the event log.
		if b.s.log != nil {
			b.s.log.Info("rebuilding the ssv registry from its event log once, to derive the clusters' fee tokens", "network", name)
		}
		if err := b.rebuild(n); err != nil {
			return nil, err
		}
		if _, err := b.exec("mark ssv network rebuilt", b.q().SQL("UPDATE ssv_networks SET rebuild = ").Arg(false).SQL(" WHERE network = ").Arg(name)); err != nil {
			return nil, err
		}
	}
	return n, nil
}

func (n *network) resetCaches() {
	n.owners = map[string]*ownerState{}
	n.operators = map[uint64]*opState{}
	n.changed = map[change]bool{}
	n.changes = nil
}

func (b *batch) run(evs []consumer.Event) error {
	// The position of each block's marker in the batch: events before it
	// are applied from memory instead of going through ssv_pending.
	marker := map[[2]string]int{}
	for i, ev := range evs {
		if m, ok := ev.Value.(*events.Block); ok {
			marker[[2]string{m.Network, m.Hash}] = i
		}
	}
	for i, ev := range evs {
		var err error
		switch v := ev.Value.(type) {
		case *events.ContractEvent:
			if at, ok := marker[[2]string{v.Network, v.BlockHash}]; ok && at > i {
				var n *network
				if n, err = b.net(v.Network); err == nil {
					n.held[v.BlockHash] = append(n.held[v.BlockHash], v)
				}
			} else {
				err = b.pend(v)
			}
		case *events.Block:
			err = b.block(v)
		case *events.Reorg:
			err = b.reorg(v)
		case *events.SyncStatus:
			err = b.status(v)
		default:
			err = rejected("ssv sink: unexpected %T (kind %s)", ev.Value, ev.Kind)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// finish writes the networks' counters and prunes old empty blocks.
func (b *batch) finish() error {
	for _, n := range b.nets {
		if _, err := b.exec("update ssv network", b.q().SQL("UPDATE ssv_networks SET next_index = ").Arg(store.U64(n.nextIndex)).
			SQL(", next_seq = ").Arg(store.U64(n.nextSeq)).SQL(", reorgs = ").Arg(store.U64(n.reorgs)).
			SQL(", skipped_logs = ").Arg(store.U64(n.skipped)).SQL(", v2_block = ").Arg(store.U64(n.v2Block)).
			SQL(", contract_version = ").Arg(n.version).SQL(", version_block = ").Arg(store.U64(n.versionBlock)).SQL(" WHERE network = ").Arg(n.name)); err != nil {
			return err
		}
		if n.blocksThisBatch > 0 && n.lastApplied > b.s.keep {
			if _, err := b.exec("prune ssv blocks", b.q().SQL("DELETE FROM ssv_blocks WHERE network = ").Arg(n.name).
				SQL(" AND number < ").Arg(store.U64(n.lastApplied-b.s.keep)).SQL(" AND events = 0 AND skipped = 0")); err != nil {
				return err
			}
		}
	}
	return nil
}

// pend stores a contract event until its marker, unless its block is
// already processed (a redelivery).
func (b *batch) pend(e *events.ContractEvent) error {
	n, err := b.net(e.Network)
	if err != nil {
		return err
	}
	var hash string
	q := b.q().SQL("SELECT hash FROM ssv_blocks WHERE network = ").Arg(e.Network).SQL(" AND number = ").Arg(store.U64(e.Block))
	err = b.tx.QueryRowContext(b.ctx, q.String(), q.Args()...).Scan(&hash)
	switch {
	case err == nil && hash == e.BlockHash:
		return nil
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("read ssv block %d: %w", e.Block, err)
	}
	if err := b.storePending(e); err != nil {
		return err
	}
	// The event a held block was missing: the block may apply now.
	if first, err := b.firstHeld(n); err != nil || first == nil || first.hash != e.BlockHash {
		return err
	}
	return b.resume(n)
}

func (b *batch) storePending(e *events.ContractEvent) error {
	_, err := b.exec("store pending ssv event", b.q().SQL(`INSERT INTO ssv_pending (network, block_hash, log_index, block, tx_hash, tx_index, name, args) VALUES `).
		Row(e.Network, e.BlockHash, int64(e.LogIndex), store.U64(e.Block), e.TxHash, int64(e.TxIndex), e.Name, string(e.Args)).
		SQL(" ON CONFLICT (network, block_hash, log_index) DO NOTHING"))
	return err
}

// block applies a block's events when its marker arrives — or holds the
// marker (held.go) when its events are not all in, or when a block before
// it is held: no block is applied past an incomplete one.
func (b *batch) block(m *events.Block) error {
	n, err := b.net(m.Network)
	if err != nil {
		return err
	}
	inBatch := n.held[m.Hash]
	delete(n.held, m.Hash)
	if done, err := b.processed(m); done || err != nil {
		return err
	}
	first, err := b.firstHeld(n)
	if err != nil {
		return err
	}
	if first != nil && first.hash != m.Hash && m.Number >= first.number {
		return b.hold(n, m, inBatch, -1, nil)
	}
	applied, received, g, err := b.applyBlock(n, m, inBatch)
	if err != nil {
		return err
	}
	if !applied {
		return b.hold(n, m, inBatch, received, g)
	}
	if first == nil {
		return nil
	}
	if first.hash == m.Hash {
		if err := b.unhold(n, m.Hash); err != nil {
			return err
		}
	}
	// A block below the first held one may be what it waited for: the
	// block of a gap, published again by a replay.
	return b.resume(n)
}

// processed says whether the marker's block is already processed with its
// hash (a redelivery); another hash at that height, with no reorg first,
// is refused.
func (b *batch) processed(m *events.Block) (bool, error) {
	var hash string
	q := b.q().SQL("SELECT hash FROM ssv_blocks WHERE network = ").Arg(m.Network).SQL(" AND number = ").Arg(store.U64(m.Number))
	err := b.tx.QueryRowContext(b.ctx, q.String(), q.Args()...).Scan(&hash)
	switch {
	case err == nil && hash == m.Hash:
		return true, nil
	case err == nil:
		return false, rejected("ssv %s block %d %s: block %d was processed with hash %s, and no reorg came first", m.Network, m.Number, m.Hash, m.Number, hash)
	case !errors.Is(err, sql.ErrNoRows):
		return false, fmt.Errorf("read ssv block %d: %w", m.Number, err)
	}
	return false, nil
}

// gap is the blocks a marker's chain names that were never applied: its
// PrevMarker is past the last applied block (from..to; from is 0 when
// no block is applied yet).
type gap struct{ from, to uint64 }

// gapOf checks a marker's chain against the last applied block (have:
// whether one is): the blocks after last up to its previous marker must
// have been applied, or else their events and marker were lost on the
// way. After a reorg last is the highest block the rollback kept, which
// is where the sentry's chain goes on from. A marker without a previous
// one (the first of a chain, or from a sentry before the field) is not
// checked; a replay of applied blocks never reaches here (processed).
func gapOf(m *events.Block, last uint64, have bool) *gap {
	p := m.PrevMarker
	if p == nil || (have && *p <= last) {
		return nil
	}
	g := &gap{to: *p}
	if have {
		g.from = last + 1
	}
	return g
}

// applyBlock applies a block's events — pending ones and inBatch, those
// of this batch before the marker — in log order, and records the block,
// all in the batch's transaction. When the block's events are not all in
// (the marker announces another number), or its chain of markers says a
// block before it was never applied (a gap, returned), it writes nothing
// and returns applied false with the number received.
func (b *batch) applyBlock(n *network, m *events.Block, inBatch []*events.ContractEvent) (applied bool, received int, g *gap, err error) {
	var last uint64
	have := true
	q := b.q().SQL("SELECT number FROM ssv_blocks WHERE network = ").Arg(m.Network).SQL(" ORDER BY number DESC LIMIT 1")
	switch err := b.tx.QueryRowContext(b.ctx, q.String(), q.Args()...).Scan(store.U64Into(&last)); {
	case errors.Is(err, sql.ErrNoRows):
		have = false
	case err != nil:
		return false, 0, nil, fmt.Errorf("read ssv last block: %w", err)
	}
	if m.Number < last && m.Events == 0 && len(inBatch) == 0 {
		// A range-end marker of a replay whose ranges end elsewhere than
		// the first run's: a block with no event, never marked, below the
		// registry's. Nothing to apply, nothing to refuse; not recorded,
		// so the last block stays the registry's.
		return true, 0, nil, nil
	}
	if m.Number < last {
		return false, 0, nil, rejected("ssv %s block %d %s is below the last processed block %d", m.Network, m.Number, m.Hash, last)
	}

	// The block's events: pending ones and those of this batch.
	byLog := map[uint64]*entry{}
	q = b.q().SQL("SELECT log_index, block, tx_hash, tx_index, name, args FROM ssv_pending WHERE network = ").Arg(m.Network).
		SQL(" AND block_hash = ").Arg(m.Hash)
	rows, err := b.tx.QueryContext(b.ctx, q.String(), q.Args()...)
	if err != nil {
		return false, 0, nil, fmt.Errorf("read pending ssv events of block %d: %w", m.Number, err)
	}
	pending := 0
	for rows.Next() {
		e := &entry{blockHash: m.Hash}
		var args string
		if err := rows.Scan(store.U64Into(&e.logIndex), store.U64Into(&e.block), &e.txHash, store.U64Into(&e.txIndex), &e.name, &args); err != nil {
			rows.Close()
			return false, 0, nil, fmt.Errorf("read pending ssv events of block %d: %w", m.Number, err)
		}
		e.args = []byte(args)
		byLog[e.logIndex] = e
		pending++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, 0, nil, fmt.Errorf("read pending ssv events of block %d: %w", m.Number, err)
	}
	for _, c := range inBatch {
		byLog[uint64(c.LogIndex)] = &entry{block: c.Block, blockHash: c.BlockHash, txHash: c.TxHash, txIndex: uint64(c.TxIndex),
			logIndex: uint64(c.LogIndex), name: c.Name, args: c.Args}
	}
	if g := gapOf(m, last, have); g != nil {
		return false, len(byLog), g, nil
	}
	if len(byLog) != m.Events {
		return false, len(byLog), nil, nil
	}
	list := make([]*entry, 0, len(byLog))
	for _, e := range byLog {
		if e.block != m.Number {
			return false, 0, nil, rejected("ssv %s block %d %s: its event %d says block %d", m.Network, m.Number, m.Hash, e.logIndex, e.block)
		}
		list = append(list, e)
	}
	slices.SortFunc(list, func(a, c *entry) int { return cmpU64(a.logIndex, c.logIndex) })

	logRows := make([][]any, 0, len(list))
	for _, e := range list {
		outcome, err := b.apply(n, e)
		if err != nil {
			return false, 0, nil, err
		}
		logRows = append(logRows, []any{m.Network, store.U64(e.block), store.U64(e.logIndex), e.blockHash, e.txHash, store.U64(e.txIndex),
			e.name, string(e.args), optString(e.stateless), outcome})
	}
	if err := b.flushBlock(n); err != nil {
		return false, 0, nil, err
	}
	if err := b.s.db.InsertRows(b.ctx, b.tx, insertEvents, logRows); err != nil {
		return false, 0, nil, fmt.Errorf("log ssv events of block %d: %w", m.Number, err)
	}
	if pending > 0 {
		if _, err := b.exec("delete pending ssv events", b.q().SQL("DELETE FROM ssv_pending WHERE network = ").Arg(m.Network).
			SQL(" AND block_hash = ").Arg(m.Hash)); err != nil {
			return false, 0, nil, err
		}
	}
	if _, err := b.exec("record ssv block", b.q().SQL("INSERT INTO ssv_blocks (network, number, hash, parent_hash, time, events, skipped) VALUES ").
		Row(m.Network, store.U64(m.Number), m.Hash, m.ParentHash, m.Time, int64(m.Events), int64(m.SkippedCount()))); err != nil {
		return false, 0, nil, err
	}
	if err := b.recordSkipped(m); err != nil {
		return false, 0, nil, err
	}
	n.skipped += uint64(m.SkippedCount())
	n.lastApplied = m.Number
	n.blocksThisBatch++
	return true, len(byLog), nil, nil
}

// recordSkipped keeps the block's skipped logs (ssv_skipped). A log
// index twice in one marker (no honest sentry sends that) is kept once.
func (b *batch) recordSkipped(m *events.Block) error {
	if len(m.Skipped) == 0 {
		return nil
	}
	rows := make([][]any, len(m.Skipped))
	for i, sk := range m.Skipped {
		rows[i] = []any{m.Network, store.U64(m.Number), int64(sk.LogIndex), m.Hash, sk.TxHash, sk.Topic0, sk.Reason, sk.Data, int64(sk.DataLen)}
	}
	if err := b.s.db.InsertRows(b.ctx, b.tx, insertSkipped, rows); err != nil {
		return fmt.Errorf("record the skipped logs of ssv block %d: %w", m.Number, err)
	}
	return nil
}

var insertSkipped = store.Insert{Table: "ssv_skipped",
	Cols:   []string{"network", "block", "log_index", "block_hash", "tx_hash", "topic0", "reason", "data", "data_len"},
	Suffix: "ON CONFLICT (network, block, log_index) DO NOTHING"}

var insertEvents = store.Insert{Table: "ssv_events",
	Cols: []string{"network", "block", "log_index", "block_hash", "tx_hash", "tx_index", "name", "args", "stateless", "outcome"}}

func optString(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// note records a change for /stream (once per block and id).
func (n *network) note(kind string, id uint64) {
	if n.replaying {
		return
	}
	c := change{kind, id}
	if !n.changed[c] {
		n.changed[c] = true
		n.changes = append(n.changes, c)
	}
}

// flushBlock writes the owners touched and the changes of a block.
func (b *batch) flushBlock(n *network) error {
	if err := b.flushOwners(n); err != nil {
		return err
	}
	if len(n.changes) == 0 {
		return nil
	}
	rows := make([][]any, len(n.changes))
	for i, c := range n.changes {
		rows[i] = []any{n.name, store.U64(n.nextSeq), c.kind, store.U64(c.id)}
		n.nextSeq++
	}
	n.changes = n.changes[:0]
	clear(n.changed)
	if err := b.s.db.InsertRows(b.ctx, b.tx, store.Insert{Table: "ssv_changes", Cols: []string{"network", "seq", "kind", "id"}}, rows); err != nil {
		return fmt.Errorf("record ssv changes: %w", err)
	}
	return nil
}

func (b *batch) flushOwners(n *network) error {
	var rows [][]any
	for a, o := range n.owners {
		if o.dirty {
			rows = append(rows, []any{n.name, a, store.U64(o.nonce), o.feeRecipient})
			o.dirty = false
		}
	}
	if len(rows) == 0 {
		return nil
	}
	cols := []string{"network", "address", "nonce", "fee_recipient"}
	if err := b.s.db.InsertRows(b.ctx, b.tx, store.Insert{Table: "ssv_owners", Cols: cols,
		Suffix: store.UpsertAll([]string{"network", "address"}, cols)}, rows); err != nil {
		return fmt.Errorf("write ssv owners: %w", err)
	}
	return nil
}

// status upserts the sentry's status unless a newer one is stored.
func (b *batch) status(st *events.SyncStatus) error {
	if _, err := b.net(st.Network); err != nil {
		return err
	}
	eps := st.Endpoints
	if eps == nil {
		eps = []events.Endpoint{}
	}
	js, err := json.Marshal(eps)
	if err != nil {
		return fmt.Errorf("encode ssv endpoints: %w", err)
	}
	_, err = b.exec("store ssv sync status", b.q().SQL("INSERT INTO ssv_sync (network, contract, mode, head, processed, endpoints, status_at) VALUES ").
		Row(st.Network, st.Contract, st.Mode, store.U64(st.Head), store.U64(st.Processed), string(js), st.SeenAt).
		SQL(` ON CONFLICT (network) DO UPDATE SET contract = excluded.contract, mode = excluded.mode, head = excluded.head,
		processed = excluded.processed, endpoints = excluded.endpoints, status_at = excluded.status_at
		WHERE excluded.status_at >= ssv_sync.status_at`))
	return err
}

func sortU64(s []uint64) { slices.Sort(s) }
