package api

import (
	"context"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Bounds of the response cache: entries and bytes, so that many distinct
// queries cannot grow memory without bound.
const (
	maxCacheEntries = 256
	maxCacheBytes   = 256 << 20
)

// Cache keeps encoded responses for a short time and lets concurrent
// requests for the same key share one store query. /validators returns every
// validator node (tens of thousands of rows) and is polled by many clients;
// without this each poll is a full scan, and fifty at once exceed the query
// timeout on SQLite.
type Cache struct {
	ttl time.Duration // <= 0 disables caching (queries are still shared)
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*cacheEntry
	bytes   int
}

type cacheEntry struct {
	done    chan struct{} // closed when body/err are set
	body    []byte
	err     error
	expires time.Time
}

func newCache(ttl time.Duration, now func() time.Time) *Cache {
	return &Cache{ttl: ttl, now: now, entries: make(map[string]*cacheEntry)}
}

// Get returns the cached body of key, or computes it once for every caller
// that asks while it is being computed. compute must not depend on the
// caller's cancellation (use Router.DetachedContext): other callers may be
// waiting on it. ctx bounds only this caller's wait. Errors are not cached.
func (c *Cache) Get(ctx context.Context, key string, compute func() ([]byte, error)) ([]byte, error) {
	return c.GetFresh(ctx, key, c.ttl, compute)
}

// GetFresh is Get with a shorter lifetime for this key (at most the
// cache's TTL): a live view (the Cosmos consensus round, polled every
// second) wants bodies younger than the server-wide TTL, and still shares
// one computation between the callers of a burst.
func (c *Cache) GetFresh(ctx context.Context, key string, ttl time.Duration, compute func() ([]byte, error)) ([]byte, error) {
	if ttl > c.ttl {
		ttl = c.ttl
	}
	c.mu.Lock()
	if e, ok := c.entries[key]; ok && (!isDone(e) || c.now().Before(e.expires)) {
		c.mu.Unlock()
		select {
		case <-e.done:
			return e.body, e.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	e := &cacheEntry{done: make(chan struct{})}
	c.evictLocked(0)
	if old, ok := c.entries[key]; ok {
		c.bytes -= len(old.body)
	}
	c.entries[key] = e
	c.mu.Unlock()

	body, err := compute()

	c.mu.Lock()
	e.body, e.err, e.expires = body, err, c.now().Add(ttl)
	cacheable := err == nil && ttl > 0 && len(body) <= maxCacheBytes/4
	if cacheable {
		c.evictLocked(len(body))
		c.bytes += len(body)
	}
	if !cacheable && c.entries[key] == e {
		delete(c.entries, key)
	} else if cacheable && c.entries[key] != e {
		c.bytes -= len(body) // evicted meanwhile; nothing holds it
	}
	close(e.done)
	c.mu.Unlock()
	return body, err
}

func isDone(e *cacheEntry) bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// evictLocked drops expired entries, then others that are complete, until
// there is room for one more entry of size bytes.
func (c *Cache) evictLocked(size int) {
	now := c.now()
	for k, e := range c.entries {
		if isDone(e) && !now.Before(e.expires) {
			c.bytes -= len(e.body)
			delete(c.entries, k)
		}
	}
	for k, e := range c.entries {
		if len(c.entries) < maxCacheEntries && c.bytes+size <= maxCacheBytes {
			return
		}
		if isDone(e) {
			c.bytes -= len(e.body)
			delete(c.entries, k)
		}
	}
}

// CacheKey names a response by route, view and the parameters that shape it
// (others are ignored, so junk parameters do not split the cache). The view
// is part of every key, so an admin body is never served to the public.
func CacheKey(route string, admin bool, q Query, names ...string) string {
	var b strings.Builder
	b.WriteString(route)
	if admin {
		b.WriteString("|admin")
	} else {
		b.WriteString("|public")
	}
	sort.Strings(names)
	for _, n := range names {
		if v := q.v.Get(n); v != "" {
			b.WriteString("|" + n + "=" + url.QueryEscape(v))
		}
	}
	return b.String()
}
