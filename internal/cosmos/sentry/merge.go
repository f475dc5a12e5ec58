package sentry

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/cosmos/rpc"
)

// CountUntrusted is the subscription_events_total kind of an event not
// merged because its endpoint is unhealthy (Sentry.trusted).
const CountUntrusted = "ignored_unhealthy"

// CountImplausible is the subscription_events_total kind of an event whose
// height is above what any /status said by more than DedupHeights
// (merger.plausible).
const CountImplausible = "ignored_height"

// merger is the chain-level merge loop: one goroutine owns all of its
// state. It de-duplicates what the endpoints deliver, publishes the first
// sighting, tracks which heights have their block and commit published,
// and schedules backfills of the rest.
type merger struct {
	s   *Sentry
	cfg *Config

	// de-duplication of votes, rounds and steps, by height
	seen    map[int64]*heightSeen
	maxSeen int64

	// heights: C is complete through (block and commit published); done
	// holds what is known of heights above C and of the last DedupHeights
	// below it (so a lagging endpoint's NewBlock is still a duplicate).
	c        int64 // -1: not yet known (no cursor, no first height)
	done     map[int64]*heightDone
	frontier int64 // highest block height seen live
	next     int64 // next height the backfill dispatcher considers
	inflight map[int64]bool
	// retries are backfilled heights whose block or commit the bus did not
	// take: m.next is past them, so they are published again from here
	// (what was fetched is kept) until they are; with inflight they count
	// against Config.Backfill, so at most that many commits are held, and
	// while the bus refuses no new height is fetched.
	retries map[int64]*pubRetry

	workers     sync.WaitGroup
	lastCursor  int64
	lastCursorT time.Time
	lastProg    time.Time
	setAsked    bool
}

type pubRetry struct {
	r        backfillResult
	attempts int
	due      time.Time
}

// Backoff of a backfilled height's publication: doubling from the first
// to the last, then every retryMax for as long as it takes.
const (
	retryMin = 250 * time.Millisecond
	retryMax = time.Minute
)

type heightDone struct {
	block, commit bool
	vhash         string
	// refused: a backfilled block or commit of it that the consumers'
	// decoder refuses; publishing it again would be refused again, so the
	// height is given up (the analyzer skips it) and the cursor passes it.
	refused bool
}

type voteKey struct {
	round int32
	typ   string
	addr  string
}

type stepKey struct {
	round int32
	step  string
}

type firstSeen struct {
	at time.Time
	ep string
}

type heightSeen struct {
	votes  map[voteKey]firstSeen
	rounds map[int32]firstSeen
	steps  map[stepKey]firstSeen
}

func newMerger(s *Sentry, cursor int64) *merger {
	m := &merger{s: s, cfg: &s.cfg, seen: map[int64]*heightSeen{}, done: map[int64]*heightDone{},
		inflight: map[int64]bool{}, retries: map[int64]*pubRetry{}, c: -1}
	switch {
	case cursor > 0:
		m.c = cursor
	case s.cfg.FromHeight > 0:
		m.c = s.cfg.FromHeight - 1
	}
	if m.c >= 0 {
		m.next = m.c + 1
		m.lastCursor = m.c
	}
	return m
}

func (m *merger) run(ctx context.Context) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	defer m.saveCursor(true)
	defer m.workers.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case x := <-m.s.in:
			m.item(ctx, x)
		case r := <-m.s.results:
			m.result(ctx, r)
		case <-tick.C:
			m.tick(ctx)
		}
		m.dispatch(ctx)
	}
}

// tick learns the start height from /status when nothing else told it,
// and saves the cursor.
func (m *merger) tick(ctx context.Context) {
	if m.c < 0 {
		for _, ep := range m.s.eps {
			if h := ep.latest.Load(); h > 0 && ep.healthy.Load() {
				m.setStart(h)
				break
			}
		}
	}
	m.saveCursor(false)
}

// setStart: no cursor, no FromHeight: start at the latest height, no history.
func (m *merger) setStart(latest int64) {
	m.c = latest - 1
	m.next, m.lastCursor = latest, m.c
	m.s.log.Info("cosmos sentry: no cursor: starting at the latest height", "height", latest)
}

func (m *merger) saveCursor(force bool) {
	if m.c <= 0 || m.c == m.lastCursor || (!force && time.Since(m.lastCursorT) < time.Second) {
		return
	}
	if err := m.s.cursor.store(m.cfg.Chain, m.c); err != nil {
		m.s.log.Error("cosmos sentry: cursor not saved; a restart will backfill from the previous one", "err", err)
		return
	}
	m.lastCursor, m.lastCursorT = m.c, time.Now()
}

func (m *merger) item(ctx context.Context, x epItem) {
	ep, it := x.ep, x.it
	if it.Session != ep.session || it.Gap || it.Ended {
		// a new connection, lost items or the end of the connection:
		// the endpoint's unbroken run of blocks is over
		ep.session, ep.runFirst, ep.runLast = it.Session, 0, 0
	}
	if it.Event == nil {
		return
	}
	if !m.s.trusted(ep) {
		// Not merged: it may be another chain, a fork or far behind. Its
		// run is broken too, so it vouches for no height's votes.
		ep.runFirst, ep.runLast = 0, 0
		if m.s.m != nil {
			m.s.m.wsCounts.WithLabelValues(m.cfg.Chain, ep.name, CountUntrusted).Inc()
		}
		return
	}
	e := it.Event
	switch {
	case e.Vote != nil:
		v := e.Vote
		v.Chain, v.Observer = m.cfg.Chain, m.s.observer(ep.name, it.At)
		if firstOf(m, ep, events.KindVote, it.At, v.Height, func(h *heightSeen) map[voteKey]firstSeen { return h.votes },
			voteKey{v.Round, v.Type, v.ValidatorAddress}) && m.s.publish(ctx, v) {
			m.s.st.votes.Add(1)
		}
	case e.NewRound != nil:
		r := e.NewRound
		r.Chain, r.Observer = m.cfg.Chain, m.s.observer(ep.name, it.At)
		if firstOf(m, ep, events.KindNewRound, it.At, r.Height, func(h *heightSeen) map[int32]firstSeen { return h.rounds }, r.Round) {
			m.s.publish(ctx, r)
		}
	case e.Step != nil:
		st := e.Step
		st.Chain, st.Observer = m.cfg.Chain, m.s.observer(ep.name, it.At)
		if firstOf(m, ep, events.KindNewRoundStep, it.At, st.Height, func(h *heightSeen) map[stepKey]firstSeen { return h.steps }, stepKey{st.Round, st.Step}) {
			m.s.publish(ctx, st)
		}
	case e.Block != nil:
		m.block(ctx, ep, it, e.Block)
	}
}

// plausible: height is at most DedupHeights above the highest of the live
// frontier and the endpoint's latest /status height. An event above it is
// one no honest node is at; merged, a vote would raise maxSeen so that
// every real vote fell below the de-duplication window, and a first
// NewBlock would set the start so that no real block is ever published.
// Checked against /status too, because before the first block there is no
// frontier (and after a long outage the frontier is old). A trusted
// endpoint has normally answered /status (0 at genesis, before block 1);
// one that never did is bounded by the window above 0. A real block the
// bound drops (one far beyond a stale /status) is backfilled.
func (m *merger) plausible(ep *endpoint, kind string, height int64) bool {
	ref := max(m.frontier, ep.reported.Load())
	if height <= ref+int64(m.cfg.DedupHeights) {
		return true
	}
	if m.s.m != nil {
		m.s.m.wsCounts.WithLabelValues(m.cfg.Chain, ep.name, CountImplausible).Inc()
	}
	select {
	case ep.recheck <- struct{}{}: // reported may be stale: ask /status now
	default:
	}
	m.s.log.Debug("cosmos sentry: event above every reported height ignored", "endpoint", ep.name, "kind", kind,
		"height", height, "frontier", m.frontier, "status_height", ep.reported.Load())
	return false
}

// firstOf records a sighting and reports whether it is the first. Heights
// more than DedupHeights below the highest seen are forgotten (and their
// late sightings ignored: they were published or are too old to matter).
func firstOf[K comparable](m *merger, ep *endpoint, kind string, at time.Time, height int64, pick func(*heightSeen) map[K]firstSeen, k K) bool {
	window := int64(m.cfg.DedupHeights)
	if !m.plausible(ep, kind, height) {
		return false
	}
	if height <= m.maxSeen-window {
		return false
	}
	h := m.seen[height]
	if h == nil {
		h = &heightSeen{votes: map[voteKey]firstSeen{}, rounds: map[int32]firstSeen{}, steps: map[stepKey]firstSeen{}}
		m.seen[height] = h
		if height > m.maxSeen {
			m.maxSeen = height
			for old := range m.seen {
				if old <= m.maxSeen-window {
					delete(m.seen, old)
				}
			}
		}
	}
	mp := pick(h)
	if f, ok := mp[k]; ok {
		if m.s.m != nil && f.ep != ep.name {
			m.s.m.lag.WithLabelValues(m.cfg.Chain, ep.name, kind).Observe(at.Sub(f.at).Seconds())
		}
		return false
	}
	mp[k] = firstSeen{at: at, ep: ep.name}
	if m.s.m != nil {
		m.s.m.firstSeen.WithLabelValues(m.cfg.Chain, ep.name, kind).Inc()
	}
	return true
}

func (m *merger) entry(h int64) *heightDone {
	d := m.done[h]
	if d == nil {
		d = &heightDone{}
		m.done[h] = d
	}
	return d
}

// known: a height whose publication state we track (above C, or recent).
func (m *merger) known(h int64) bool {
	if m.c < 0 || h > m.c {
		return true
	}
	_, ok := m.done[h]
	return ok
}

func (m *merger) block(ctx context.Context, ep *endpoint, it rpc.Item, b *rpc.NewBlock) {
	h := b.Block.Height
	if b.ChainID != m.cfg.ChainID {
		m.s.log.Warn("cosmos sentry: block of another chain ignored", "endpoint", ep.name, "chain_id", b.ChainID, "height", h)
		return
	}
	if !m.plausible(ep, events.KindBlock, h) {
		return
	}
	// the endpoint's unbroken run of blocks in this session
	switch {
	case ep.runLast > 0 && h == ep.runLast+1:
		ep.runLast = h
	case h > ep.runLast:
		ep.runFirst, ep.runLast = h, h
	}
	if m.c < 0 {
		m.setStart(h)
	}
	if h > m.frontier {
		m.frontier = h
		m.s.st.lastHeight.Store(h)
		if m.s.m != nil {
			m.s.m.lastHeight.WithLabelValues(m.cfg.Chain).Set(float64(h))
		}
	}
	if m.known(h) && !m.entry(h).block {
		observed := false
		for _, e := range m.s.eps {
			if m.watched(e, h) {
				observed = true
			}
		}
		blk := b.Block
		blk.Chain, blk.Source, blk.VotesObserved, blk.Observer = m.cfg.Chain, events.SourceLive, observed, m.s.observer(ep.name, it.At)
		if m.s.publish(ctx, &blk) {
			m.entry(h).block = true
			m.s.st.heights.Add(1)
			if m.s.m != nil {
				m.s.m.firstSeen.WithLabelValues(m.cfg.Chain, ep.name, events.KindBlock).Inc()
			}
		}
		m.validatorsHash(h, blk.ValidatorsHash)
	}
	if lc := b.LastCommit; lc != nil && m.known(lc.Height) && !m.entry(lc.Height).commit {
		c := *lc
		c.Chain, c.Source, c.Observer = m.cfg.Chain, events.SourceLive, m.s.observer(ep.name, it.At)
		if m.s.publish(ctx, &c) {
			m.entry(lc.Height).commit = true
		}
	}
	m.advance()
}

// watched: endpoint e's session delivered block h−1 and is unbroken since,
// so it delivered the votes of h it saw. An endpoint that has not delivered
// h itself must still be connected: one whose connection ended (its Ended
// item may still be queued behind its last events) saw only part of them,
// and counting it would turn the votes it never got into misses.
func (m *merger) watched(e *endpoint, h int64) bool {
	if e.runFirst == 0 || e.runFirst > h-1 || e.runLast < h-1 {
		return false
	}
	return e.runLast >= h || e.sub.Live() == e.session
}

// validatorsHash notes a height's validators_hash and asks for the set
// where it differs from the height before, and once at start. A request
// is never dropped: the analyzer waits for the set of every hash its
// blocks name.
func (m *merger) validatorsHash(h int64, vh string) {
	m.entry(h).vhash = vh
	ask := !m.setAsked
	if prev, ok := m.done[h-1]; ok && prev.vhash != "" && prev.vhash != vh {
		ask = true
	}
	if next, ok := m.done[h+1]; ok && next.vhash != "" && next.vhash != vh {
		m.s.sets.ask(h+1, next.vhash) // backfilled out of order: the later height changed too
	}
	if ask {
		m.s.sets.ask(h, vh)
		m.setAsked = true
	}
}

// advance moves C over complete heights and forgets old ones.
func (m *merger) advance() {
	if m.c < 0 {
		return
	}
	for {
		d, ok := m.done[m.c+1]
		if !ok || !(d.block && d.commit || d.refused) || m.inflight[m.c+1] {
			break
		}
		m.c++
	}
	if m.next <= m.c {
		m.next = m.c + 1
	}
	floor := min(m.c, m.frontier) - int64(m.cfg.DedupHeights)
	for h := range m.done {
		if h <= floor {
			delete(m.done, h)
		}
	}
}

// eligible is the highest height a backfill may fetch: below the highest
// block seen live (its commit is canonical), or two below a healthy
// endpoint's latest (so that live delivery wins the race it normally wins).
func (m *merger) eligible() int64 {
	top := m.frontier - 1
	for _, ep := range m.s.eps {
		if ep.healthy.Load() {
			top = max(top, ep.latest.Load()-2)
		}
	}
	return top
}

// dispatch starts backfills of missing heights, a few at a time, in order.
func (m *merger) dispatch(ctx context.Context) {
	if m.c < 0 {
		return
	}
	now := time.Now()
	for h, rt := range m.retries {
		if now.Before(rt.due) {
			continue
		}
		delete(m.retries, h)
		if m.known(h) && !m.publishBackfilled(ctx, rt.r) {
			m.retryLater(ctx, rt.r, rt.attempts+1)
		}
	}
	top := m.eligible()
	for len(m.inflight)+len(m.retries) < m.cfg.Backfill && m.next <= top {
		h := m.next
		m.next++
		if d, ok := m.done[h]; ok && d.block && d.commit {
			continue
		}
		m.inflight[h] = true
		m.workers.Add(1)
		go func() {
			defer m.workers.Done()
			m.s.backfill(ctx, h)
		}()
	}
	if gap := top - m.next; gap > 100 && time.Since(m.lastProg) > 10*time.Second {
		m.lastProg = time.Now()
		m.s.log.Info("cosmos sentry: backfilling", "next", m.next, "to", top, "remaining", gap+1, "complete_through", m.c)
	}
	m.advance()
}

// result publishes what a backfill fetched and live did not publish.
func (m *merger) result(ctx context.Context, r backfillResult) {
	delete(m.inflight, r.height)
	var na *rpc.HeightNotAvailableError
	switch {
	case errors.As(r.err, &na):
		lowest := max(na.Lowest, r.height+1)
		if lowest-1 > m.c {
			m.s.log.Warn("cosmos sentry: heights pruned on every endpoint; skipping them",
				"from", m.c+1, "to", lowest-1, "lowest_available", lowest)
			// The analyzer skips these at once rather than wait for them
			// (those of the range published before keep their data). Not
			// published (the bus refused it): it waits its bound, as
			// before, and skips them then.
			m.s.publish(ctx, &events.PrunedHeights{V: events.SchemaVersion, Chain: m.cfg.Chain, From: m.c + 1, To: lowest - 1,
				LowestAvailable: lowest, Endpoints: r.pruned, Observer: m.s.observer(r.ep, r.at)})
			pruned := lowest - 1 - m.c // less those already complete
			for h, d := range m.done {
				if h > m.c && h < lowest && d.block && d.commit {
					pruned--
				}
			}
			if m.s.m != nil {
				m.s.m.pruned.WithLabelValues(m.cfg.Chain).Add(float64(pruned))
			}
			for h := range m.done {
				if h < lowest && !m.inflight[h] {
					delete(m.done, h)
				}
			}
			m.c = lowest - 1
			m.next = max(m.next, lowest)
		}
		m.advance()
		return
	case r.err != nil:
		return // ctx ended
	}
	if !m.known(r.height) {
		return
	}
	m.s.st.backfilled.Add(1)
	if m.s.m != nil {
		m.s.m.backfilled.WithLabelValues(m.cfg.Chain).Inc()
	}
	if r.height > m.s.st.lastHeight.Load() {
		m.s.st.lastHeight.Store(r.height)
	}
	if !m.publishBackfilled(ctx, r) {
		m.retryLater(ctx, r, 0)
	}
	m.advance()
}

// publishBackfilled publishes what live did not of a fetched height and
// reports whether it is done with: its block and commit both published,
// or one of them refused by the consumers' decoder (given up: see
// heightDone.refused).
func (m *merger) publishBackfilled(ctx context.Context, r backfillResult) bool {
	cm := r.commit
	d := m.entry(r.height)
	ob := m.s.observer(r.ep, r.at)
	if !d.block {
		b := cm.Block
		b.Chain, b.Source, b.VotesObserved, b.Observer = m.cfg.Chain, events.SourceBackfill, false, ob
		ok, refused := m.s.publishR(ctx, &b)
		if ok {
			d.block = true
			m.s.st.heights.Add(1)
		}
		d.refused = d.refused || refused
		m.validatorsHash(r.height, b.ValidatorsHash)
	}
	if !d.commit {
		c := cm.Commit
		c.Chain, c.Source, c.Observer = m.cfg.Chain, events.SourceBackfill, ob
		ok, refused := m.s.publishR(ctx, &c)
		d.commit = ok
		d.refused = d.refused || refused
	}
	if d.refused && !(d.block && d.commit) {
		m.s.log.Error("cosmos sentry: a backfilled height is given up: what the endpoint returned for it is refused (see the warning before); the analyzer skips it",
			"height", r.height, "endpoint", r.ep)
		return true
	}
	return d.block && d.commit
}

// retryLater schedules a backfilled height's publication again: without
// it the cursor would stay below the height for good (m.next is past it)
// and every restart would backfill everything since.
func (m *merger) retryLater(ctx context.Context, r backfillResult, attempts int) {
	if ctx.Err() != nil {
		return // stopping: the cursor stays below it, the next run backfills it
	}
	wait := retryMax
	if attempts < 10 {
		wait = min(retryMin<<attempts, retryMax)
	}
	m.retries[r.height] = &pubRetry{r: r, attempts: attempts, due: time.Now().Add(wait)}
	if attempts%10 == 0 {
		m.s.log.Warn("cosmos sentry: a backfilled height was not published; retrying", "height", r.height,
			"attempts", attempts+1, "retry_in", wait)
	}
}
