package bus_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/valtrack/valtrack/internal/bus"
	"github.com/valtrack/valtrack/internal/bus/bustest"
)

func TestPublishBlocksWhilePendingFull(t *testing.T) {
	b := bustest.Embedded(t, func(c *bus.Config) {
		c.MaxPending = 4
		c.PublishAckTimeout = 200 * time.Millisecond
		c.RetryMaxBackoff = 50 * time.Millisecond
	})
	p := b.NewPublisher(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// No stream holds "held.>" yet: nothing can be acknowledged.
	for i := range 4 {
		if err := p.Publish(ctx, "held.net.event", fmt.Sprintf("h-%d", i), []byte("x")); err != nil {
			t.Fatalf("publish %d of 4: %v", i, err)
		}
	}
	if p.Pending() != 4 {
		t.Fatalf("Pending() = %d, want 4", p.Pending())
	}
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	err := p.Publish(short, "held.net.event", "h-4", []byte("x"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("fifth publish with 4 pending returned %v, want context.DeadlineExceeded", err)
	}
	if p.Pending() != 4 {
		t.Fatalf("Pending() = %d after the refused publish, want 4", p.Pending())
	}
	flushShort, cancelFlush := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancelFlush()
	if err := p.Flush(flushShort); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flush with nothing acknowledgeable returned %v, want context.DeadlineExceeded", err)
	}

	// Once the stream exists the held messages are re-sent and stored.
	if err := b.EnsureStream(ctx, "held"); err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("flush after the stream appeared: %v", err)
	}
	if p.Pending() != 0 {
		t.Fatalf("Pending() = %d after flush, want 0", p.Pending())
	}
	if got := streamMsgs(t, b, "held"); got != 4 {
		t.Fatalf("stream holds %d messages, want 4", got)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(ctx, "held.net.event", "h-5", nil); !errors.Is(err, bus.ErrPublisherClosed) {
		t.Fatalf("publish after close returned %v, want ErrPublisherClosed", err)
	}
}

func TestCloseReportsLostMessages(t *testing.T) {
	b := bustest.Embedded(t, func(c *bus.Config) { c.MaxPending = 2 })
	p := b.NewPublisher(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Publish(ctx, "lost.net.event", "l-0", []byte("x")); err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancelShort()
	err := p.Close(short)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close with an unacknowledgeable message returned %v, want an error wrapping DeadlineExceeded", err)
	}
}

func TestPublishRejectsInvalidInput(t *testing.T) {
	b := bustest.Embedded(t)
	p := b.NewPublisher(nil)
	defer p.Close(context.Background())
	ctx := context.Background()
	cases := []struct {
		subject, id string
		data        []byte
	}{
		{"", "id", nil},
		{"a..b", "id", nil},
		{"a.*.b", "id", nil},
		{"a.>", "id", nil},
		{"a b.c", "id", nil},
		{"ethereum.net.event", "", nil},
		{"ethereum.net.event", "id", make([]byte, 2<<20)},
	}
	for _, c := range cases {
		if err := p.Publish(ctx, c.subject, c.id, c.data); err == nil {
			t.Errorf("Publish(%q, %q, %d bytes) succeeded, want an error", c.subject, c.id, len(c.data))
		}
	}
	if p.Pending() != 0 {
		t.Fatalf("Pending() = %d after rejected publishes, want 0", p.Pending())
	}
}

// startServer runs a real nats-server with JetStream on 127.0.0.1:port.
func startServer(t *testing.T, port int, storeDir string) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: storeDir, NoSigs: true, NoLog: true,
	})
	if err != nil {
		t.Fatalf("create nats-server: %v", err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatalf("nats-server on port %d not ready", port)
	}
	return s
}

func TestReconnectWithoutLoss(t *testing.T) {
	port := freePort(t)
	storeDir := t.TempDir()
	srv := startServer(t, port, storeDir)
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Config{
		URL:               fmt.Sprintf("nats://127.0.0.1:%d", port),
		ReconnectWait:     50 * time.Millisecond,
		PublishAckTimeout: time.Second,
		RetryMaxBackoff:   200 * time.Millisecond,
		MaxBytes:          64 << 20,
	}, bustest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.EnsureStream(ctx, "cosmos"); err != nil {
		t.Fatal(err)
	}
	p := b.NewPublisher(nil)
	publish := func(from, to int) {
		for i := from; i < to; i++ {
			if err := p.Publish(ctx, "cosmos.test-1.vote", fmt.Sprintf("v-%d", i), []byte("vote")); err != nil {
				t.Fatalf("publish v-%d: %v", i, err)
			}
		}
	}
	publish(0, 50)
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	publish(50, 60) // possibly in flight when the server goes away
	srv.Shutdown()
	srv.WaitForShutdown()
	publish(60, 100) // held while the server is down
	if p.Pending() == 0 {
		t.Fatal("messages published while the server is down were reported acknowledged")
	}
	srv = startServer(t, port, storeDir)
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("flush after the server came back: %v", err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}

	stream, err := b.JetStream().Stream(ctx, b.StreamName("cosmos"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 100 {
		t.Fatalf("stream holds %d messages, want exactly 100", info.State.Msgs)
	}
	seen := map[string]bool{}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("get message %d: %v", seq, err)
		}
		id := m.Header.Get(jetstream.MsgIDHeader)
		if seen[id] {
			t.Fatalf("message %s stored twice", id)
		}
		seen[id] = true
	}
	for i := range 100 {
		if !seen[fmt.Sprintf("v-%d", i)] {
			t.Fatalf("message v-%d lost across the reconnection", i)
		}
	}
}
