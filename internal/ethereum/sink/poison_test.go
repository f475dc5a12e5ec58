package sink

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/valtrack/valtrack/internal/bus"
	"github.com/valtrack/valtrack/internal/bus/bustest"
	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/ethereum/events"
	"github.com/valtrack/valtrack/internal/ethereum/state/statetest"
)

// TestPoisonedEventsOnPostgres: in one batch of good events sit one whose
// identify agent holds a NUL (PostgreSQL refuses NUL in text; it used to
// make the consumer redeliver the batch forever) and one the store refuses
// (a port beyond PostgreSQL's INTEGER). The NUL is removed at decode and
// that event is stored; the refused one is set aside on
// ethereum.dlq.metadata_received with the error; every good event is
// stored within one batch interval, each once.
func TestPoisonedEventsOnPostgres(t *testing.T) {
	st := statetest.Postgres(t)
	b := bustest.Embedded(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sk, err := New(Config{State: st})
	if err != nil {
		t.Fatal(err)
	}
	const maxWait = 200 * time.Millisecond
	c, err := consumer.New(consumer.Config{Bus: b, Domain: events.Domain, Sink: sk, BatchSize: 100, MaxWait: maxWait,
		Registerer: prometheus.NewRegistry(), Log: bustest.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.EnsureStream(ctx, events.Domain); err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-time.Minute).UnixMilli()
	ev := func(i int) *events.MetadataReceived {
		return &events.MetadataReceived{V: 1, Network: "devnet", PeerID: statetest.PeerID(i), ID: fmt.Sprintf("%064x", i+1),
			IP: "127.0.0.1", Port: 9000, Timestamp: base + int64(i), ClientVersion: "Lighthouse/v7.0.0", ClientName: "lighthouse",
			MetaData: events.MetaData{Attnets: "0x0000000000000000", Syncnets: "0x00"}, Sentry: events.Sentry{ID: "poison-test"}}
	}
	var all []*events.MetadataReceived
	for i := range 30 {
		all = append(all, ev(i))
	}
	withNUL := all[10]
	withNUL.ClientVersion = "Light\x00house/v7.0.0"
	refused := all[20]
	refused.Port = 1 << 40
	// Published before the consumer starts, so they arrive as one batch.
	pub := b.NewPublisher(nil)
	for _, e := range all {
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if err := pub.Publish(ctx, events.Subject(e.Network, events.KindMetadataReceived), e.MsgID(), data); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Close(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	for c.Processed() < 29 && time.Since(start) < 20*time.Second {
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(start)
	if got := c.Processed(); got != 29 {
		t.Fatalf("stored %d events, want the 29 good ones", got)
	}
	// One batch interval (MaxWait), plus the bisection's few statements.
	if took > maxWait+2*time.Second {
		t.Errorf("the good events took %s to be stored; a poisoned batch must not hold them up", took)
	}
	letters, err := b.DeadLetters(ctx, events.Domain, 10, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(letters) != 1 {
		t.Fatalf("dead letters: %+v, want the refused event only", letters)
	}
	l := letters[0]
	if l.Subject != bus.DeadLetterSubject(events.Domain, events.KindMetadataReceived) || l.MsgID != refused.MsgID() ||
		l.Original != events.Subject("devnet", events.KindMetadataReceived) || !strings.Contains(l.Error, "int4") {
		t.Errorf("dead letter %+v does not say what was refused and why", l)
	}
	var back events.MetadataReceived
	if err := json.Unmarshal(l.Data, &back); err != nil || back.Port != refused.Port {
		t.Errorf("dead letter payload is not the original event: %v %+v", err, back)
	}
	for i, e := range all {
		p, err := st.GetPeer(ctx, "devnet", e.PeerID, 10)
		if e == refused {
			if err == nil {
				t.Errorf("the refused event's peer was stored: %+v", p.Peer)
			}
			continue
		}
		if err != nil || len(p.History) != 1 {
			t.Fatalf("event %d: peer %v, history %d; want stored once", i, err, len(p.History))
		}
		if e == withNUL && p.ClientVersion != "Lighthouse/v7.0.0" {
			t.Errorf("the NUL event stored client %q, want the NUL removed", p.ClientVersion)
		}
	}
	// Nothing comes back after the batch is acknowledged.
	time.Sleep(maxWait * 3)
	if got := c.Processed(); got != 29 {
		t.Errorf("processed %d after settling, want 29 (no redelivery)", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
