package sync

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/bus"
	"github.com/valtrack/valtrack/internal/bus/bustest"
)

// TestCursorAdvancesWhileAnotherDomainIsPending: one bus publisher for the
// process, as `valtrack run` has; another domain's messages sit in it
// unacknowledged (no stream holds their subject, so they are re-sent and
// never stored). The SSV sentry, given its own scope of that publisher,
// still moves its cursor once its own messages are stored. Given the whole
// publisher instead, its flush waits for the other domain's messages too,
// and the cursor stays behind: the difference the scope makes.
func TestCursorAdvancesWhileAnotherDomainIsPending(t *testing.T) {
	b := bustest.Embedded(t, func(c *bus.Config) { c.RetryMaxBackoff = 50 * time.Millisecond })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := b.EnsureStream(ctx, "ssv"); err != nil {
		t.Fatal(err)
	}
	p := b.NewPublisher(nil)
	defer func() {
		// The other domain's messages are never stored, by design.
		short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		_ = p.Close(short)
	}()
	other := p.Scope("ethereum")
	for i := range 5 {
		if err := other.Publish(ctx, "ethereum.mainnet.metadata_received", fmt.Sprintf("m-%d", i), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}

	c := newChain(60, spread(60, 4))
	n := newNode(t, c, 1337)
	logs := &syncBuf{}
	cfg := testConfig(t, &memPublisher{}, logs, n)
	cfg.Publisher, cfg.AckWait = p.Scope("ssv/testnet"), 5*time.Second
	s, stop := start(t, cfg)
	want := int64(c.head() - 3)
	cursorAt := func(dir string) int64 {
		d, err := newCursor(dir, cfg.Network).load(cfg.Network, cfg.Contract)
		if err != nil {
			t.Fatalf("load the cursor: %v", err)
		}
		if d == nil {
			return -1
		}
		return d.Processed
	}
	waitFor(t, "published up to the target", caughtUp(s, c, 3))
	waitFor(t, "the cursor at the target", func() bool { return cursorAt(cfg.DataDir) == want })
	stop()
	if got := other.Pending(); got != 5 {
		t.Fatalf("the other domain's scope holds %d messages, want its 5 still unacknowledged", got)
	}
	if strings.Contains(logs.String(), "the bus has not acknowledged the published blocks") {
		t.Fatalf("the sentry waited for messages not its own:\n%s", logs)
	}

	// The same sentry on the whole publisher: the cursor stays behind.
	logs2 := &syncBuf{}
	cfg2 := testConfig(t, &memPublisher{}, logs2, n)
	cfg2.Publisher, cfg2.AckWait = p, 20*time.Millisecond
	s2, stop2 := start(t, cfg2)
	waitFor(t, "published up to the target on the whole publisher", caughtUp(s2, c, 3))
	waitFor(t, "the unacknowledged wait logged", func() bool {
		return strings.Contains(logs2.String(), "the bus has not acknowledged the published blocks")
	})
	stop2()
	if got := cursorAt(cfg2.DataDir); got >= 0 {
		t.Fatalf("on the whole publisher the cursor moved to block %d while another domain's messages were pending", got)
	}
}
