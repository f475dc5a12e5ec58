package sync

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/bus"
	"github.com/valtrack/valtrack/internal/domain"
)

// ackPublisher is a bus whose acknowledgements can be withheld: Publish
// queues (recorded), and Flush returns only while ack is set — else it
// waits for its context, as bus.Publisher.Flush does during an outage.
type ackPublisher struct {
	memPublisher
	ack     atomic.Bool
	flushes atomic.Int64
}

func (p *ackPublisher) Flush(ctx context.Context) error {
	p.flushes.Add(1)
	if p.ack.Load() {
		return nil
	}
	<-ctx.Done()
	return ctx.Err()
}

// TestCursorWaitsForTheBusAck: while the bus acknowledges nothing (an
// outage: the messages sit in the publisher's memory and a stop loses
// them), the cursor does not move past them, so the next start publishes
// every block again; once acknowledged, it moves, and a start after that
// publishes nothing again.
func TestCursorWaitsForTheBusAck(t *testing.T) {
	c := newChain(80, spread(80, 4))
	n := newNode(t, c, 1337)
	lost := &ackPublisher{}
	logs := &syncBuf{}
	cfg := testConfig(t, &lost.memPublisher, logs, n)
	cfg.Publisher, cfg.AckWait = lost, 20*time.Millisecond
	s, stop := start(t, cfg)
	waitFor(t, "published up to the target", caughtUp(s, c, 3))
	waitFor(t, "live", func() bool { return s.Stats().Mode == ModeLive })
	stop()
	if lost.flushes.Load() == 0 {
		t.Fatal("the sentry never waited for the bus's acknowledgement")
	}
	if !strings.Contains(logs.String(), "the bus has not acknowledged the published blocks") {
		t.Fatalf("the unacknowledged blocks are not logged:\n%s", logs)
	}
	d, err := newCursor(cfg.DataDir, cfg.Network).load(cfg.Network, cfg.Contract)
	if err != nil {
		t.Fatal(err)
	}
	if d != nil && d.Processed >= 0 {
		t.Fatalf("the cursor moved to block %d while the bus acknowledged nothing", d.Processed)
	}

	// The bus is back: everything is published again, and acknowledged.
	pub := &ackPublisher{}
	pub.ack.Store(true)
	cfg.Publisher = pub
	s2, stop2 := start(t, cfg)
	waitFor(t, "caught up again", caughtUp(s2, c, 3))
	stop2()
	got, _ := checkStream(t, pub.records())
	checkAll(t, c, got, 0, c.head()-3)
	d, err = newCursor(cfg.DataDir, cfg.Network).load(cfg.Network, cfg.Contract)
	if err != nil || d == nil || d.Processed != int64(c.head()-3) {
		t.Fatalf("cursor %+v, %v: want block %d once acknowledged", d, err, c.head()-3)
	}

	again := &ackPublisher{}
	again.ack.Store(true)
	cfg.Publisher = again
	s3, stop3 := start(t, cfg)
	waitFor(t, "resumed", func() bool { return s3.Stats().Mode == ModeLive && caughtUp(s3, c, 3)() })
	stop3()
	if recs := again.records(); len(recs) != 0 {
		t.Fatalf("after the acknowledged sync a start published %d records again (first %s)", len(recs), recs[0].subject)
	}
}

// The bus's publisher and its scopes (what the platform gives the sentry)
// are ones the sentry waits for.
var (
	_ domain.Flusher = (*bus.Publisher)(nil)
	_ domain.Flusher = (*bus.Scope)(nil)
)
