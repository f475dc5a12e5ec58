package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/valtrack/valtrack/internal/retry"
)

// Subscriber defaults, overridable in WSConfig.
const (
	DefaultReadLimit    = 8 << 20 // bytes of one message; NewBlock with results can be MBs
	DefaultPingEvery    = 20 * time.Second
	DefaultPingTimeout  = 10 * time.Second
	DefaultReadTimeout  = 75 * time.Second // no message and no pong: the server pings every 27 s
	DefaultStallTimeout = 90 * time.Second // no event at all: a chain makes votes every second
	DefaultDialTimeout  = 10 * time.Second
	DefaultBackoffMin   = 500 * time.Millisecond
	DefaultBackoffMax   = 30 * time.Second
	DefaultBuffer       = 4096
)

// Queries are the four subscriptions, one per event type (the query
// grammar has no OR; CometBFT allows 5 per connection). Their JSON-RPC ids
// are index+1.
var Queries = []string{"tm.event='Vote'", "tm.event='NewRound'", "tm.event='NewRoundStep'", "tm.event='NewBlock'"}

// Counters, the names passed to WSConfig.Count.
const (
	CountReceived    = "received"     // a decoded event (kind: its events kind)
	CountDecodeError = "decode_error" // a message or event that did not decode
	CountOversize    = "oversize"     // a message over the read limit, skipped (the connection stays)
	CountUnknown     = "unknown_type" // an event type or id this client does not know
	CountDrop        = "drop"         // an item not handed over: the consumer's channel was full
	CountReconnect   = "reconnect"    // a connection ended and is being re-established
	CountSubError    = "subscribe_error"
)

// WSConfig configures a Subscriber; zero durations and sizes take defaults.
type WSConfig struct {
	URL          string // the RPC base URL (http/https/ws/wss); /websocket is appended
	ReadLimit    int64
	PingEvery    time.Duration
	PingTimeout  time.Duration
	ReadTimeout  time.Duration
	StallTimeout time.Duration
	DialTimeout  time.Duration
	BackoffMin   time.Duration
	BackoffMax   time.Duration
	Buffer       int // items the consumer's channel holds
	Log          *slog.Logger
	// Count, if set, is told of every counted thing (Count* names; kind is
	// the event kind for CountReceived, else "").
	Count func(counter, kind string)
}

// Item is what a Subscriber hands over: an event, or the news that a new
// connection (session) is subscribed.
type Item struct {
	Session   uint64 // increments with every connection
	Connected bool   // first item of a session: events before it may be missing
	// Gap: items of this session were dropped before this one (the
	// consumer was slow); what they held must be fetched again.
	Gap bool
	// Ended: last item of a session; its connection is gone. Events the
	// node sent after the last one handed over are lost, so whatever the
	// consumer inferred from the session being unbroken stops here. It is
	// never dropped (the reader is done, so waiting for room costs only
	// the reconnection's start).
	Ended bool
	Event *Event
	At    time.Time // when it was read
}

// WSStats are a Subscriber's counts so far.
type WSStats struct {
	Sessions, Reconnects, Received, DecodeErrors, Oversize, Unknown, Drops, SubscribeErrors uint64
}

// Subscriber keeps the four subscriptions of one endpoint alive.
type Subscriber struct {
	cfg     WSConfig
	wsURL   string
	name    string
	secrets []string
	out     chan Item
	log     *slog.Logger

	session atomic.Uint64
	live    atomic.Uint64 // the session whose connection is subscribed and reading; 0: none
	gap     atomic.Bool
	st      struct {
		sessions, reconnects, received, decodeErrors, oversize, unknown, drops, subErrors atomic.Uint64
	}
}

// NewSubscriber validates cfg; Run does the work.
func NewSubscriber(cfg WSConfig) (*Subscriber, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("websocket endpoint %s: give an http(s):// or ws(s):// URL with a host", Redact(cfg.URL))
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return nil, fmt.Errorf("websocket endpoint %s: scheme %q is not http, https, ws or wss", Redact(cfg.URL), u.Scheme)
	}
	if !strings.HasSuffix(u.Path, "/websocket") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/websocket"
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.PingEvery, DefaultPingEvery)
	def(&cfg.PingTimeout, DefaultPingTimeout)
	def(&cfg.ReadTimeout, DefaultReadTimeout)
	def(&cfg.StallTimeout, DefaultStallTimeout)
	def(&cfg.DialTimeout, DefaultDialTimeout)
	def(&cfg.BackoffMin, DefaultBackoffMin)
	def(&cfg.BackoffMax, DefaultBackoffMax)
	if cfg.ReadLimit <= 0 {
		cfg.ReadLimit = DefaultReadLimit
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = DefaultBuffer
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Subscriber{cfg: cfg, wsURL: u.String(), name: u.Host, secrets: Secrets(cfg.URL),
		out: make(chan Item, cfg.Buffer)}
	s.log = cfg.Log.With("endpoint", s.name)
	return s, nil
}

// Items is the channel of decoded events. It is never closed; stop reading
// when Run has returned.
func (s *Subscriber) Items() <-chan Item { return s.out }

// Live is the session that is connected and reading now, 0 when none. A
// consumer that has not yet read a session's Ended item learns from it
// that the session is over (the item may still be queued behind events).
func (s *Subscriber) Live() uint64 { return s.live.Load() }

// Stats returns the counts so far.
func (s *Subscriber) Stats() WSStats {
	return WSStats{Sessions: s.st.sessions.Load(), Reconnects: s.st.reconnects.Load(), Received: s.st.received.Load(),
		DecodeErrors: s.st.decodeErrors.Load(), Oversize: s.st.oversize.Load(), Unknown: s.st.unknown.Load(),
		Drops: s.st.drops.Load(), SubscribeErrors: s.st.subErrors.Load()}
}

func (s *Subscriber) count(c *atomic.Uint64, name, kind string) {
	c.Add(1)
	if s.cfg.Count != nil {
		s.cfg.Count(name, kind)
	}
}

// Run connects, subscribes and reads until ctx ends, reconnecting forever
// with exponential backoff and jitter. It returns nil when ctx ends.
func (s *Subscriber) Run(ctx context.Context) error {
	attempt := 0
	var reports retry.Reports
	for ctx.Err() == nil {
		start, sessions := time.Now(), s.st.sessions.Load()
		delivered, err := s.connection(ctx)
		if ctx.Err() != nil {
			return nil
		}
		s.count(&s.st.reconnects, CountReconnect, "")
		// It worked for a while: start the backoff again. Only a session
		// that subscribed counts — a refused or timed-out dial, however
		// slow on a loaded machine, is one more attempt of the outage.
		connected := s.st.sessions.Load() != sessions
		if delivered || (connected && time.Since(start) > s.cfg.BackoffMax) {
			attempt = 0
		}
		wait := s.backoff(attempt)
		attempt++
		level := slog.LevelDebug // a long outage: every attempt counted, a few logged
		if reports.Warn(attempt, err) {
			level = slog.LevelWarn
		}
		s.log.Log(ctx, level, "cosmos websocket: connection ended; reconnecting", "err", err, "in", wait.Round(time.Millisecond), "attempt", attempt)
		if !retry.Sleep(ctx, wait) {
			return nil
		}
	}
	return nil
}

// backoff is the reconnection delay of attempt (retry.Backoff).
func (s *Subscriber) backoff(attempt int) time.Duration {
	return retry.Backoff(attempt, s.cfg.BackoffMin, s.cfg.BackoffMax)
}

// deliver hands an item over without ever blocking the reader: on a full
// channel it counts a drop and marks the session as having a gap, which
// the next item that gets through carries.
func (s *Subscriber) deliver(it Item) bool {
	if s.gap.Load() {
		it.Gap = true
	}
	select {
	case s.out <- it:
		if it.Gap {
			s.gap.Store(false)
		}
		return true
	default:
		s.count(&s.st.drops, CountDrop, "")
		s.gap.Store(true)
		return false
	}
}

// ended marks session sess as over and hands over its Ended item, waiting
// for room rather than dropping it: a consumer that never heard of the
// end would go on trusting the session (ctx ending is the only way out).
func (s *Subscriber) ended(ctx context.Context, sess uint64) {
	s.live.CompareAndSwap(sess, 0)
	it := Item{Session: sess, Ended: true, Gap: s.gap.Load(), At: time.Now()}
	select {
	case s.out <- it:
	case <-ctx.Done():
	}
}

// connection runs one connection until it fails; delivered reports whether
// it handed over any event.
func (s *Subscriber) connection(ctx context.Context) (delivered bool, err error) {
	cctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	dctx, dcancel := context.WithTimeout(cctx, s.cfg.DialTimeout)
	conn, resp, err := websocket.Dial(dctx, s.wsURL, nil)
	dcancel()
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return false, fmt.Errorf("dial %s: %w", s.name, Scrub(err, append(s.secrets, s.wsURL)))
	}
	defer conn.CloseNow()
	// Each message is bounded by readMessage, which skips one over the
	// limit; the library's limit would close the connection instead.
	conn.SetReadLimit(-1)

	for i, q := range Queries {
		req := fmt.Sprintf(`{"jsonrpc":"2.0","method":"subscribe","id":%d,"params":{"query":%q}}`, i+1, q)
		wctx, wcancel := context.WithTimeout(cctx, s.cfg.PingTimeout)
		err := conn.Write(wctx, websocket.MessageText, []byte(req))
		wcancel()
		if err != nil {
			return false, fmt.Errorf("subscribe %s on %s: %w", q, s.name, err)
		}
	}
	sess := s.session.Add(1)
	s.st.sessions.Add(1)
	s.gap.Store(false)
	s.live.Store(sess)
	defer s.ended(ctx, sess)
	s.deliver(Item{Session: sess, Connected: true, At: time.Now()})
	s.log.Info("cosmos websocket: connected and subscribed", "session", sess)

	var lastMsg, lastEvent atomic.Int64
	now := time.Now().UnixNano()
	lastMsg.Store(now)
	lastEvent.Store(now)

	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel(nil)
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.watch(cctx, cancel, conn, &lastMsg, &lastEvent)
	}()

	for {
		data, over, err := s.readMessage(cctx, conn)
		if err != nil {
			if cause := context.Cause(cctx); cause != nil && ctx.Err() == nil {
				return delivered, cause
			}
			return delivered, fmt.Errorf("read from %s: %w", s.name, err)
		}
		at := time.Now()
		lastMsg.Store(at.UnixNano())
		if over {
			s.count(&s.st.oversize, CountOversize, "")
			s.log.Warn("cosmos websocket: a message over the read limit skipped (counted; raise the limit if the node is honest)", "limit", s.cfg.ReadLimit)
			continue
		}
		m, err := DecodeMessage(data)
		if err != nil {
			s.count(&s.st.decodeErrors, CountDecodeError, "")
			s.log.Debug("cosmos websocket: message skipped", "err", err)
			continue
		}
		if m.ID < 1 || m.ID > int64(len(Queries)) {
			s.count(&s.st.unknown, CountUnknown, "")
			continue
		}
		if m.Error != nil {
			s.count(&s.st.subErrors, CountSubError, "")
			return delivered, fmt.Errorf("subscription %s on %s: %w", Queries[m.ID-1], s.name, m.Error)
		}
		if m.Type == "" {
			continue // the acknowledgement of a subscribe
		}
		ev, err := DecodeEvent(m.Type, m.Value)
		if errors.Is(err, ErrUnknownType) {
			s.count(&s.st.unknown, CountUnknown, "")
			continue
		}
		if err != nil {
			s.count(&s.st.decodeErrors, CountDecodeError, "")
			s.log.Debug("cosmos websocket: event skipped", "err", err)
			continue
		}
		lastEvent.Store(at.UnixNano())
		s.count(&s.st.received, CountReceived, ev.Kind())
		if s.deliver(Item{Session: sess, Event: ev, At: at}) {
			delivered = true
		}
	}
}

// maxDiscardFactor bounds what readMessage discards of one oversized
// message: beyond ReadLimit × this, the connection is ended instead.
const maxDiscardFactor = 64

// readMessage reads one message of at most ReadLimit bytes. A longer one
// is read to its end and discarded (over: true, no data), so that the
// connection goes on; one longer than ReadLimit × maxDiscardFactor ends
// the connection with an error.
func (s *Subscriber) readMessage(ctx context.Context, conn *websocket.Conn) (data []byte, over bool, err error) {
	_, r, err := conn.Reader(ctx)
	if err != nil {
		return nil, false, err
	}
	data, err = io.ReadAll(io.LimitReader(r, s.cfg.ReadLimit+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(data)) <= s.cfg.ReadLimit {
		return data, false, nil
	}
	max := s.cfg.ReadLimit
	if max <= math.MaxInt64/maxDiscardFactor {
		max *= maxDiscardFactor
	}
	n, err := io.Copy(io.Discard, io.LimitReader(r, max))
	if err != nil {
		return nil, true, err
	}
	if n == max {
		if k, _ := r.Read(make([]byte, 1)); k > 0 {
			s.count(&s.st.oversize, CountOversize, "")
			return nil, true, fmt.Errorf("a message over %d bytes (%d× the read limit): reconnecting", max, maxDiscardFactor)
		}
	}
	return nil, true, nil
}

// watch pings, and ends the connection (cancel with a cause) when no
// message or pong arrived within ReadTimeout, no event within
// StallTimeout, or a ping went unanswered.
func (s *Subscriber) watch(ctx context.Context, cancel context.CancelCauseFunc, conn *websocket.Conn, lastMsg, lastEvent *atomic.Int64) {
	tick := min(s.cfg.PingEvery, s.cfg.ReadTimeout/4, s.cfg.StallTimeout/4, time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	lastPing := time.Now()
	pinging := make(chan struct{}, 1)
	var pings sync.WaitGroup
	defer pings.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if d := now.Sub(time.Unix(0, lastMsg.Load())); d > s.cfg.ReadTimeout {
				cancel(fmt.Errorf("nothing from %s for %s (read timeout %s): the connection is dead", s.name, d.Round(time.Millisecond), s.cfg.ReadTimeout))
				return
			}
			if d := now.Sub(time.Unix(0, lastEvent.Load())); d > s.cfg.StallTimeout {
				cancel(fmt.Errorf("no event from %s for %s (stall timeout %s): resubscribing", s.name, d.Round(time.Millisecond), s.cfg.StallTimeout))
				return
			}
			if now.Sub(lastPing) < s.cfg.PingEvery {
				continue
			}
			select {
			case pinging <- struct{}{}:
			default:
				continue // the previous ping is still out
			}
			lastPing = now
			pings.Add(1)
			go func() {
				defer pings.Done()
				defer func() { <-pinging }()
				pctx, pcancel := context.WithTimeout(ctx, s.cfg.PingTimeout)
				defer pcancel()
				if err := conn.Ping(pctx); err != nil {
					if ctx.Err() == nil {
						cancel(fmt.Errorf("ping %s: no pong within %s: %w", s.name, s.cfg.PingTimeout, err))
					}
					return
				}
				lastMsg.Store(time.Now().UnixNano())
			}()
		}
	}
}
