package rpc_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/cosmos/rpc"
	"github.com/valtrack/valtrack/internal/cosmos/rpc/rpctest"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// next returns the next item, failing after 10 s.
func next(t *testing.T, s *rpc.Subscriber) rpc.Item {
	t.Helper()
	select {
	case it := <-s.Items():
		return it
	case <-time.After(10 * time.Second):
		t.Fatal("no item within 10 s")
	}
	return rpc.Item{}
}

// nextEvent skips Connected items.
func nextEvent(t *testing.T, s *rpc.Subscriber) rpc.Item {
	t.Helper()
	for {
		if it := next(t, s); it.Event != nil {
			return it
		}
	}
}

type counts struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *counts) add(counter, kind string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[counter+"/"+kind]++
}

func (c *counts) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

func start(t *testing.T, cfg rpc.WSConfig) (*rpc.Subscriber, *counts) {
	t.Helper()
	c := &counts{m: map[string]int{}}
	cfg.Count = c.add
	if cfg.BackoffMin == 0 {
		cfg.BackoffMin, cfg.BackoffMax = 10*time.Millisecond, 50*time.Millisecond
	}
	s, err := rpc.NewSubscriber(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v on cancel, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return within 10 s of cancel")
		}
	})
	return s, c
}

func TestSubscriberDecodesEveryEventType(t *testing.T) {
	n := rpctest.New("test-1", rpctest.MakeValidators("a", 4))
	defer n.Close()
	s, c := start(t, rpc.WSConfig{URL: n.URL()})
	if it := next(t, s); !it.Connected || it.Session != 1 {
		t.Fatalf("first item %+v, want the connection", it)
	}
	waitFor(t, "four subscriptions", func() bool { return n.Subscribed() == 1 })

	n.Vote(1, 0, 1, 2)
	n.NewRound(1, 1)
	n.Step(1, 1, "RoundStepPrecommitWait")
	n.Produce(2)
	v := nextEvent(t, s).Event.Vote
	if v == nil || v.Type != events.Prevote || v.Height != 1 || v.ValidatorIndex != 2 {
		t.Errorf("vote %+v", v)
	}
	if r := nextEvent(t, s).Event.NewRound; r == nil || r.Round != 1 {
		t.Errorf("new round %+v", r)
	}
	if st := nextEvent(t, s).Event.Step; st == nil || st.Step != "PrecommitWait" {
		t.Errorf("step %+v", st)
	}
	for h := int64(1); h <= 2; h++ {
		b := nextEvent(t, s).Event.Block
		if b == nil || b.Block.Height != h || (h == 2 && (b.LastCommit == nil || b.LastCommit.Height != 1 || len(b.LastCommit.Signatures) != 4)) {
			t.Errorf("block %d: %+v", h, b)
		}
	}
	if c.get("received/vote") != 1 || c.get("received/block") != 2 {
		t.Errorf("counts %v", c.m)
	}
}

// Hostile messages are counted and skipped; a valid event after them still
// arrives on the same connection.
func TestSubscriberSurvivesHostileMessages(t *testing.T) {
	n := rpctest.New("test-1", rpctest.MakeValidators("a", 4))
	defer n.Close()
	s, c := start(t, rpc.WSConfig{URL: n.URL()})
	waitFor(t, "subscriptions", func() bool { return n.Subscribed() == 1 })

	n.SendRaw(`this is not json`)
	n.SendRaw(`{"jsonrpc":"2.0","id":99,"result":{"data":{"type":"tendermint/event/Vote","value":{}}}}`)   // an id never used
	n.SendEvent("tm.event='Vote'", `{"type":"tendermint/event/Vote","value":{"Vote":{"type":"prevote"}}}`) // string for a number
	n.SendEvent("tm.event='Vote'", `{"type":"tendermint/event/Vote","value":{"Vote":{"type":1,"height":{"x":1},"round":0}}}`)
	n.SendEvent("tm.event='Vote'", rpctest.VoteJSON(3, 0, 32, "0A", 0)) // a proposal type is no vote
	n.SendEvent("tm.event='NewRoundStep'", `{"type":"tendermint/event/RoundState","value":{"height":5,"round":"0","step":"RoundStepPropose"}}`)
	n.SendEvent("tm.event='NewBlock'", `{"type":"tendermint/event/CompleteProposal","value":{"height":"5"}}`)
	n.SendEvent("tm.event='NewBlock'", `{"type":"tendermint/event/NewBlock","value":{"block":null}}`)
	n.Vote(9, 0, 2, 1)

	// The step with swapped number/string forms is lenient-decoded; the rest skipped.
	if st := nextEvent(t, s).Event.Step; st == nil || st.Height != 5 || st.Step != "Propose" {
		t.Errorf("lenient step %+v", st)
	}
	if v := nextEvent(t, s).Event.Vote; v == nil || v.Height != 9 || v.Type != events.Precommit {
		t.Errorf("vote after the hostile messages: %+v", v)
	}
	st := s.Stats()
	if st.DecodeErrors != 5 || st.Unknown != 2 || st.Sessions != 1 || st.Reconnects != 0 {
		t.Errorf("stats %+v, want 5 decode errors, 2 unknown, one session", st)
	}
	if c.get("decode_error/") != 5 || c.get("unknown_type/") != 2 {
		t.Errorf("counts %v", c.m)
	}
}

// A message over the read limit is counted and skipped: the good messages
// around it arrive on the same connection, which is never re-established.
func TestSubscriberSkipsOversize(t *testing.T) {
	n := rpctest.New("test-1", rpctest.MakeValidators("a", 4))
	defer n.Close()
	s, c := start(t, rpc.WSConfig{URL: n.URL(), ReadLimit: 4096})
	waitFor(t, "subscriptions", func() bool { return n.Subscribed() == 1 })
	n.Vote(4, 0, 1, 0)
	n.SendEvent("tm.event='Vote'", `{"type":"tendermint/event/Vote","value":{"pad":"`+strings.Repeat("x", 100_000)+`"}}`)
	n.Vote(4, 0, 2, 1)
	n.SendEvent("tm.event='Vote'", `{"type":"tendermint/event/Vote","value":{"pad":"`+strings.Repeat("y", 5000)+`"}}`)
	n.Vote(5, 0, 1, 2)
	for i, want := range []struct {
		h     int64
		index int32
	}{{4, 0}, {4, 1}, {5, 2}} {
		it := nextEvent(t, s)
		if v := it.Event.Vote; it.Session != 1 || v == nil || v.Height != want.h || v.ValidatorIndex != want.index {
			t.Errorf("event %d: session %d, vote %+v; want session 1, height %d index %d", i, it.Session, it.Event.Vote, want.h, want.index)
		}
	}
	if st := s.Stats(); st.Oversize != 2 || st.Reconnects != 0 || st.Sessions != 1 {
		t.Errorf("stats %+v, want 2 oversize on one session, no reconnect", st)
	}
	if c.get("oversize/") != 2 {
		t.Errorf("counts %v", c.m)
	}
}

// A message beyond 64× the read limit is not read to its end: the
// connection is re-established.
func TestSubscriberHugeMessageReconnects(t *testing.T) {
	n := rpctest.New("test-1", rpctest.MakeValidators("a", 4))
	defer n.Close()
	s, _ := start(t, rpc.WSConfig{URL: n.URL(), ReadLimit: 1024})
	waitFor(t, "subscriptions", func() bool { return n.Subscribed() == 1 })
	n.SendEvent("tm.event='Vote'", `{"type":"tendermint/event/Vote","value":{"pad":"`+strings.Repeat("x", 70_000)+`"}}`)
	waitFor(t, "second session", func() bool { return s.Stats().Sessions == 2 && n.Subscribed() == 1 })
	n.Vote(4, 0, 1, 0)
	if it := nextEvent(t, s); it.Session != 2 || it.Event.Vote == nil {
		t.Errorf("after the huge message: %+v", it)
	}
}

// The server drops the connection, or cancels a subscription: the client
// says the session ended, reconnects and resubscribes all four queries.
func TestSubscriberReconnects(t *testing.T) {
	n := rpctest.New("test-1", rpctest.MakeValidators("a", 4))
	defer n.Close()
	s, _ := start(t, rpc.WSConfig{URL: n.URL()})
	waitFor(t, "subscriptions", func() bool { return n.Subscribed() == 1 })
	if it := next(t, s); !it.Connected || it.Session != 1 || s.Live() != 1 {
		t.Fatalf("first item %+v, live session %d", it, s.Live())
	}
	n.DropConnections()
	// the end of session 1 is handed over before session 2 begins
	if it := next(t, s); !it.Ended || it.Session != 1 {
		t.Fatalf("item after the drop %+v, want the end of session 1", it)
	}
	if it := next(t, s); !it.Connected || it.Session != 2 {
		t.Fatalf("item after the end %+v, want session 2", it)
	}
	waitFor(t, "session 2", func() bool { return s.Stats().Sessions == 2 && n.Subscribed() == 1 && s.Live() == 2 })
	n.CancelSubscription("tm.event='NewRound'")
	waitFor(t, "session 3", func() bool { return s.Stats().Sessions == 3 && n.Subscribed() == 1 })
	n.Produce(1)
	it := nextEvent(t, s)
	if it.Session != 3 || it.Event.Block == nil {
		t.Errorf("after reconnects: %+v", it)
	}
	if st := s.Stats(); st.SubscribeErrors != 1 || st.Reconnects != 2 {
		t.Errorf("stats %+v", st)
	}
}

// No event for StallTimeout: the connection is replaced.
func TestSubscriberStallReconnects(t *testing.T) {
	n := rpctest.New("test-1", rpctest.MakeValidators("a", 4))
	defer n.Close()
	s, _ := start(t, rpc.WSConfig{URL: n.URL(), StallTimeout: 200 * time.Millisecond})
	waitFor(t, "a reconnect after a stall", func() bool { return s.Stats().Sessions >= 2 })
}

// A consumer that does not read: items are dropped without blocking the
// reader, counted, and the next item that gets through says there is a gap.
func TestSubscriberFullChannelMarksGap(t *testing.T) {
	n := rpctest.New("test-1", rpctest.MakeValidators("a", 4))
	defer n.Close()
	s, _ := start(t, rpc.WSConfig{URL: n.URL(), Buffer: 1})
	waitFor(t, "subscriptions", func() bool { return n.Subscribed() == 1 })
	for i := range 5 {
		n.Vote(int64(i+1), 0, 1, 0) // the Connected item fills the buffer
	}
	waitFor(t, "drops", func() bool { return s.Stats().Drops == 5 })
	if it := next(t, s); !it.Connected || it.Gap {
		t.Fatalf("first item %+v", it)
	}
	n.Vote(10, 0, 1, 0)
	it := next(t, s)
	if !it.Gap || it.Event.Vote.Height != 10 {
		t.Errorf("item after drops %+v, want a gap mark", it)
	}
	n.Vote(11, 0, 1, 0)
	if it := next(t, s); it.Gap {
		t.Error("the gap mark stays after it was handed over")
	}
}
