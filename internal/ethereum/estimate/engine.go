package estimate

import (
	"math"
	"math/big"
	"math/bits"
	"sort"
	"time"

	"github.com/valtrack/valtrack/internal/ethereum/subnets"
)

// This file is the counting machinery shared by the from-scratch Node and
// the incremental Tracker. Both walk the same sorted events with the same
// cursor and add each slot's trials with the same function, so that the
// two give identical counts (and, through solve, identical results).
//
// Subnet sets are uint64 bitsets: the spec fixes ATTESTATION_SUBNET_COUNT
// at 64 (and the attnets bitvector at 64 bits), so a configuration asking
// for more is clamped to 64.

// maxSlots bounds the work of one node: a week of 12 s slots is 50,400.
const maxSlots = 60000

// group is the subnets that have k index ki at one slot position.
type group struct {
	ki   int
	mask uint64
}

// model is Params compiled for counting. Everything in it is the same for
// every peer of the network; the committees-per-subnet k of a slot depend
// only on the slot's position in its epoch (compute_subnet_for_attestation
// uses slot % SLOTS_PER_EPOCH), so they are tabled once per position.
type model struct {
	p           Params
	spe         uint64
	subnetCount int
	valid       uint64    // subnets 0..subnetCount-1
	ks          []int     // the distinct k > 0, ascending
	groups      [][]group // by slot % spe
	epss        uint64    // EPOCHS_PER_SUBNET_SUBSCRIPTION as the shuffle uses it
	slot        int64     // slot duration in ns; <= 0: no slot arithmetic
}

func (p Params) model() *model {
	m := &model{p: p, spe: p.Subnets.SlotsPerEpoch, subnetCount: int(p.Subnets.AttestationSubnetCount), slot: int64(p.SlotDuration)}
	if m.spe == 0 {
		m.spe = 32
	}
	if m.subnetCount == 0 || m.subnetCount > 64 {
		m.subnetCount = 64
	}
	m.valid = math.MaxUint64
	if m.subnetCount < 64 {
		m.valid = 1<<m.subnetCount - 1
	}
	m.epss = p.Subnets.EpochsPerSubnetSubscription
	if m.epss == 0 {
		m.epss = 256 // as subnets.Params.sane
	}
	perSlot, _, _ := p.committees()
	kOf := make([][64]int, m.spe)
	seen := map[int]bool{}
	for pos := uint64(0); pos < m.spe; pos++ {
		for d := uint64(0); d <= p.LeadSlots; d++ {
			for idx := uint64(0); idx < perSlot; idx++ {
				if s := subnets.SubnetForAttestation(perSlot, pos+d, idx, p.Subnets); s < uint64(m.subnetCount) {
					kOf[pos][s]++
				}
			}
		}
		for s := 0; s < m.subnetCount; s++ {
			if k := kOf[pos][s]; k > 0 {
				seen[k] = true
			}
		}
	}
	for k := range seen {
		m.ks = append(m.ks, k)
	}
	sort.Ints(m.ks)
	index := map[int]int{}
	for i, k := range m.ks {
		index[k] = i
	}
	m.groups = make([][]group, m.spe)
	for pos := range m.groups {
		for s := 0; s < m.subnetCount; s++ {
			k := kOf[pos][s]
			if k == 0 {
				continue // no committee can explain a subscription here
			}
			gs := m.groups[pos]
			i := 0
			for i < len(gs) && gs[i].ki != index[k] {
				i++
			}
			if i == len(gs) {
				gs = append(gs, group{ki: index[k]})
			}
			gs[i].mask |= 1 << s
			m.groups[pos] = gs
		}
	}
	return m
}

// rel is a time as the model counts it: nanoseconds since genesis (the
// same saturating difference the slot arithmetic always used).
func (m *model) rel(t time.Time) int64 { return int64(t.Sub(m.p.GenesisTime)) }

func (m *model) slotOf(rel int64) (uint64, bool) {
	if m.slot <= 0 || rel < 0 {
		return 0, false
	}
	return uint64(rel / m.slot), true
}

func (m *model) mid(slot uint64) int64 { return int64(slot)*m.slot + m.slot/2 }

// epochOf is the first epoch whose slots an event at rel can change: the
// state in force at a slot is read at its middle, so an event changes its
// own slot or the next, never an earlier one.
func (m *model) epochOf(rel int64) uint64 {
	s, ok := m.slotOf(rel)
	if !ok {
		return 0
	}
	return s / m.spe
}

// snapRec is a Snapshot as the counting reads it.
type snapRec struct {
	t     int64  // rel
	set   uint64 // subscribed subnets below 64
	attn  uint64 // declared long-lived (attnets)
	heur  int    // Heuristic's count for this snapshot
	epoch uint64
	// kept for deduplication only
	attnets string
	subs    []int64
}

type chgRec struct {
	t      int64
	subnet int
	on     bool
}

func maskOf(subs []int64) uint64 {
	var x uint64
	for _, s := range subs {
		if s >= 0 && s < 64 {
			x |= 1 << uint(s)
		}
	}
	return x
}

// parseMask is parseBits as a bitset.
func parseMask(hex string) uint64 {
	if len(hex) >= 2 && hex[:2] == "0x" {
		hex = hex[2:]
	}
	var x uint64
	for i := 0; i+1 < len(hex) && i/2*8 < 64; i += 2 {
		b, ok := hexByte(hex[i], hex[i+1])
		if !ok {
			return 0
		}
		x |= uint64(b) << (i / 2 * 8)
	}
	return x
}

// llCache holds a node's long-lived subnets. compute_subscribed_subnets
// depends on the epoch only through (epoch + node_offset) /
// EPOCHS_PER_SUBNET_SUBSCRIPTION, so one shuffle serves a whole
// subscription period (256 epochs on mainnet) instead of one per slot.
type llCache struct {
	id     [32]byte
	hasID  bool
	offset uint64
	period [2]uint64
	mask   [2]uint64
	known  [2]bool
	next   int
}

func newLLCache(nodeID string, m *model) llCache {
	c := llCache{}
	c.id, c.hasID = ParseNodeID(nodeID)
	if c.hasID {
		id := new(big.Int).SetBytes(c.id[:])
		c.offset = new(big.Int).Mod(id, new(big.Int).SetUint64(m.epss)).Uint64()
	}
	return c
}

func (c *llCache) at(epoch uint64, m *model) uint64 {
	if !c.hasID {
		return 0
	}
	period := (epoch + c.offset) / m.epss
	for i := range c.period {
		if c.known[i] && c.period[i] == period {
			return c.mask[i]
		}
	}
	var x uint64
	for _, s := range subnets.ComputeSubscribedSubnets(c.id, epoch, m.p.Subnets) {
		if s < 64 {
			x |= 1 << s
		}
	}
	i := c.next
	c.next = (c.next + 1) % len(c.period)
	c.period[i], c.mask[i], c.known[i] = period, x, true
	return x
}

// heuristicCount is Heuristic's count for one snapshot: subscribed
// entries (as listed) that are not long-lived for the node id at the
// snapshot's declared epoch.
func heuristicCount(subs []int64, epoch uint64, c *llCache, m *model) int {
	ll := c.at(epoch, m)
	n := 0
	for _, s := range subs {
		if s < 0 || s >= 64 || ll&(1<<uint(s)) == 0 {
			n++
		}
	}
	return n
}

// mode is the most frequent heuristic count (ties: the larger), as
// Heuristic defines it.
func mode(snaps []snapRec) int {
	var small [65]int
	var big map[int]int
	for i := range snaps {
		if v := snaps[i].heur; v < len(small) {
			small[v]++
		} else {
			if big == nil {
				big = map[int]int{}
			}
			big[v]++
		}
	}
	best, bestN := 0, -1
	for v, n := range small {
		if n > 0 && n >= bestN {
			best, bestN = v, n
		}
	}
	for v, n := range big {
		if n > bestN || (n == bestN && v > best) {
			best, bestN = v, n
		}
	}
	return best
}

// cursor walks a node's events in time order. At equal times snapshots
// come before changes, as in the timeline the estimator always used; a
// change before any snapshot has no base state and is skipped.
type cursor struct {
	snaps   []snapRec
	chgs    []chgRec
	i, j    int
	defined bool
	set     uint64
	attn    uint64
}

// seek positions the cursor at the state in force at t without replaying
// from the start: the last snapshot at or before t, then the changes after
// it.
func (c *cursor) seek(t int64) {
	i := sort.Search(len(c.snaps), func(k int) bool { return c.snaps[k].t > t }) - 1
	if i < 0 {
		c.i, c.defined = 0, false
		c.j = sort.Search(len(c.chgs), func(k int) bool { return c.chgs[k].t > t })
		return
	}
	s := &c.snaps[i]
	c.i, c.defined, c.set, c.attn = i+1, true, s.set, s.attn
	c.j = sort.Search(len(c.chgs), func(k int) bool { return c.chgs[k].t >= s.t })
	c.advance(t)
}

// advance applies every event at or before t.
func (c *cursor) advance(t int64) {
	for {
		sOK := c.i < len(c.snaps) && c.snaps[c.i].t <= t
		cOK := c.j < len(c.chgs) && c.chgs[c.j].t <= t
		switch {
		case sOK && (!cOK || c.snaps[c.i].t <= c.chgs[c.j].t):
			s := &c.snaps[c.i]
			c.set, c.attn, c.defined = s.set, s.attn, true
			c.i++
		case cOK:
			if ch := &c.chgs[c.j]; c.defined && ch.subnet >= 0 && ch.subnet < 64 {
				if ch.on {
					c.set |= 1 << uint(ch.subnet)
				} else {
					c.set &^= 1 << uint(ch.subnet)
				}
			}
			c.j++
		default:
			return
		}
	}
}

// counts is a run of trial counts laid out as the model's k indices:
// on[0..nk), off[0..nk), slots, slots not on every subnet.
type counts []int32

func (m *model) stride() int { return 2*len(m.ks) + 2 }

// sweep adds the trials of slots [from, to] into dst, one stride per
// epoch starting at epoch base (or all into one stride when base is
// noEpochs).
func (m *model) sweep(c *cursor, ll *llCache, from, to uint64, dst counts, base uint64) {
	if from > to {
		return
	}
	nk := len(m.ks)
	st := m.stride()
	c.seek(m.mid(from))
	epoch := from / m.spe
	llm := ll.at(epoch, m)
	for slot := from; slot <= to; slot++ {
		if e := slot / m.spe; e != epoch {
			epoch, llm = e, ll.at(e, m)
		}
		c.advance(m.mid(slot))
		if !c.defined {
			continue
		}
		var b counts
		if base == noEpochs {
			b = dst[:st]
		} else {
			off := int(epoch-base) * st
			b = dst[off : off+st]
		}
		long := c.attn | llm
		b[2*nk]++
		if bits.OnesCount64(long) < m.subnetCount {
			b[2*nk+1]++
		}
		avail := m.valid &^ long
		for _, g := range m.groups[slot%m.spe] {
			x := avail & g.mask
			b[g.ki] += int32(bits.OnesCount64(x & c.set))
			b[nk+g.ki] += int32(bits.OnesCount64(x &^ c.set))
		}
	}
}

const noEpochs = math.MaxUint64

// trials are the summed counts of a node.
type trials struct {
	on, off []int64 // by k index
	slots   int
	notAll  int // slots in which the node was not on every subnet
}

func (m *model) newTrials() trials {
	return trials{on: make([]int64, len(m.ks)), off: make([]int64, len(m.ks))}
}

func (tr *trials) add(b counts) {
	nk := len(tr.on)
	for i := 0; i < nk; i++ {
		tr.on[i] += int64(b[i])
		tr.off[i] += int64(b[nk+i])
	}
	tr.slots += int(b[2*nk])
	tr.notAll += int(b[2*nk+1])
}

func (tr *trials) reset() {
	clear(tr.on)
	clear(tr.off)
	tr.slots, tr.notAll = 0, 0
}

// span is the slots a node's events cover: (first, last], the slot of its
// first snapshot to the slot of its last event, at most maxSlots.
func (m *model) span(snaps []snapRec, chgs []chgRec) (from, to uint64, ok bool) {
	if len(snaps) == 0 {
		return 0, 0, false
	}
	lastT := snaps[len(snaps)-1].t
	if len(chgs) > 0 && chgs[len(chgs)-1].t > lastT {
		lastT = chgs[len(chgs)-1].t
	}
	first, ok1 := m.slotOf(snaps[0].t)
	last, ok2 := m.slotOf(lastT)
	if !ok1 || !ok2 {
		return 0, 0, false
	}
	if last-first > maxSlots {
		first = last - maxSlots
	}
	return first + 1, last, first+1 <= last
}

// logLik is the log-likelihood of V validators and its derivative. It
// runs over k in ascending order so that a sum is the same every time.
func (m *model) logLik(tr *trials, lnr, v float64) (l, d float64) {
	for i, k := range m.ks {
		n := tr.on[i]
		if n == 0 {
			continue
		}
		x := v * float64(k) * lnr // ln r^(Vk), <= 0
		q := -math.Expm1(x)       // 1 - r^(Vk)
		if q <= 0 {
			return math.Inf(-1), math.Inf(1)
		}
		l += float64(n) * math.Log(q)
		d += float64(n) * (-float64(k) * lnr * math.Exp(x) / q)
	}
	for i, k := range m.ks {
		n := tr.off[i]
		if n == 0 {
			continue
		}
		l += float64(n) * v * float64(k) * lnr
		d += float64(n) * float64(k) * lnr
	}
	return l, d
}

// solve turns a node's trials into its result (Heuristic left to the
// caller).
func (m *model) solve(tr *trials) Result {
	p := m.p
	res := Result{Method: MethodNoData}
	all := tr.notAll == 0 && tr.slots > 0
	res.Epochs = int(uint64(tr.slots) / m.spe)
	if all {
		res.Method = MethodAllSubnets
		return res
	}
	if tr.slots == 0 {
		return res
	}
	_, perEpoch, modulo := p.committees()
	lnr := math.Log1p(-1 / (float64(perEpoch) * modulo))
	maxV := float64(p.ActiveValidators)
	if maxV < 1 {
		maxV = 1 << 20
	}
	res.Method = MethodAggregation
	var on, off int64
	for i := range m.ks {
		on += tr.on[i]
		off += tr.off[i]
	}
	var v float64
	switch {
	case on == 0:
		v = 0
	case off == 0:
		v = maxV // saturated: every trial subscribed
	default:
		// d(logLik)/dV is decreasing in V: bisect for its root.
		lo, hi := 1e-9, maxV
		if _, d := m.logLik(tr, lnr, hi); d > 0 {
			lo = hi
		}
		for i := 0; i < 200 && hi-lo > 1e-6; i++ {
			mid := (lo + hi) / 2
			if _, d := m.logLik(tr, lnr, mid); d > 0 {
				lo = mid
			} else {
				hi = mid
			}
		}
		v = (lo + hi) / 2
	}
	res.MLE = v
	res.Validators = int(math.Round(v))
	// 95% likelihood-ratio interval: log-likelihood within 1.92 of the top.
	// One duty shows in LeadSlots+1 consecutive slots, so the trials are
	// not independent; widening the drop by that factor accounts for the
	// smaller effective sample.
	drop := 1.92 * float64(p.LeadSlots+1)
	lmax, _ := m.logLik(tr, lnr, math.Max(v, 1e-9))
	bound := func(from, to float64) float64 {
		// from is inside the interval, to outside (or the domain edge).
		if l, _ := m.logLik(tr, lnr, math.Max(to, 1e-9)); l >= lmax-drop {
			return to
		}
		for i := 0; i < 100 && math.Abs(to-from) > 1e-3; i++ {
			mid := (from + to) / 2
			if l, _ := m.logLik(tr, lnr, math.Max(mid, 1e-9)); l >= lmax-drop {
				from = mid
			} else {
				to = mid
			}
		}
		return from
	}
	low, high := bound(v, 0), bound(v, maxV)
	res.Low, res.High = int(math.Floor(low)), int(math.Ceil(high))
	half := (high - low) / 2
	res.Confidence = 1 / (1 + half/math.Max(v, 1))
	if off == 0 {
		// Every trial subscribed: the likelihood grows without bound, so
		// only the lower end is known.
		res.Method = MethodSaturated
		res.Validators = res.Low
		res.Confidence = 0.05
	}
	return res
}

// records converts a history to sorted records (stable: equal times keep
// their order, as the timeline always did).
func (m *model) records(h History, ll *llCache) ([]snapRec, []chgRec) {
	snaps := make([]snapRec, len(h.Snapshots))
	for i := range h.Snapshots {
		o := &h.Snapshots[i]
		snaps[i] = snapRec{t: m.rel(o.Time), set: maskOf(o.Subscribed), attn: parseMask(o.Attnets),
			heur: heuristicCount(o.Subscribed, o.Epoch, ll, m), epoch: o.Epoch}
	}
	chgs := make([]chgRec, len(h.Changes))
	for i := range h.Changes {
		c := &h.Changes[i]
		chgs[i] = chgRec{t: m.rel(c.Time), subnet: c.Subnet, on: c.Subscribed}
	}
	if !sort.SliceIsSorted(snaps, func(i, j int) bool { return snaps[i].t < snaps[j].t }) {
		sort.SliceStable(snaps, func(i, j int) bool { return snaps[i].t < snaps[j].t })
	}
	if !sort.SliceIsSorted(chgs, func(i, j int) bool { return chgs[i].t < chgs[j].t }) {
		sort.SliceStable(chgs, func(i, j int) bool { return chgs[i].t < chgs[j].t })
	}
	return snaps, chgs
}

// node estimates one node from scratch.
func (m *model) node(h History) Result {
	ll := newLLCache(h.NodeID, m)
	snaps, chgs := m.records(h, &ll)
	tr := m.newTrials()
	if from, to, ok := m.span(snaps, chgs); ok {
		buf := make(counts, m.stride())
		m.sweep(&cursor{snaps: snaps, chgs: chgs}, &ll, from, to, buf, noEpochs)
		tr.add(buf)
	}
	res := m.solve(&tr)
	res.Heuristic = mode(snaps)
	return res
}
