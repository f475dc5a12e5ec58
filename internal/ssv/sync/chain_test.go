package sync

import (
	"testing"

	"github.com/valtrack/valtrack/internal/ssv/events"
)

// markersOf returns the markers among records.
func markersOf(t *testing.T, recs []record) []*events.Block {
	t.Helper()
	var out []*events.Block
	for _, r := range recs {
		if v, err := events.Decode(events.KindBlock, r.data); err == nil && r.subject == events.Subject("testnet", events.KindBlock) {
			out = append(out, v.(*events.Block))
		}
	}
	return out
}

// TestReplayChainsFromTheKeptMarkers: a replay (--ssv-replay-from)
// within the kept blocks starts its chain at the last marker published
// before the replay block, which the consumer has applied — its replayed
// blocks are no gap; one older than every kept block names no previous
// marker (not checked) rather than guess one.
func TestReplayChainsFromTheKeptMarkers(t *testing.T) {
	c := newChain(120, spread(120, 5))
	n := newNode(t, c, 1337)
	pub, logs := &memPublisher{}, &syncBuf{}
	cfg := testConfig(t, pub, logs, n)
	s, stop := start(t, cfg)
	waitFor(t, "live", func() bool { return caughtUp(s, c, 3)() && s.Stats().Mode == ModeLive })
	c.extend(5, nil, 0)
	waitFor(t, "live blocks", caughtUp(s, c, 3))
	stop()
	first := markersOf(t, pub.records())
	tip := c.head() - 3

	for _, tc := range []struct {
		from uint64
		want func() *uint64
	}{
		{tip - 4, func() *uint64 { // within the kept blocks: the last marker before it
			var last *uint64
			for _, m := range first {
				if m.Number < tip-4 {
					last = &m.Number
				}
			}
			return last
		}},
		{7, func() *uint64 { return nil }}, // before every kept block
	} {
		rp := &memPublisher{}
		cfg.Publisher = rp
		from := tc.from
		cfg.ReplayFrom = &from
		s, stop := start(t, cfg)
		waitFor(t, "replayed", caughtUp(s, c, 3))
		stop()
		ms := markersOf(t, rp.records())
		if len(ms) == 0 || ms[0].Number < from {
			t.Fatalf("replay from %d: markers %v", from, ms)
		}
		want := tc.want()
		if got := ms[0].PrevMarker; fmtPrev(got) != fmtPrev(want) {
			t.Errorf("replay from %d: the first marker (block %d) names previous marker %s, want %s", from, ms[0].Number, fmtPrev(got), fmtPrev(want))
		}
		if from == tip-4 && want == nil {
			t.Fatal("no marker before the replay block: the case proves nothing")
		}
		for i := 1; i < len(ms); i++ {
			if p := ms[i].PrevMarker; p == nil || *p != ms[i-1].Number {
				t.Fatalf("replay from %d: marker of block %d names %s, want %d", from, ms[i].Number, fmtPrev(p), ms[i-1].Number)
			}
		}
	}
}
