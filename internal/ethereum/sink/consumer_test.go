package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/valtrack/valtrack/internal/archive"
	"github.com/valtrack/valtrack/internal/bus/bustest"
	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/ethereum/events"
	"github.com/valtrack/valtrack/internal/ethereum/state/statetest"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRefusesUnreadableEvents: an event of an unknown version, garbage, or
// an unknown kind is counted, logged once per subject and terminated; the
// good events around it are stored and the consumer carries on.
func TestRefusesUnreadableEvents(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := bustest.Embedded(t)
	st := statetest.SQLite(t)
	arch, err := archive.Open(archive.Options{Root: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer arch.Close()
	var logs syncBuffer
	reg := prometheus.NewRegistry()
	sk, err := New(Config{State: st, Archive: arch})
	if err != nil {
		t.Fatal(err)
	}
	c, err := consumer.New(consumer.Config{Bus: b, Domain: events.Domain, Sink: sk, Archive: arch, BatchSize: 10, MaxWait: 50 * time.Millisecond,
		AckWait: time.Second, Registerer: reg, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.EnsureStream(ctx, events.Domain); err != nil {
		t.Fatal(err)
	}
	pub := b.NewPublisher(nil)
	good := func(ts int64) {
		e := &events.MetadataReceived{V: 1, Network: "devnet", PeerID: "16Uiu2HAmGood", ID: strings.Repeat("ab", 32), Timestamp: ts,
			MetaData: events.MetaData{Attnets: "0x0000000000000000", Syncnets: "0x00"}}
		data, _ := json.Marshal(e)
		if err := pub.Publish(ctx, events.Subject("devnet", events.KindMetadataReceived), e.MsgID(), data); err != nil {
			t.Fatal(err)
		}
	}
	good(1)
	for i, bad := range []struct{ subject, data string }{
		{events.Subject("devnet", events.KindMetadataReceived), `{"v":99,"peer_id":"x"}`},
		{events.Subject("devnet", events.KindMetadataReceived), `{"v":99,"peer_id":"y"}`},
		{events.Subject("devnet", events.KindPeerDiscovered), `garbage`},
		{events.Subject("devnet", "no_such_event"), `{"v":1}`},
	} {
		if err := pub.Publish(ctx, bad.subject, "bad-"+string(rune('a'+i)), []byte(bad.data)); err != nil {
			t.Fatal(err)
		}
	}
	good(2)
	if err := pub.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for c.Processed() < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if c.Processed() != 2 {
		t.Fatalf("stored %d good events, want 2", c.Processed())
	}
	// Past AckWait: a terminated event must not come back.
	time.Sleep(1500 * time.Millisecond)
	rejected := func(kind string) float64 {
		return testutil.ToFloat64(counter(t, reg, "valtrack_consumer_events_rejected_total", map[string]string{"domain": events.Domain, "kind": kind}))
	}
	if got := rejected(events.KindMetadataReceived); got != 2 {
		t.Errorf("rejected metadata_received = %v, want 2 (no redelivery)", got)
	}
	if got := rejected(events.KindPeerDiscovered) + rejected("no_such_event"); got != 2 {
		t.Errorf("rejected garbage + unknown kind = %v, want 2", got)
	}
	out := logs.String()
	if n := strings.Count(out, "subject=ethereum.devnet.metadata_received"); n != 1 {
		t.Errorf("metadata_received refusals logged %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, "stream_seq=") || !strings.Contains(out, "subject=ethereum.devnet.no_such_event") {
		t.Errorf("refusal log lacks subject or sequence:\n%s", out)
	}
	p, err := st.GetPeer(ctx, "devnet", "16Uiu2HAmGood", 10)
	if err != nil || len(p.History) != 2 {
		t.Fatalf("good peer: %v, history %d", err, len(p.History))
	}
	cancel()
	<-done
}

// counter finds one series of a counter in a registry.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := true
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					match = false
				}
			}
			if match {
				return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "x"}, func() float64 { return m.GetCounter().GetValue() })
			}
		}
	}
	return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "x"}, func() float64 { return 0 })
}
