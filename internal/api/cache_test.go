package api

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/ethereum/state"
)

func addEstimate(t *testing.T, f *fixture, peerID string) {
	t.Helper()
	err := f.st.PutEstimates(context.Background(), []state.Estimate{{Network: testNet, PeerID: peerID,
		Validators: 7, Low: 7, High: 8, Confidence: 0.6, Method: "aggregation", Epochs: 3, UpdatedAt: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestValidatorsServedFromCacheWithinTTL(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.CacheTTL = time.Hour })
	var rows []validatorRow
	f.getJSON("/validators", "", 200, &rows)
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3", len(rows))
	}
	addEstimate(t, f, "16Uiu2HAmPeerCharlie")
	f.getJSON("/validators?junk=1", "", 200, &rows)
	if len(rows) != 3 {
		t.Errorf("within the TTL: %d rows, want the cached 3", len(rows))
	}
	// The admin view is cached apart: it never gets a public body, nor the reverse.
	f.getJSON("/validators", keyAlice, 200, &rows)
	if len(rows) != 4 || rows[0].IP == "" {
		t.Errorf("admin view: %d rows (ip %q), want 4 fresh rows with IPs", len(rows), rows[0].IP)
	}
	f.getJSON("/validators", "", 200, &rows)
	if rows[0].IP != "" {
		t.Error("public view served an admin body")
	}
}

func TestCacheDisabled(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.CacheTTL = -1 })
	var rows []validatorRow
	f.getJSON("/validators", "", 200, &rows)
	addEstimate(t, f, "16Uiu2HAmPeerCharlie")
	var p peersResponse
	f.getJSON("/api/v1/ethereum/testnet/peers?min_validators=7", "", 200, &p)
	f.getJSON("/validators", "", 200, &rows)
	if len(rows) != 4 || len(p.Peers) != 1 {
		t.Errorf("without a cache: %d validator rows and %d peers, want 4 and 1", len(rows), len(p.Peers))
	}
}

func TestCacheSharesConcurrentQueriesAndStaysBounded(t *testing.T) {
	now := time.Unix(0, 0)
	c := newRespCache(time.Minute, func() time.Time { return now })
	var calls atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, err := c.get(context.Background(), "k", func() ([]byte, error) {
				calls.Add(1)
				<-release
				return []byte("v"), nil
			})
			if err != nil || string(body) != "v" {
				t.Errorf("get = %q, %v", body, err)
			}
		}()
	}
	// Let the goroutines queue up behind the first, then release it.
	for {
		c.mu.Lock()
		_, started := c.entries["k"]
		c.mu.Unlock()
		if started {
			break
		}
	}
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d computations for 10 concurrent gets, want 1", n)
	}
	// Errors are not kept.
	boom := errors.New("boom")
	if _, err := c.get(context.Background(), "e", func() ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, ok := c.entries["e"]; ok {
		t.Error("a failed computation was cached")
	}
	for i := 0; i < 3*maxCacheEntries; i++ {
		c.get(context.Background(), fmt.Sprint(i), func() ([]byte, error) { return []byte("x"), nil })
	}
	if len(c.entries) > maxCacheEntries || c.bytes > maxCacheBytes || c.bytes < 0 {
		t.Errorf("cache holds %d entries, %d bytes", len(c.entries), c.bytes)
	}
	// Expired entries are recomputed.
	now = now.Add(2 * time.Minute)
	body, _ := c.get(context.Background(), "k", func() ([]byte, error) { return []byte("new"), nil })
	if string(body) != "new" {
		t.Errorf("expired entry served: %q", body)
	}
}

func TestCacheKeyIgnoresUnknownParameters(t *testing.T) {
	a := cacheKey("r", false, query{url.Values{"from": {"1"}, "junk": {"x"}}}, "from", "to")
	b := cacheKey("r", false, query{url.Values{"from": {"1"}}}, "to", "from")
	if a != b || a == cacheKey("r", true, query{url.Values{"from": {"1"}}}, "from") {
		t.Errorf("keys: %q %q", a, b)
	}
}
