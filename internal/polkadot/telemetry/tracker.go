package telemetry

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/events"
)

// Tracker defaults, overridable in TrackerConfig.
const (
	// DefaultGrace is 1KV's rule: a node that leaves the feed is offline
	// only if it is not back within five minutes (a restart is not an
	// outage).
	DefaultGrace = 5 * time.Minute
	// DefaultEvery is how often a known node is republished unchanged.
	DefaultEvery    = 5 * time.Minute
	DefaultMaxNodes = 100_000 // feed nodes at once; the busiest public feed has a few thousand per chain
	DefaultMaxNames = 100_000
)

// TrackerConfig configures a Tracker; zero values take defaults.
type TrackerConfig struct {
	Chain string
	// Genesis is the chain's 0x hash; SubscribedTo and chain messages for
	// another genesis are ignored. "" accepts any.
	Genesis  string
	Feed     string // host:port of the feed, for Feed and Observer.Endpoint
	SentryID string
	Grace    time.Duration
	Every    time.Duration
	MaxNodes int
	MaxNames int
	Now      func() time.Time
	// Publish is called, never concurrently and in order, on each change
	// of a name's state and as a refresh at most once per Every.
	Publish func(events.Telemetry)
}

type status uint8

const (
	stOnline  status = iota
	stPending        // left the feed less than Grace (of feed-up time) ago: still online
	stOffline
)

// instance is one feed node of the current feed session.
type instance struct {
	id   uint64
	seq  uint64 // order of addition: the newest live instance speaks for its name
	node AddedNode
	name *nameState
}

func identity(networkID string, startup int64) string {
	return networkID + "|" + strconv.FormatInt(startup, 10)
}

// nameState is one node name: the unit 1KV (and a candidate) is matched
// by. Several feed nodes may carry the same name (a validator and its
// backup); the name is online while any of them is.
type nameState struct {
	name    string
	refs    map[uint64]*instance
	shown   AddedNode // the fields published: from the newest live instance, or the last one seen
	loc     *events.Location
	st      status
	discov  int64
	onSince int64
	offSinc int64
	seen    int64 // last ms the name was seen on the feed (now while live)

	removedAt   int64 // pending: when the last instance left
	pendingUp   int64 // pending: ms of feed-up time since then (the grace counts only what we saw)
	pendingWeek int64 // pending: offline ms this week, charged if the grace runs out
	blind       bool  // pending across an outage of our feed: its return was not seen live
	prevIDs     []string

	week        string
	offlineWeek int64

	lastPub   events.Telemetry
	published bool
	lastPubAt int64
}

// TrackerStats are the tracker's counts.
type TrackerStats struct {
	FeedUp      bool
	Nodes       int    // feed nodes live in this session
	Names       int    // names tracked
	Online      int    // names online (including those within the grace)
	Dropped     uint64 // nodes or names refused over MaxNodes / MaxNames
	UnknownIDs  uint64 // removed / located / stale messages for an id not added
	OtherChains uint64 // chain messages for another genesis
}

// Tracker is the node state of one chain from its feed messages. It is
// safe for concurrent use.
type Tracker struct {
	cfg TrackerConfig

	mu    sync.Mutex
	pubMu sync.Mutex // keeps Publish calls ordered and serial, outside mu
	names map[string]*nameState
	ids   map[uint64]*instance
	up    bool
	last  int64 // ms up to which offline time is accounted
	// downAt is when our feed went down (the tracker's start before it
	// was ever up): the records' FeedAt while it is down.
	downAt  int64
	week    string
	weekEnd int64
	seq     uint64
	dirty   map[*nameState]struct{}
	st      TrackerStats
}

// NewTracker returns a tracker with the feed down: nothing accrues until
// FeedUp (or a SubscribedTo).
func NewTracker(cfg TrackerConfig) *Tracker {
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.Every <= 0 {
		cfg.Every = DefaultEvery
	}
	if cfg.MaxNodes <= 0 {
		cfg.MaxNodes = DefaultMaxNodes
	}
	if cfg.MaxNames <= 0 {
		cfg.MaxNames = DefaultMaxNames
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	t := &Tracker{cfg: cfg, names: map[string]*nameState{}, ids: map[uint64]*instance{}, dirty: map[*nameState]struct{}{}}
	now := t.now()
	t.last, t.downAt = now, now
	t.week, t.weekEnd = isoWeek(now), weekEnd(now)
	return t
}

func (t *Tracker) now() int64 { return t.cfg.Now().UnixMilli() }

// isoWeek is the ISO week of a unix ms time in UTC, e.g. 2026-W49.
func isoWeek(ms int64) string {
	y, w := time.UnixMilli(ms).UTC().ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}

// weekEnd is the start (Monday 00:00 UTC) of the ISO week after ms's.
func weekEnd(ms int64) int64 {
	t := time.UnixMilli(ms).UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	back := (int(day.Weekday()) + 6) % 7 // days since Monday
	return day.AddDate(0, 0, 7-back).UnixMilli()
}

// advance accounts offline time up to now: only while the feed is up, and
// split at week boundaries so each week gets its own share.
func (t *Tracker) advance(now int64) {
	if now <= t.last {
		// The clock went back (or did not move): count from here on.
		t.last = now
		return
	}
	for t.last < now {
		end := min(now, t.weekEnd)
		if t.up {
			t.accrue(end - t.last)
		}
		t.last = end
		if end == t.weekEnd {
			t.week, t.weekEnd = isoWeek(end), weekEnd(end)
			for _, n := range t.names {
				n.week, n.offlineWeek, n.pendingWeek = t.week, 0, 0
			}
		}
	}
}

func (t *Tracker) accrue(dt int64) {
	grace := t.cfg.Grace.Milliseconds()
	for _, n := range t.names {
		switch n.st {
		case stOffline:
			n.offlineWeek += dt
		case stPending:
			n.pendingUp += dt
			n.pendingWeek += dt
			if n.pendingUp >= grace {
				// Not back within the grace: offline since it left, and
				// the feed-up time since then is charged.
				n.st, n.offSinc, n.onSince = stOffline, n.removedAt, 0
				n.offlineWeek += n.pendingWeek
				n.pendingWeek, n.pendingUp = 0, 0
				t.dirty[n] = struct{}{}
			}
		}
	}
}

// FeedUp marks our feed connected and subscribed: offline time accrues
// from now. Names online before the outage are treated as if they left
// now, so a name the replay does not bring back within the grace is
// offline, charged only from now.
func (t *Tracker) FeedUp() {
	t.mu.Lock()
	t.advance(t.now())
	t.feedUp()
	out := t.flush(t.last)
	t.unlockPublish(out)
}

func (t *Tracker) feedUp() {
	if t.up {
		return
	}
	t.up = true
	for _, n := range t.names {
		switch n.st {
		case stOnline:
			if len(n.refs) == 0 {
				n.st, n.removedAt, n.pendingUp, n.pendingWeek = stPending, t.last, 0, 0
				n.blind = true
			}
		case stPending:
			n.blind = true
		}
	}
}

// FeedDown marks our feed disconnected: nothing accrues until FeedUp, and
// the feed's node ids are forgotten (a restarted server reuses them).
func (t *Tracker) FeedDown() {
	t.mu.Lock()
	t.advance(t.now())
	t.feedDown()
	out := t.flush(t.last)
	t.unlockPublish(out)
}

func (t *Tracker) feedDown() {
	if !t.up {
		return
	}
	t.up, t.downAt = false, t.last
	for _, n := range t.names {
		if len(n.refs) > 0 {
			n.prevIDs = n.prevIDs[:0]
			for _, in := range n.refs {
				if len(n.prevIDs) < 16 {
					n.prevIDs = append(n.prevIDs, identity(in.node.NetworkID, in.node.StartupTime))
				}
			}
			n.refs = map[uint64]*instance{}
			n.seen = t.last
		}
	}
	clear(t.ids)
}

// Apply applies one frame's messages.
func (t *Tracker) Apply(msgs []Message) {
	t.mu.Lock()
	now := t.now()
	t.advance(now)
	// A RemovedChain followed by an AddedChain with nodes in the same frame
	// is the server renaming the chain, not its last node leaving.
	relabel := false
	for _, m := range msgs {
		if c, ok := m.(AddedChain); ok && t.ours(c.Genesis) && c.Nodes > 0 {
			relabel = true
		}
	}
	for _, m := range msgs {
		switch m := m.(type) {
		case SubscribedTo:
			if t.ours(m.Genesis) {
				t.feedUp()
			} else {
				t.st.OtherChains++
			}
		case UnsubscribedFrom:
			if t.ours(m.Genesis) {
				t.feedDown()
			}
		case RemovedChain:
			if t.ours(m.Genesis) && !relabel {
				for id := range t.ids {
					t.remove(id)
				}
			}
		case AddedNode:
			t.feedUp() // the feed evidently delivers
			t.add(m)
		case RemovedNode:
			if !t.remove(m.ID) {
				t.st.UnknownIDs++
			}
		case LocatedNode:
			in := t.ids[m.ID]
			if in == nil {
				t.st.UnknownIDs++
				continue
			}
			loc := m.Location
			in.node.Location = &loc
			in.name.loc = &loc
			t.dirty[in.name] = struct{}{}
		case StaleNode:
			if t.ids[m.ID] == nil {
				t.st.UnknownIDs++
			}
		}
	}
	out := t.flush(now)
	t.unlockPublish(out)
}

func (t *Tracker) ours(genesis string) bool {
	return t.cfg.Genesis == "" || genesis == t.cfg.Genesis
}

func (t *Tracker) add(m AddedNode) {
	if old := t.ids[m.ID]; old != nil {
		// The server reuses a slot only after its node left.
		t.remove(m.ID)
	}
	n := t.names[m.Name]
	if len(t.ids) >= t.cfg.MaxNodes || (n == nil && len(t.names) >= t.cfg.MaxNames) {
		t.st.Dropped++
		return
	}
	now := t.last
	if n == nil {
		n = &nameState{name: m.Name, st: stOffline, discov: now, week: t.week}
		t.names[m.Name] = n
	}
	t.seq++
	in := &instance{id: m.ID, seq: t.seq, node: m, name: n}
	t.ids[m.ID] = in
	if n.refs == nil {
		n.refs = map[uint64]*instance{}
	}
	n.refs[m.ID] = in
	switch n.st {
	case stOffline:
		n.st, n.onSince, n.offSinc = stOnline, now, 0
	case stPending:
		n.st = stOnline
		if n.blind && !slices.Contains(n.prevIDs, identity(m.NetworkID, m.StartupTime)) && m.StartupTime > n.onSince && m.StartupTime <= now {
			// It restarted while our feed was down: it has been up at
			// least since its start, and we saw no outage to charge.
			n.onSince = m.StartupTime
		}
		n.pendingUp, n.pendingWeek, n.blind = 0, 0, false
	}
	if n.discov == 0 {
		n.discov = now
	}
	n.shown = m
	if m.Location != nil {
		l := *m.Location
		n.loc = &l
	}
	n.seen = now
	t.dirty[n] = struct{}{}
}

// remove drops a feed node; its name goes pending when it was the last.
func (t *Tracker) remove(id uint64) bool {
	in := t.ids[id]
	if in == nil {
		return false
	}
	delete(t.ids, id)
	n := in.name
	delete(n.refs, id)
	n.seen = t.last
	if len(n.refs) == 0 {
		if n.st == stOnline {
			n.st, n.removedAt, n.pendingUp, n.pendingWeek, n.blind = stPending, t.last, 0, 0, false
		}
		n.prevIDs = append(n.prevIDs[:0], identity(in.node.NetworkID, in.node.StartupTime))
		return true
	}
	// Another node of the name is live: it speaks for the name now.
	var newest *instance
	for _, o := range n.refs {
		if newest == nil || o.seq > newest.seq {
			newest = o
		}
	}
	n.shown = newest.node
	if newest.node.Location != nil {
		l := *newest.node.Location
		n.loc = &l
	}
	t.dirty[n] = struct{}{}
	return true
}

// Tick accounts time, confirms names offline whose grace ran out and
// publishes changes and due refreshes. The client calls it every second.
func (t *Tracker) Tick() {
	t.mu.Lock()
	now := t.now()
	t.advance(now)
	out := t.flush(now)
	every := t.cfg.Every.Milliseconds()
	var due []*nameState
	for _, n := range t.names {
		if !n.published || now-n.lastPubAt >= every {
			due = append(due, n)
		}
	}
	slices.SortFunc(due, func(a, b *nameState) int { return compareStr(a.name, b.name) })
	for _, n := range due {
		out = append(out, t.published(n, now))
	}
	t.unlockPublish(out)
}

func compareStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// flush returns the records of dirty names whose state differs from what
// was last published, in name order.
func (t *Tracker) flush(now int64) []events.Telemetry {
	if len(t.dirty) == 0 {
		return nil
	}
	ns := make([]*nameState, 0, len(t.dirty))
	for n := range t.dirty {
		ns = append(ns, n)
	}
	clear(t.dirty)
	slices.SortFunc(ns, func(a, b *nameState) int { return compareStr(a.name, b.name) })
	var out []events.Telemetry
	for _, n := range ns {
		if t.names[n.name] != n {
			continue
		}
		r := t.record(n, now)
		if n.published && sameState(r, n.lastPub) {
			continue
		}
		out = append(out, t.published(n, now))
	}
	return out
}

func (t *Tracker) published(n *nameState, now int64) events.Telemetry {
	r := t.record(n, now)
	n.lastPub, n.published, n.lastPubAt = r, true, now
	return r
}

func (t *Tracker) unlockPublish(out []events.Telemetry) {
	if len(out) == 0 || t.cfg.Publish == nil {
		t.mu.Unlock()
		return
	}
	t.pubMu.Lock()
	t.mu.Unlock()
	defer t.pubMu.Unlock()
	for _, r := range out {
		t.cfg.Publish(r)
	}
}

// sameState: a and b differ in nothing but their time and this week's
// offline count (which changes every tick while offline; the refresh
// carries it).
func sameState(a, b events.Telemetry) bool {
	la, lb := a.Location, b.Location
	a.Location, b.Location = nil, nil
	a.At, b.At, a.Observer, b.Observer, a.FeedAt, b.FeedAt = 0, 0, events.Observer{}, events.Observer{}, 0, 0
	a.OfflineWeek, b.OfflineWeek, a.Week, b.Week = 0, 0, "", ""
	if a != b {
		return false
	}
	if la == nil || lb == nil {
		return la == lb
	}
	return *la == *lb
}

func (t *Tracker) record(n *nameState, now int64) events.Telemetry {
	r := events.Telemetry{
		V:                events.SchemaVersion,
		Chain:            t.cfg.Chain,
		Name:             n.name,
		Implementation:   n.shown.Implementation,
		Version:          n.shown.Version,
		NetworkID:        n.shown.NetworkID,
		ValidatorAddress: n.shown.ValidatorAddress,
		IP:               n.shown.IP,
		Online:           n.st != stOffline,
		StartupTime:      n.shown.StartupTime,
		DiscoveredAt:     n.discov,
		OnlineSince:      n.onSince,
		OfflineSince:     n.offSinc,
		Week:             n.week,
		OfflineWeek:      n.offlineWeek,
		Feed:             t.cfg.Feed,
		FeedAt:           t.downAt,
		At:               now,
		Observer:         events.Observer{Endpoint: t.cfg.Feed, SeenAt: n.seen, SentryID: t.cfg.SentryID},
	}
	if t.up {
		r.FeedAt = now
	}
	if n.st == stOffline {
		r.OnlineSince = 0
	} else {
		r.OfflineSince = 0
	}
	if len(n.refs) > 0 && t.up {
		r.SeenAt = now
	}
	if n.loc != nil {
		l := *n.loc
		r.Location = &l
	}
	return r
}

// Restore seeds the tracker with records published before (of this
// chain; others are ignored), so that discovered-at, online-since and
// this week's offline time survive a restart. A restored online name that
// the feed does not replay within the grace goes offline, charged from
// when the feed came up.
func (t *Tracker) Restore(recs []events.Telemetry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.advance(now)
	for _, r := range recs {
		if r.Chain != t.cfg.Chain || r.Name == "" || len(r.Name) > MaxName {
			continue
		}
		if n := t.names[r.Name]; n != nil {
			// Seen live already: keep the live state, but the first
			// sighting is the older one.
			if r.DiscoveredAt > 0 && r.DiscoveredAt < n.discov {
				n.discov = r.DiscoveredAt
			}
			if r.Week == t.week && r.OfflineWeek > n.offlineWeek {
				n.offlineWeek = r.OfflineWeek
			}
			continue
		}
		if len(t.names) >= t.cfg.MaxNames {
			t.st.Dropped++
			continue
		}
		n := &nameState{name: r.Name, discov: r.DiscoveredAt, week: t.week, seen: r.SeenAt,
			shown: AddedNode{Name: r.Name, Implementation: r.Implementation, Version: r.Version,
				ValidatorAddress: r.ValidatorAddress, NetworkID: r.NetworkID, IP: r.IP, StartupTime: r.StartupTime},
			prevIDs: []string{identity(r.NetworkID, r.StartupTime)}}
		if n.discov <= 0 {
			n.discov = now
		}
		if r.Week == t.week {
			n.offlineWeek = max(r.OfflineWeek, 0)
		}
		if r.Location != nil {
			l := *r.Location
			n.loc = &l
		}
		if r.Online {
			n.st, n.onSince = stOnline, r.OnlineSince
			if n.onSince <= 0 {
				n.onSince = r.At
			}
			if t.up {
				n.st, n.removedAt, n.blind = stPending, now, true
			}
		} else {
			n.st, n.offSinc = stOffline, r.OfflineSince
			if n.offSinc <= 0 {
				n.offSinc = r.At
			}
		}
		t.names[r.Name] = n
		n.lastPub, n.published, n.lastPubAt = t.record(n, now), true, now
	}
}

// Snapshot is every tracked name's record, by name, with offline time
// accounted up to now.
func (t *Tracker) Snapshot() []events.Telemetry {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.advance(now)
	out := make([]events.Telemetry, 0, len(t.names))
	for _, n := range t.names {
		out = append(out, t.record(n, now))
	}
	slices.SortFunc(out, func(a, b events.Telemetry) int { return compareStr(a.Name, b.Name) })
	return out
}

// Stats returns the tracker's counts.
func (t *Tracker) Stats() TrackerStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.st
	s.FeedUp, s.Nodes, s.Names = t.up, len(t.ids), len(t.names)
	for _, n := range t.names {
		if n.st != stOffline {
			s.Online++
		}
	}
	return s
}
