package sync

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testClock is a sentry clock the test moves forward, so the 300 s limits
// are crossed without waiting.
type testClock struct{ off atomic.Int64 }

func (c *testClock) now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *testClock) advance(d time.Duration) { c.off.Add(int64(d)) }

// healthSentry syncs a 50-block chain through one endpoint until caught
// up and healthy.
func healthSentry(t *testing.T) (*Sentry, *chain, *node, *testClock) {
	t.Helper()
	c := newChain(50, spread(50, 5))
	n := newNode(t, c, 1337)
	clock := &testClock{}
	cfg := testConfig(t, &memPublisher{}, &syncBuf{}, n)
	cfg.now = clock.now
	s, _ := start(t, cfg)
	waitFor(t, "caught up", caughtUp(s, c, 3))
	waitFor(t, "live", func() bool { return s.Stats().Mode == ModeLive })
	if err := s.Healthy(); err != nil {
		t.Fatalf("caught up but unhealthy: %v", err)
	}
	return s, c, n, clock
}

// headReadAfter waits until the sentry read a head at or after the
// clock's present (the endpoint still answers).
func headReadAfter(t *testing.T, s *Sentry, clock *testClock) {
	t.Helper()
	at := clock.now()
	waitFor(t, "a head read after the clock moved", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return !s.headAt.Before(at)
	})
}

func wantUnhealthy(t *testing.T, s *Sentry, want string) {
	t.Helper()
	err := s.Healthy()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Healthy() = %v, want an error with %q", err, want)
	}
	if strings.Contains(err.Error(), "topsecret") || strings.Contains(err.Error(), "secretapikey") {
		t.Fatalf("Healthy() = %v: the URL's secrets", err)
	}
}

// TestHealthAllEndpointsDead: with every endpoint failing, no head is
// read and the chain moves on unseen; health fails once no endpoint has
// answered for MaxLagTime, and recovers when one answers again.
func TestHealthAllEndpointsDead(t *testing.T) {
	s, c, n, clock := healthSentry(t)
	n.fail.Store(true)
	c.extend(20, nil, 0)
	waitFor(t, "the endpoint seen failing", func() bool { return s.Stats().EndpointsHealthy == 0 })
	if err := s.Healthy(); err != nil {
		t.Fatalf("unhealthy %v after one failure; the limit is %s without an answer", err, MaxLagTime)
	}
	clock.advance(MaxLagTime + time.Second)
	wantUnhealthy(t, s, "no RPC endpoint has answered for 5m")
	n.fail.Store(false)
	waitFor(t, "caught up again", caughtUp(s, c, 3))
	if err := s.Healthy(); err != nil {
		t.Fatalf("caught up again but unhealthy: %v", err)
	}
}

// TestHealthBehindTooLong: fewer than MaxLagBlocks behind is healthy
// until it has lasted MaxLagTime.
func TestHealthBehindTooLong(t *testing.T) {
	s, c, n, clock := healthSentry(t)
	n.failLogs.Store(true) // heads come, blocks cannot be read
	c.extend(3, nil, 0)
	waitFor(t, "the new head seen", func() bool { return s.Stats().Head == c.head() })
	if err := s.Healthy(); err != nil {
		t.Fatalf("3 blocks behind for less than %s but unhealthy: %v", MaxLagTime, err)
	}
	clock.advance(MaxLagTime + time.Second)
	headReadAfter(t, s, clock)
	wantUnhealthy(t, s, "has been behind head − follow distance (49) for 5m")
}

// TestHealthBehindBlocks: more than MaxLagBlocks behind fails at once.
func TestHealthBehindBlocks(t *testing.T) {
	s, c, n, _ := healthSentry(t)
	n.failLogs.Store(true)
	c.extend(MaxLagBlocks+1, nil, 0)
	waitFor(t, "the new head seen", func() bool { return s.Stats().Head == c.head() })
	wantUnhealthy(t, s, "is 6 blocks behind head 55")
}

// TestHealthStuckHead: an endpoint that answers but stays on an old head
// (a node that stopped syncing) fails health by the processed block's
// time once it is MaxLagTime older than head − follow distance should be.
func TestHealthStuckHead(t *testing.T) {
	s, _, _, clock := healthSentry(t)
	// Block 46 is 48 s old; head − follow distance is expected 36 s ago.
	clock.advance(MaxLagTime - 20*time.Second)
	headReadAfter(t, s, clock)
	if err := s.Healthy(); err != nil {
		t.Fatalf("processed block %s behind expected, unhealthy: %v", MaxLagTime-8*time.Second, err)
	}
	clock.advance(time.Minute)
	headReadAfter(t, s, clock)
	wantUnhealthy(t, s, "before head − follow distance should be (3 blocks of 12s)")
}
