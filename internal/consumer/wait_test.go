package consumer

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/valtrack/valtrack/internal/bus/bustest"
)

// A consumer with WaitForStream reserves no stream of its own: it waits for
// the domain's sentry to make it, then consumes what was published.
func TestWaitForStreamDoesNotCreateTheStream(t *testing.T) {
	old := streamPoll
	streamPoll = 10 * time.Millisecond
	t.Cleanup(func() { streamPoll = old })
	h := &harness{bus: bustest.Embedded(t), sink: newMemSink(), reg: prometheus.NewRegistry()}
	c, err := New(Config{Bus: h.bus, Domain: "testdom", Sink: h.sink, Registerer: h.reg, Log: bustest.Logger(),
		MaxWait: 50 * time.Millisecond, WaitForStream: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && ctx.Err() == nil {
			t.Errorf("consumer: %v", err)
		}
	})
	// Give the consumer polls to (wrongly) make the stream.
	time.Sleep(100 * time.Millisecond)
	if ok, err := h.bus.StreamExists(ctx, "testdom"); err != nil || ok {
		t.Fatalf("StreamExists = %v, %v before any sentry made it; want false (the consumer must not reserve it)", ok, err)
	}
	if err := h.bus.EnsureStream(ctx, "testdom"); err != nil { // what the sentry does
		t.Fatal(err)
	}
	h.publish(t, goodEvents("w", 3)...)
	waitFor(t, "the events after the stream appeared", func() bool { return h.sink.total() == 3 })
}
