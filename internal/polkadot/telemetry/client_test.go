package telemetry

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/polkadot/telemetry/feedtest"
)

// eventually waits for cond, failing after a bound generous for a loaded
// machine; it asserts a state, never a duration.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type harness struct {
	srv *feedtest.Server
	c   *Client
	clk *clock
	rec *recorder
	log *syncBuf
}

func start(t *testing.T, mod func(*Config)) *harness {
	t.Helper()
	h := &harness{srv: feedtest.New(testGenesis), clk: newClock(t0), rec: &recorder{}, log: &syncBuf{}}
	t.Cleanup(h.srv.Close)
	cfg := Config{Chain: "polkadot", URL: h.srv.URL(), Genesis: testGenesis, Publish: h.rec.Publish, Now: h.clk.Now,
		Log:       slog.New(slog.NewTextHandler(h.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		PingEvery: 20 * time.Millisecond, BackoffMin: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond, TickEvery: 5 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.c = c
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return h
}

func (h *harness) record(t *testing.T, name string) (events.Telemetry, bool) {
	for _, r := range h.c.Snapshot() {
		if r.Name == name {
			return r, true
		}
	}
	return events.Telemetry{}, false
}

func (h *harness) must(t *testing.T, name string) events.Telemetry {
	t.Helper()
	r, ok := h.record(t, name)
	if !ok {
		t.Fatalf("no record of %q", name)
	}
	return r
}

func fnode(name string, startup int64) feedtest.Node {
	return feedtest.Node{Name: name, Implementation: "Parity Polkadot", Version: "1.0.0", NetworkID: "12D3-" + name, StartupTime: startup}
}

func TestClientSubscribesReplaysAndPings(t *testing.T) {
	h := start(t, nil)
	for i := range 100 { // more than one replay chunk of 64
		h.srv.Add(fnode(fmt.Sprintf("n%03d", i), 1))
	}
	eventually(t, "the replay of 100 nodes", func() bool { return h.c.Stats().Nodes == 100 })
	eventually(t, "a pong", func() bool { return h.c.Stats().Pongs > 0 })
	s := h.c.Stats()
	if !s.Connected || s.Sessions != 1 || s.FeedVersion != feedtest.Version || s.Names != 100 || s.Online != 100 || s.DecodeErrors != 0 {
		t.Errorf("stats %+v", s)
	}
	if err := h.c.Healthy(); err != nil {
		t.Errorf("Healthy: %v", err)
	}
	r := h.must(t, "n042")
	if r.Feed != h.c.Feed() || !strings.HasPrefix(r.Feed, "127.0.0.1:") || !r.Online || r.OnlineSince != ms(t0) {
		t.Errorf("record %+v", r)
	}
	h.srv.Add(fnode("late", 1))
	eventually(t, "a live AddedNode", func() bool { _, ok := h.record(t, "late"); return ok })
}

func TestClientReconnectOurOutageNotCharged(t *testing.T) {
	h := start(t, nil)
	h.srv.Add(fnode("alice", 1))
	bob := h.srv.Add(fnode("bob", 1))
	eventually(t, "two nodes", func() bool { return h.c.Stats().Nodes == 2 })
	h.srv.Remove(bob)
	eventually(t, "bob removed", func() bool { return h.c.Stats().Nodes == 1 })
	h.clk.Add(10 * time.Minute)
	h.c.Tracker().Tick()
	before := h.must(t, "bob")
	if before.Online || before.OfflineWeek != (10*time.Minute).Milliseconds() {
		t.Fatalf("bob before the outage %+v", before)
	}

	h.srv.Refuse(true)
	h.srv.Drop()
	eventually(t, "the client to see the drop", func() bool { return !h.c.Stats().Connected })
	h.clk.Add(3 * time.Hour) // our outage
	if err := h.c.Healthy(); err == nil || !strings.Contains(err.Error(), "not subscribed") {
		t.Errorf("Healthy during a 3 h outage: %v", err)
	}
	h.srv.Refuse(false)
	eventually(t, "the reconnect and replay", func() bool { s := h.c.Stats(); return s.Connected && s.Nodes == 1 })
	h.c.Tracker().Tick()

	if s := h.c.Stats(); s.Sessions < 2 || s.Reconnects < 1 {
		t.Errorf("stats %+v", s)
	}
	if b := h.must(t, "bob"); b.OfflineWeek != before.OfflineWeek {
		t.Errorf("bob charged %d ms for our outage (before %d)", b.OfflineWeek-before.OfflineWeek, before.OfflineWeek)
	}
	if a := h.must(t, "alice"); !a.Online || a.OnlineSince != ms(t0) || a.OfflineWeek != 0 {
		t.Errorf("alice after our reconnect %+v (online since must be kept)", a)
	}
	if err := h.c.Healthy(); err != nil {
		t.Errorf("Healthy after the reconnect: %v", err)
	}
}

func TestClientRemovedBackWithinGrace(t *testing.T) {
	h := start(t, nil)
	h.srv.Add(fnode("keep", 1)) // so the chain stays (no RemovedChain)
	id := h.srv.Add(fnode("alice", 1))
	eventually(t, "two nodes", func() bool { return h.c.Stats().Nodes == 2 })
	h.srv.Remove(id)
	eventually(t, "alice removed", func() bool { return h.c.Stats().Nodes == 1 })
	h.clk.Add(4 * time.Minute)
	h.c.Tracker().Tick()
	h.srv.Add(fnode("alice", 2))
	eventually(t, "alice back", func() bool { return h.c.Stats().Nodes == 2 })
	h.clk.Add(time.Hour)
	h.c.Tracker().Tick()
	if a := h.must(t, "alice"); !a.Online || a.OfflineWeek != 0 || a.OnlineSince != ms(t0) {
		t.Errorf("alice %+v", a)
	}
	for _, r := range h.rec.all() {
		if r.Name == "alice" && !r.Online {
			t.Errorf("published alice offline: %+v", r)
		}
	}
}

func TestClientRemovedBeyondGrace(t *testing.T) {
	h := start(t, func(c *Config) { c.Grace = 2 * time.Minute })
	h.srv.Add(fnode("keep", 1))
	id := h.srv.Add(fnode("alice", 1))
	eventually(t, "two nodes", func() bool { return h.c.Stats().Nodes == 2 })
	h.srv.Remove(id)
	eventually(t, "alice removed", func() bool { return h.c.Stats().Nodes == 1 })
	removed := h.clk.Now()
	h.clk.Add(5 * time.Minute)
	h.c.Tracker().Tick()
	a := h.must(t, "alice")
	if a.Online || a.OfflineSince != ms(removed) || a.OfflineWeek != (5*time.Minute).Milliseconds() {
		t.Errorf("alice %+v", a)
	}
	eventually(t, "the offline change published", func() bool {
		for _, r := range h.rec.all() {
			if r.Name == "alice" && !r.Online {
				return true
			}
		}
		return false
	})
}

func TestClientLocatedNode(t *testing.T) {
	h := start(t, nil)
	id := h.srv.Add(fnode("alice", 1))
	eventually(t, "alice", func() bool { return h.c.Stats().Nodes == 1 })
	h.srv.Locate(id, 52.52, 13.405, "Berlin")
	eventually(t, "the location published", func() bool {
		for _, r := range h.rec.all() {
			if r.Name == "alice" && r.Location != nil && r.Location.City == "Berlin" && r.Location.Lat > 52 {
				return true
			}
		}
		return false
	})
	// The location is replayed on the next subscribe, in AddedNode.
	h.srv.Drop()
	eventually(t, "a second session", func() bool { s := h.c.Stats(); return s.Sessions >= 2 && s.Connected && s.Nodes == 1 })
	if r := h.must(t, "alice"); r.Location == nil || r.Location.City != "Berlin" {
		t.Errorf("after the replay: %+v", r.Location)
	}
}

func TestClientWeekRollover(t *testing.T) {
	h := start(t, nil)
	h.clk.Add(-h.clk.Now().Sub(time.Date(2026, 12, 6, 23, 50, 0, 0, time.UTC)))
	h.srv.Add(fnode("keep", 1))
	id := h.srv.Add(fnode("alice", 1))
	eventually(t, "two nodes", func() bool { return h.c.Stats().Nodes == 2 })
	h.srv.Remove(id)
	eventually(t, "alice removed", func() bool { return h.c.Stats().Nodes == 1 })
	h.clk.Add(8 * time.Minute)
	h.c.Tracker().Tick()
	if a := h.must(t, "alice"); a.Week != "2026-W49" || a.OfflineWeek != (8*time.Minute).Milliseconds() {
		t.Fatalf("before Monday %+v", a)
	}
	h.clk.Add(12 * time.Minute) // Monday 00:10
	h.c.Tracker().Tick()
	if a := h.must(t, "alice"); a.Week != "2026-W50" || a.OfflineWeek != (10*time.Minute).Milliseconds() {
		t.Errorf("after Monday: %s %d ms, want 2026-W50 and 10 min", a.Week, a.OfflineWeek)
	}
}

func TestClientOversizeFrameRefused(t *testing.T) {
	h := start(t, func(c *Config) { c.ReadLimit = 16 << 10 })
	h.srv.Add(fnode("alice", 1))
	eventually(t, "alice", func() bool { return h.c.Stats().Nodes == 1 })
	h.srv.SendRaw([]byte(`[99,"` + strings.Repeat("x", 32<<10) + `"]`))
	eventually(t, "the oversize frame counted and the feed back", func() bool {
		s := h.c.Stats()
		return s.Oversize == 1 && s.Sessions >= 2 && s.Connected && s.Nodes == 1
	})
	if a := h.must(t, "alice"); !a.Online || a.OnlineSince != ms(t0) {
		t.Errorf("alice %+v", a)
	}
}

func TestClientUnknownActionAndMalformedSkipped(t *testing.T) {
	h := start(t, nil)
	eventually(t, "subscribed", func() bool { return h.c.Stats().Connected })
	h.srv.Batch(func() {
		h.srv.Emit(99, map[string]int{"future": 1})
		h.srv.Emit(3, "not a node")
		h.srv.Add(fnode("alice", 1))
	})
	eventually(t, "alice", func() bool { return h.c.Stats().Nodes == 1 })
	if s := h.c.Stats(); s.Unknown != 1 || s.DecodeErrors != 1 || s.Sessions != 1 {
		t.Errorf("stats %+v, want 1 unknown, 1 decode error, one session", s)
	}
	h.srv.SendRaw([]byte(`{"not":"an array"}`))
	eventually(t, "the bad frame counted", func() bool { return h.c.Stats().DecodeErrors == 2 })
	if !h.c.Stats().Connected {
		t.Error("a bad frame ended the connection")
	}
}

func TestClientUnknownChainResubscribes(t *testing.T) {
	other := "0x" + strings.Repeat("ab", 32)
	h := start(t, func(c *Config) { c.Genesis = other; c.SubscribeTimeout = 10 * time.Millisecond })
	eventually(t, "the subscribe retried", func() bool { _, subs, _, _ := h.srv.Counts(); return subs >= 3 })
	if !strings.Contains(h.log.String(), "not confirmed") {
		t.Errorf("no warning logged: %s", h.log.String())
	}
	if h.c.Stats().Connected {
		t.Error("connected to a chain the feed does not serve")
	}
}

func TestClientSecretsNotLogged(t *testing.T) {
	srv := feedtest.New(testGenesis)
	srv.Refuse(true)
	t.Cleanup(srv.Close)
	u := strings.Replace(srv.URL(), "ws://", "ws://user:hunter2secret@", 1) + "?token=tok3nvalue"
	buf := &syncBuf{}
	c, err := New(Config{Chain: "polkadot", URL: u, Genesis: testGenesis, Log: slog.New(slog.NewTextHandler(buf, nil)),
		BackoffMin: 5 * time.Millisecond, BackoffMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	eventually(t, "a failed dial logged", func() bool { return c.Stats().Reconnects >= 2 })
	cancel()
	<-done
	out := buf.String()
	if strings.Contains(out, "hunter2secret") || strings.Contains(out, "tok3nvalue") || !strings.Contains(out, "reconnecting") {
		t.Errorf("log: %s", out)
	}
	if strings.Contains(fmt.Sprint(c.Healthy()), "hunter2secret") {
		t.Error("Healthy quotes the password")
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []Config{
		{Chain: "polkadot", URL: "http://127.0.0.1:1/feed", Genesis: testGenesis},
		{Chain: "polkadot", URL: "ws:///feed", Genesis: testGenesis},
		{Chain: "polkadot", URL: "ws://127.0.0.1:1/feed", Genesis: "0x12"},
		{Chain: "Polka Dot", URL: "ws://127.0.0.1:1/feed", Genesis: testGenesis},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
	c, err := New(Config{Chain: "polkadot", URL: "wss://user:pw@127.0.0.1", Genesis: "0x" + strings.ToUpper(testGenesis[2:])})
	if err != nil {
		t.Fatal(err)
	}
	if c.Feed() != "127.0.0.1:443" || c.wsURL != "wss://user:pw@127.0.0.1/feed" || c.cfg.Genesis != testGenesis {
		t.Errorf("feed %q url %q", c.Feed(), c.wsURL)
	}
	if err := c.Healthy(); err == nil {
		t.Error("Healthy before Run")
	}
}
