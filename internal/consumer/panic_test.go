package consumer

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/valtrack/valtrack/internal/archive"
	"github.com/valtrack/valtrack/internal/bus/bustest"
)

// A Decode that panics on one event does not take the consumer down: the
// event is on the dead-letter subject with the panic, counted, and the rest
// of its batch is applied.
func TestDecodePanicIsSetAside(t *testing.T) {
	h := start(t, Config{BatchSize: 50})
	evs := goodEvents("d", 6)
	evs = append(evs[:3], append([]memEvent{{ID: "crash", Mode: "decode-panic"}}, evs[3:]...)...)
	h.publish(t, evs...)
	waitFor(t, "the good events", func() bool { return h.sink.total() == 6 })
	letters, err := h.bus.DeadLetters(context.Background(), "testdom", 10, 5*time.Second)
	if err != nil || len(letters) != 1 || letters[0].MsgID != "crash" ||
		!strings.Contains(letters[0].Error, "decode") || !strings.Contains(letters[0].Error, "panicked") ||
		!strings.Contains(letters[0].Error, "nil map") {
		t.Fatalf("dead letters %+v, %v; want the panicking event with the panic", letters, err)
	}
	if got := testutil.ToFloat64(h.c.metrics.deadLettered.WithLabelValues("testdom", "thing")); got != 1 {
		t.Errorf("dead-lettered counter = %v, want 1", got)
	}
	if h.sink.count("crash") != 0 {
		t.Error("the event whose decoding panicked was applied")
	}
}

// An Archive that panics on one event (it runs in its own goroutine beside
// Apply) does not take the consumer down: the event is dead-lettered with
// the panic, the others are archived once each and applied.
func TestArchivePanicIsSetAside(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root := t.TempDir()
	arch, err := archive.Open(archive.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	defer arch.Close()
	table, err := archive.Register(arch, "testdom", "things", archive.TableOptions{}, func(r *memRow) archive.RowInfo {
		return archive.RowInfo{Network: r.Network, Time: r.Timestamp, Size: 64, MsgID: r.MsgID}
	})
	if err != nil {
		t.Fatal(err)
	}
	b := bustest.Embedded(t)
	sk := archSink{memSink: newMemSink(), table: table}
	c, err := New(Config{Bus: b, Domain: "testdom", Sink: sk, Archive: arch, BatchSize: 50, MaxWait: 50 * time.Millisecond,
		Registerer: prometheus.NewRegistry(), Log: bustest.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.EnsureStream(ctx, "testdom"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	h := &harness{bus: b, sink: sk.memSink}
	evs := goodEvents("a", 5)
	evs = append(evs[:2], append([]memEvent{{ID: "boom", Mode: "archive-panic"}}, evs[2:]...)...)
	h.publish(t, evs...)
	waitFor(t, "the good events", func() bool { return c.Processed() == 5 })
	letters, err := b.DeadLetters(ctx, "testdom", 10, 5*time.Second)
	if err != nil || len(letters) != 1 || letters[0].MsgID != "boom" || !strings.Contains(letters[0].Error, "archive panicked: archive row bug") {
		t.Fatalf("dead letters %+v, %v; want the panicking event with the panic", letters, err)
	}
	if got := testutil.ToFloat64(c.metrics.deadLettered.WithLabelValues("testdom", "thing")); got != 1 {
		t.Errorf("dead-lettered counter = %v, want 1", got)
	}
	files, _ := filepath.Glob(filepath.Join(root, "parquet", "testdom", "net1", "things", "*", "*", "*.parquet"))
	var ids []string
	for _, f := range files {
		rows, err := parquet.ReadFile[memRow](f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			ids = append(ids, r.ID)
		}
	}
	if len(ids) != 5 || strings.Contains(strings.Join(ids, ","), "boom") {
		t.Errorf("archived %v, want the 5 good events once each", ids)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
