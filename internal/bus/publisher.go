package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrPublisherClosed is returned by a Publisher after Close.
var ErrPublisherClosed = errors.New("publisher is closed")

const (
	retryBaseBackoff = 50 * time.Millisecond
	// heldPoll is how often messages held during a disconnection look at the
	// connection again; cheap, and bounded by the number held.
	heldPoll     = 100 * time.Millisecond
	warnInterval = 5 * time.Second
	headerBudget = 256 // bytes reserved for the Nats-Msg-Id header and protocol overhead
)

// Publisher publishes asynchronously with at most MaxPending messages
// unacknowledged, and keeps every message until the stream acknowledged it.
// Its Flush waits for every message; a Scope of it publishes through the
// same connection, queue and bounds, and its Flush waits only for the
// messages published through that Scope.
type Publisher struct {
	bus     *Bus
	log     *slog.Logger
	nc      *nats.Conn
	js      jetstream.JetStream
	metrics *Metrics
	maxBack time.Duration

	slots chan struct{} // one token per unacknowledged message
	queue chan *entry   // to the sender; never fuller than slots
	wake  chan struct{} // a retry was scheduled
	stop  chan struct{} // closed when Close gives up or finishes
	done  chan struct{} // closed when the sender exits

	mu       sync.Mutex
	closed   bool
	seq      uint64   // the last seq given to an entry
	whole    flushSet // every entry, whatever its scope
	inflight map[*nats.Msg]*entry
	retry    []*entry
	lastWarn time.Time
}

// flushSet is what one Flush waits on: the publisher's every entry, or a
// scope's. Guarded by Publisher.mu.
type flushSet struct {
	pending  pendingHeap
	flushers []flusher
	last     uint64 // seq of the last entry enqueued into it
	lost     int    // entries Close dropped unacknowledged
}

type flusher struct {
	upTo uint64
	ch   chan struct{}
}

// release wakes the flushers whose messages are all acknowledged. Only the
// set's own heap is looked at, so an acknowledgement costs the same
// whatever the other scopes hold.
func (fs *flushSet) release() {
	if len(fs.flushers) == 0 {
		return
	}
	low := fs.pending.low(fs.last + 1)
	fs.flushers = slices.DeleteFunc(fs.flushers, func(f flusher) bool {
		if f.upTo < low {
			close(f.ch)
			return true
		}
		return false
	})
}

// NewPublisher returns a Publisher on the bus. Close it before the Bus.
func (b *Bus) NewPublisher(log *slog.Logger) *Publisher {
	if log == nil {
		log = b.log
	}
	p := &Publisher{
		bus:      b,
		log:      log,
		nc:       b.nc,
		metrics:  b.metrics,
		maxBack:  b.cfg.RetryMaxBackoff,
		slots:    make(chan struct{}, b.cfg.MaxPending),
		queue:    make(chan *entry, b.cfg.MaxPending),
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		inflight: make(map[*nats.Msg]*entry),
	}
	// A JetStream context of its own, so that its acknowledgement callbacks
	// belong to this publisher alone. Its own pending limit sits above ours
	// so it never stalls a send; ours is the one that blocks callers.
	js, err := jetstream.New(b.nc,
		jetstream.WithPublishAsyncAckHandler(p.onAck),
		jetstream.WithPublishAsyncErrHandler(p.onErr),
		jetstream.WithPublishAsyncMaxPending(b.cfg.MaxPending+1),
		jetstream.WithPublishAsyncTimeout(b.cfg.PublishAckTimeout),
	)
	if err != nil {
		// Only invalid options fail here, and ours are validated in Config.
		panic(fmt.Sprintf("bus: create JetStream publisher context: %v", err))
	}
	p.js = js
	go p.run()
	return p
}

// Publish enqueues a message with the deterministic id msgID and returns
// once it is held; it blocks while MaxPending messages are unacknowledged,
// until ctx is done. The stream drops a second message with the same id
// inside the Duplicates window.
func (p *Publisher) Publish(ctx context.Context, subject, msgID string, data []byte) error {
	return p.publish(ctx, nil, subject, msgID, data)
}

func (p *Publisher) publish(ctx context.Context, s *Scope, subject, msgID string, data []byte) error {
	if err := validateSubject(subject); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if msgID == "" {
		return fmt.Errorf("publish %s: msgID is empty; pass a deterministic id so re-sends are deduplicated", subject)
	}
	if limit := p.nc.MaxPayload() - headerBudget - int64(len(msgID)) - int64(len(subject)); int64(len(data)) > limit {
		return fmt.Errorf("publish %s: message of %d bytes exceeds the server's max payload (%d usable); split the event", subject, len(data), limit)
	}
	if p.isClosed() {
		return fmt.Errorf("publish %s: %w", subject, ErrPublisherClosed)
	}
	if p.nc.IsClosed() {
		return fmt.Errorf("publish %s: the bus connection is closed; close publishers before the bus", subject)
	}
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("publish %s: %d messages await the stream's acknowledgement (MaxPending): %w", subject, cap(p.slots), ctx.Err())
	case <-p.stop:
		return fmt.Errorf("publish %s: %w", subject, ErrPublisherClosed)
	}
	m := &nats.Msg{
		Subject: p.bus.cfg.SubjectPrefix + subject,
		Data:    slices.Clone(data), // the caller may reuse its buffer; we keep this until acknowledged
		Header:  nats.Header{jetstream.MsgIDHeader: []string{msgID}},
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.slots
		return fmt.Errorf("publish %s: %w", subject, ErrPublisherClosed)
	}
	p.seq++
	e := &entry{seq: p.seq, msg: m, scope: s}
	p.whole.pending.add(e)
	p.whole.last = p.seq
	if s != nil {
		s.set.pending.add(e)
		s.set.last = p.seq
	}
	p.mu.Unlock()
	p.metrics.Pending.Inc()
	p.queue <- e // cannot block: every entry holds a slot and the queue is as large as slots
	return nil
}

// Flush waits until every message enqueued before the call is acknowledged,
// whichever Scope published it. After a Close that lost messages it
// returns ErrPublisherClosed.
func (p *Publisher) Flush(ctx context.Context) error {
	return p.flush(ctx, &p.whole, "publisher")
}

// flush waits until every entry of fs enqueued before the call is
// acknowledged. what names fs in errors.
func (p *Publisher) flush(ctx context.Context, fs *flushSet, what string) error {
	p.mu.Lock()
	upTo := fs.last
	if fs.pending.low(upTo+1) > upTo {
		lost := fs.lost
		p.mu.Unlock()
		if lost > 0 {
			// Nothing is pending because Close dropped it: not acknowledged.
			return fmt.Errorf("flush %s: %d messages were lost when the publisher closed: %w", what, lost, ErrPublisherClosed)
		}
		return nil
	}
	f := flusher{upTo: upTo, ch: make(chan struct{})}
	fs.flushers = append(fs.flushers, f)
	p.mu.Unlock()
	select {
	case <-f.ch:
		return nil
	case <-ctx.Done():
		p.mu.Lock()
		fs.flushers = slices.DeleteFunc(fs.flushers, func(g flusher) bool { return g.ch == f.ch })
		n := fs.pending.Len()
		p.mu.Unlock()
		return fmt.Errorf("flush %s: %d messages still unacknowledged (is the NATS server reachable?): %w", what, n, ctx.Err())
	case <-p.done:
		return fmt.Errorf("flush %s: %w", what, ErrPublisherClosed)
	}
}

// Pending is the number of messages enqueued and not yet acknowledged.
func (p *Publisher) Pending() int { return len(p.slots) }

// Close stops accepting messages, waits (bounded by ctx) until those held are
// acknowledged, then stops. Messages still held when ctx ends are lost, and
// the error says how many.
func (p *Publisher) Close(ctx context.Context) error {
	p.mu.Lock()
	already := p.closed
	p.closed = true
	p.mu.Unlock()
	if already {
		<-p.done
		return nil
	}
	err := p.Flush(ctx)
	close(p.stop)
	<-p.done
	p.mu.Lock()
	dropped := p.whole.pending.reset()
	lost := len(dropped)
	p.whole.lost = lost
	for _, e := range dropped {
		if e.scope != nil {
			e.scope.set.lost++
			e.scope.set.pending.reset()
		}
	}
	clear(p.inflight)
	p.retry = nil
	p.mu.Unlock()
	if lost > 0 {
		p.metrics.Pending.Sub(float64(lost))
		p.log.Error("publisher closed before the stream acknowledged every message; they are lost", "lost", lost)
		return fmt.Errorf("close publisher: %d messages lost: %w", lost, err)
	}
	return nil
}

func (p *Publisher) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// run is the single sender: it sends new messages and re-sends due retries.
// The JetStream library is never called with p.mu held, because it calls
// onErr with its own lock held.
func (p *Publisher) run() {
	defer close(p.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case <-p.stop:
			return
		case e := <-p.queue:
			p.send(e)
		case <-p.wake:
		case <-timer.C:
		}
		due, wait := p.takeDue(time.Now())
		for _, e := range due {
			p.send(e)
		}
		timer.Reset(wait)
	}
}

// takeDue removes the retries whose time has come and returns them with the
// wait until the next one.
func (p *Publisher) takeDue(now time.Time) ([]*entry, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.retry) == 0 {
		return nil, time.Hour
	}
	var due []*entry
	wait := time.Hour
	keep := p.retry[:0]
	for _, e := range p.retry {
		if !e.next.After(now) {
			due = append(due, e)
			continue
		}
		keep = append(keep, e)
		wait = min(wait, e.next.Sub(now))
	}
	clear(p.retry[len(keep):])
	p.retry = keep
	return due, wait
}

func (p *Publisher) send(e *entry) {
	if !p.nc.IsConnected() {
		// Held, not sent: the client's reconnect buffer is bounded and
		// silently lossy, so messages wait here until the connection is back.
		p.hold(e, heldPoll)
		return
	}
	p.mu.Lock()
	p.inflight[e.msg] = e // before sending: the ack can arrive before PublishMsgAsync returns
	p.mu.Unlock()
	if _, err := p.js.PublishMsgAsync(e.msg); err != nil {
		p.mu.Lock()
		delete(p.inflight, e.msg)
		p.mu.Unlock()
		p.scheduleRetry(e, err)
	}
}

func (p *Publisher) onAck(_ jetstream.JetStream, m *nats.Msg, _ *jetstream.PubAck) {
	p.mu.Lock()
	e, ok := p.inflight[m]
	if !ok {
		p.mu.Unlock()
		return
	}
	delete(p.inflight, m)
	p.whole.pending.remove(e)
	if e.scope != nil {
		e.scope.set.pending.remove(e)
	}
	e.msg = nil
	// Free the slot before waking flushers, so that Pending is already
	// down when Flush returns. It cannot block: the entry holds a token.
	<-p.slots
	p.whole.release()
	if e.scope != nil {
		e.scope.set.release()
	}
	p.mu.Unlock()
	p.metrics.Pending.Dec()
	p.metrics.Published.Inc()
}

func (p *Publisher) onErr(_ jetstream.JetStream, m *nats.Msg, err error) {
	p.mu.Lock()
	e, ok := p.inflight[m]
	if ok {
		delete(p.inflight, m)
	}
	p.mu.Unlock()
	if ok {
		p.scheduleRetry(e, err)
	}
}

// scheduleRetry re-sends e after an exponential backoff. It only takes p.mu
// and never blocks, since the library may call it with its own lock held.
func (p *Publisher) scheduleRetry(e *entry, cause error) {
	e.attempt++
	backoff := min(retryBaseBackoff<<min(e.attempt-1, 16), p.maxBack)
	p.metrics.PublishRetries.Inc()
	now := time.Now()
	p.mu.Lock()
	warn := now.Sub(p.lastWarn) >= warnInterval
	if warn {
		p.lastWarn = now
	}
	p.mu.Unlock()
	if warn {
		p.log.Warn("publish not acknowledged; re-sending with the same Nats-Msg-Id",
			"subject", e.msg.Subject, "attempt", e.attempt, "backoff", backoff, "pending", p.Pending(), "err", scrub(cause, p.bus.secrets))
	}
	p.hold(e, backoff)
}

func (p *Publisher) hold(e *entry, after time.Duration) {
	e.next = time.Now().Add(after)
	p.mu.Lock()
	p.retry = append(p.retry, e)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}
