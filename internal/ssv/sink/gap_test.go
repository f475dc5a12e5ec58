package sink_test

import (
	"testing"

	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/ssv/events"
	"github.com/valtrack/valtrack/internal/ssv/registry"
	"github.com/valtrack/valtrack/internal/ssv/state"
	"github.com/valtrack/valtrack/internal/store"
)

func operatorIDs(t *testing.T, r *state.Store) []uint64 {
	t.Helper()
	ops, err := r.Operators(ctx, net, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []uint64
	for _, o := range ops {
		out = append(out, o.ID)
	}
	return out
}

func marker(evs []consumer.Event) *events.Block { return evs[len(evs)-1].Value.(*events.Block) }

// TestGapIsHeld: a whole block lost — its events and its marker — leaves
// no trace in the event counts; the next marker's chain (PrevMarker)
// names it, so that marker is held with the gap, and every later one
// behind it; /sync shows the blocks never received. Publishing the lost
// block again (a replay) applies it and then the held blocks, in order;
// replaying the blocks already applied changes nothing.
func TestGapIsHeld(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		sk := newSink(t, db, nil)
		r := state.New(db)
		c := &chain{fork: "a", chained: true}
		b1 := operators(c) // operators 1..5
		b2 := c.block(opAdded(6, addr(1), "1"))
		b3 := c.block() // no events
		b4 := c.block(opAdded(7, addr(1), "1"))
		b5 := c.block(opAdded(8, addr(1), "1"))
		mustApply(t, sk, b1)
		// Blocks 2 and 3 are lost whole; block 4 comes complete.
		mustApply(t, sk, b4)
		mustApply(t, sk, b5)
		if got := operatorIDs(t, r); len(got) != 5 {
			t.Errorf("operators %v: a block was applied past the gap", got)
		}
		s, _ := r.Sync(ctx, net)
		if s.LastBlock != 1 {
			t.Errorf("last block %d, want 1: the registry moved past the gap", s.LastBlock)
		}
		h := s.Held
		if h == nil || h.Block != 4 || h.Blocks != 2 || h.Gap == nil || h.Gap.From != 2 || h.Gap.To != 3 {
			t.Fatalf("held %+v (gap %+v): want block 4 held for the gap 2..3, 2 blocks held", h, gapOf(h))
		}
		if h.Announced != 1 || h.Received != 1 {
			t.Errorf("held %+v: want its own event counted in (1 of 1)", h)
		}

		// The replay from block 2: block 1 again (processed), then 2 and
		// 3, which apply the held 4 and 5.
		mustApply(t, sk, b1)
		mustApply(t, sk, b2)
		if s, _ := r.Sync(ctx, net); s.Held == nil || s.Held.Block != 4 || s.Held.Gap == nil || s.Held.Gap.From != 3 || s.Held.Gap.To != 3 {
			t.Fatalf("after block 2: held %+v (gap %+v), want block 4 held for the gap 3..3", s.Held, gapOf(s.Held))
		}
		mustApply(t, sk, b3)
		if got := operatorIDs(t, r); len(got) != 8 || got[5] != 6 || got[6] != 7 || got[7] != 8 {
			t.Errorf("operators after the replay %v, want 1..8", got)
		}
		s, _ = r.Sync(ctx, net)
		if s.Held != nil || s.LastBlock != 5 {
			t.Errorf("sync after the replay %+v (held %+v): want block 5 applied, nothing held", s, s.Held)
		}
		if p := dump(t, db, "ssv_pending", "log_index"); len(p) != 0 {
			t.Errorf("pending left: %v", p)
		}
		// The rest of the replay: everything processed already.
		before := registryDump(t, db)
		mustApply(t, sk, cat(b1, b2, b3, b4, b5))
		if after := registryDump(t, db); after != before {
			t.Errorf("replaying applied blocks changed the registry:\n%s\n%s", before, after)
		}
		if s, _ := r.Sync(ctx, net); s.Held != nil {
			t.Errorf("held after replaying applied blocks: %+v", s.Held)
		}
	})
}

func gapOf(h *registry.Held) *registry.Gap {
	if h == nil {
		return nil
	}
	return h.Gap
}

// TestGapReplayedMarkerReplacesTheHeldOne: a replay may publish the held
// block itself first, with another chain (its previous marker older than
// the sentry's kept blocks: none); the marker delivered again is the one
// checked, so the block applies.
func TestGapReplayedMarkerReplacesTheHeldOne(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		sk := newSink(t, db, nil)
		r := state.New(db)
		c := &chain{fork: "a", chained: true}
		mustApply(t, sk, operators(c))
		c.block(opAdded(6, addr(1), "1")) // lost
		b3 := c.block(opAdded(7, addr(1), "1"))
		mustApply(t, sk, b3)
		if s, _ := r.Sync(ctx, net); s.Held == nil || s.Held.Gap == nil {
			t.Fatalf("held %+v: want block 3 held for a gap", s.Held)
		}
		again := *marker(b3)
		again.PrevMarker = nil
		mustApply(t, sk, []consumer.Event{{Network: net, Kind: events.KindBlock, MsgID: again.MsgID(), Value: &again}})
		if s, _ := r.Sync(ctx, net); s.Held != nil || s.LastBlock != 3 {
			t.Errorf("sync %+v (held %+v): want block 3 applied from the replayed marker", s, s.Held)
		}
	})
}

// TestGapNothingApplied: a first marker that names a previous one, on a
// registry with nothing applied (a stream that lost its oldest messages),
// is a gap from the start.
func TestGapNothingApplied(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		sk := newSink(t, db, nil)
		r := state.New(db)
		c := &chain{fork: "a", chained: true}
		operators(c) // lost
		mustApply(t, sk, c.block(opAdded(6, addr(1), "1")))
		s, _ := r.Sync(ctx, net)
		if s == nil || s.Held == nil || s.Held.Gap == nil || s.Held.Gap.From != 0 || s.Held.Gap.To != 1 {
			t.Fatalf("sync %+v: want block 2 held for the gap ..1 (from 0: nothing applied)", s)
		}
	})
}

// TestOldMarkersAreNotChecked: markers without PrevMarker (a sentry from
// before the field, events already in a stream) apply as before, a lost
// block between them unseen; a chained marker after an old one is checked
// against what was applied.
func TestOldMarkersAreNotChecked(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		sk := newSink(t, db, nil)
		r := state.New(db)
		c := &chain{fork: "a"}
		mustApply(t, sk, operators(c))
		c.block(opAdded(6, addr(1), "1")) // lost, and nothing can tell
		mustApply(t, sk, c.block(opAdded(7, addr(1), "1")))
		if s, _ := r.Sync(ctx, net); s.Held != nil || s.LastBlock != 3 {
			t.Fatalf("sync %+v (held %+v): want the old marker of block 3 applied", s, s.Held)
		}
		// The sentry upgraded: its first marker has no previous one, the
		// next names it.
		c.chained = true
		mustApply(t, sk, c.block())
		mustApply(t, sk, c.block(opAdded(8, addr(1), "1")))
		if s, _ := r.Sync(ctx, net); s.Held != nil || s.LastBlock != 5 {
			t.Errorf("sync %+v (held %+v): want blocks 4 and 5 applied", s, s.Held)
		}
	})
}

// TestGapAfterReorg: a reorg rolls back the processed blocks from its
// FromBlock, and the new branch's first marker names the last marker
// before the fork — the last block the rollback kept — so it applies; a
// new-branch marker naming a rolled-back block of the old branch is a gap.
func TestGapAfterReorg(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		sk := newSink(t, db, nil)
		r := state.New(db)
		a := &chain{fork: "a", chained: true}
		mustApply(t, sk, operators(a))
		mustApply(t, sk, a.block())
		fork := *a // after block 2
		mustApply(t, sk, a.block(opAdded(6, addr(1), "1")))
		mustApply(t, sk, a.block(opAdded(7, addr(1), "1")))
		reorg := &events.Reorg{V: 1, Network: net, FromBlock: 3, OldHash: hash("a", 3), NewHash: hash("b", 3), Gen: 1}
		nb := fork
		nb.fork = "b"
		mustApply(t, sk, cat([]consumer.Event{{Network: net, Kind: events.KindReorg, MsgID: reorg.MsgID(), Value: reorg}},
			nb.block(opAdded(9, addr(1), "1")), nb.block()))
		s, _ := r.Sync(ctx, net)
		if s.Held != nil || s.LastBlock != 4 || s.LastBlockHash != hash("b", 4) {
			t.Fatalf("sync after the reorg %+v (held %+v): want the new branch's blocks 3 and 4 applied", s, s.Held)
		}
		if got := operatorIDs(t, r); len(got) != 6 || got[5] != 9 {
			t.Errorf("operators %v, want 1..5 and 9", got)
		}
		// Another reorg from 4; a marker whose previous is the old 4 (not
		// kept) — a sentry that never went back — is held for the gap.
		reorg2 := &events.Reorg{V: 1, Network: net, FromBlock: 4, OldHash: hash("b", 4), NewHash: hash("c", 4), Gen: 2}
		nc := nb
		nc.fork, nc.number, nc.parent = "c", 4, hash("b", 4)
		m := nc.block()
		mustApply(t, sk, cat([]consumer.Event{{Network: net, Kind: events.KindReorg, MsgID: reorg2.MsgID(), Value: reorg2}}, m))
		if s, _ := r.Sync(ctx, net); s.Held == nil || s.Held.Block != 5 || s.Held.Gap == nil || s.Held.Gap.From != 4 || s.Held.Gap.To != 4 {
			t.Errorf("held %+v (gap %+v): want block 5 held for the gap 4..4 (rolled back)", s.Held, gapOf(s.Held))
		}
	})
}

// TestEmptyMarkerBelowTheLastBlock: a replay whose history ranges end at
// other blocks than the first run's publishes range-end markers of blocks
// that hold no event and were never marked; below the last applied block
// such a marker carries nothing to apply, so it is taken as it is — not
// refused to the dead-letter subject on every replay. One below it that
// announces events it never delivered is still refused.
func TestEmptyMarkerBelowTheLastBlock(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		sk := newSink(t, db, nil)
		r := state.New(db)
		c := &chain{fork: "a", chained: true}
		mustApply(t, sk, operators(c)) // block 1
		c.number += 5                  // blocks 2..6 hold no event: no marker
		mustApply(t, sk, c.block(opAdded(6, addr(1), "1")))
		if s, _ := r.Sync(ctx, net); s.LastBlock != 7 {
			t.Fatalf("last block %d, want 7", s.LastBlock)
		}
		empty := &events.Block{V: 1, Network: net, Number: 4, Hash: hash("a", 4), ParentHash: hash("a", 3), Time: 4 * 12000}
		mustApply(t, sk, []consumer.Event{{Network: net, Kind: events.KindBlock, MsgID: empty.MsgID(), Value: empty}})
		s, _ := r.Sync(ctx, net)
		if s.Held != nil || s.LastBlock != 7 || s.LastBlockHash != hash("a", 7) {
			t.Errorf("sync %+v (held %+v): the empty range-end marker changed it", s, s.Held)
		}
		if got := operatorIDs(t, r); len(got) != 6 {
			t.Errorf("operators %v, want 1..6", got)
		}
		lying := &events.Block{V: 1, Network: net, Number: 5, Hash: hash("a", 5), ParentHash: hash("a", 4), Time: 5 * 12000, Events: 1}
		if err := sk.Apply(ctx, []consumer.Event{{Network: net, Kind: events.KindBlock, MsgID: lying.MsgID(), Value: lying}}); err == nil {
			t.Error("a marker below the last block announcing an event never applied was taken")
		}
	})
}
