package bus_test

import (
	"context"
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
