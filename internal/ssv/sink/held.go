package sink

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/valtrack/valtrack/internal/ssv/events"
	"github.com/valtrack/valtrack/internal/store"
)

// Held blocks (ssv_held). A marker whose block's events are not all in —
// one was lost or refused on the way, so fewer (or more) arrived than it
// announces — is not applied, and neither is any later marker: they are
// held, in order, and their events stay pending. Applying the later
// blocks would move the registry past the incomplete one, and the missing
// event, once it came (a redelivery, a replay of the dead letters), could
// never be applied below them: a permanent hole. A held marker is acked,
// so the stream goes on to bring what is missing; the event that completes
// the first held block applies it and then every held block after it
// that is complete. /sync shows the first held block and health fails
// while one is.

// heldRef is the first held block of a network.
type heldRef struct {
	number uint64
	hash   string
}

// firstHeld returns the network's first held block, nil when none.
func (b *batch) firstHeld(n *network) (*heldRef, error) {
	if n.holdRead {
		return n.firstHold, nil
	}
	var h heldRef
	q := b.q().SQL("SELECT number, hash FROM ssv_held WHERE network = ").Arg(n.name).SQL(" ORDER BY number, hash LIMIT 1")
	err := b.tx.QueryRowContext(b.ctx, q.String(), q.Args()...).Scan(store.U64Into(&h.number), &h.hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		n.firstHold = nil
	case err != nil:
		return nil, fmt.Errorf("read held ssv blocks: %w", err)
	default:
		n.firstHold = &h
	}
	n.holdRead = true
	return n.firstHold, nil
}

// hold keeps a marker instead of applying it, with the events of its block
// that came in this batch (pending from now on). received is how many of
// its events were in, -1 when a block before it is held.
func (b *batch) hold(n *network, m *events.Block, inBatch []*events.ContractEvent, received int) error {
	for _, e := range inBatch {
		if err := b.storePending(e); err != nil {
			return err
		}
	}
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode held ssv block %d: %w", m.Number, err)
	}
	if _, err := b.exec("hold ssv block", b.q().SQL("INSERT INTO ssv_held (network, number, hash, marker, announced, received, held_at) VALUES ").
		Row(n.name, store.U64(m.Number), m.Hash, string(data), int64(m.Events), int64(received), time.Now().UnixMilli()).
		SQL(" ON CONFLICT (network, hash) DO UPDATE SET received = excluded.received")); err != nil {
		return err
	}
	if first := n.firstHold; n.holdRead && (first == nil || m.Number < first.number) {
		n.firstHold = &heldRef{number: m.Number, hash: m.Hash}
	}
	if received >= 0 {
		b.s.log.Warn("ssv block held: its events are not all in, and no later block is applied until they are (GET /api/v1/ssv/{network}/sync shows it; start its sentry once with --ssv-replay-from BLOCK to publish the blocks again)",
			"network", n.name, "block", m.Number, "hash", m.Hash, "announced", m.Events, "received", received)
	} else {
		b.s.log.Debug("ssv block held behind an incomplete one", "network", n.name, "block", m.Number, "hash", m.Hash)
	}
	return nil
}

func (b *batch) unhold(n *network, hash string) error {
	if _, err := b.exec("release held ssv block", b.q().SQL("DELETE FROM ssv_held WHERE network = ").Arg(n.name).SQL(" AND hash = ").Arg(hash)); err != nil {
		return err
	}
	n.firstHold, n.holdRead = nil, false
	return nil
}

// resume applies the held blocks in order while the first is complete.
func (b *batch) resume(n *network) error {
	for {
		first, err := b.firstHeld(n)
		if err != nil || first == nil {
			return err
		}
		var data string
		q := b.q().SQL("SELECT marker FROM ssv_held WHERE network = ").Arg(n.name).SQL(" AND hash = ").Arg(first.hash)
		if err := b.tx.QueryRowContext(b.ctx, q.String(), q.Args()...).Scan(&data); err != nil {
			return fmt.Errorf("read held ssv block %d: %w", first.number, err)
		}
		v, err := events.Decode(events.KindBlock, []byte(data))
		if err != nil {
			return rejected("held ssv block %d of %s: %v", first.number, n.name, err)
		}
		m := v.(*events.Block)
		applied, received, err := b.applyBlock(n, m, nil)
		if err != nil {
			return err
		}
		if !applied {
			_, err := b.exec("update held ssv block", b.q().SQL("UPDATE ssv_held SET received = ").Arg(int64(received)).
				SQL(" WHERE network = ").Arg(n.name).SQL(" AND hash = ").Arg(m.Hash))
			return err
		}
		b.s.log.Info("held ssv block applied", "network", n.name, "block", m.Number, "hash", m.Hash, "events", m.Events)
		if err := b.unhold(n, m.Hash); err != nil {
			return err
		}
	}
}
