package estimate

import (
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Tracker keeps the estimates of every peer of one network up to date as
// observations arrive, so that an analyzer pass costs in proportion to
// what changed rather than to the whole observation window.
//
// Per peer it holds the observations inside the window and the trial
// counts of every complete epoch of it. Trials are additive over slots, so
// a pass sums the epoch counts and recounts only the epochs that new (or
// late) observations touched, plus the two partial epochs at the ends of
// the window; long-lived subnets are shuffled once per subscription period
// and the committees per subnet come from a table shared by all peers.
//
// The results are exactly those of Network over the same observations
// restricted to the window (every item with Time >= now - window, as the
// state store's Histories(since) returns them), provided events at the
// same instant are ordered as described at Add.
//
// A Tracker is safe for concurrent use: a mutex serialises Add, Pass and
// Estimates, and Pass holds it for its whole duration.
type Tracker struct {
	mu      sync.Mutex
	m       *model
	window  time.Duration
	peers   map[string]*peer
	since   int64 // window start of the last pass; older items are dropped
	dirty   []*peer
	scratch trials
	head    counts
}

type peer struct {
	id       string
	nodeID   string
	ll       llCache
	snaps    []snapRec // canonical order (see Add)
	chgs     []chgRec
	dirty    bool
	gone     bool
	from     uint64 // epoch counts from this epoch on are stale
	base     uint64 // epoch of buckets[0]
	buckets  counts // one stride per complete epoch of the window
	node     Result // the node's own result, before the network share
	est      Result // as last returned by Pass
	reported bool
}

// NewTracker returns an empty tracker for a network. window is how far
// back a pass looks (the analyzer's estimate window); zero or less keeps
// every observation.
func NewTracker(p Params, window time.Duration) *Tracker {
	m := p.model()
	return &Tracker{m: m, window: window, peers: map[string]*peer{}, since: math.MinInt64,
		scratch: m.newTrials(), head: make(counts, m.stride())}
}

// Add records observations of a peer. They may arrive in any order and
// late: a pass recounts the peer from the epoch of its earliest new item.
//
// An item is identified by its time and content: a snapshot by (Time,
// Epoch, Attnets, Subscribed as listed), a change by (Time, Subnet,
// Subscribed). Adding an identical item again (a redelivered event) has
// no effect. At one instant, snapshots come before changes and items of a
// kind are ordered by their content; that order decides the state when a
// peer reports several things at the same nanosecond.
//
// An item older than the window start of the last pass is ignored: it
// could only change data that has already been forgotten. nodeID is the
// peer's hex node id; empty keeps the one known, a different one recounts
// the peer with it. Add copies what it keeps; the caller may reuse its
// slices.
func (t *Tracker) Add(peerID, nodeID string, snaps []Snapshot, changes []Change) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.m
	p := t.peers[peerID]
	if p == nil {
		p = &peer{id: peerID, from: noEpochs}
		p.ll = newLLCache("", m)
	}
	// one allocation for a batch rather than one per inserted item
	p.snaps = slices.Grow(p.snaps, len(snaps))
	p.chgs = slices.Grow(p.chgs, len(changes))
	touched := false
	if nodeID != "" && nodeID != p.nodeID {
		p.nodeID, p.ll = nodeID, newLLCache(nodeID, m)
		for i := range p.snaps {
			s := &p.snaps[i]
			s.heur = heuristicCount(s.subs, s.epoch, &p.ll, m)
		}
		p.from, touched = 0, true
	}
	for i := range snaps {
		o := &snaps[i]
		r := snapRec{t: m.rel(o.Time), epoch: o.Epoch, attnets: o.Attnets, subs: o.Subscribed}
		if r.t < t.since {
			continue
		}
		pos, dup := insertPos(p.snaps, r, cmpSnap)
		if dup {
			continue
		}
		r.subs = slices.Clone(o.Subscribed)
		r.set, r.attn = maskOf(r.subs), parseMask(r.attnets)
		r.heur = heuristicCount(r.subs, r.epoch, &p.ll, m)
		p.snaps = slices.Insert(p.snaps, pos, r)
		p.from, touched = min(p.from, m.epochOf(r.t)), true
	}
	for i := range changes {
		c := &changes[i]
		r := chgRec{t: m.rel(c.Time), subnet: c.Subnet, on: c.Subscribed}
		if r.t < t.since {
			continue
		}
		pos, dup := insertPos(p.chgs, r, cmpChg)
		if dup {
			continue
		}
		p.chgs = slices.Insert(p.chgs, pos, r)
		p.from, touched = min(p.from, m.epochOf(r.t)), true
	}
	if len(p.snaps)+len(p.chgs) == 0 {
		return // nothing of it in the window: not worth a peer
	}
	t.peers[peerID] = p
	if touched && !p.dirty {
		p.dirty = true
		t.dirty = append(t.dirty, p)
	}
}

// insertPos finds where r goes in the canonical order, and whether an
// identical item is already there. New items usually come last, so that
// case is checked first.
func insertPos[T any](xs []T, r T, cmp func(a, b *T) int) (int, bool) {
	n := len(xs)
	if n == 0 {
		return 0, false
	}
	if c := cmp(&xs[n-1], &r); c < 0 {
		return n, false
	} else if c == 0 {
		return n - 1, true
	}
	i := sort.Search(n, func(k int) bool { return cmp(&xs[k], &r) >= 0 })
	return i, i < n && cmp(&xs[i], &r) == 0
}

func cmpSnap(a, b *snapRec) int {
	switch {
	case a.t != b.t:
		return cmpInt(a.t, b.t)
	case a.epoch != b.epoch:
		return cmpInt(a.epoch, b.epoch)
	case a.attnets != b.attnets:
		return strings.Compare(a.attnets, b.attnets)
	}
	return slices.Compare(a.subs, b.subs)
}

func cmpChg(a, b *chgRec) int {
	switch {
	case a.t != b.t:
		return cmpInt(a.t, b.t)
	case a.subnet != b.subnet:
		return cmpInt(a.subnet, b.subnet)
	case a.on != b.on:
		if !a.on {
			return -1
		}
		return 1
	}
	return 0
}

func cmpInt[T int | int64 | uint64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Pass brings the tracker to now: it forgets what fell out of the window
// (a peer with nothing left is forgotten altogether), recounts the peers
// whose data changed, applies the network-level share of the unexplained
// remainder (which depends on every peer, and is cheap), and returns the
// estimates that differ from what the previous pass returned, new peers
// included, and the peers forgotten since, both sorted by peer id.
//
// now should not go back: the window never moves back, since what it
// dropped is gone.
func (t *Tracker) Pass(now time.Time) (changed []Estimate, forgotten []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.m
	if t.window > 0 {
		t.since = max(t.since, m.rel(now.Add(-t.window)))
	}
	for id, p := range t.peers {
		if p.expire(t.since) && !p.dirty {
			p.dirty = true
			t.dirty = append(t.dirty, p)
		}
		if len(p.snaps)+len(p.chgs) == 0 {
			delete(t.peers, id)
			p.gone = true
			if p.reported {
				forgotten = append(forgotten, id)
			}
		}
	}
	for _, p := range t.dirty {
		if !p.gone {
			t.update(p)
		}
		p.dirty = false
	}
	clear(t.dirty)
	t.dirty = t.dirty[:0]

	var sh shares
	for _, p := range t.peers {
		sh.count(p.node)
	}
	rule := sh.rule(m.p.ActiveValidators)
	for _, p := range t.peers {
		r := rule.apply(p.node)
		if !p.reported || r != p.est {
			p.est, p.reported = r, true
			changed = append(changed, Estimate{PeerID: p.id, Result: r})
		}
	}
	sort.Slice(changed, func(i, j int) bool { return changed[i].PeerID < changed[j].PeerID })
	sort.Strings(forgotten)
	return changed, forgotten
}

// Estimates returns the estimate of every peer as of the last pass,
// sorted by peer id.
func (t *Tracker) Estimates() []Estimate {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Estimate, 0, len(t.peers))
	for _, p := range t.peers {
		if p.reported {
			out = append(out, Estimate{PeerID: p.id, Result: p.est})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PeerID < out[j].PeerID })
	return out
}

// expire drops the items older than since and says whether it dropped any.
// The epoch counts stay valid: a count depends only on the latest snapshot
// before each slot and the changes after it, and every slot a pass counts
// comes after the first snapshot left in the window.
func (p *peer) expire(since int64) bool {
	ns := sort.Search(len(p.snaps), func(k int) bool { return p.snaps[k].t >= since })
	nc := sort.Search(len(p.chgs), func(k int) bool { return p.chgs[k].t >= since })
	if ns == 0 && nc == 0 {
		return false
	}
	clear(p.snaps[:ns]) // let the dropped subnet lists go
	p.snaps = p.snaps[ns:]
	p.chgs = p.chgs[nc:]
	return true
}

// update recounts a peer: complete epochs whose counts are still valid are
// reused, stale or new ones are swept, and the partial epochs at both ends
// of the span are swept into one scratch count.
func (t *Tracker) update(p *peer) {
	m := t.m
	tr := &t.scratch
	tr.reset()
	st := m.stride()
	from, to, ok := m.span(p.snaps, p.chgs)
	if ok {
		c := &cursor{snaps: p.snaps, chgs: p.chgs}
		head := t.head
		clear(head)
		spe := m.spe
		fs := (from + spe - 1) / spe // first complete epoch
		fe := (to + 1) / spe         // after the last complete epoch
		if fs >= fe {
			p.base, p.buckets = 0, p.buckets[:0]
			m.sweep(c, &p.ll, from, to, head, noEpochs)
		} else {
			n := uint64(len(p.buckets) / st)
			valid := min(p.base+n, max(p.from, p.base)) // counts [base, valid) are good
			if n == 0 || fs < p.base || valid <= fs {
				valid = fs
				p.buckets = p.buckets[:0]
			} else if fs > p.base {
				k := copy(p.buckets, p.buckets[int(fs-p.base)*st:int(valid-p.base)*st])
				p.buckets = p.buckets[:k]
			} else {
				p.buckets = p.buckets[:int(valid-p.base)*st]
			}
			p.base = fs
			need := int(fe-fs) * st
			if cap(p.buckets) < need {
				nb := make(counts, len(p.buckets), need+8*st)
				copy(nb, p.buckets)
				p.buckets = nb
			}
			old := len(p.buckets)
			p.buckets = p.buckets[:need]
			clear(p.buckets[old:])
			m.sweep(c, &p.ll, valid*spe, fe*spe-1, p.buckets, fs)
			m.sweep(c, &p.ll, from, fs*spe-1, head, noEpochs)
			m.sweep(c, &p.ll, fe*spe, to, head, noEpochs)
			for i := 0; i < need; i += st {
				tr.add(p.buckets[i : i+st])
			}
		}
		tr.add(head)
	} else {
		p.base, p.buckets = 0, p.buckets[:0]
	}
	p.from = noEpochs
	r := m.solve(tr)
	r.Heuristic = mode(p.snaps)
	p.node = r
}
