package sentry

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/valtrack/valtrack/internal/ethereum/events"
)

type outEvent struct {
	kind, subject, msgID string
	data                 []byte
}

// eventQueue decouples observers (some run inside the gossipsub event loop,
// which must never block) from the Publisher. It grows up to
// maxQueuedEvents; only a bus down for long fills it.
type eventQueue struct {
	mu      sync.Mutex
	items   []outEvent
	wake    chan struct{}
	dropped int
}

func newEventQueue() *eventQueue { return &eventQueue{wake: make(chan struct{}, 1)} }

func (q *eventQueue) push(e outEvent) bool {
	q.mu.Lock()
	if len(q.items) >= maxQueuedEvents {
		q.dropped++
		q.mu.Unlock()
		return false
	}
	q.items = append(q.items, e)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return true
}

func (q *eventQueue) take() []outEvent {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}

// enqueue marshals and queues one event.
func (s *Sentry) enqueue(kind, msgID string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		s.log.Error("event not encoded; this is a bug", "kind", kind, "err", err)
		return
	}
	e := outEvent{kind: kind, subject: events.Subject(s.cfg.Network.Name, kind), msgID: msgID, data: data}
	if !s.events.push(e) {
		s.log.Warn("event dropped: the bus has not accepted events for long and the queue is full", "kind", kind, "queued", maxQueuedEvents)
	}
}

// publishLoop publishes queued events until ctx is done, then drains what
// is left within drainTimeout.
func (s *Sentry) publishLoop(ctx context.Context, drainTimeout time.Duration) {
	for {
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
			s.publishAll(dctx, s.events.take())
			cancel()
			return
		case <-s.events.wake:
			s.publishAll(ctx, s.events.take())
		}
	}
}

func (s *Sentry) publishAll(ctx context.Context, items []outEvent) {
	for i, e := range items {
		if err := s.publishOne(ctx, e); err != nil {
			if ctx.Err() != nil {
				// Keep the rest for the drain at shutdown.
				for _, r := range items[i:] {
					s.events.push(r)
				}
				return
			}
			s.log.Error("event not published after retries; it is lost", "kind", e.kind, "err", err)
		}
	}
}

func (s *Sentry) publishOne(ctx context.Context, e outEvent) error {
	var err error
	wait := 100 * time.Millisecond
	for attempt := 0; attempt < maxPublishAttempts; attempt++ {
		if err = s.pub.Publish(ctx, e.subject, e.msgID, e.data); err == nil {
			s.published.Add(1)
			s.m.published.WithLabelValues(e.kind).Inc()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
	return err
}
