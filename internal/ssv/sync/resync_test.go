package sync

import (
	"strings"
	"testing"

	"github.com/valtrack/valtrack/internal/ssv/events"
)

// reorgsIn returns the published reorgs and the index of the first.
func reorgsIn(t *testing.T, recs []record) ([]*events.Reorg, int) {
	t.Helper()
	var out []*events.Reorg
	at := -1
	for i, r := range recs {
		if !strings.HasSuffix(r.subject, ".reorg") {
			continue
		}
		e, err := events.Decode(events.KindReorg, r.data)
		if err != nil {
			t.Fatal(err)
		}
		if at < 0 {
			at = i
		}
		out = append(out, e.(*events.Reorg))
	}
	return out, at
}

// TestReplacedChainResyncs: a cursor written on one chain, then the same
// contract address and chain id on another chain (a restarted devnet): the
// sentry rolls everything back (a reorg from FromBlock) and syncs the new
// chain from its first block — not from the old cursor's block, nor from
// the oldest block it kept.
func TestReplacedChainResyncs(t *testing.T) {
	a := newChain(40, spread(40, 5))
	na := newNode(t, a, 1337)
	logs := &syncBuf{}
	cfg := testConfig(t, &memPublisher{}, logs, na)
	s, stop := start(t, cfg)
	waitFor(t, "chain A synced", caughtUp(s, a, 3))
	stop()

	b := newForkChain(60, spread(60, 4), 9)
	nb := newNode(t, b, 1337)
	pub := &memPublisher{}
	cfg.Publisher, cfg.RPCs = pub, []string{nb.url()}
	s2, stop2 := start(t, cfg)
	waitFor(t, "chain B synced", func() bool { return caughtUp(s2, b, 3)() && s2.Stats().Reorgs > 0 })
	stop2()

	recs := pub.records()
	rgs, at := reorgsIn(t, recs)
	if len(rgs) != 1 || at != 0 {
		t.Fatalf("reorgs %+v at record %d: want one, before anything else", rgs, at)
	}
	if rg := rgs[0]; rg.FromBlock != 0 || rg.OldHash != a.block(0).hash.Hex() || rg.NewHash != b.block(0).hash.Hex() {
		t.Fatalf("reorg %+v: want from the first block 0, chain A's hash to chain B's", rg)
	}
	got, markers := checkStream(t, recs)
	checkAll(t, b, got, 0, b.head()-3)
	for _, m := range markers {
		if m.Hash != b.block(m.Number).hash.Hex() {
			t.Fatalf("marker of block %d is not chain B's", m.Number)
		}
	}
	if !strings.Contains(logs.String(), "the chain is not the one the cursor was written on") {
		t.Fatalf("the resync is not logged with its reason:\n%s", logs)
	}
	noSecrets(t, logs)

	// A third start on chain B resumes: no reorg, nothing read again.
	pub3 := &memPublisher{}
	cfg.Publisher = pub3
	s3, stop3 := start(t, cfg)
	waitFor(t, "resumed on chain B", func() bool { return s3.Stats().Mode == ModeLive && caughtUp(s3, b, 3)() })
	stop3()
	if recs := pub3.records(); len(recs) != 0 {
		t.Fatalf("resuming on the same chain published %d records (first %s)", len(recs), recs[0].subject)
	}
}

// TestDeepReorgResyncs: a reorg deeper than the kept hashes has no known
// fork point; the sentry syncs again from FromBlock, so nothing of the
// abandoned branch from before the oldest kept block survives.
func TestDeepReorgResyncs(t *testing.T) {
	c := newChain(150, spread(150, 5))
	n := newNode(t, c, 1337)
	pub, logs := &memPublisher{}, &syncBuf{}
	cfg := testConfig(t, pub, logs, n)
	s, stop := start(t, cfg)
	waitFor(t, "caught up", caughtUp(s, c, 3))
	waitFor(t, "live", func() bool { return s.Stats().Mode == ModeLive })
	old := map[string]bool{}
	for b := uint64(40); b <= c.head(); b++ {
		old[c.block(b).hash.Hex()] = true
	}
	before := len(pub.records())

	// Blocks 40.. replaced: 106 blocks deep, more than the 3 + 64 kept.
	c.reorg(40, 115, spread(155, 3), 5)
	waitFor(t, "the new branch synced", func() bool { return caughtUp(s, c, 3)() && s.Stats().Reorgs == 1 })
	stop()

	recs := pub.records()[before:]
	// After the resync the chain starts again, as the registry does.
	checkChain(t, pub.records())
	rgs, at := reorgsIn(t, recs)
	if len(rgs) != 1 || rgs[0].FromBlock != 0 || rgs[0].NewHash != c.block(0).hash.Hex() {
		t.Fatalf("reorgs %+v: want one from the first block 0", rgs)
	}
	got, markers := checkStream(t, recs[at+1:])
	checkAll(t, c, got, 0, c.head()-3)
	// The chain is read again in history ranges (markers only for blocks
	// with logs), not block by block as the live blocks were.
	for _, m := range markers {
		if m.Events == 0 && len(m.Skipped) == 0 && m.Number < 140 {
			t.Fatalf("after the resync, block %d without logs got a marker: the history was read block by block", m.Number)
		}
	}
	for _, r := range recs[at+1:] {
		for h := range old {
			if strings.Contains(string(r.data), h) {
				t.Fatalf("published after the resync, of the old branch: %s", r.data)
			}
		}
	}
	if !strings.Contains(logs.String(), "reorg deeper than the 67 blocks kept") {
		t.Fatalf("the resync is not logged with its reason:\n%s", logs)
	}
}
