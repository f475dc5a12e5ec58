package api

import (
	"container/list"
	"math"
	"sync"
	"time"
)

// limiter is a set of token buckets, one per client (an IP or an API key),
// kept in least-recently-used order. The set is bounded: when it is full the
// least recently used bucket goes, so many source addresses cost memory up
// to the bound and no further. A bucket that has refilled completely holds
// no information (a new one starts full), so such buckets are dropped early.
type limiter struct {
	rate  float64 // tokens per second; <= 0 disables the limiter
	burst float64
	max   int
	now   func() time.Time

	mu      sync.Mutex
	order   *list.List // of *bucket, most recently used at the front
	buckets map[string]*list.Element
}

type bucket struct {
	id     string
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst, max int, now func() time.Time) *limiter {
	return &limiter{rate: rate, burst: float64(burst), max: max, now: now,
		order: list.New(), buckets: make(map[string]*list.Element)}
}

// allow takes a token from id's bucket; when there is none it returns how long
// until there will be.
func (l *limiter) allow(id string) (bool, time.Duration) {
	if l.rate <= 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.dropRefilled(now, 2)
	var b *bucket
	if el, ok := l.buckets[id]; ok {
		l.order.MoveToFront(el)
		b = el.Value.(*bucket)
		b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
		b.last = now
	} else {
		for len(l.buckets) >= l.max {
			l.remove(l.order.Back())
		}
		b = &bucket{id: id, tokens: l.burst, last: now}
		l.buckets[id] = l.order.PushFront(b)
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}

// dropRefilled removes up to n least recently used buckets that are full again.
func (l *limiter) dropRefilled(now time.Time, n int) {
	for i := 0; i < n; i++ {
		el := l.order.Back()
		if el == nil {
			return
		}
		b := el.Value.(*bucket)
		if b.tokens+now.Sub(b.last).Seconds()*l.rate < l.burst {
			return
		}
		l.remove(el)
	}
}

func (l *limiter) remove(el *list.Element) {
	delete(l.buckets, el.Value.(*bucket).id)
	l.order.Remove(el)
}

func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
