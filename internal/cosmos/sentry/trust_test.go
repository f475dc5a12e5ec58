package sentry

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/cosmos/rpc/rpctest"
)

// Events of an endpoint on another chain, catching up, or stale while
// another endpoint is healthy are not merged: their votes are never
// published (counted as ignored_unhealthy), the healthy one's are.
func TestUnhealthyEndpointEventsNotMerged(t *testing.T) {
	good, wrong, catching, stale := node(t, 4), node(t, 4), node(t, 4), node(t, 4)
	for _, n := range []*rpctest.Node{good, wrong, catching, stale} {
		n.SetHeight(5)
	}
	wrong.SetNetwork("other-7")
	catching.SetCatchingUp(true)
	stale.SetStale(5 * time.Minute)
	pub := &memPublisher{}
	s, _ := run(t, testConfig(pub, good.URL(), wrong.URL(), catching.URL(), stale.URL()))
	waitFor(t, "four subscriptions", func() bool {
		return good.Subscribed() == 1 && wrong.Subscribed() == 1 && catching.Subscribed() == 1 && stale.Subscribed() == 1
	})
	waitFor(t, "one healthy endpoint", func() bool { return s.Stats().EndpointsHealthy == 1 && s.eps[0].healthy.Load() })
	waitFor(t, "every status checked", func() bool {
		for _, ep := range s.eps {
			if ep.fault.Load() == faultUnknown {
				return false
			}
		}
		return true
	})
	bad := []*rpctest.Node{wrong, catching, stale}
	for _, n := range bad {
		n.Vote(6, 0, 1, 3)
		n.NewRound(6, 1)
	}
	good.Vote(6, 0, 1, 0)
	ignored := func(i int) float64 {
		return testutil.ToFloat64(s.m.wsCounts.WithLabelValues("test-1", s.eps[i].name, CountUntrusted))
	}
	waitFor(t, "the bad endpoints' events ignored", func() bool { return ignored(1) >= 2 && ignored(2) >= 2 && ignored(3) >= 2 })
	waitFor(t, "the good vote", func() bool { return len(pub.of(t, events.KindVote)) >= 1 })
	for _, e := range pub.of(t, events.KindVote) {
		if v := e.(*events.Vote); v.ValidatorIndex != 0 || v.Endpoint != s.eps[0].name {
			t.Errorf("vote of validator %d from %s published: an unhealthy endpoint's event was merged", v.ValidatorIndex, v.Endpoint)
		}
	}
	if rs := pub.of(t, events.KindNewRound); len(rs) != 0 {
		t.Errorf("%d rounds of unhealthy endpoints published", len(rs))
	}
	if ignored(0) != 0 {
		t.Errorf("the healthy endpoint's events counted as ignored: %v", ignored(0))
	}
}

// When no endpoint is healthy because the chain itself stalled (every one
// is stale), the votes of the stuck height are still merged.
func TestStaleChainEventsStillMerged(t *testing.T) {
	n := node(t, 4)
	n.SetHeight(5)
	n.SetStale(5 * time.Minute)
	pub := &memPublisher{}
	s, _ := run(t, testConfig(pub, n.URL()))
	waitFor(t, "subscription", func() bool { return n.Subscribed() == 1 })
	waitFor(t, "stale status", func() bool { return s.eps[0].fault.Load() == faultStale })
	n.Vote(6, 1, 1, 2)
	waitFor(t, "the vote of the stalled chain", func() bool { return len(pub.of(t, events.KindVote)) == 1 })
}

// One absurd height from an endpoint before its first NewBlock — a vote
// at 10¹², a NewBlock at 10⁹ — is counted and dropped: it is checked
// against the endpoint's /status height, not only against the frontier
// (0 until the first block). Merged, the vote set the de-duplication's
// highest height so that every real vote was dropped, and the block set
// the start height so that no real block was published.
func TestImplausibleHeightBeforeFirstBlock(t *testing.T) {
	n := node(t, 4)
	pub := &memPublisher{}
	s, _ := run(t, testConfig(pub, n.URL()))
	waitFor(t, "subscriptions", func() bool { return n.Subscribed() == 1 })
	waitFor(t, "healthy", func() bool { return s.eps[0].healthy.Load() })
	ignored := func() float64 {
		return testutil.ToFloat64(s.m.wsCounts.WithLabelValues("test-1", s.eps[0].name, CountImplausible))
	}
	addr := rpctest.MakeValidators("v", 4)[0].Address
	n.SendEvent("tm.event='Vote'", rpctest.VoteJSON(1_000_000_000_000, 0, 1, addr, 0))
	n.SendEvent("tm.event='NewBlock'", n.BlockEventJSON(1_000_000_000))
	waitFor(t, "both counted as ignored_height", func() bool { return ignored() == 2 })
	n.Produce(1)
	n.Vote(2, 0, 1, 0)
	n.Vote(2, 0, 2, 1)
	n.Produce(2)
	waitFor(t, "blocks 1-3 and the two votes of height 2", func() bool {
		bs := blocks(t, pub)
		return len(bs[1]) == 1 && len(bs[2]) == 1 && len(bs[3]) == 1 && len(pub.of(t, events.KindVote)) == 2
	})
	for _, e := range pub.of(t, events.KindVote) {
		if h := e.(*events.Vote).Height; h != 2 {
			t.Errorf("a vote of height %d published", h)
		}
	}
	for h := range blocks(t, pub) {
		if h > 3 {
			t.Errorf("block %d published", h)
		}
	}
}

// After an outage longer than the de-duplication window (the node is far
// past what its last /status said), the first event above that height is
// ignored but asks for a /status at once, so that the endpoint's next
// events are taken — not only after the next regular poll (an hour here).
func TestImplausibleHeightRechecksStatus(t *testing.T) {
	n := node(t, 4)
	n.Produce(3)
	pub := &memPublisher{}
	cfg := testConfig(pub, n.URL())
	cfg.PollEvery = time.Hour
	s, _ := run(t, cfg)
	waitFor(t, "subscriptions", func() bool { return n.Subscribed() == 1 })
	waitFor(t, "healthy at height 3", func() bool { return s.eps[0].healthy.Load() && s.eps[0].reported.Load() == 3 })
	n.SetHeight(1000) // made while out of sight
	n.Vote(1000, 0, 1, 0)
	waitFor(t, "the status asked again", func() bool { return s.eps[0].reported.Load() == 1000 })
	n.Vote(1000, 0, 1, 1)
	waitFor(t, "the next vote published", func() bool { return len(pub.of(t, events.KindVote)) == 1 })
	if v := pub.of(t, events.KindVote)[0].(*events.Vote); v.Height != 1000 || v.ValidatorIndex != 1 {
		t.Errorf("published vote %+v: want validator 1's at height 1000", v)
	}
}

// Healthy is nil while an endpoint is healthy and within the grace after
// the last one was; past it, an error naming each endpoint's reason (what
// /healthz answers 503 with).
func TestHealthyGrace(t *testing.T) {
	n := node(t, 4)
	pub := &memPublisher{}
	s, _ := run(t, testConfig(pub, n.URL()))
	waitFor(t, "healthy", func() bool { return s.eps[0].healthy.Load() })
	if err := s.Healthy(time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("a healthy endpoint: %v", err)
	}
	n.SetNetwork("other-1")
	waitFor(t, "unhealthy", func() bool { return !s.eps[0].healthy.Load() })
	if err := s.Healthy(time.Now()); err != nil {
		t.Errorf("within the grace: %v", err)
	}
	err := s.Healthy(time.Now().Add(DefaultUnhealthyGrace + time.Minute))
	if err == nil || !strings.Contains(err.Error(), "no healthy RPC endpoint") || !strings.Contains(err.Error(), s.eps[0].name+`: chain id "other-1"`) {
		t.Errorf("past the grace: %v; want the endpoint and its reason", err)
	}

	// An endpoint that never answers: unhealthy past the grace from the start.
	s2, _ := run(t, testConfig(&memPublisher{}, "http://127.0.0.1:1/?key=SECRET"))
	waitFor(t, "a failed /status", func() bool { return s2.eps[0].reason.Load() != nil })
	err = s2.Healthy(time.Now().Add(DefaultUnhealthyGrace + time.Minute))
	if err == nil || !strings.Contains(err.Error(), "since the sentry started") || !strings.Contains(err.Error(), "127.0.0.1:1: status:") || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("never healthy: %v", err)
	}
}
