package sync

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ethereum/go-ethereum/rpc"
)

// TestRateLimitOrTooLarge: the providers' answers, as the research note
// and the providers word them, each classed as a rate limit or a
// result-size error.
func TestRateLimitOrTooLarge(t *testing.T) {
	for _, tc := range []struct {
		err         error
		busy, large bool
	}{
		{&rpcErr{-32005, "query returned more than 10000 results"}, false, true},
		{&rpcErr{-32005, "query returned more than 10000 results. Try with this block range [0x429F00, 0x42A0FF]."}, false, true},
		{&rpcErr{-32602, "Too many logs requested. Max logs per response is 20000."}, false, true},
		{&rpcErr{-32000, "response size exceeded"}, false, true},
		{&rpcErr{-32600, "block range is too wide"}, false, true},
		{fmt.Errorf("eth_getLogs: %w", errTooLarge), false, true},
		{&rpcErr{-32005, "project ID request rate exceeded"}, true, false},
		{&rpcErr{-32005, "daily request count exceeded, request rate limited"}, true, false},
		{&rpcErr{-32005, "too many requests"}, true, false},
		{&rpcErr{429, "Your app has exceeded its compute units per second capacity"}, true, false},
		{fmt.Errorf("eth_getLogs: %w", rpc.HTTPError{StatusCode: 429, Status: "429 Too Many Requests"}), true, false},
		{fmt.Errorf("eth_getLogs: %w", rpc.HTTPError{StatusCode: 429, Status: "429", Body: []byte("slow down")}), true, false},
		{fmt.Errorf("eth_getLogs: %w", rpc.HTTPError{StatusCode: 500, Status: "500 Internal Server Error"}), false, false},
		{errors.New("connection refused"), false, false},
	} {
		if busy, large := rateLimited(tc.err), tooLarge(tc.err); busy != tc.busy || large != tc.large {
			t.Errorf("%q: rate limited %v, too large %v; want %v, %v", tc.err, busy, large, tc.busy, tc.large)
		}
	}
}

// TestRateLimitedKeepsRange: a rate-limited eth_getLogs (HTTP 429 or
// Infura's -32005) keeps the range size and is asked of the other
// endpoint, not halved and asked again at once of the same one.
func TestRateLimitedKeepsRange(t *testing.T) {
	for _, http429 := range []bool{false, true} {
		t.Run(fmt.Sprintf("http429=%v", http429), func(t *testing.T) {
			c := newChain(400, spread(400, 7))
			a, b := newNode(t, c, 1337), newNode(t, c, 1337)
			a.rateHTTP.Store(http429)
			a.rateLimit.Store(1 << 30) // a refuses every range
			pub, logs := &memPublisher{}, &syncBuf{}
			cfg := testConfig(t, pub, logs, a, b)
			cfg.InitialRange, cfg.MaxRange = 100, 100
			s, stop := start(t, cfg)
			waitFor(t, "caught up", caughtUp(s, c, 3))
			stop()
			st := s.Stats()
			if st.Halvings != 0 || st.RateLimited == 0 {
				t.Fatalf("stats %+v: want rate-limited ranges and no halving", st)
			}
			if a.count("rate_limited") == 0 {
				t.Fatal("a was never asked")
			}
			for _, r := range b.logRanges() {
				if r[1]-r[0]+1 != 100 && r[1] != c.head()-3 {
					t.Fatalf("b was asked for blocks %d..%d: the range size changed", r[0], r[1])
				}
			}
			got, _ := checkStream(t, pub.records())
			checkAll(t, c, got, 0, c.head()-3)
			noSecrets(t, logs)
		})
	}
}

// TestRateLimitedBacksOff: a single endpoint that rate-limits is waited
// for (the backoff of a failed round) and its range kept; the sync
// completes once it answers again.
func TestRateLimitedBacksOff(t *testing.T) {
	c := newChain(200, spread(200, 7))
	n := newNode(t, c, 1337)
	n.rateLimit.Store(4)
	pub, logs := &memPublisher{}, &syncBuf{}
	cfg := testConfig(t, pub, logs, n)
	cfg.InitialRange, cfg.MaxRange = 64, 64
	s, stop := start(t, cfg)
	waitFor(t, "caught up", caughtUp(s, c, 3))
	stop()
	if st := s.Stats(); st.Halvings != 0 || st.RateLimited != 4 {
		t.Fatalf("stats %+v: want 4 rate-limited ranges and no halving", st)
	}
	if n.count("rate_limited") != 4 {
		t.Fatalf("%d calls rate limited, want 4", n.count("rate_limited"))
	}
	for _, r := range n.logRanges() {
		if r[1]-r[0]+1 != 64 && r[1] != c.head()-3 {
			t.Fatalf("asked for blocks %d..%d after the rate limit: the range size changed", r[0], r[1])
		}
	}
	if want := "every endpoint failed in a row, waiting"; !containsN(logs.String(), want, 4) {
		t.Fatalf("not 4 waits (%q) in:\n%s", want, logs)
	}
	got, _ := checkStream(t, pub.records())
	checkAll(t, c, got, 0, c.head()-3)
}

func containsN(s, sub string, n int) bool {
	k := 0
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			k++
		}
	}
	return k >= n
}
