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
//
// A marker is held too when its chain of markers (PrevMarker) says the
// sentry published a block after the last one applied that never came —
// a whole block lost, its events and its marker (bus stream limits, a
// message deleted from the stream, a sentry publishing from another
// cursor): the event counts cannot show that, and applying the marker
// would move the registry past the lost block for good. Such a gap is
// filled by publishing the blocks again (--ssv-replay-from the first
// block of the gap); a block of the gap that applies resumes the held
// ones, and a held marker delivered again replaces the stored one (a
// replay's chain may start elsewhere).

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
// its events were in, -1 when a block before it is held; g is the gap
// before it, nil when it is held for its events.
func (b *batch) hold(n *network, m *events.Block, inBatch []*events.ContractEvent, received int, g *gap) error {
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
		SQL(" ON CONFLICT (network, hash) DO UPDATE SET received = excluded.received, marker = excluded.marker")); err != nil {
		return err
	}
	if first := n.firstHold; n.holdRead && (first == nil || m.Number < first.number) {
		n.firstHold = &heldRef{number: m.Number, hash: m.Hash}
	}
	switch {
	case g != nil:
		b.s.log.Warn("ssv block held: a gap before it — the blocks after the last applied one up to its previous marker were never received (their events and markers were lost), and no later block is applied until they are (GET /api/v1/ssv/{network}/sync shows it; start its sentry once with --ssv-replay-from the gap's first block to publish them again)",
			"network", n.name, "block", m.Number, "hash", m.Hash, "gap_from", g.from, "gap_to", g.to)
	case received >= 0:
		b.s.log.Warn("ssv block held: its events are not all in, and no later block is applied until they are (GET /api/v1/ssv/{network}/sync shows it; start its sentry once with --ssv-replay-from BLOCK to publish the blocks again)",
			"network", n.name, "block", m.Number, "hash", m.Hash, "announced", m.Events, "received", received)
	default:
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
		applied, received, _, err := b.applyBlock(n, m, nil)
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
