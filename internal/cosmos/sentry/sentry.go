package sentry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/cosmos/rpc"
)

// Sentry observes one chain through several endpoints.
type Sentry struct {
	cfg    Config
	log    *slog.Logger
	m      *metrics
	eps    []*endpoint
	cursor *cursorFile

	in      chan epItem
	results chan backfillResult
	sets    setQueue // validator sets to index; never drops a request

	// the validator set last indexed, to match x/staking's validators
	// (LCD or abci_query) to it by consensus key
	setMu  sync.Mutex
	setKey map[string]string // base64 pub_key value → address

	// started and lastHealthy (unix ms): when Run began and when a /status
	// last found an endpoint healthy, for Healthy.
	started, lastHealthy atomic.Int64

	st struct {
		heights, votes, backfilled, drops, published atomic.Uint64
		lastHeight                                   atomic.Int64
	}
}

type endpoint struct {
	name   string
	client *rpc.Client
	sub    *rpc.Subscriber

	healthy atomic.Bool
	latest  atomic.Int64 // latest height from /status, when healthy
	// reported is the latest height any /status of the right chain gave
	// (healthy or not): what the endpoint's events are checked against
	// (merger.plausible), so that one absurd height does not poison the
	// de-duplication or the start before the first block.
	reported atomic.Int64
	// recheck asks its /status poll to run now rather than after
	// PollEvery: an event was above reported (merger.plausible), which
	// after an outage longer than DedupHeights blocks is a stale reported,
	// so that the endpoint's events are taken again after one /status
	// instead of up to PollEvery later.
	recheck chan struct{}
	fault   atomic.Int32           // why it is unhealthy (fault*), from the latest /status
	reason  atomic.Pointer[string] // the latest /status's reason ("" healthy), scrubbed like the logs

	// owned by the merge loop
	session            uint64
	runFirst, runLast  int64 // NewBlock heights delivered without a gap in this session
	lastPublishedState string
	lastPublishedAt    time.Time
}

type epItem struct {
	ep *endpoint
	it rpc.Item
}

// Stats are a progress line's figures.
type Stats struct {
	Heights          uint64 // blocks published
	Votes            uint64 // votes published
	Backfilled       uint64 // heights read back from /commit
	Drops            uint64 // events the subscriptions could not hand over (backfilled where they were blocks)
	Published        uint64 // events published, all kinds
	EndpointsHealthy int
	Endpoints        int
	LastHeight       int64
}

// Faults of an endpoint, from its latest /status.
const (
	faultUnknown    int32 = iota // no status yet
	faultNone                    // healthy
	faultStale                   // latest block old, or height not advancing
	faultStatus                  // /status failed
	faultWrongChain              // another chain id
	faultCatchingUp              // block- or state-syncing
)

// trusted: the endpoint's events may be merged into the chain's
// observations. A healthy endpoint's are; so are those of one that is only
// stale or unreachable over HTTP while no endpoint of the chain is healthy
// (the chain itself halted: its votes of the stuck height are what an
// operator wants to see). Never those of an endpoint on another chain
// (they would credit its votes to this one), catching up, or not yet
// checked.
func (s *Sentry) trusted(ep *endpoint) bool {
	switch ep.fault.Load() {
	case faultNone:
		return true
	case faultStale, faultStatus:
		for _, e := range s.eps {
			if e.healthy.Load() {
				return false
			}
		}
		return true
	}
	return false
}

// New validates cfg and builds a Sentry; Run starts it.
func New(cfg Config) (*Sentry, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	names, err := endpointNames(cfg.Endpoints)
	if err != nil {
		return nil, fmt.Errorf("cosmos sentry %s: %w", cfg.Chain, err)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Sentry{cfg: cfg, log: cfg.Log.With("chain", cfg.Chain), m: m, cursor: newCursor(cfg.DataDir, cfg.Chain),
		in: make(chan epItem, 256), results: make(chan backfillResult, cfg.Backfill),
		sets: setQueue{pending: map[int64]*setTry{}, wake: make(chan struct{}, 1)}}
	for i, raw := range cfg.Endpoints {
		ep := &endpoint{name: names[i], recheck: make(chan struct{}, 1)}
		name := ep.name
		ep.client, err = rpc.NewClient(raw, rpc.ClientOptions{Timeout: cfg.RequestTimeout, Malformed: func(method, kind string) {
			if s.m != nil {
				s.m.malformed.WithLabelValues(cfg.Chain, name, method, kind).Inc()
			}
		}})
		if err != nil {
			return nil, fmt.Errorf("cosmos sentry %s endpoint %s: %w", cfg.Chain, names[i], err)
		}
		wc := cfg.WS
		wc.URL, wc.Log = raw, s.log // the subscriber names its endpoint
		wc.Count = func(counter, kind string) {
			if s.m == nil {
				return
			}
			if counter == rpc.CountReceived {
				s.m.received.WithLabelValues(cfg.Chain, name, kind).Inc()
				return
			}
			s.m.wsCounts.WithLabelValues(cfg.Chain, name, counter).Inc()
		}
		ep.sub, err = rpc.NewSubscriber(wc)
		if err != nil {
			return nil, fmt.Errorf("cosmos sentry %s endpoint %s: %w", cfg.Chain, names[i], err)
		}
		s.eps = append(s.eps, ep)
	}
	return s, nil
}

// Network is the chain's name.
func (s *Sentry) Network() string { return s.cfg.Chain }

// Stats returns the figures for a progress line.
func (s *Sentry) Stats() Stats {
	st := Stats{Heights: s.st.heights.Load(), Votes: s.st.votes.Load(), Backfilled: s.st.backfilled.Load(),
		Published: s.st.published.Load(), Endpoints: len(s.eps), LastHeight: s.st.lastHeight.Load()}
	for _, ep := range s.eps {
		st.Drops += ep.sub.Stats().Drops
		if ep.healthy.Load() {
			st.EndpointsHealthy++
		}
	}
	return st
}

// Run observes the chain until ctx ends; it returns nil then. An error is
// one it cannot go on from (an unreadable cursor).
func (s *Sentry) Run(ctx context.Context) error {
	start, err := s.cursor.load(s.cfg.Chain)
	if err != nil {
		return fmt.Errorf("cosmos sentry %s: %w", s.cfg.Chain, err)
	}
	s.started.Store(time.Now().UnixMilli())
	var grpcc *rpc.GRPCClient
	if s.cfg.GRPC != "" {
		// Checked by New; no connection is made before the first call.
		// Closed last: deferred before the wait for the goroutines using it.
		if grpcc, err = rpc.NewGRPCClient(s.cfg.GRPC, s.cfg.RequestTimeout); err != nil {
			return fmt.Errorf("cosmos sentry %s: %w", s.cfg.Chain, err)
		}
		defer grpcc.Close()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	goRun := func(f func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f()
		}()
	}
	for _, ep := range s.eps {
		goRun(func() { _ = ep.sub.Run(ctx) })
		goRun(func() { s.forward(ctx, ep) })
		goRun(func() { s.poll(ctx, ep) })
	}
	goRun(func() { s.indexValidators(ctx) })
	goRun(func() { s.readParams(ctx, grpcc) })
	goRun(func() { s.readMonikers(ctx, grpcc) })
	s.log.Info("cosmos sentry: starting", "endpoints", len(s.eps), "cursor", start, "from_height", s.cfg.FromHeight)
	m := newMerger(s, start)
	m.run(ctx)
	return nil
}

// forward moves an endpoint's items into the merge loop.
func (s *Sentry) forward(ctx context.Context, ep *endpoint) {
	for {
		select {
		case <-ctx.Done():
			return
		case it := <-ep.sub.Items():
			select {
			case s.in <- epItem{ep: ep, it: it}:
			case <-ctx.Done():
				return
			}
		}
	}
}

// publish checks an event against what consumers accept and publishes it.
// A refused event is counted and logged, never published; a publisher
// error is logged (the bus publisher blocks rather than drops, so an error
// means the bus is gone or ctx ended).
func (s *Sentry) publish(ctx context.Context, ev events.Event) bool {
	ok, _ := s.publishR(ctx, ev)
	return ok
}

// publishR is publish that also says whether a failure was a refusal
// (permanent: the same event is refused again) rather than the bus's.
func (s *Sentry) publishR(ctx context.Context, ev events.Event) (ok, refused bool) {
	kind := events.Kind(ev)
	data, err := json.Marshal(ev)
	if err == nil {
		_, err = events.Decode(kind, data)
	}
	if err != nil {
		if s.m != nil {
			s.m.refused.WithLabelValues(s.cfg.Chain, kind).Inc()
		}
		s.log.Warn("cosmos sentry: event refused, not published", "kind", kind, "err", err)
		return false, true
	}
	if err := s.cfg.Publisher.Publish(ctx, events.Subject(s.cfg.Chain, kind), ev.MsgID(), data); err != nil {
		if ctx.Err() == nil {
			s.log.Error("cosmos sentry: publish failed", "kind", kind, "err", err)
		}
		return false, false
	}
	s.st.published.Add(1)
	if s.m != nil {
		s.m.published.WithLabelValues(s.cfg.Chain, kind).Inc()
	}
	return true, false
}

func (s *Sentry) observer(ep string, at time.Time) events.Observer {
	return events.Observer{Endpoint: ep, SeenAt: at.UnixMilli(), SentryID: s.cfg.SentryID}
}

// healthyFirst returns the endpoints to ask, healthy ones first, rotated by
// k so that requests spread over them; one on another chain is left out.
func (s *Sentry) healthyFirst(k int64) []*endpoint {
	var good, bad []*endpoint
	n := len(s.eps)
	for i := range n {
		ep := s.eps[(int(k%int64(n))+i)%n]
		if ep.fault.Load() == faultWrongChain {
			continue // another chain's node is never asked
		}
		if ep.healthy.Load() {
			good = append(good, ep)
		} else {
			bad = append(bad, ep)
		}
	}
	return append(good, bad...)
}

// healthy returns the healthy endpoints, rotated as healthyFirst(0): the
// ones asked for what any node of the chain answers alike (parameters,
// names).
func (s *Sentry) healthy() []*endpoint {
	eps := s.healthyFirst(0)
	for i, ep := range eps {
		if !ep.healthy.Load() {
			return eps[:i]
		}
	}
	return eps
}

// sleep waits d or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// recheckMin bounds the /status polls an endpoint's implausible events
// ask for (endpoint.recheck).
const recheckMin = time.Second

// poll checks an endpoint's /status every PollEvery, and soon after an
// event above its last reported height.
func (s *Sentry) poll(ctx context.Context, ep *endpoint) {
	var (
		lastHeight  int64
		lastAdvance time.Time
		lastInfo    string
	)
	for {
		st, err := ep.client.Status(ctx)
		now := time.Now()
		ev := &events.EndpointStatus{V: events.SchemaVersion, Chain: s.cfg.Chain, Observer: s.observer(ep.name, now)}
		reason, fault := "", faultNone
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			reason, fault = "status: "+err.Error(), faultStatus
			if f := ep.fault.Load(); f == faultWrongChain || f == faultCatchingUp {
				fault = f // an unreachable status does not clear what the last one said
			}
		} else {
			ev.Height, ev.LatestBlockTime, ev.CatchingUp = st.LatestHeight, rpc.Time{Time: st.LatestTime}.UnixMS(), st.CatchingUp
			ev.NodeVersion, ev.Moniker = st.Version, st.Moniker
			if st.LatestHeight > lastHeight || lastAdvance.IsZero() {
				lastHeight, lastAdvance = st.LatestHeight, now
			}
			switch age := now.Sub(st.LatestTime); {
			case st.Network != s.cfg.ChainID:
				reason, fault = fmt.Sprintf("chain id %q, expected %q", st.Network, s.cfg.ChainID), faultWrongChain
			case st.CatchingUp:
				reason, fault = "catching up", faultCatchingUp
			case age > s.cfg.MaxBlockAge:
				reason, fault = fmt.Sprintf("latest block %d is %s old (limit %s)", st.LatestHeight, age.Round(time.Second), s.cfg.MaxBlockAge), faultStale
			case now.Sub(lastAdvance) > s.cfg.StuckAfter:
				reason, fault = fmt.Sprintf("height %d has not advanced for %s (limit %s)", lastHeight, now.Sub(lastAdvance).Round(time.Millisecond), s.cfg.StuckAfter), faultStale
			}
			if st.Network == s.cfg.ChainID && st.VotingPower > 0 && st.ValidatorAddress != "" && st.Moniker != "" {
				if info := st.ValidatorAddress + "\x00" + st.Moniker; info != lastInfo {
					vi := &events.ValidatorInfo{V: events.SchemaVersion, Chain: s.cfg.Chain, Address: st.ValidatorAddress,
						Moniker: st.Moniker, Source: events.NameFromStatus, Observer: s.observer(ep.name, now)}
					if s.publish(ctx, vi) {
						lastInfo = info
					}
				}
			}
		}
		ev.Healthy, ev.Reason = reason == "", reason
		if err == nil && st.Network == s.cfg.ChainID {
			ep.reported.Store(st.LatestHeight) // before fault: trusted() then finds it set
		}
		ep.fault.Store(fault)
		ep.reason.Store(&reason)
		if ev.Healthy {
			s.lastHealthy.Store(now.UnixMilli())
		}
		was := ep.healthy.Swap(ev.Healthy)
		if ev.Healthy {
			ep.latest.Store(st.LatestHeight)
		}
		if s.m != nil {
			v := 0.0
			if ev.Healthy {
				v = 1
			}
			s.m.healthy.WithLabelValues(s.cfg.Chain, ep.name).Set(v)
		}
		state := strconv.FormatBool(ev.Healthy) + reasonClass(reason)
		if state != ep.lastPublishedState || now.Sub(ep.lastPublishedAt) >= s.cfg.StatusEvery {
			if was != ev.Healthy || ep.lastPublishedAt.IsZero() {
				if ev.Healthy {
					s.log.Info("cosmos sentry: endpoint healthy", "endpoint", ep.name, "height", ev.Height, "version", ev.NodeVersion)
				} else {
					s.log.Warn("cosmos sentry: endpoint unhealthy", "endpoint", ep.name, "reason", reason)
				}
			}
			if s.publish(ctx, ev) {
				ep.lastPublishedState, ep.lastPublishedAt = state, now
			}
		}
		t := time.NewTimer(s.cfg.PollEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-ep.recheck:
			// At most one extra /status a second, however many events ask.
			if d := recheckMin - time.Since(now); d > 0 && !sleep(ctx, d) {
				t.Stop()
				return
			}
		case <-t.C:
		}
		t.Stop()
	}
}

// Chain is the name of the chain the sentry observes.
func (s *Sentry) Chain() string { return s.cfg.Chain }

// Healthy reports an error when no endpoint of the chain has been healthy
// for longer than Config.UnhealthyGrace (since the last healthy /status,
// or since Run began): the sentry then sees nothing of the chain, and
// /healthz says so with each endpoint's reason. Within the grace (a
// restarting node, a first /status under way) it is nil.
func (s *Sentry) Healthy(now time.Time) error {
	started := s.started.Load()
	if started == 0 {
		return nil // not running
	}
	for _, ep := range s.eps {
		if ep.healthy.Load() {
			return nil
		}
	}
	since := time.UnixMilli(max(started, s.lastHealthy.Load()))
	if now.Sub(since) <= s.cfg.UnhealthyGrace {
		return nil
	}
	var b strings.Builder
	for i, ep := range s.eps {
		if i > 0 {
			b.WriteString("; ")
		}
		reason := "no /status answer yet"
		if r := ep.reason.Load(); r != nil && *r != "" {
			reason = *r
		}
		fmt.Fprintf(&b, "%s: %s", ep.name, reason)
	}
	what := "since the sentry started"
	if s.lastHealthy.Load() > 0 {
		what = "since " + since.UTC().Format(time.RFC3339)
	}
	return fmt.Errorf("no healthy RPC endpoint for %s (%s, grace %s): %s; check the nodes and the --cosmos URLs",
		now.Sub(since).Round(time.Second), what, s.cfg.UnhealthyGrace, b.String())
}

// reasonClass is the kind of a reason without its changing numbers, so that
// "12 s old", "13 s old" are not each a change.
func reasonClass(r string) string {
	for i := 0; i < len(r); i++ {
		if r[i] >= '0' && r[i] <= '9' {
			return r[:i]
		}
	}
	return r
}

// errNoEndpoint is returned when every endpoint failed a request.
var errNoEndpoint = errors.New("no endpoint answered")
