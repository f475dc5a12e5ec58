package sync

import (
	"strings"
	"testing"
)

// TestShallowReorgAfterHistory: history ends on a range whose last 72
// blocks hold no contract log; a reorg two blocks below the processed
// block then rolls back only the changed blocks — the kept window has the
// hash of every block of it — instead of resyncing from the first block.
func TestShallowReorgAfterHistory(t *testing.T) {
	spec := map[uint64]logSpec{}
	for b := uint64(5); b < 100; b += 5 {
		spec[b] = logSpec{n: 1}
	}
	c := newChain(300, spec)
	n := newNode(t, c, 1337)
	pub, logs := &memPublisher{}, &syncBuf{}
	cfg := testConfig(t, pub, logs, n)
	s, stop := start(t, cfg)
	waitFor(t, "caught up", caughtUp(s, c, 3))
	waitFor(t, "live", func() bool { return s.Stats().Mode == ModeLive })
	if s.Stats().Blocks > 25 {
		t.Fatalf("%d markers: the history was not read in ranges", s.Stats().Blocks)
	}
	before := len(pub.records())
	// Blocks 295.. replaced: 295 and 296 were processed.
	c.reorg(295, 12, map[uint64]logSpec{298: {n: 2}}, 7)
	waitFor(t, "synced again", func() bool { return caughtUp(s, c, 3)() && s.Stats().Reorgs == 1 })
	stop()
	recs := pub.records()[before:]
	rgs, at := reorgsIn(t, recs)
	if len(rgs) != 1 || rgs[0].FromBlock != 295 || rgs[0].NewHash != c.block(295).hash.Hex() {
		t.Fatalf("reorgs %+v: want one from block 295", rgs)
	}
	if strings.Contains(logs.String(), "reorg deeper than") {
		t.Fatal("a 2-block reorg became a full resync")
	}
	got, markers := checkStream(t, recs[at+1:])
	checkAll(t, c, got, 295, c.head()-3)
	// The fork is after blocks of the kept window that had no marker: the
	// new branch's chain goes on from the last one that had.
	checkChain(t, pub.records())
	if len(markers) == 0 || markers[0].Number != 295 {
		t.Fatalf("after the reorg the first marker is %+v: want block 295", markers)
	}
}

// markersAfter returns the block numbers whose markers follow record at.
func markersAfter(t *testing.T, recs []record) map[uint64]bool {
	t.Helper()
	_, markers := checkStream(t, recs)
	seen := map[uint64]bool{}
	for _, m := range markers {
		seen[m.Number] = true
	}
	return seen
}

// TestResyncRepublishesUnderNewIDs: a resync publishes the unchanged
// blocks below the fork again; on a bus that drops a message id it has
// seen (JetStream's duplicate window) every one of them must still reach
// the consumer, which rolled them back.
func TestResyncRepublishesUnderNewIDs(t *testing.T) {
	c := newChain(150, spread(150, 5))
	n := newNode(t, c, 1337)
	pub := &dedupPublisher{seen: map[string]bool{}}
	logs := &syncBuf{}
	cfg := testConfig(t, &pub.memPublisher, logs, n)
	cfg.Publisher = pub
	s, stop := start(t, cfg)
	waitFor(t, "caught up", caughtUp(s, c, 3))
	waitFor(t, "live", func() bool { return s.Stats().Mode == ModeLive })
	before := len(pub.records())
	c.reorg(40, 115, spread(155, 3), 5) // deeper than the kept hashes: a resync
	waitFor(t, "the new branch synced", func() bool { return caughtUp(s, c, 3)() && s.Stats().Reorgs == 1 })
	stop()
	recs := pub.records()[before:]
	rgs, at := reorgsIn(t, recs)
	if len(rgs) != 1 || rgs[0].FromBlock != 0 || rgs[0].Gen != 1 {
		t.Fatalf("reorgs %+v: want one resync from block 0, generation 1", rgs)
	}
	got, _ := checkStream(t, recs[at+1:])
	checkAll(t, c, got, 0, c.head()-3)
	seen := markersAfter(t, recs[at+1:])
	for b := uint64(5); b < 40; b += 5 {
		if !seen[b] {
			t.Fatalf("block %d (unchanged by the reorg) was not published again after the resync: its id was dropped as a duplicate", b)
		}
	}
}

// TestFlipFlopRepublishesUnderNewIDs: the chain goes A → B → A → B; each
// time the branch comes back its blocks (same hashes) and the reorg (same
// hashes) are published again, and none may be dropped as a duplicate.
func TestFlipFlopRepublishesUnderNewIDs(t *testing.T) {
	specA := spread(120, 2)
	c := newChain(100, specA)
	n := newNode(t, c, 1337)
	pub := &dedupPublisher{seen: map[string]bool{}}
	logs := &syncBuf{}
	cfg := testConfig(t, &pub.memPublisher, logs, n)
	cfg.Publisher = pub
	s, stop := start(t, cfg)
	waitFor(t, "caught up", caughtUp(s, c, 3))
	waitFor(t, "live", func() bool { return s.Stats().Mode == ModeLive })
	c.extend(4, specA, 0) // blocks 100..103 processed live, one by one
	waitFor(t, "live blocks", caughtUp(s, c, 3))

	specB := map[uint64]logSpec{95: {n: 1}}
	flips := []struct {
		spec map[uint64]logSpec
		fork byte
		n    int
	}{{specB, 9, 14}, {specA, 0, 16}, {specB, 9, 18}}
	for i, f := range flips {
		before := len(pub.records())
		c.reorg(92, f.n, f.spec, f.fork)
		waitFor(t, "flip synced", func() bool { return caughtUp(s, c, 3)() && s.Stats().Reorgs == uint64(i+1) })
		recs := pub.records()[before:]
		rgs, at := reorgsIn(t, recs)
		if len(rgs) != 1 || rgs[0].FromBlock != 92 || rgs[0].Gen != uint64(i+1) {
			t.Fatalf("flip %d: reorgs %+v, want one from block 92 of generation %d (a repeated id dropped?)", i+1, rgs, i+1)
		}
		seen := markersAfter(t, recs[at+1:])
		for b := uint64(92); b <= c.head()-3; b++ {
			if !seen[b] {
				t.Fatalf("flip %d: block %d has no marker after the reorg: dropped as a duplicate", i+1, b)
			}
		}
		got, _ := checkStream(t, recs[at+1:])
		checkAll(t, c, got, 92, c.head()-3)
	}
	stop()
}

// TestGenerationSurvivesRestart: the generation is in the cursor, so a
// restart after a reorg publishes under the ids it published before
// (which the bus drops: no duplicate) rather than under generation 0.
func TestGenerationSurvivesRestart(t *testing.T) {
	c := newChain(60, spread(60, 4))
	n := newNode(t, c, 1337)
	pub, logs := &memPublisher{}, &syncBuf{}
	cfg := testConfig(t, pub, logs, n)
	s, stop := start(t, cfg)
	waitFor(t, "live", func() bool { return caughtUp(s, c, 3)() && s.Stats().Mode == ModeLive })
	c.reorg(50, 14, spread(70, 2), 3)
	waitFor(t, "reorg", func() bool { return caughtUp(s, c, 3)() && s.Stats().Reorgs == 1 })
	stop()
	pub2 := &memPublisher{}
	cfg.Publisher = pub2
	s2, stop2 := start(t, cfg)
	waitFor(t, "resumed", func() bool { return s2.Stats().Mode == ModeLive })
	c.extend(2, map[uint64]logSpec{64: {n: 1}}, 3)
	waitFor(t, "next block", caughtUp(s2, c, 3))
	stop2()
	_, markers := checkStream(t, pub2.records())
	if len(markers) == 0 {
		t.Fatal("no marker after the restart")
	}
	checkChain(t, append(pub.records(), pub2.records()...))
	for _, m := range markers {
		if m.Gen != 1 {
			t.Fatalf("marker of block %d after the restart has generation %d, want 1", m.Number, m.Gen)
		}
	}
}

// TestMixedKeptHashesRolledBack: a cursor whose kept hashes hold blocks of
// two branches — the tip of the chain's, blocks below it of an abandoned
// one (what a reorg during a range's reads could leave) — is caught at
// start: every kept hash is compared, in one batch, not only the tip's,
// and the abandoned blocks are rolled back and read again.
func TestMixedKeptHashesRolledBack(t *testing.T) {
	c := newChain(120, spread(120, 3))
	n := newNode(t, c, 1337)
	logs := &syncBuf{}
	cfg := testConfig(t, &memPublisher{}, logs, n)
	s, stop := start(t, cfg)
	waitFor(t, "live", func() bool { return caughtUp(s, c, 3)() && s.Stats().Mode == ModeLive })
	stop()
	tip := c.head() - 3
	c.reorg(100, 30, spread(130, 4), 6)
	cur := newCursor(cfg.DataDir, cfg.Network)
	d, err := cur.load(cfg.Network, cfg.Contract)
	if err != nil || d == nil || d.Processed != int64(tip) {
		t.Fatalf("cursor %+v, %v", d, err)
	}
	last := &d.Hashes[len(d.Hashes)-1]
	if last.Number != tip {
		t.Fatalf("the cursor's last kept block is %d, not %d", last.Number, tip)
	}
	last.Hash = c.block(tip).hash // the tip on the new branch, the blocks below on the old
	if err := cur.store(d); err != nil {
		t.Fatal(err)
	}
	pub := &memPublisher{}
	cfg.Publisher = pub
	s2, stop2 := start(t, cfg)
	waitFor(t, "the new branch synced", func() bool { return caughtUp(s2, c, 3)() && s2.Stats().Reorgs == 1 })
	stop2()
	rgs, at := reorgsIn(t, pub.records())
	if len(rgs) != 1 || rgs[0].FromBlock != 100 || rgs[0].NewHash != c.block(100).hash.Hex() {
		t.Fatalf("reorgs %+v: want one from block 100", rgs)
	}
	got, _ := checkStream(t, pub.records()[at+1:])
	checkAll(t, c, got, 100, c.head()-3)
}
