package bus_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/ports"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/valtrack/valtrack/internal/bus"
)

// publishN publishes n messages on domain.test.event with ids prefix-0..n-1
// and waits for their acknowledgement.
func publishN(t *testing.T, b *bus.Bus, domain, prefix string, from, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p := b.NewPublisher(nil)
	for i := from; i < from+n; i++ {
		id := fmt.Sprintf("%s-%d", prefix, i)
		if err := p.Publish(ctx, domain+".test.event", id, []byte("payload "+id)); err != nil {
			t.Fatalf("publish %s: %v", id, err)
		}
	}
	if err := p.Close(ctx); err != nil {
		t.Fatalf("close publisher: %v", err)
	}
}

func streamMsgs(t *testing.T, b *bus.Bus, domain string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := b.JetStream().Stream(ctx, b.StreamName(domain))
	if err != nil {
		t.Fatalf("look up stream: %v", err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatalf("stream info: %v", err)
	}
	return info.State.Msgs
}

func consumerInfo(t *testing.T, b *bus.Bus, domain, durable string) *jetstream.ConsumerInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := b.JetStream().Consumer(ctx, b.StreamName(domain), durable)
	if err != nil {
		t.Fatalf("look up consumer %s: %v", durable, err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatalf("consumer info: %v", err)
	}
	return info
}

// collector records deliveries per message id and stops Consume once want
// distinct ids were seen.
type collector struct {
	mu     sync.Mutex
	seen   map[string]int // msg id -> deliveries acked
	msgs   map[string]*bus.Msg
	want   int
	cancel context.CancelFunc
}

func newCollector(want int, cancel context.CancelFunc) *collector {
	return &collector{seen: map[string]int{}, msgs: map[string]*bus.Msg{}, want: want, cancel: cancel}
}

func (c *collector) handle(_ context.Context, batch []*bus.Msg) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range batch {
		c.seen[m.MsgID]++
		c.msgs[m.MsgID] = m
	}
	if len(c.seen) >= c.want {
		c.cancel()
	}
	return nil
}

// consumeAll runs Consume until want distinct messages arrived (or 20 s).
func consumeAll(t *testing.T, b *bus.Bus, cc bus.ConsumeConfig, want int) *collector {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := newCollector(want, cancel)
	if err := b.Consume(ctx, cc, c.handle); err != nil {
		t.Fatalf("consume: %v", err)
	}
	if len(c.seen) < want {
		t.Fatalf("consumed %d distinct messages, want %d", len(c.seen), want)
	}
	return c
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := ports.Run(1)
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	return p
}
