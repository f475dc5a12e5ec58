package estimate

import (
	"fmt"
	"math/rand"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// item is one observation of a peer as the tracker test delivers it.
type item struct {
	peer, node string
	snap       *Snapshot
	chg        *Change
}

func (it item) time() time.Time {
	if it.snap != nil {
		return it.snap.Time
	}
	return it.chg.Time
}

func (it item) key() string {
	if it.snap != nil {
		return fmt.Sprintf("%s s %d %d %s %v", it.peer, it.snap.Time.UnixNano(), it.snap.Epoch, it.snap.Attnets, it.snap.Subscribed)
	}
	return fmt.Sprintf("%s c %d %d %v", it.peer, it.chg.Time.UnixNano(), it.chg.Subnet, it.chg.Subscribed)
}

// canonical sorts a history the way Add documents: by time, then by
// content.
func canonical(h History) History {
	sort.Slice(h.Snapshots, func(i, j int) bool {
		a, b := h.Snapshots[i], h.Snapshots[j]
		switch {
		case !a.Time.Equal(b.Time):
			return a.Time.Before(b.Time)
		case a.Epoch != b.Epoch:
			return a.Epoch < b.Epoch
		case a.Attnets != b.Attnets:
			return a.Attnets < b.Attnets
		}
		return slices.Compare(a.Subscribed, b.Subscribed) < 0
	})
	sort.Slice(h.Changes, func(i, j int) bool {
		a, b := h.Changes[i], h.Changes[j]
		switch {
		case !a.Time.Equal(b.Time):
			return a.Time.Before(b.Time)
		case a.Subnet != b.Subnet:
			return a.Subnet < b.Subnet
		}
		return !a.Subscribed && b.Subscribed
	})
	return h
}

// reference is Network from scratch over the delivered items inside the
// window at now.
func reference(p Params, delivered map[string]item, now time.Time, window time.Duration) []Estimate {
	since := now.Add(-window)
	byPeer := map[string]*History{}
	for _, it := range delivered {
		if it.time().Before(since) {
			continue
		}
		h := byPeer[it.peer]
		if h == nil {
			h = &History{PeerID: it.peer, NodeID: it.node}
			byPeer[it.peer] = h
		}
		if it.snap != nil {
			h.Snapshots = append(h.Snapshots, *it.snap)
		} else {
			h.Changes = append(h.Changes, *it.chg)
		}
	}
	var hs []History
	for _, h := range byPeer {
		hs = append(hs, canonical(*h))
	}
	es := Network(hs, p)
	sort.Slice(es, func(i, j int) bool { return es[i].PeerID < es[j].PeerID })
	return es
}

// trackerNet is a small network of simulated peers with staggered
// observation windows, and every item they produce.
func trackerNet(rng *rand.Rand, p Params, peers, epochs int) []item {
	spe := p.Subnets.SlotsPerEpoch
	var items []item
	for i := 0; i < peers; i++ {
		v := []int{0, 0, 1, 3, 10, 40, 150, 600}[rng.Intn(8)]
		h := simulate(rng, p, v, 2+rng.Intn(epochs))
		if rng.Intn(3) == 0 {
			h = roughen(rng, p, h)
		}
		if i%11 == 5 { // a node on every subnet
			for k := range h.Snapshots {
				h.Snapshots[k].Attnets = "0xffffffffffffffff"
			}
		}
		// stagger: shift by whole epochs
		shift := time.Duration(uint64(rng.Intn(epochs))*spe) * p.SlotDuration
		h.PeerID = fmt.Sprintf("p%02d", i)
		for k := range h.Snapshots {
			h.Snapshots[k].Time = h.Snapshots[k].Time.Add(shift)
			items = append(items, item{peer: h.PeerID, node: h.NodeID, snap: &h.Snapshots[k]})
		}
		for k := range h.Changes {
			h.Changes[k].Time = h.Changes[k].Time.Add(shift)
			items = append(items, item{peer: h.PeerID, node: h.NodeID, chg: &h.Changes[k]})
		}
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].time().Before(items[j].time()) })
	return items
}

func deliver(tk *Tracker, its []item) {
	// group consecutive items of one peer into one Add, as a consumer
	// batch would
	for len(its) > 0 {
		n := 1
		for n < len(its) && its[n].peer == its[0].peer {
			n++
		}
		var snaps []Snapshot
		var chgs []Change
		for _, it := range its[:n] {
			if it.snap != nil {
				snaps = append(snaps, *it.snap)
			} else {
				chgs = append(chgs, *it.chg)
			}
		}
		tk.Add(its[0].peer, its[0].node, snaps, chgs)
		its = its[n:]
	}
}

func sameEstimates(t *testing.T, what string, got, want []Estimate) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d estimates, reference %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: %s: tracker %+v\nreference %+v", what, want[i].PeerID, got[i], want[i])
		}
	}
}

// TestTrackerMatchesNetwork feeds simulated peers to a tracker in chunks
// (in order, shuffled and held back, redelivered) and checks at every pass
// that its estimates are exactly Network's from scratch over the window,
// and that Pass reports exactly what changed and what was forgotten.
func TestTrackerMatchesNetwork(t *testing.T) {
	for _, mode := range []string{"in order", "out of order", "duplicated"} {
		for seed := int64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("%s/%d", mode, seed), func(t *testing.T) {
				rng := rand.New(rand.NewSource(seed))
				p := testParams()
				p.ActiveValidators = 3000
				window := 40 * p.SlotDuration // five 8-slot epochs
				items := trackerNet(rng, p, 24, 10)
				tk := NewTracker(p, window)
				delivered := map[string]item{}
				var pending []item // held back, delivered late
				prev := map[string]Result{}
				start, end := items[0].time(), items[len(items)-1].time().Add(window)
				next := 0
				for now := start.Add(3 * time.Second); !now.After(end); now = now.Add(time.Duration(2+rng.Intn(9)) * p.SlotDuration) {
					var batch []item
					for next < len(items) && !items[next].time().After(now) {
						batch = append(batch, items[next])
						next++
					}
					switch mode {
					case "out of order":
						batch = append(batch, pending...)
						pending = nil
						rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
						keep := batch[:0]
						for _, it := range batch {
							if rng.Intn(4) == 0 {
								pending = append(pending, it)
							} else {
								keep = append(keep, it)
							}
						}
						batch = keep
					case "duplicated":
						for _, it := range delivered {
							if rng.Intn(6) == 0 {
								batch = append(batch, it)
							}
						}
						batch = append(batch, batch...)
						rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
					}
					// a late item older than the last window start is
					// ignored by the tracker; it is outside the reference
					// window too, since the window only moves forward
					for _, it := range batch {
						delivered[it.key()] = it
					}
					deliver(tk, batch)
					changed, forgotten := tk.Pass(now)
					want := reference(p, delivered, now, window)
					sameEstimates(t, fmt.Sprintf("pass at %v", now.Sub(start)), tk.Estimates(), want)

					cur := map[string]Result{}
					var wantChanged []Estimate
					for _, e := range want {
						cur[e.PeerID] = e.Result
						if r, ok := prev[e.PeerID]; !ok || r != e.Result {
							wantChanged = append(wantChanged, e)
						}
					}
					sameEstimates(t, "changed", changed, wantChanged)
					var wantGone []string
					for id := range prev {
						if _, ok := cur[id]; !ok {
							wantGone = append(wantGone, id)
						}
					}
					sort.Strings(wantGone)
					if strings.Join(forgotten, ",") != strings.Join(wantGone, ",") {
						t.Fatalf("forgotten %v, want %v", forgotten, wantGone)
					}
					prev = cur
				}
				_, forgotten := tk.Pass(end.Add(time.Second))
				if len(tk.Estimates()) != 0 || len(forgotten) != len(prev) {
					t.Fatalf("after every item left the window, %d peers remain", len(tk.Estimates()))
				}
			})
		}
	}
}

// TestTrackerForgetsOldData: once the window has slid past a peer's early
// observations, its estimate is the one of its recent observations alone,
// and a peer with nothing left is forgotten.
func TestTrackerForgetsOldData(t *testing.T) {
	p := testParams()
	rng := rand.New(rand.NewSource(9))
	window := 24 * p.SlotDuration // three epochs
	busy := simulate(rng, p, 300, 8)
	busy.PeerID = "busy"
	quiet := simulate(rng, p, 0, 2)
	quiet.PeerID = "quiet"
	tk := NewTracker(p, window)
	tk.Add(busy.PeerID, busy.NodeID, busy.Snapshots, busy.Changes)
	tk.Add(quiet.PeerID, quiet.NodeID, quiet.Snapshots, quiet.Changes)
	first := busy.Snapshots[0].Time
	changed, _ := tk.Pass(first.Add(window))
	if len(changed) != 2 {
		t.Fatalf("first pass reported %d peers, want both", len(changed))
	}
	long := tk.Estimates()[0]

	// Eight epochs later only the busy peer's last three epochs count.
	now := busy.Snapshots[len(busy.Snapshots)-1].Time
	changed, forgotten := tk.Pass(now)
	if len(forgotten) != 1 || forgotten[0] != "quiet" {
		t.Fatalf("forgotten %v, want [quiet]", forgotten)
	}
	es := tk.Estimates()
	if len(es) != 1 || es[0].PeerID != "busy" {
		t.Fatalf("estimates %+v, want busy only", es)
	}
	var recent History
	recent.PeerID, recent.NodeID = busy.PeerID, busy.NodeID
	for _, s := range busy.Snapshots {
		if !s.Time.Before(now.Add(-window)) {
			recent.Snapshots = append(recent.Snapshots, s)
		}
	}
	for _, c := range busy.Changes {
		if !c.Time.Before(now.Add(-window)) {
			recent.Changes = append(recent.Changes, c)
		}
	}
	if want := Node(recent, p); es[0].Result != want {
		t.Fatalf("after the slide: %+v, want the recent window's %+v", es[0].Result, want)
	}
	if es[0].Epochs >= long.Epochs+5 || es[0].Epochs > 3 {
		t.Fatalf("epochs %d after the slide (before: %d), want at most the window's 3", es[0].Epochs, long.Epochs)
	}
	if len(changed) != 1 {
		t.Fatalf("changed %+v, want the busy peer", changed)
	}
	// A change older than the window is ignored: nothing to report.
	tk.Add("busy", "", nil, []Change{{Time: first, Subnet: 3, Subscribed: true}})
	if changed, _ := tk.Pass(now); len(changed) != 0 {
		t.Fatalf("an item older than the window changed %+v", changed)
	}
}
