package sentry

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/cosmos/rpc"
	"github.com/valtrack/valtrack/internal/cosmos/rpc/rpctest"
)

type published struct {
	subject, msgID string
	data           []byte
}

// memPublisher records what is published, in order.
type memPublisher struct {
	mu  sync.Mutex
	out []published
}

func (p *memPublisher) Publish(_ context.Context, subject, msgID string, data []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.out = append(p.out, published{subject, msgID, append([]byte(nil), data...)})
	return nil
}

// of returns the decoded events of a kind, checking subject and id.
func (p *memPublisher) of(t *testing.T, kind string) []events.Event {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []events.Event
	for _, x := range p.out {
		if !strings.HasSuffix(x.subject, "."+kind) {
			continue
		}
		e, err := events.Decode(kind, x.data)
		if err != nil {
			t.Fatalf("published %s the consumer refuses: %v", x.data, err)
		}
		if x.subject != events.Subject(e.ChainName(), kind) || x.msgID != e.MsgID() {
			t.Fatalf("published %s on %s with id %s, want %s, %s", kind, x.subject, x.msgID, events.Subject(e.ChainName(), kind), e.MsgID())
		}
		out = append(out, e)
	}
	return out
}

func blocks(t *testing.T, p *memPublisher) map[int64][]*events.Block {
	out := map[int64][]*events.Block{}
	for _, e := range p.of(t, events.KindBlock) {
		b := e.(*events.Block)
		out[b.Height] = append(out[b.Height], b)
	}
	return out
}

func commits(t *testing.T, p *memPublisher) map[int64][]*events.Commit {
	out := map[int64][]*events.Commit{}
	for _, e := range p.of(t, events.KindCommit) {
		c := e.(*events.Commit)
		out[c.Height] = append(out[c.Height], c)
	}
	return out
}

// complete: every height in lo..hi has exactly one block (hi included) and
// one commit (below hi... to hi-1), and nothing outside is duplicated.
func checkHeights(t *testing.T, p *memPublisher, lo, hi int64) (map[int64][]*events.Block, map[int64][]*events.Commit) {
	t.Helper()
	bs, cs := blocks(t, p), commits(t, p)
	for h, b := range bs {
		if len(b) != 1 {
			t.Errorf("block %d published %d times", h, len(b))
		}
	}
	for h, c := range cs {
		if len(c) != 1 {
			t.Errorf("commit %d published %d times", h, len(c))
		}
	}
	for h := lo; h <= hi; h++ {
		if len(bs[h]) == 0 {
			t.Errorf("block %d not published", h)
		}
		if h < hi && len(cs[h]) == 0 {
			t.Errorf("commit %d not published", h)
		}
	}
	return bs, cs
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testConfig(pub *memPublisher, urls ...string) Config {
	return Config{Chain: "test-1", Endpoints: urls, Publisher: pub, SentryID: "s1",
		Registerer: prometheus.NewRegistry(), PollEvery: 50 * time.Millisecond,
		WS: rpc.WSConfig{BackoffMin: 10 * time.Millisecond, BackoffMax: 100 * time.Millisecond}}
}

// run starts a sentry and returns a stop function that waits for Run.
func run(t *testing.T, cfg Config) (*Sentry, func()) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v, want nil on cancel", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("Run did not return within 15 s of cancel")
		}
	}
	t.Cleanup(stop)
	return s, stop
}

func node(t *testing.T, vals int) *rpctest.Node {
	n := rpctest.New("test-1", rpctest.MakeValidators("v", vals))
	t.Cleanup(n.Close)
	return n
}

func dump(p *memPublisher) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	for _, x := range p.out {
		var m map[string]any
		_ = json.Unmarshal(x.data, &m)
		fmt.Fprintf(&b, "%s h=%v src=%v ep=%v\n", x.subject, m["height"], m["source"], m["endpoint"])
	}
	return b.String()
}

// checkEvent: a value the consumer accepts as it is.
func checkEvent(t *testing.T, e events.Event) {
	t.Helper()
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := events.Decode(events.Kind(e), data); err != nil {
		t.Fatalf("%s refused: %v", data, err)
	}
}
