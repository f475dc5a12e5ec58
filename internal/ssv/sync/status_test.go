package sync

import (
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/ssv/events"
)

func lastStatus(t *testing.T, pub *memPublisher) *events.SyncStatus {
	t.Helper()
	rs := pub.statuses()
	if len(rs) == 0 {
		return nil
	}
	e, err := events.Decode(events.KindSyncStatus, rs[len(rs)-1].data)
	if err != nil {
		t.Fatal(err)
	}
	return e.(*events.SyncStatus)
}

// TestStatusFollowsHead: with the periodic status an hour apart, a mode
// change and a head that moved StatusHeadStep blocks still publish a
// status, so /sync's head and lag are current.
func TestStatusFollowsHead(t *testing.T) {
	c := newChain(100, spread(100, 5))
	n := newNode(t, c, 1337)
	pub := &memPublisher{}
	cfg := testConfig(t, pub, &syncBuf{}, n)
	cfg.StatusEvery, cfg.StatusMinGap = time.Hour, time.Millisecond
	s, _ := start(t, cfg)
	waitFor(t, "caught up", caughtUp(s, c, 3))
	waitFor(t, "a live status", func() bool { st := lastStatus(t, pub); return st != nil && st.Mode == ModeLive })

	for range 3 {
		c.extend(StatusHeadStep, nil, 0)
		waitFor(t, "a status with the new head", func() bool {
			st := lastStatus(t, pub)
			return st != nil && st.Head == c.head()
		})
	}
}
