package subnets

import "sync"

// Cache remembers compute_subscribed_subnets by what it really depends on:
// the parameters, the node-id prefix and the subscription period. A whole
// network's nodes share at most 2^prefix_bits (64 on mainnet) answers per
// period, so a consumer that sees a new node on every event still computes
// the 90-round shuffle only a few dozen times a day rather than per event.
// Safe for concurrent use; the zero value is ready.
type Cache struct {
	mu sync.Mutex
	m  map[cacheKey][]uint64
}

type cacheKey struct {
	p              Params
	prefix, period uint64
}

// maxCacheEntries bounds the cache against a stream of events whose epochs
// span many periods (a replay of old history); when full it is emptied,
// which costs a few recomputations and never a wrong answer.
const maxCacheEntries = 1 << 16

// Subscribed is ComputeSubscribedSubnets answered from the cache. The
// returned slice is shared: callers must not modify it.
func (c *Cache) Subscribed(nodeID [32]byte, epoch uint64, p Params) []uint64 {
	p = p.sane()
	prefix, period := split(nodeID, epoch, p)
	k := cacheKey{p, prefix, period}
	c.mu.Lock()
	v, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return v
	}
	v = subnetsFrom(prefix, period, p)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCacheEntries {
		c.m = make(map[cacheKey][]uint64)
	}
	c.m[k] = v
	c.mu.Unlock()
	return v
}

// len is the number of cached answers (for tests).
func (c *Cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
