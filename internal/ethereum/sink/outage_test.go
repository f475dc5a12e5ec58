package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/valtrack/valtrack/internal/bus/bustest"
	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/ethereum/events"
	"github.com/valtrack/valtrack/internal/ethereum/state"
	"github.com/valtrack/valtrack/internal/ethereum/state/statetest"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

// cutProxy forwards 127.0.0.1 connections to a PostgreSQL server until it
// is cut: then it drops every connection and closes new ones at once, as
// a server that went down (or a network that broke) would.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go p.serve()
	return p
}

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(s, c); s.Close() }()
		go func() { _, _ = io.Copy(c, s); c.Close() }()
	}
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *cutProxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// TestPostgresOutageDeadLettersNothing: PostgreSQL goes away under a
// running consumer while every event is on its last delivery (MaxDeliver
// 1). Nothing is dead-lettered, the consumer reports unhealthy while it
// waits, and when the server is back every event is stored, each once.
func TestPostgresOutageDeadLettersNothing(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, err := store.Open(ctx, u.String(), "", nil, store.WithMigrations(state.Migrations()))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := state.New(db)
	sk, err := New(Config{State: st})
	if err != nil {
		t.Fatal(err)
	}
	b := bustest.Embedded(t)
	c, err := consumer.New(consumer.Config{Bus: b, Domain: events.Domain, Sink: sk, BatchSize: 100, MaxWait: 100 * time.Millisecond,
		MaxDeliver: 1, RetryMax: 50 * time.Millisecond, Probe: db.Ping, Registerer: prometheus.NewRegistry(), Log: bustest.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.EnsureStream(ctx, events.Domain); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()

	proxy.cut()
	base := time.Now().Add(-time.Minute).UnixMilli()
	pub := b.NewPublisher(nil)
	const n = 20
	for i := range n {
		e := &events.MetadataReceived{V: 1, Network: "devnet", PeerID: statetest.PeerID(i), ID: fmt.Sprintf("%064x", i+1),
			IP: "127.0.0.1", Port: 9000, Timestamp: base + int64(i), ClientVersion: "Lighthouse/v7.0.0", ClientName: "lighthouse",
			MetaData: events.MetaData{Attnets: "0x0000000000000000", Syncnets: "0x00"}, Sentry: events.Sentry{ID: "outage-test"}}
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
	deadline := time.Now().Add(30 * time.Second)
	for c.Healthy() == nil {
		if time.Now().After(deadline) {
			t.Fatal("the consumer never reported the outage as unhealthy")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Well past the three attempts after which a last delivery used to be
	// dead-lettered.
	time.Sleep(time.Second)
	if letters, _ := b.DeadLetters(ctx, events.Domain, 10, 300*time.Millisecond); len(letters) != 0 {
		t.Fatalf("a PostgreSQL outage dead-lettered %d events on their last delivery: %+v", len(letters), letters[0])
	}
	if got := c.Processed(); got != 0 {
		t.Fatalf("processed %d events while the store was down", got)
	}

	proxy.restore()
	for c.Processed() < n {
		if time.Now().After(deadline.Add(30 * time.Second)) {
			t.Fatalf("stored %d of %d events after PostgreSQL came back", c.Processed(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i := range n {
		p, err := st.GetPeer(ctx, "devnet", statetest.PeerID(i), 10)
		if err != nil || len(p.History) != 1 {
			t.Fatalf("event %d: peer %v, history %d; want stored once", i, err, len(p.History))
		}
	}
	if err := c.Healthy(); err != nil {
		t.Errorf("still unhealthy after the store came back: %v", err)
	}
	if letters, _ := b.DeadLetters(ctx, events.Domain, 10, 300*time.Millisecond); len(letters) != 0 {
		t.Errorf("dead letters after the outage: %+v", letters)
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}
