package bus_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/valtrack/valtrack/internal/bus"
	"github.com/valtrack/valtrack/internal/bus/bustest"
)

const benchPayload = 256 // bytes, about one JSON event

// BenchmarkPublishRaw measures the raw JetStream async publish rate to an
// embedded file-store stream: the baseline the pipeline target refers to.
func BenchmarkPublishRaw(b *testing.B) {
	bb := bustest.Embedded(b)
	ctx := context.Background()
	if err := bb.EnsureStream(ctx, "bench"); err != nil {
		b.Fatal(err)
	}
	js, err := jetstream.New(bb.Conn(), jetstream.WithPublishAsyncMaxPending(bus.DefaultMaxPending))
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, benchPayload)
	b.SetBytes(benchPayload)
	b.ResetTimer()
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		if _, err := js.PublishAsync("bench.net.event", data, jetstream.WithMsgID(strconv.Itoa(i))); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		b.Fatal("acknowledgements did not arrive within 30s")
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkPublisher measures the Publisher (bounded pending, re-send
// bookkeeping) on the same setup, to compare with BenchmarkPublishRaw.
func BenchmarkPublisher(b *testing.B) {
	bb := bustest.Embedded(b)
	ctx := context.Background()
	if err := bb.EnsureStream(ctx, "bench"); err != nil {
		b.Fatal(err)
	}
	p := bb.NewPublisher(nil)
	data := make([]byte, benchPayload)
	b.SetBytes(benchPayload)
	b.ResetTimer()
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		if err := p.Publish(ctx, "bench.net.event", strconv.Itoa(i), data); err != nil {
			b.Fatal(err)
		}
	}
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := p.Close(fctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkScanReplays: finding the replays reads the headers of every
// message after the first dead letter; here 20,000 events and 100
// replays follow it. Reported per message looked at.
func BenchmarkScanReplays(b *testing.B) {
	ctx := context.Background()
	bb := bustest.Embedded(b)
	if err := bb.EnsureStream(ctx, "benchdom"); err != nil {
		b.Fatal(err)
	}
	m := &bus.Msg{Subject: "benchdom.test.event", Data: []byte("payload"), MsgID: "id-0", StreamSeq: 1}
	if err := bb.DeadLetter(ctx, "benchdom", "event", m, errors.New("refused")); err != nil {
		b.Fatal(err)
	}
	p := bb.NewPublisher(nil)
	payload := make([]byte, 512)
	const events = 20_000
	for i := range events {
		if err := p.Publish(ctx, "benchdom.test.event", fmt.Sprintf("e-%d", i), payload); err != nil {
			b.Fatal(err)
		}
	}
	if err := p.Close(ctx); err != nil {
		b.Fatal(err)
	}
	l, err := bb.DeadLetterAt(ctx, "benchdom", 1)
	if err != nil {
		b.Fatal(err)
	}
	for range 100 {
		if _, err := bb.Replay(ctx, l); err != nil {
			b.Fatal(err)
		}
		time.Sleep(time.Millisecond) // a new replay id (it holds the unix ms)
	}
	b.ResetTimer()
	for b.Loop() {
		scan, err := bb.ScanReplays(ctx, "benchdom", 0, time.Minute)
		if err != nil || scan.Replays[1].Count != 100 {
			b.Fatalf("ScanReplays: %v, %d replays; want 100", err, scan.Replays[1].Count)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(events+100), "ns/msg")
}

// BenchmarkScopeFlushBesideStuckScope: one scope holds 4,096 messages no
// stream takes; another publishes one message and flushes, per op. The
// flush looks only at its own scope's pending entries, so the cost per op
// is that of one acknowledged round trip whatever the stuck scope holds.
func BenchmarkScopeFlushBesideStuckScope(b *testing.B) {
	const stuckN = 4096
	bb := bustest.Embedded(b, func(c *bus.Config) {
		c.MaxPending = stuckN + 16
		c.RetryMaxBackoff = time.Minute // the stuck ones re-sent rarely, not measured
	})
	ctx := context.Background()
	if err := bb.EnsureStream(ctx, "bench"); err != nil {
		b.Fatal(err)
	}
	p := bb.NewPublisher(nil)
	defer func() {
		// The stuck messages are lost by design; Close must not wait for them.
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_ = p.Close(short)
	}()
	stuck, swift := p.Scope("stuck"), p.Scope("swift")
	for i := range stuckN {
		if err := stuck.Publish(ctx, "stuckbench.net.event", strconv.Itoa(i), []byte("x")); err != nil {
			b.Fatal(err)
		}
	}
	data := make([]byte, benchPayload)
	fctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := swift.Publish(fctx, "bench.net.event", strconv.Itoa(i), data); err != nil {
			b.Fatal(err)
		}
		if err := swift.Flush(fctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if got := stuck.Pending(); got != stuckN {
		b.Fatalf("stuck scope holds %d, want %d", got, stuckN)
	}
}
