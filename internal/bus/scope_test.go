package bus_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/bus"
	"github.com/valtrack/valtrack/internal/bus/bustest"
)

// scopeBuses runs f on an embedded bus and on the external server
// (VALTRACK_TEST_NATS_URL; skipped without it), with re-sends quick enough
// that a stream made during the test is found at once.
func scopeBuses(t *testing.T, f func(t *testing.T, b *bus.Bus)) {
	quick := func(c *bus.Config) {
		c.MaxPending = 16
		c.PublishAckTimeout = 500 * time.Millisecond
		c.RetryMaxBackoff = 50 * time.Millisecond
	}
	t.Run("embedded", func(t *testing.T) { f(t, bustest.Embedded(t, quick)) })
	t.Run("external", func(t *testing.T) { f(t, bustest.External(t, quick)) })
}

func publishTo(t *testing.T, ctx context.Context, p interface {
	Publish(context.Context, string, string, []byte) error
}, subject, prefix string, n int) {
	t.Helper()
	for i := range n {
		id := fmt.Sprintf("%s-%d", prefix, i)
		if err := p.Publish(ctx, subject, id, []byte("payload "+id)); err != nil {
			t.Fatalf("publish %s on %s: %v", id, subject, err)
		}
	}
}

// TestScopeFlushWaitsOnlyForItsOwnMessages: one scope's messages cannot be
// acknowledged (no stream holds their subject yet, so the publisher keeps
// re-sending them); another scope's Flush still returns as soon as its own
// are stored, while the whole publisher's Flush and the stuck scope's wait
// on, and both return once the missing stream exists.
func TestScopeFlushWaitsOnlyForItsOwnMessages(t *testing.T) {
	scopeBuses(t, func(t *testing.T, b *bus.Bus) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := b.EnsureStream(ctx, "swift"); err != nil {
			t.Fatal(err)
		}
		p := b.NewPublisher(nil)
		defer p.Close(ctx)
		stuck, swift := p.Scope("stuck"), p.Scope("swift")
		if stuck.Name() != "stuck" {
			t.Fatalf("Name() = %q, want stuck", stuck.Name())
		}
		publishTo(t, ctx, stuck, "stuck.net.event", "s", 3)
		publishTo(t, ctx, swift, "swift.net.event", "w", 5)

		if err := swift.Flush(ctx); err != nil {
			t.Fatalf("the swift scope's Flush while another scope's messages are pending: %v", err)
		}
		if got := streamMsgs(t, b, "swift"); got != 5 {
			t.Fatalf("swift stream holds %d messages after its scope's Flush, want 5", got)
		}
		if got := swift.Pending(); got != 0 {
			t.Fatalf("swift Pending() = %d after its Flush, want 0", got)
		}
		if got := stuck.Pending(); got != 3 {
			t.Fatalf("stuck Pending() = %d, want 3 (no stream holds their subject)", got)
		}
		if got := p.Pending(); got != 3 {
			t.Fatalf("publisher Pending() = %d, want the stuck scope's 3", got)
		}
		// Another round: the swift scope's flush waits for its new messages
		// and still not for the stuck ones.
		publishTo(t, ctx, swift, "swift.net.event", "w2", 4)
		if err := swift.Flush(ctx); err != nil {
			t.Fatalf("the swift scope's second Flush: %v", err)
		}
		if got := streamMsgs(t, b, "swift"); got != 9 {
			t.Fatalf("swift stream holds %d messages after the second Flush, want 9", got)
		}

		short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancelShort()
		if err := p.Flush(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("the whole publisher's Flush with the stuck scope's messages pending returned %v, want context.DeadlineExceeded", err)
		}
		if err := stuck.Flush(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("the stuck scope's Flush returned %v, want context.DeadlineExceeded", err)
		}

		// Both wait together; the stream appears; both return.
		whole := make(chan error, 1)
		go func() { whole <- p.Flush(ctx) }()
		if err := b.EnsureStream(ctx, "stuck"); err != nil {
			t.Fatal(err)
		}
		if err := stuck.Flush(ctx); err != nil {
			t.Fatalf("the stuck scope's Flush once its stream exists: %v", err)
		}
		if err := <-whole; err != nil {
			t.Fatalf("the whole publisher's Flush once every stream exists: %v", err)
		}
		if got := streamMsgs(t, b, "stuck"); got != 3 {
			t.Fatalf("stuck stream holds %d messages, want 3", got)
		}
		if got := p.Pending(); got != 0 {
			t.Fatalf("publisher Pending() = %d after every flush, want 0", got)
		}
		if err := p.Close(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestScopesShareThePendingLimit: scopes are views, not publishers of their
// own: one scope holding MaxPending unacknowledged messages blocks the
// others' Publish (the process's memory bound stays one bound).
func TestScopesShareThePendingLimit(t *testing.T) {
	b := bustest.Embedded(t, func(c *bus.Config) {
		c.MaxPending = 3
		c.RetryMaxBackoff = 50 * time.Millisecond
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.EnsureStream(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	p := b.NewPublisher(nil)
	defer p.Close(ctx)
	full, other := p.Scope("full"), p.Scope("other")
	publishTo(t, ctx, full, "full.net.event", "f", 3)
	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancelShort()
	if err := other.Publish(short, "other.net.event", "o-0", []byte("x")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("publish in another scope while the publisher holds MaxPending returned %v, want context.DeadlineExceeded", err)
	}
	if got := other.Pending(); got != 0 {
		t.Fatalf("other Pending() = %d after its refused publish, want 0", got)
	}
	if err := b.EnsureStream(ctx, "full"); err != nil {
		t.Fatal(err)
	}
	if err := other.Publish(ctx, "other.net.event", "o-0", []byte("x")); err != nil {
		t.Fatalf("publish once the slots were freed: %v", err)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := streamMsgs(t, b, "full") + streamMsgs(t, b, "other"); got != 4 {
		t.Fatalf("the streams hold %d messages, want 4", got)
	}
}

// TestScopeAndClose: Close waits for every scope's messages and reports
// those it lost; afterwards a scope whose messages were lost says so
// (ErrPublisherClosed) instead of claiming them acknowledged, a scope whose
// messages were all stored flushes cleanly, a Flush waiting when Close
// gives up returns ErrPublisherClosed, and Publish is refused.
func TestScopeAndClose(t *testing.T) {
	scopeBuses(t, func(t *testing.T, b *bus.Bus) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := b.EnsureStream(ctx, "kept"); err != nil {
			t.Fatal(err)
		}
		p := b.NewPublisher(nil)
		kept, lost := p.Scope("kept"), p.Scope("lost")
		publishTo(t, ctx, kept, "kept.net.event", "k", 2)
		if err := kept.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		publishTo(t, ctx, lost, "lost.net.event", "l", 2)
		waiting := make(chan error, 1)
		go func() { waiting <- lost.Flush(ctx) }()

		short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancelShort()
		err := p.Close(short)
		if err == nil || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Close with a scope's messages unacknowledgeable returned %v, want an error wrapping DeadlineExceeded", err)
		}
		if err := <-waiting; !errors.Is(err, bus.ErrPublisherClosed) {
			t.Fatalf("a scope's Flush waiting when Close gave up returned %v, want ErrPublisherClosed", err)
		}
		if err := lost.Flush(ctx); !errors.Is(err, bus.ErrPublisherClosed) {
			t.Fatalf("the lossy scope's Flush after Close returned %v, want ErrPublisherClosed", err)
		}
		if err := p.Flush(ctx); !errors.Is(err, bus.ErrPublisherClosed) {
			t.Fatalf("the publisher's Flush after a Close that lost messages returned %v, want ErrPublisherClosed", err)
		}
		if err := kept.Flush(ctx); err != nil {
			t.Fatalf("the Flush of a scope whose messages were all stored, after Close, returned %v, want nil", err)
		}
		if err := kept.Publish(ctx, "kept.net.event", "k-late", nil); !errors.Is(err, bus.ErrPublisherClosed) {
			t.Fatalf("a scope's Publish after Close returned %v, want ErrPublisherClosed", err)
		}
		if got := lost.Pending(); got != 0 {
			t.Fatalf("lost Pending() = %d after Close, want 0 (dropped)", got)
		}
		if err := p.Close(ctx); err != nil {
			t.Fatalf("a second Close returned %v, want nil", err)
		}
	})
}

// TestCloseWaitsForEveryScope: Close, like the whole publisher's Flush,
// waits for the messages of every scope, and returns cleanly once they are
// all stored.
func TestCloseWaitsForEveryScope(t *testing.T) {
	scopeBuses(t, func(t *testing.T, b *bus.Bus) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := b.EnsureStream(ctx, "early"); err != nil {
			t.Fatal(err)
		}
		p := b.NewPublisher(nil)
		early, late := p.Scope("early"), p.Scope("late")
		publishTo(t, ctx, early, "early.net.event", "e", 3)
		publishTo(t, ctx, late, "late.net.event", "l", 3)
		if err := early.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		closed := make(chan error, 1)
		go func() { closed <- p.Close(ctx) }()
		if err := b.EnsureStream(ctx, "late"); err != nil {
			t.Fatal(err)
		}
		if err := <-closed; err != nil {
			t.Fatalf("Close once every stream exists: %v", err)
		}
		if got := streamMsgs(t, b, "late"); got != 3 {
			t.Fatalf("late stream holds %d messages after Close, want 3", got)
		}
		if err := late.Flush(ctx); err != nil {
			t.Fatalf("Flush after a Close that stored everything: %v", err)
		}
	})
}
