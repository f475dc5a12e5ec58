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
)

func TestCacheServesWithinTTLPerView(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.CacheTTL = time.Hour })
	var r struct{ Computed int }
	for i := 0; i < 3; i++ {
		f.getJSON("/api/v1/testdom/cached?junk="+fmt.Sprint(i), "", 200, &r)
	}
	if r.Computed != 1 {
		t.Errorf("within the TTL: computed %d times, want 1", r.Computed)
	}
	// The admin view is cached apart, and so is another value of n.
	f.getJSON("/api/v1/testdom/cached", keyAlice, 200, &r)
	f.getJSON("/api/v1/testdom/cached?n=2", "", 200, &r)
	if r.Computed != 3 {
		t.Errorf("admin view and n=2: computed %d times in all, want 3", r.Computed)
	}
}

func TestCacheDisabled(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.CacheTTL = -1 })
	var r struct{ Computed int }
	f.getJSON("/api/v1/testdom/cached", "", 200, &r)
	f.getJSON("/api/v1/testdom/cached", "", 200, &r)
	if r.Computed != 2 {
		t.Errorf("without a cache: computed %d times, want 2", r.Computed)
	}
}

func TestCacheSharesConcurrentQueriesAndStaysBounded(t *testing.T) {
	now := time.Unix(0, 0)
	c := newCache(time.Minute, func() time.Time { return now })
	var calls atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, err := c.Get(context.Background(), "k", func() ([]byte, error) {
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
	if _, err := c.Get(context.Background(), "e", func() ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, ok := c.entries["e"]; ok {
		t.Error("a failed computation was cached")
	}
	for i := 0; i < 3*maxCacheEntries; i++ {
		c.Get(context.Background(), fmt.Sprint(i), func() ([]byte, error) { return []byte("x"), nil })
	}
	if len(c.entries) > maxCacheEntries || c.bytes > maxCacheBytes || c.bytes < 0 {
		t.Errorf("cache holds %d entries, %d bytes", len(c.entries), c.bytes)
	}
	// Expired entries are recomputed.
	now = now.Add(2 * time.Minute)
	body, _ := c.Get(context.Background(), "k", func() ([]byte, error) { return []byte("new"), nil })
	if string(body) != "new" {
		t.Errorf("expired entry served: %q", body)
	}
}

func TestCacheKeyIgnoresUnknownParameters(t *testing.T) {
	a := CacheKey("r", false, Query{url.Values{"from": {"1"}, "junk": {"x"}}}, "from", "to")
	b := CacheKey("r", false, Query{url.Values{"from": {"1"}}}, "to", "from")
	if a != b || a == CacheKey("r", true, Query{url.Values{"from": {"1"}}}, "from") {
		t.Errorf("keys: %q %q", a, b)
	}
}

// GetFresh keeps a body no longer than its own lifetime, and never longer
// than the cache's.
func TestCacheGetFreshShortensTheLifetime(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newCache(5*time.Second, func() time.Time { return now })
	n := 0
	get := func(ttl time.Duration) {
		if _, err := c.GetFresh(context.Background(), "k", ttl, func() ([]byte, error) { n++; return []byte("x"), nil }); err != nil {
			t.Fatal(err)
		}
	}
	get(time.Second)
	now = now.Add(500 * time.Millisecond)
	get(time.Second)
	if n != 1 {
		t.Fatalf("within its 1 s: computed %d times, want 1", n)
	}
	now = now.Add(time.Second)
	get(time.Second)
	if n != 2 {
		t.Fatalf("after its 1 s: computed %d times, want 2", n)
	}
	get(time.Hour) // capped at the cache's 5 s
	now = now.Add(6 * time.Second)
	get(time.Hour)
	if n != 3 {
		t.Fatalf("computed %d times, want 3", n)
	}
	now = now.Add(6 * time.Second)
	get(time.Hour)
	if n != 4 {
		t.Fatalf("a lifetime above the cache's 5 s TTL kept a body 6 s: computed %d times, want 4", n)
	}
}
