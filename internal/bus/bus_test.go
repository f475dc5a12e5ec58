package bus_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/valtrack/valtrack/internal/bus"
	"github.com/valtrack/valtrack/internal/bus/bustest"
)

// testPublishConsume publishes n messages plus duplicates of some ids and
// checks that the stream holds n and a durable consumer receives each once.
func testPublishConsume(t *testing.T, b *bus.Bus) {
	const domain, n, dups = "ethereum", 200, 10
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.EnsureStream(ctx, domain); err != nil {
		t.Fatal(err)
	}
	publishN(t, b, domain, "m", 0, n)
	// Same ids again, different data: the stream must drop them.
	p := b.NewPublisher(nil)
	for i := range dups {
		if err := p.Publish(ctx, "ethereum.test.event", fmt.Sprintf("m-%d", i), []byte("dup")); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := streamMsgs(t, b, domain); got != n {
		t.Fatalf("stream holds %d messages, want %d (duplicates must be dropped)", got, n)
	}

	c := consumeAll(t, b, bus.ConsumeConfig{Domain: domain, Durable: "archive", BatchSize: 50, MaxWait: 100 * time.Millisecond}, n)
	for i := range n {
		id := fmt.Sprintf("m-%d", i)
		if c.seen[id] != 1 {
			t.Fatalf("message %s delivered %d times, want 1", id, c.seen[id])
		}
		m := c.msgs[id]
		if m.Subject != "ethereum.test.event" || string(m.Data) != "payload "+id || m.StreamSeq == 0 || m.NumDelivered != 1 {
			t.Fatalf("message %s = subject %q data %q seq %d delivered %d", id, m.Subject, m.Data, m.StreamSeq, m.NumDelivered)
		}
	}
	info := consumerInfo(t, b, domain, "archive")
	if info.NumAckPending != 0 || info.NumPending != 0 {
		t.Fatalf("consumer has %d unacknowledged and %d undelivered messages, want 0 and 0", info.NumAckPending, info.NumPending)
	}
}

func TestEmbeddedPublishConsumeDedupe(t *testing.T) {
	reg := prometheus.NewRegistry()
	b := bustest.Embedded(t, func(c *bus.Config) { c.Registerer = reg })
	if !b.Embedded() || b.ClientURL() != "in-process" {
		t.Fatalf("Embedded() = %v, ClientURL() = %q; want true, in-process", b.Embedded(), b.ClientURL())
	}
	testPublishConsume(t, b)
	m := b.Metrics()
	// 200 new and 10 duplicates are all acknowledged by the stream.
	if got := metricValue(t, m.Published); got != 210 {
		t.Errorf("published_total = %v, want 210", got)
	}
	if got := metricValue(t, m.Pending); got != 0 {
		t.Errorf("publish_pending = %v, want 0", got)
	}
	if got := metricValue(t, m.Consumed); got != 200 {
		t.Errorf("consumed_total = %v, want 200", got)
	}
	if got := metricValue(t, m.Acked); got != 200 {
		t.Errorf("acked_total = %v, want 200", got)
	}
	if fams, err := reg.Gather(); err != nil || len(fams) != 7 {
		t.Errorf("registry holds %d metric families (err %v), want 7", len(fams), err)
	}
}

func TestExternalPublishConsume(t *testing.T) {
	b := bustest.External(t)
	if b.Embedded() {
		t.Fatal("external bus reports Embedded")
	}
	testPublishConsume(t, b)
}

func TestEmbeddedListenAddr(t *testing.T) {
	port := freePort(t)
	b := bustest.Embedded(t, func(c *bus.Config) { c.ListenAddr = fmt.Sprintf("127.0.0.1:%d", port) })
	want := fmt.Sprintf("nats://127.0.0.1:%d", port)
	if b.ClientURL() != want {
		t.Fatalf("ClientURL() = %q, want %q", b.ClientURL(), want)
	}
	// A second bus reaches the embedded server over TCP and sees its stream.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.EnsureStream(ctx, "cosmos"); err != nil {
		t.Fatal(err)
	}
	other, err := bus.Open(ctx, bus.Config{URL: want}, bustest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	publishN(t, other, "cosmos", "c", 0, 5)
	if got := streamMsgs(t, b, "cosmos"); got != 5 {
		t.Fatalf("stream holds %d messages, want 5", got)
	}
}

func TestRestartKeepsMessagesAndConsumerPosition(t *testing.T) {
	dir := t.TempDir()
	cfg := bus.Config{DataDir: dir, MaxBytes: 64 << 20}
	cc := bus.ConsumeConfig{Domain: "ssv", Durable: "state", BatchSize: 4, MaxWait: 100 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	b, err := bus.Open(ctx, cfg, bustest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.EnsureStream(ctx, "ssv"); err != nil {
		t.Fatal(err)
	}
	publishN(t, b, "ssv", "s", 0, 10)
	consumeAll(t, b, cc, 10)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b, err = bus.Open(ctx, cfg, bustest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got := streamMsgs(t, b, "ssv"); got != 10 {
		t.Fatalf("after restart the stream holds %d messages, want 10", got)
	}
	info := consumerInfo(t, b, "ssv", "state")
	if info.AckFloor.Stream != 10 || info.NumPending != 0 {
		t.Fatalf("after restart the consumer's ack floor is %d with %d pending, want 10 and 0", info.AckFloor.Stream, info.NumPending)
	}
	publishN(t, b, "ssv", "s", 10, 5)
	c := consumeAll(t, b, cc, 5)
	for id := range c.seen {
		var i int
		if _, err := fmt.Sscanf(id, "s-%d", &i); err != nil || i < 10 {
			t.Fatalf("after restart the consumer received %s again; acked messages must not be redelivered", id)
		}
	}
	if len(c.seen) != 5 {
		t.Fatalf("after restart the consumer received %d messages, want 5", len(c.seen))
	}
}

func metricValue(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		t.Fatalf("read metric: %v", err)
	}
	switch {
	case out.Counter != nil:
		return out.Counter.GetValue()
	case out.Gauge != nil:
		return out.Gauge.GetValue()
	}
	t.Fatalf("metric %v is neither counter nor gauge", m.Desc())
	return 0
}
