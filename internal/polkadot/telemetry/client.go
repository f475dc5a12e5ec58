package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/retry"
	"github.com/valtrack/valtrack/internal/safe"
)

// Client defaults, overridable in Config.
const (
	DefaultPingEvery   = 30 * time.Second
	DefaultPingTimeout = 10 * time.Second
	// DefaultStallTimeout: nothing at all (not even the Pong of our own
	// ping) for this long and the connection is dead.
	DefaultStallTimeout     = 90 * time.Second
	DefaultDialTimeout      = 15 * time.Second
	DefaultSubscribeTimeout = 30 * time.Second
	DefaultBackoffMin       = time.Second
	DefaultBackoffMax       = 2 * time.Minute
	DefaultTickEvery        = time.Second
	// DefaultUnhealthyAfter: Healthy fails once the feed has been down (or
	// not subscribed) this long; shorter outages are reconnects.
	DefaultUnhealthyAfter = 3 * time.Minute
)

// Config configures a Client; zero values take defaults.
type Config struct {
	Chain string // the valtrack chain name (a subject token)
	// URL is the feed: ws:// or wss://; an empty path becomes /feed.
	URL string
	// Genesis is the chain's 0x hash, what the feed is subscribed to.
	Genesis string
	Publish func(events.Telemetry)
	Log     *slog.Logger
	Now     func() time.Time // for the node state (tests); timeouts use the real clock
	// ReadLimit bounds one frame; at most (and by default) MaxFrame.
	ReadLimit        int64
	PingEvery        time.Duration
	PingTimeout      time.Duration
	StallTimeout     time.Duration
	DialTimeout      time.Duration
	SubscribeTimeout time.Duration // no SubscribedTo within this: subscribe again
	BackoffMin       time.Duration
	BackoffMax       time.Duration
	TickEvery        time.Duration
	UnhealthyAfter   time.Duration
	Grace            time.Duration // see TrackerConfig
	Every            time.Duration
	MaxNodes         int
	MaxNames         int
	SentryID         string
	// StateFile, when set, keeps the node state across restarts: Run
	// restores it first and saves it every SaveEvery and when it returns.
	StateFile string
	SaveEvery time.Duration // default 30 s
}

// Stats are a client's counts so far.
type Stats struct {
	Connected    bool // connected and subscribed
	Sessions     uint64
	Reconnects   uint64
	Frames       uint64
	Messages     uint64
	Unknown      uint64 // messages of an action this package does not know
	DecodeErrors uint64 // frames and messages that did not decode
	Oversize     uint64 // frames over the read limit (the connection is re-established)
	Pongs        uint64
	Nodes        int // feed nodes live
	Names        int // names tracked
	Online       int
	FeedVersion  int64
}

// Client follows one chain on a telemetry feed.
type Client struct {
	cfg     Config
	wsURL   string
	feed    string // host:port
	secrets []string
	log     *slog.Logger
	tr      *Tracker

	started  atomic.Bool
	up       atomic.Bool
	downFrom atomic.Int64 // unix ms since when the feed is down (Now's clock)
	lastErr  atomic.Pointer[string]
	st       struct {
		sessions, reconnects, frames, messages, unknown, decodeErrors, oversize, pongs atomic.Uint64
		version                                                                        atomic.Int64
	}
}

// New validates cfg; Run does the work.
func New(cfg Config) (*Client, error) {
	if err := events.CheckChain(cfg.Chain); err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("telemetry feed %s: give a ws:// or wss:// URL with a host, e.g. wss://telemetry.example/feed", Redact(cfg.URL))
	}
	port := u.Port()
	switch u.Scheme {
	case "ws":
		if port == "" {
			port = "80"
		}
	case "wss":
		if port == "" {
			port = "443"
		}
	default:
		return nil, fmt.Errorf("telemetry feed %s: scheme %q is not ws or wss", Redact(cfg.URL), u.Scheme)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/feed"
	}
	if !IsGenesis(cfg.Genesis) {
		return nil, fmt.Errorf("telemetry genesis %q: give the chain's genesis hash, 0x and 64 hex digits", clip(cfg.Genesis, 80))
	}
	cfg.Genesis = strings.ToLower(cfg.Genesis)
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.PingEvery, DefaultPingEvery)
	def(&cfg.PingTimeout, DefaultPingTimeout)
	def(&cfg.StallTimeout, DefaultStallTimeout)
	def(&cfg.DialTimeout, DefaultDialTimeout)
	def(&cfg.SubscribeTimeout, DefaultSubscribeTimeout)
	def(&cfg.BackoffMin, DefaultBackoffMin)
	def(&cfg.BackoffMax, DefaultBackoffMax)
	def(&cfg.TickEvery, DefaultTickEvery)
	def(&cfg.UnhealthyAfter, DefaultUnhealthyAfter)
	def(&cfg.SaveEvery, 30*time.Second)
	if cfg.ReadLimit <= 0 || cfg.ReadLimit > MaxFrame {
		cfg.ReadLimit = MaxFrame
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Client{cfg: cfg, wsURL: u.String(), feed: net.JoinHostPort(u.Hostname(), port), secrets: safe.URLSecrets(u.String())}
	c.log = cfg.Log.With("feed", c.feed, "chain", cfg.Chain)
	c.tr = NewTracker(TrackerConfig{Chain: cfg.Chain, Genesis: cfg.Genesis, Feed: c.feed, SentryID: cfg.SentryID,
		Grace: cfg.Grace, Every: cfg.Every, MaxNodes: cfg.MaxNodes, MaxNames: cfg.MaxNames, Now: cfg.Now, Publish: cfg.Publish})
	c.downFrom.Store(cfg.Now().UnixMilli())
	return c, nil
}

// Feed is the feed's host:port, fit for logs.
func (c *Client) Feed() string { return c.feed }

// Tracker is the client's node state (Snapshot, Restore, Stats).
func (c *Client) Tracker() *Tracker { return c.tr }

// Restore seeds the node state with records published before a restart.
func (c *Client) Restore(recs []events.Telemetry) { c.tr.Restore(recs) }

// Snapshot is every tracked name's record.
func (c *Client) Snapshot() []events.Telemetry { return c.tr.Snapshot() }

// Stats returns the counts so far.
func (c *Client) Stats() Stats {
	ts := c.tr.Stats()
	return Stats{Connected: c.up.Load(), Sessions: c.st.sessions.Load(), Reconnects: c.st.reconnects.Load(),
		Frames: c.st.frames.Load(), Messages: c.st.messages.Load(), Unknown: c.st.unknown.Load(),
		DecodeErrors: c.st.decodeErrors.Load(), Oversize: c.st.oversize.Load(), Pongs: c.st.pongs.Load(),
		Nodes: ts.Nodes, Names: ts.Names, Online: ts.Online, FeedVersion: c.st.version.Load()}
}

// Healthy is nil while the feed is subscribed or has been down less than
// UnhealthyAfter; otherwise it says for how long and the last error.
func (c *Client) Healthy() error {
	if !c.started.Load() {
		return fmt.Errorf("telemetry feed %s: not running (start the client's Run)", c.feed)
	}
	if c.up.Load() {
		return nil
	}
	down := time.Duration(c.cfg.Now().UnixMilli()-c.downFrom.Load()) * time.Millisecond
	if down < c.cfg.UnhealthyAfter {
		return nil
	}
	last := "none"
	if p := c.lastErr.Load(); p != nil {
		last = *p
	}
	return fmt.Errorf("telemetry feed %s: not subscribed to %s (genesis %s) for %s, last error: %s; check the URL, the network and that the feed serves this chain (nodes' offline time is not counted meanwhile)",
		c.feed, c.cfg.Chain, c.cfg.Genesis, down.Round(time.Second), last)
}

// feedDown ends a session: the tracker stops counting offline time (it
// may have gone up on an AddedNode without a SubscribedTo).
func (c *Client) feedDown() {
	if c.up.Swap(false) {
		c.downFrom.Store(c.cfg.Now().UnixMilli())
	}
	c.tr.FeedDown()
}

// Run connects, subscribes and reads until ctx ends, reconnecting forever
// with capped exponential backoff and jitter; it returns nil when ctx
// ends. Offline time is not counted while the feed is down.
func (c *Client) Run(ctx context.Context) error {
	c.started.Store(true)
	if p := c.cfg.StateFile; p != "" {
		// Before the first connection: the restored names are then judged
		// against the feed's replay (Tracker.Restore).
		if n, err := c.RestoreState(p); err != nil {
			c.log.Warn("telemetry state not restored: this week's offline time and online-since start afresh", "err", err)
		} else if n > 0 {
			c.log.Info("telemetry state restored", "names", n)
		}
		defer func() {
			if err := c.SaveState(p); err != nil {
				c.log.Warn("telemetry state not saved", "err", err)
			}
		}()
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	tctx, tcancel := context.WithCancel(ctx)
	defer tcancel()
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(c.cfg.TickEvery)
		defer t.Stop()
		var save <-chan time.Time
		if c.cfg.StateFile != "" {
			st := time.NewTicker(c.cfg.SaveEvery)
			defer st.Stop()
			save = st.C
		}
		for {
			select {
			case <-tctx.Done():
				return
			case <-t.C:
				c.tr.Tick()
			case <-save:
				if err := c.SaveState(c.cfg.StateFile); err != nil {
					c.log.Warn("telemetry state not saved", "err", err)
				}
			}
		}
	}()
	attempt := 0
	var reports retry.Reports
	for ctx.Err() == nil {
		start := time.Now()
		subscribed, err := c.connection(ctx)
		c.feedDown()
		if ctx.Err() != nil {
			return nil
		}
		c.st.reconnects.Add(1)
		msg := err.Error()
		c.lastErr.Store(&msg)
		if subscribed && time.Since(start) > c.cfg.BackoffMax {
			attempt = 0 // it worked for a while: start the backoff again
		}
		wait := c.backoff(attempt)
		attempt++
		level := slog.LevelDebug // a long outage: every attempt counted, a few logged
		if reports.Warn(attempt, err) {
			level = slog.LevelWarn
		}
		c.log.Log(ctx, level, "telemetry feed: connection ended; reconnecting (nodes' offline time is not counted meanwhile)", "err", err, "in", wait.Round(time.Millisecond), "attempt", attempt)
		if !retry.Sleep(ctx, wait) {
			return nil
		}
	}
	return nil
}

// backoff is the reconnection delay of attempt (retry.Backoff).
func (c *Client) backoff(attempt int) time.Duration {
	return retry.Backoff(attempt, c.cfg.BackoffMin, c.cfg.BackoffMax)
}

func (c *Client) write(ctx context.Context, conn *websocket.Conn, s string) error {
	wctx, cancel := context.WithTimeout(ctx, c.cfg.PingTimeout)
	defer cancel()
	return conn.Write(wctx, websocket.MessageText, []byte(s))
}

// connection runs one connection until it fails; subscribed reports
// whether the feed confirmed the subscription.
func (c *Client) connection(ctx context.Context) (subscribed bool, err error) {
	cctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	dctx, dcancel := context.WithTimeout(cctx, c.cfg.DialTimeout)
	conn, resp, err := websocket.Dial(dctx, c.wsURL, nil)
	dcancel()
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return false, fmt.Errorf("dial %s: %w", c.feed, safe.Scrub(err, append(c.secrets, c.wsURL)))
	}
	defer conn.CloseNow()
	conn.SetReadLimit(c.cfg.ReadLimit)
	c.st.sessions.Add(1)

	if err := c.write(cctx, conn, "subscribe:"+c.cfg.Genesis); err != nil {
		return false, fmt.Errorf("subscribe on %s: %w", c.feed, err)
	}
	var lastMsg atomic.Int64
	lastMsg.Store(time.Now().UnixNano())
	var isSub atomic.Bool

	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel(nil)
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.watch(cctx, cancel, conn, &lastMsg, &isSub)
	}()

	for {
		_, data, err := conn.Read(cctx)
		if err != nil {
			if cause := context.Cause(cctx); cause != nil && ctx.Err() == nil {
				return isSub.Load(), cause
			}
			if errors.Is(err, websocket.ErrMessageTooBig) {
				c.st.oversize.Add(1)
				return isSub.Load(), fmt.Errorf("a frame over the read limit of %d bytes from %s (counted; reconnecting): %w", c.cfg.ReadLimit, c.feed, err)
			}
			return isSub.Load(), fmt.Errorf("read from %s: %w", c.feed, err)
		}
		lastMsg.Store(time.Now().UnixNano())
		c.st.frames.Add(1)
		msgs, err := Decode(data)
		if err != nil {
			c.st.decodeErrors.Add(1)
			c.log.Debug("telemetry feed: frame skipped", "err", err)
			continue
		}
		c.st.messages.Add(uint64(len(msgs)))
		for _, m := range msgs {
			switch m := m.(type) {
			case Unknown:
				c.st.unknown.Add(1)
			case Malformed:
				c.st.decodeErrors.Add(1)
				c.log.Debug("telemetry feed: message skipped", "err", m.Err)
			case Pong:
				c.st.pongs.Add(1)
			case Version:
				c.st.version.Store(m.Version)
			case SubscribedTo:
				if m.Genesis == c.cfg.Genesis {
					isSub.Store(true)
				}
			case UnsubscribedFrom:
				if m.Genesis == c.cfg.Genesis {
					isSub.Store(false)
					c.up.Store(false) // the tracker takes it from the message
					c.downFrom.Store(c.cfg.Now().UnixMilli())
				}
			}
		}
		c.tr.Apply(msgs)
		if isSub.Load() && !c.up.Load() {
			if c.up.CompareAndSwap(false, true) {
				c.log.Info("telemetry feed: subscribed", "session", c.st.sessions.Load())
			}
		}
	}
}

// watch pings (the feed's own ping:<n>, answered with a Pong, and a
// websocket ping), re-sends the subscribe while the feed has not
// confirmed it (the server ignores a subscribe to a chain it does not know
// yet, and a chain appears with its first node), and ends the connection
// when nothing arrived for StallTimeout.
func (c *Client) watch(ctx context.Context, cancel context.CancelCauseFunc, conn *websocket.Conn, lastMsg *atomic.Int64, isSub *atomic.Bool) {
	tick := min(c.cfg.PingEvery, c.cfg.StallTimeout/4, c.cfg.SubscribeTimeout, time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	start := time.Now()
	lastPing, lastSub := start, start
	warned := false
	var n uint64
	pinging := make(chan struct{}, 1)
	var pings sync.WaitGroup
	defer pings.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if d := now.Sub(time.Unix(0, lastMsg.Load())); d > c.cfg.StallTimeout {
				cancel(fmt.Errorf("nothing from %s for %s (stall timeout %s): the connection is dead", c.feed, d.Round(time.Millisecond), c.cfg.StallTimeout))
				return
			}
			if !isSub.Load() && now.Sub(lastSub) >= c.cfg.SubscribeTimeout {
				if !warned {
					c.log.Warn("telemetry feed: the subscription is not confirmed; the feed may not know this chain yet (retrying)", "genesis", c.cfg.Genesis, "after", now.Sub(start).Round(time.Second))
					warned = true
				}
				lastSub = now
				if err := c.write(ctx, conn, "subscribe:"+c.cfg.Genesis); err != nil {
					cancel(fmt.Errorf("subscribe on %s: %w", c.feed, err))
					return
				}
			}
			if now.Sub(lastPing) < c.cfg.PingEvery {
				continue
			}
			lastPing = now
			n++
			if err := c.write(ctx, conn, "ping:"+strconv.FormatUint(n, 10)); err != nil {
				cancel(fmt.Errorf("ping %s: %w", c.feed, err))
				return
			}
			select {
			case pinging <- struct{}{}:
			default:
				continue // the previous websocket ping is still out
			}
			pings.Add(1)
			go func() {
				defer pings.Done()
				defer func() { <-pinging }()
				pctx, pcancel := context.WithTimeout(ctx, c.cfg.PingTimeout)
				defer pcancel()
				// A missing websocket pong is not fatal: the stall timeout
				// (with the feed's Pong to our ping:<n>) decides.
				if conn.Ping(pctx) == nil {
					lastMsg.Store(time.Now().UnixNano())
				}
			}()
		}
	}
}

// Redact returns a URL fit for logs: scheme, host and path only.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		return "<unparseable-url>"
	}
	u.User, u.RawQuery, u.Fragment, u.ForceQuery = nil, "", "", false
	return u.String()
}
