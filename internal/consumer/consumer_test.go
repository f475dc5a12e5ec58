package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/valtrack/valtrack/internal/archive"
	"github.com/valtrack/valtrack/internal/bus"
	"github.com/valtrack/valtrack/internal/bus/bustest"
)

// memSink is a domain for the consumer's tests: events are {"id": …,
// "mode": …}, applied to a map keyed by message id (idempotent, like a real
// sink). mode "refused" makes any batch holding it fail as a store refusal
// would, "panic" makes the sink panic, and outages make the next Apply
// calls fail as an unreachable store would.
type memSink struct {
	mu      sync.Mutex
	applied map[string]int // msg id → times applied
	calls   int
	outages int
}

type memEvent struct {
	ID   string `json:"id"`
	Mode string `json:"mode"`
}

func newMemSink() *memSink { return &memSink{applied: map[string]int{}} }

func (s *memSink) Decode(kind string, data []byte) (any, error) {
	if kind != "thing" {
		return nil, fmt.Errorf("unknown kind %q", kind)
	}
	var e memEvent
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, err
	}
	if e.Mode == "decode-panic" {
		var m map[string]int
		m["x"]++ // a nil map: a real decoder bug
	}
	return &e, nil
}

func (s *memSink) Apply(_ context.Context, evs []Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.outages > 0 {
		s.outages--
		return errors.New("dial tcp 127.0.0.1:5432: connection refused")
	}
	for _, ev := range evs {
		switch ev.Value.(*memEvent).Mode {
		case "refused":
			return fmt.Errorf("insert: %w: value out of range", ErrRejected)
		case "panic":
			panic("sink bug")
		case "odd":
			// Neither a refusal the store names nor an outage: an error
			// only this event causes.
			return errors.New("odd failure of this event")
		}
	}
	for _, ev := range evs {
		s.applied[ev.MsgID]++
	}
	return nil
}

func (s *memSink) Archive([]Event) error { return nil }

func (s *memSink) count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applied[id]
}

func (s *memSink) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.applied)
}

type harness struct {
	bus  *bus.Bus
	sink *memSink
	reg  *prometheus.Registry
	c    *Consumer
}

func start(t *testing.T, cfg Config) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{bus: bustest.Embedded(t), sink: newMemSink(), reg: prometheus.NewRegistry()}
	cfg.Bus, cfg.Domain, cfg.Sink, cfg.Registerer, cfg.Log = h.bus, "testdom", h.sink, h.reg, bustest.Logger()
	if cfg.MaxWait == 0 {
		cfg.MaxWait = 50 * time.Millisecond
	}
	var err error
	if h.c, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	if err := h.bus.EnsureStream(ctx, "testdom"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("consumer: %v", err)
		}
	})
	go func() { done <- h.c.Run(ctx) }()
	return h
}

func (h *harness) publish(t *testing.T, evs ...memEvent) {
	t.Helper()
	pub := h.bus.NewPublisher(nil)
	for _, e := range evs {
		data, _ := json.Marshal(e)
		if err := pub.Publish(context.Background(), "testdom.net1.thing", e.ID, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func goodEvents(prefix string, n int) []memEvent {
	var out []memEvent
	for i := range n {
		out = append(out, memEvent{ID: fmt.Sprintf("%s-%02d", prefix, i)})
	}
	return out
}

// One refused event among good ones: the good ones are applied, the bad one
// is on testdom.dlq.thing with the error, counted, and never redelivered.
func TestRefusedEventIsSetAsideAndTheRestApplied(t *testing.T) {
	h := start(t, Config{BatchSize: 50, AckWait: time.Second})
	evs := goodEvents("good", 20)
	evs = append(evs[:7], append([]memEvent{{ID: "bad", Mode: "refused"}}, evs[7:]...)...)
	h.publish(t, evs...)
	waitFor(t, "the good events", func() bool { return h.sink.total() == 20 })
	letters, err := h.bus.DeadLetters(context.Background(), "testdom", 10, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(letters) != 1 || letters[0].MsgID != "bad" || letters[0].Subject != "testdom.dlq.thing" ||
		letters[0].Original != "testdom.net1.thing" || !strings.Contains(letters[0].Error, "value out of range") {
		t.Fatalf("dead letters: %+v", letters)
	}
	if got := testutil.ToFloat64(h.c.metrics.deadLettered.WithLabelValues("testdom", "thing")); got != 1 {
		t.Errorf("dead-lettered counter = %v, want 1", got)
	}
	time.Sleep(1500 * time.Millisecond) // past AckWait: nothing comes back
	for _, e := range goodEvents("good", 20) {
		if n := h.sink.count(e.ID); n != 1 {
			t.Errorf("%s applied %d times, want once", e.ID, n)
		}
	}
	if n := h.sink.count("bad"); n != 0 {
		t.Errorf("refused event applied %d times", n)
	}
	if got := h.c.Processed(); got != 20 {
		t.Errorf("processed %d, want 20", got)
	}
}

// A sink that panics on one event does not take the consumer down.
func TestPanickingEventIsSetAside(t *testing.T) {
	h := start(t, Config{BatchSize: 50})
	h.publish(t, append(goodEvents("ok", 5), memEvent{ID: "boom", Mode: "panic"})...)
	waitFor(t, "the good events", func() bool { return h.sink.total() == 5 })
	letters, err := h.bus.DeadLetters(context.Background(), "testdom", 10, 5*time.Second)
	if err != nil || len(letters) != 1 || letters[0].MsgID != "boom" || !strings.Contains(letters[0].Error, "panicked") {
		t.Fatalf("dead letters %+v, %v", letters, err)
	}
}

// An outage is not a refusal: the batch is retried in place (not
// redelivered, not dead-lettered) until the store answers again.
func TestOutageRetriesTheBatchInPlace(t *testing.T) {
	h := start(t, Config{BatchSize: 50, RetryMax: 20 * time.Millisecond})
	h.sink.mu.Lock()
	h.sink.outages = 6
	h.sink.mu.Unlock()
	h.publish(t, goodEvents("e", 10)...)
	waitFor(t, "the events after the outage", func() bool { return h.sink.total() == 10 })
	for _, e := range goodEvents("e", 10) {
		if n := h.sink.count(e.ID); n != 1 {
			t.Errorf("%s applied %d times", e.ID, n)
		}
	}
	if got := testutil.ToFloat64(h.c.metrics.retries.WithLabelValues("testdom")); got < 6 {
		t.Errorf("retries = %v, want at least the 6 failed attempts", got)
	}
	if letters, _ := h.bus.DeadLetters(context.Background(), "testdom", 10, 300*time.Millisecond); len(letters) != 0 {
		t.Errorf("an outage dead-lettered events: %+v", letters)
	}
}

// On the last delivery the server allows, an event that still cannot be
// applied — it fails alone while the rest of the batch applies — is set
// aside rather than dropped.
func TestLastDeliverySetsAsideInsteadOfDropping(t *testing.T) {
	h := start(t, Config{BatchSize: 50, MaxDeliver: 1, RetryMax: 10 * time.Millisecond})
	h.publish(t, append(goodEvents("x", 3), memEvent{ID: "odd", Mode: "odd"})...)
	var letters []bus.Letter
	waitFor(t, "one dead letter", func() bool {
		letters, _ = h.bus.DeadLetters(context.Background(), "testdom", 10, 200*time.Millisecond)
		return len(letters) == 1
	})
	if letters[0].MsgID != "odd" || !strings.Contains(letters[0].Error, "last delivery") || !strings.Contains(letters[0].Error, "odd failure") {
		t.Errorf("dead letter %+v does not say which and why", letters[0])
	}
	waitFor(t, "the good events", func() bool { return h.sink.total() == 3 })
}

// A store that is down fails every event alike: even on their last
// delivery, nothing is dead-lettered; the consumer reports unhealthy, waits
// for the store and then applies everything.
func TestOutageOnLastDeliveryDeadLettersNothing(t *testing.T) {
	h := start(t, Config{BatchSize: 50, MaxDeliver: 1, RetryMax: 10 * time.Millisecond})
	h.sink.mu.Lock()
	h.sink.outages = 1 << 30
	h.sink.mu.Unlock()
	h.publish(t, goodEvents("y", 3)...)
	waitFor(t, "retries and an unhealthy consumer", func() bool {
		return testutil.ToFloat64(h.c.metrics.retries.WithLabelValues("testdom")) >= 10 && h.c.Healthy() != nil
	})
	if err := h.c.Healthy(); !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "3 events") {
		t.Errorf("Healthy() = %v; want the failing batch and the store's error", err)
	}
	if letters, _ := h.bus.DeadLetters(context.Background(), "testdom", 10, 300*time.Millisecond); len(letters) != 0 {
		t.Fatalf("a store outage dead-lettered events on their last delivery: %+v", letters)
	}
	h.sink.mu.Lock()
	h.sink.outages = 0 // the store is back
	h.sink.mu.Unlock()
	waitFor(t, "the events after the outage", func() bool { return h.sink.total() == 3 })
	waitFor(t, "a healthy consumer", func() bool { return h.c.Healthy() == nil })
	if letters, _ := h.bus.DeadLetters(context.Background(), "testdom", 10, 300*time.Millisecond); len(letters) != 0 {
		t.Errorf("dead letters after the outage: %+v", letters)
	}
}

// Dead letters live in the domain's stream; the consumer passes over them.
func TestDeadLettersAreNotConsumedAsEvents(t *testing.T) {
	h := start(t, Config{BatchSize: 50})
	pub := h.bus.NewPublisher(nil)
	if err := pub.Publish(context.Background(), bus.DeadLetterSubject("testdom", "thing"), "dlq-old", []byte(`{"id":"old"}`)); err != nil {
		t.Fatal(err)
	}
	if err := pub.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.publish(t, goodEvents("n", 2)...)
	waitFor(t, "the events", func() bool { return h.sink.total() == 2 })
	if h.sink.count("dlq-old") != 0 {
		t.Error("a dead letter was applied as an event")
	}
	if got := testutil.ToFloat64(h.c.metrics.rejected.WithLabelValues("testdom", "unknown")); got != 0 {
		t.Errorf("a dead letter was refused as unreadable (%v)", got)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	b := bustest.Embedded(t)
	for what, cfg := range map[string]Config{
		"no sink":        {Bus: b, Domain: "x"},
		"no domain":      {Bus: b, Sink: newMemSink()},
		"negative batch": {Bus: b, Domain: "x", Sink: newMemSink(), BatchSize: -1},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", what)
		}
	}
}

// Consumers of two domains in one process share the metrics registry.
func TestTwoDomainsShareMetrics(t *testing.T) {
	b := bustest.Embedded(t)
	reg := prometheus.NewRegistry()
	for _, d := range []string{"one", "two"} {
		if _, err := New(Config{Bus: b, Domain: d, Sink: newMemSink(), Registerer: reg}); err != nil {
			t.Fatalf("%s: %v", d, err)
		}
	}
}

// archSink is memSink with an archive table of its events.
type archSink struct {
	*memSink
	table *archive.Table[memRow]
}

type memRow struct {
	ID        string `parquet:"id"`
	Network   string `parquet:"network"`
	Timestamp int64  `parquet:"timestamp,timestamp(millisecond)"`
	MsgID     string `parquet:"msg_id"`
}

func (s archSink) Archive(evs []Event) error {
	rows := make([]memRow, 0, len(evs))
	for _, ev := range evs {
		if ev.Value.(*memEvent).Mode == "archive-panic" {
			panic("archive row bug")
		}
		rows = append(rows, memRow{ID: ev.Value.(*memEvent).ID, Network: ev.Network, Timestamp: 1741082400000, MsgID: ev.MsgID})
	}
	return s.table.Write(rows)
}

// An archive that cannot be written (here its domain directory is taken
// by a file, as a full or broken disk would refuse it) is an outage: the
// batch is retried in place and archived once the archive can be written,
// not redelivered until the server gives up on it.
func TestArchiveFailureIsRetriedInPlace(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	root := t.TempDir()
	blocker := filepath.Join(root, "parquet", "testdom")
	if err := os.MkdirAll(filepath.Dir(blocker), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blocker, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
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
	reg := prometheus.NewRegistry()
	c, err := New(Config{Bus: b, Domain: "testdom", Sink: sk, Archive: arch, BatchSize: 50, MaxWait: 50 * time.Millisecond,
		MaxDeliver: 2, RetryMax: 20 * time.Millisecond, Registerer: reg, Log: bustest.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.EnsureStream(ctx, "testdom"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	h := &harness{bus: b, sink: sk.memSink}
	h.publish(t, goodEvents("a", 5)...)
	waitFor(t, "retries while the archive fails", func() bool {
		return testutil.ToFloat64(c.metrics.retries.WithLabelValues("testdom")) >= 3
	})
	if got := c.Processed(); got != 0 {
		t.Fatalf("acknowledged %d events the archive did not take", got)
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the batch after the archive recovers", func() bool { return c.Processed() == 5 })
	files, _ := filepath.Glob(filepath.Join(root, "parquet", "testdom", "net1", "things", "*", "*", "*.parquet"))
	if len(files) != 1 {
		t.Fatalf("archive files %v, want one", files)
	}
	rows, err := parquet.ReadFile[memRow](files[0])
	if err != nil || len(rows) != 5 {
		t.Fatalf("archived %d rows (%v), want 5", len(rows), err)
	}
	if letters, _ := b.DeadLetters(ctx, "testdom", 10, 200*time.Millisecond); len(letters) != 0 {
		t.Errorf("an archive outage dead-lettered events: %+v", letters)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
