package telemetry

import (
	"sync"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/events"
)

// clock is a settable clock for the tracker.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// recorder collects published records.
type recorder struct {
	mu  sync.Mutex
	got []events.Telemetry
}

func (r *recorder) Publish(t events.Telemetry) {
	r.mu.Lock()
	r.got = append(r.got, t)
	r.mu.Unlock()
}

func (r *recorder) all() []events.Telemetry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]events.Telemetry(nil), r.got...)
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.got = nil
	r.mu.Unlock()
}

// A Wednesday, so a few days pass before the week ends.
var t0 = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

func newTestTracker(c *clock, r *recorder) *Tracker {
	return NewTracker(TrackerConfig{Chain: "polkadot", Genesis: testGenesis, Feed: "127.0.0.1:9", SentryID: "s1",
		Now: c.Now, Publish: r.Publish})
}

func node(id uint64, name string, startup int64) AddedNode {
	return AddedNode{ID: id, Name: name, Implementation: "Parity Polkadot", Version: "1.0.0", NetworkID: "12D3-" + name, StartupTime: startup}
}

func get(t *testing.T, tr *Tracker, name string) events.Telemetry {
	t.Helper()
	for _, r := range tr.Snapshot() {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no record for %q", name)
	return events.Telemetry{}
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func TestTrackerAddedNodeOnlineAndPublished(t *testing.T) {
	c, r := newClock(t0), &recorder{}
	tr := newTestTracker(c, r)
	loc := events.Location{Lat: 1, Lon: 2, City: "Paris"}
	n := node(1, "alice", ms(t0)-1000)
	n.Location = &loc
	tr.Apply([]Message{SubscribedTo{testGenesis}, n})
	got := r.all()
	if len(got) != 1 {
		t.Fatalf("%d published, want 1", len(got))
	}
	p := got[0]
	if !p.Online || p.OnlineSince != ms(t0) || p.DiscoveredAt != ms(t0) || p.OfflineSince != 0 || p.V != events.SchemaVersion ||
		p.Chain != "polkadot" || p.Feed != "127.0.0.1:9" || p.Endpoint != "127.0.0.1:9" || p.SeenAt != ms(t0) || p.SentryID != "s1" ||
		p.Week != "2026-W49" || p.Location == nil || p.Location.City != "Paris" || p.Version != "1.0.0" {
		t.Errorf("published %+v", p)
	}
}

func TestTrackerRemovedBackWithinGraceNotOffline(t *testing.T) {
	c, r := newClock(t0), &recorder{}
	tr := newTestTracker(c, r)
	tr.Apply([]Message{SubscribedTo{testGenesis}, node(1, "alice", 1)})
	c.Add(time.Minute)
	tr.Apply([]Message{RemovedNode{1}})
	c.Add(3 * time.Minute)
	tr.Tick()
	if p := get(t, tr, "alice"); !p.Online || p.OfflineSince != 0 {
		t.Fatalf("within the grace: %+v", p)
	}
	c.Add(30 * time.Second)
	tr.Apply([]Message{node(4, "alice", 2)}) // restarted: another id and startup time
	c.Add(time.Hour)
	tr.Tick()
	p := get(t, tr, "alice")
	if !p.Online || p.OnlineSince != ms(t0) || p.OfflineWeek != 0 || p.OfflineSince != 0 {
		t.Errorf("back within the grace: %+v", p)
	}
	for _, q := range r.all() {
		if !q.Online {
			t.Errorf("published offline: %+v", q)
		}
	}
}

func TestTrackerRemovedBeyondGraceOffline(t *testing.T) {
	c, r := newClock(t0), &recorder{}
	tr := newTestTracker(c, r)
	tr.Apply([]Message{SubscribedTo{testGenesis}, node(1, "alice", 1)})
	c.Add(time.Minute)
	removed := c.Now()
	tr.Apply([]Message{RemovedNode{1}})
	r.reset()
	c.Add(7 * time.Minute)
	tr.Tick()
	p := get(t, tr, "alice")
	if p.Online || p.OfflineSince != ms(removed) || p.OnlineSince != 0 || p.OfflineWeek != (7*time.Minute).Milliseconds() {
		t.Fatalf("beyond the grace: %+v", p)
	}
	got := r.all()
	if len(got) == 0 || got[0].Online {
		t.Fatalf("published %+v, want the offline change", got)
	}
	c.Add(3 * time.Minute)
	back := c.Now()
	tr.Apply([]Message{node(1, "alice", 3)})
	p = get(t, tr, "alice")
	if !p.Online || p.OnlineSince != ms(back) || p.OfflineWeek != (10*time.Minute).Milliseconds() {
		t.Errorf("back: %+v", p)
	}
}

func TestTrackerOurOutageNotCharged(t *testing.T) {
	c, r := newClock(t0), &recorder{}
	tr := newTestTracker(c, r)
	tr.Apply([]Message{SubscribedTo{testGenesis}, node(1, "alice", 1), node(2, "bob", 1)})
	c.Add(time.Minute)
	tr.Apply([]Message{RemovedNode{2}})
	c.Add(10 * time.Minute) // bob offline: 10 min charged
	tr.Tick()
	if p := get(t, tr, "bob"); p.Online || p.OfflineWeek != (10*time.Minute).Milliseconds() {
		t.Fatalf("bob %+v", p)
	}
	tr.FeedDown()
	c.Add(2 * time.Hour)
	tr.Tick()
	if p := get(t, tr, "bob"); p.OfflineWeek != (10 * time.Minute).Milliseconds() {
		t.Fatalf("our feed down: bob charged %d ms", p.OfflineWeek)
	}
	if p := get(t, tr, "alice"); !p.Online || p.OfflineWeek != 0 {
		t.Fatalf("our feed down: alice %+v", p)
	}
	// The replay brings alice back (same process); bob is still away.
	tr.Apply([]Message{SubscribedTo{testGenesis}, node(0, "alice", 1)})
	c.Add(time.Minute)
	tr.Tick()
	if p := get(t, tr, "alice"); !p.Online || p.OnlineSince != ms(t0) || p.OfflineWeek != 0 {
		t.Errorf("alice after the replay: %+v", p)
	}
	if p := get(t, tr, "bob"); p.OfflineWeek != (11 * time.Minute).Milliseconds() {
		t.Errorf("bob after the outage: %d ms, want 11 min", p.OfflineWeek)
	}
}

func TestTrackerMissingFromReplayOfflineFromReconnect(t *testing.T) {
	c, r := newClock(t0), &recorder{}
	tr := newTestTracker(c, r)
	tr.Apply([]Message{SubscribedTo{testGenesis}, node(1, "alice", 1)})
	tr.FeedDown()
	c.Add(time.Hour)
	up := c.Now()
	tr.Apply([]Message{SubscribedTo{testGenesis}}) // the replay has no alice
	c.Add(4 * time.Minute)
	tr.Tick()
	if p := get(t, tr, "alice"); !p.Online {
		t.Fatalf("within the grace after the reconnect: %+v", p)
	}
	c.Add(2 * time.Minute)
	tr.Tick()
	p := get(t, tr, "alice")
	if p.Online || p.OfflineSince != ms(up) || p.OfflineWeek != (6*time.Minute).Milliseconds() {
		t.Errorf("missing from the replay: %+v (want offline since the reconnect, 6 min)", p)
	}
}

func TestTrackerRestartDuringOutageOnlineSinceFromStartup(t *testing.T) {
	c, r := newClock(t0), &recorder{}
	tr := newTestTracker(c, r)
	tr.Apply([]Message{SubscribedTo{testGenesis}, node(1, "alice", ms(t0)-5000)})
	tr.FeedDown()
	c.Add(time.Hour)
	restarted := ms(t0.Add(30 * time.Minute))
	tr.Apply([]Message{SubscribedTo{testGenesis}, node(3, "alice", restarted)})
	if p := get(t, tr, "alice"); !p.Online || p.OnlineSince != restarted || p.OfflineWeek != 0 {
		t.Errorf("restarted during our outage: %+v (want online since its startup %d)", p, restarted)
	}
}

func TestTrackerSameNameCountsRefs(t *testing.T) {
	c, r := newClock(t0), &recorder{}
	tr := newTestTracker(c, r)
	a, b := node(1, "alice", 1), node(2, "alice", 2)
	b.Version = "2.0.0"
	tr.Apply([]Message{SubscribedTo{testGenesis}, a, b})
	if p := get(t, tr, "alice"); p.Version != "2.0.0" {
		t.Errorf("the newest node speaks for the name: %+v", p)
	}
	tr.Apply([]Message{RemovedNode{2}})
	c.Add(time.Hour)
	tr.Tick()
	if p := get(t, tr, "alice"); !p.Online || p.OfflineWeek != 0 || p.Version != "1.0.0" {
		t.Errorf("one of two left: %+v", p)
	}
	tr.Apply([]Message{RemovedNode{1}})
	c.Add(6 * time.Minute)
	tr.Tick()
	if p := get(t, tr, "alice"); p.Online {
		t.Errorf("both left beyond the grace: %+v", p)
	}
	if s := tr.Stats(); s.Nodes != 0 || s.Names != 1 || s.Online != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestTrackerWeekRollover(t *testing.T) {
	sunday := time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC) // ISO week 49 ends at Monday 00:00
	c, r := newClock(sunday), &recorder{}
	tr := newTestTracker(c, r)
	tr.Apply([]Message{SubscribedTo{testGenesis}, node(1, "alice", 1)})
	tr.Apply([]Message{RemovedNode{1}})
	c.Add(30 * time.Minute)
	tr.Tick()
	if p := get(t, tr, "alice"); p.Week != "2026-W49" || p.OfflineWeek != (30*time.Minute).Milliseconds() {
		t.Fatalf("before the rollover: %+v", p)
	}
	c.Add(45 * time.Minute) // 00:15 Monday
	tr.Tick()
	if p := get(t, tr, "alice"); p.Week != "2026-W50" || p.OfflineWeek != (15*time.Minute).Milliseconds() || p.OfflineSince != ms(sunday) {
		t.Errorf("after the rollover: week %s, %d ms (want 2026-W50, 15 min), offline since %d", p.Week, p.OfflineWeek, p.OfflineSince)
	}
}

func TestTrackerRestore(t *testing.T) {
	c, r := newClock(t0), &recorder{}
	tr := newTestTracker(c, r)
	old := ms(t0.Add(-30 * 24 * time.Hour))
	tr.Restore([]events.Telemetry{
		{Chain: "polkadot", Name: "alice", Online: true, DiscoveredAt: old, OnlineSince: old + 1, StartupTime: 5, NetworkID: "12D3-alice", Week: "2026-W49", OfflineWeek: 1234},
		{Chain: "polkadot", Name: "bob", Online: false, DiscoveredAt: old, OfflineSince: old + 2, Week: "2026-W48", OfflineWeek: 999},
		{Chain: "polkadot", Name: "carol", Online: true, DiscoveredAt: old, OnlineSince: old + 3},
		{Chain: "kusama", Name: "dave", Online: true},
	})
	if n := len(tr.Snapshot()); n != 3 {
		t.Fatalf("%d names restored, want 3 (kusama ignored)", n)
	}
	if len(r.all()) != 0 {
		t.Errorf("Restore published %d records", len(r.all()))
	}
	tr.Apply([]Message{SubscribedTo{testGenesis}, node(0, "alice", 5)})
	c.Add(10 * time.Minute)
	tr.Tick()
	a, b, cr := get(t, tr, "alice"), get(t, tr, "bob"), get(t, tr, "carol")
	if !a.Online || a.DiscoveredAt != old || a.OnlineSince != old+1 || a.OfflineWeek != 1234 {
		t.Errorf("alice %+v", a)
	}
	if b.Online || b.OfflineSince != old+2 || b.Week != "2026-W49" || b.OfflineWeek != (10*time.Minute).Milliseconds() {
		t.Errorf("bob (last week's count reset) %+v", b)
	}
	if cr.Online || cr.DiscoveredAt != old || cr.OfflineWeek != (10*time.Minute).Milliseconds() {
		t.Errorf("carol (not replayed) %+v", cr)
	}
}

func TestTrackerRefreshAtMostOncePerEvery(t *testing.T) {
	c, r := newClock(t0), &recorder{}
	tr := newTestTracker(c, r)
	tr.Apply([]Message{SubscribedTo{testGenesis}, node(1, "alice", 1)})
	for range 10 {
		c.Add(time.Minute)
		tr.Tick()
	}
	// Added at 0, refreshed at 5 and 10 minutes.
	if n := len(r.all()); n != 3 {
		t.Errorf("%d published in 10 minutes, want 3", n)
	}
	r.reset()
	tr.Apply([]Message{node(1, "alice", 1)}) // the same again: no change
	if n := len(r.all()); n != 0 {
		t.Errorf("an unchanged node republished %d times", n)
	}
}

func TestTrackerLocatedAndVersionChangePublished(t *testing.T) {
	c, r := newClock(t0), &recorder{}
	tr := newTestTracker(c, r)
	tr.Apply([]Message{SubscribedTo{testGenesis}, node(1, "alice", 1)})
	r.reset()
	tr.Apply([]Message{LocatedNode{ID: 1, Location: events.Location{Lat: 52.5, Lon: 13.4, City: "Berlin"}}, LocatedNode{ID: 77}})
	got := r.all()
	if len(got) != 1 || got[0].Location == nil || got[0].Location.City != "Berlin" {
		t.Fatalf("located: %+v", got)
	}
	if tr.Stats().UnknownIDs != 1 {
		t.Errorf("unknown ids %d, want 1", tr.Stats().UnknownIDs)
	}
	r.reset()
	n := node(2, "alice", 1)
	n.Version = "1.1.0"
	tr.Apply([]Message{n})
	if got := r.all(); len(got) != 1 || got[0].Version != "1.1.0" {
		t.Errorf("version change: %+v", got)
	}
}

func TestTrackerRemovedChainUnlessRelabel(t *testing.T) {
	c, r := newClock(t0), &recorder{}
	tr := newTestTracker(c, r)
	tr.Apply([]Message{SubscribedTo{testGenesis}, node(1, "alice", 1)})
	tr.Apply([]Message{RemovedChain{testGenesis}, AddedChain{"Polkadot", testGenesis, 1}})
	if tr.Stats().Nodes != 1 {
		t.Fatal("a relabel removed the nodes")
	}
	tr.Apply([]Message{RemovedChain{"0x" + testGenesis[4:] + "00"}})
	if tr.Stats().Nodes != 1 {
		t.Fatal("another chain's removal removed our nodes")
	}
	tr.Apply([]Message{RemovedChain{testGenesis}})
	c.Add(6 * time.Minute)
	tr.Tick()
	if p := get(t, tr, "alice"); p.Online {
		t.Errorf("the chain's last node left: %+v", p)
	}
}

func TestTrackerIDReuse(t *testing.T) {
	c, r := newClock(t0), &recorder{}
	tr := newTestTracker(c, r)
	tr.Apply([]Message{SubscribedTo{testGenesis}, node(1, "alice", 1)})
	tr.Apply([]Message{node(1, "bob", 1)}) // id 1 now names bob: alice left
	c.Add(6 * time.Minute)
	tr.Tick()
	if p := get(t, tr, "alice"); p.Online {
		t.Errorf("alice's id reused: %+v", p)
	}
	if p := get(t, tr, "bob"); !p.Online {
		t.Errorf("bob %+v", p)
	}
}

func TestTrackerBounded(t *testing.T) {
	c, r := newClock(t0), &recorder{}
	tr := NewTracker(TrackerConfig{Chain: "polkadot", Now: c.Now, Publish: r.Publish, MaxNodes: 3, MaxNames: 2})
	tr.Apply([]Message{node(1, "a", 1), node(2, "b", 1), node(3, "c", 1), node(4, "a", 2), node(5, "a", 3)})
	s := tr.Stats()
	if s.Nodes != 3 || s.Names != 2 || s.Dropped != 2 {
		t.Errorf("stats %+v, want 3 nodes, 2 names, 2 dropped", s)
	}
}

func TestTrackerClockBackwardsNoNegative(t *testing.T) {
	c, r := newClock(t0), &recorder{}
	tr := newTestTracker(c, r)
	tr.Apply([]Message{SubscribedTo{testGenesis}, node(1, "alice", 1), RemovedNode{1}})
	c.Add(10 * time.Minute)
	tr.Tick()
	c.Add(-time.Hour)
	tr.Tick()
	c.Add(time.Minute)
	tr.Tick()
	if p := get(t, tr, "alice"); p.OfflineWeek != (11 * time.Minute).Milliseconds() {
		t.Errorf("offline %d ms, want 11 min", p.OfflineWeek)
	}
}

// FeedAt tells a consumer whether the records are live: the record's time
// while our feed is up; once it is down, the republished refreshes (every
// Every, contents frozen) keep the time it went down.
func TestTrackerFeedAtStopsWhenTheFeedGoesDown(t *testing.T) {
	c, r := newClock(t0), &recorder{}
	tr := newTestTracker(c, r)
	tr.Apply([]Message{SubscribedTo{testGenesis}, node(1, "alice", 1)})
	c.Add(time.Minute)
	tr.Tick()
	if p := get(t, tr, "alice"); p.FeedAt != ms(t0.Add(time.Minute)) {
		t.Fatalf("feed up: FeedAt %d, want the record's time %d", p.FeedAt, ms(t0.Add(time.Minute)))
	}
	tr.FeedDown()
	down := t0.Add(time.Minute)
	r.reset()
	c.Add(2 * DefaultEvery)
	tr.Tick()
	got := r.all()
	if len(got) != 1 || got[0].At != ms(down.Add(2*DefaultEvery)) || got[0].FeedAt != ms(down) {
		t.Fatalf("refresh while the feed is down: %+v: want the record republished with FeedAt at the time it went down (%d)", got, ms(down))
	}
	tr.FeedUp()
	if p := get(t, tr, "alice"); p.FeedAt != ms(down.Add(2*DefaultEvery)) {
		t.Fatalf("feed up again: FeedAt %d, want now", p.FeedAt)
	}
}

// A tracker whose feed never came up dates its records' FeedAt at its
// start, not at each refresh.
func TestTrackerFeedAtBeforeTheFeedEverCameUp(t *testing.T) {
	c, r := newClock(t0), &recorder{}
	tr := newTestTracker(c, r)
	tr.Restore([]events.Telemetry{{Chain: "polkadot", Name: "alice", Online: true, DiscoveredAt: ms(t0) - 1000, Week: "2026-W49", At: ms(t0) - 1000}})
	c.Add(time.Hour)
	tr.Tick()
	for _, p := range r.all() {
		if p.FeedAt != ms(t0) {
			t.Fatalf("published %+v: want FeedAt at the tracker's start %d", p, ms(t0))
		}
	}
	if len(r.all()) == 0 {
		t.Fatal("nothing published")
	}
}
