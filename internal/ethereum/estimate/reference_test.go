package estimate

// The estimator as it was before the incremental tracker (maps per slot,
// one shuffle per slot), kept as the reference the faster code must agree
// with. Only change: refLogLik runs over k in ascending order, so that
// float sums do not depend on map order and results compare exactly.

import (
	"math"
	"sort"
	"time"

	"github.com/valtrack/valtrack/internal/ethereum/subnets"
)

// refTrials counts, per window committee refCount k, the (slot, subnet) pairs in
// which the node was seen subscribed (on) and not subscribed (off).
type refTrials struct {
	on, off map[int]int
	slots   int
}

// refCommitteesOn returns how many committees of the slot map to the subnet.
func (p Params) refCommitteesOn(perSlot, slot, subnet uint64) int {
	k := 0
	for idx := uint64(0); idx < perSlot; idx++ {
		if subnets.SubnetForAttestation(perSlot, slot, idx, p.Subnets) == subnet {
			k++
		}
	}
	return k
}

func (p Params) refSlotAt(t time.Time) (uint64, bool) {
	if p.SlotDuration <= 0 || t.Before(p.GenesisTime) {
		return 0, false
	}
	return uint64(t.Sub(p.GenesisTime) / p.SlotDuration), true
}

func (p Params) refSlotMid(slot uint64) time.Time {
	return p.GenesisTime.Add(time.Duration(slot)*p.SlotDuration + p.SlotDuration/2)
}

// refTimeline is the node's attestation-subnet subscription state over time,
// rebuilt from snapshots (observations) and deltas (subscription changes).
type refTimeline struct {
	times []time.Time
	sets  []map[int]bool
	attn  []map[int]bool // long-lived (attnets) in force
}

type refEvent struct {
	t   time.Time
	obs *Snapshot
	chg *Change
}

func refBuildTimeline(h History) refTimeline {
	var evs []refEvent
	for i := range h.Snapshots {
		evs = append(evs, refEvent{t: h.Snapshots[i].Time, obs: &h.Snapshots[i]})
	}
	for i := range h.Changes {
		evs = append(evs, refEvent{t: h.Changes[i].Time, chg: &h.Changes[i]})
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].t.Before(evs[j].t) })
	var tl refTimeline
	cur := map[int]bool{}
	attn := map[int]bool{}
	started := false
	for _, e := range evs {
		if e.obs != nil {
			cur = map[int]bool{}
			for _, s := range e.obs.Subscribed {
				cur[int(s)] = true
			}
			attn = parseBits(e.obs.Attnets, 64)
			started = true
		} else if started {
			next := make(map[int]bool, len(cur)+1)
			for k := range cur {
				next[k] = true
			}
			if e.chg.Subscribed {
				next[e.chg.Subnet] = true
			} else {
				delete(next, e.chg.Subnet)
			}
			cur = next
		} else {
			continue // a change before the first snapshot has no base state
		}
		tl.times = append(tl.times, e.t)
		tl.sets = append(tl.sets, cur)
		tl.attn = append(tl.attn, attn)
	}
	return tl
}

// at returns the state in force at t (the last refEvent at or before t).
func (tl refTimeline) at(t time.Time) (set, attn map[int]bool, ok bool) {
	i := sort.Search(len(tl.times), func(i int) bool { return tl.times[i].After(t) }) - 1
	if i < 0 {
		return nil, nil, false
	}
	return tl.sets[i], tl.attn[i], true
}

func refNodeID(h History) ([32]byte, bool) { return ParseNodeID(h.NodeID) }

// refLongLived is the set excluded at a slot: the attnets the node announced
// plus the spec's compute_subscribed_subnets for its node id.
func (p Params) refLongLived(id [32]byte, hasID bool, epoch uint64, attn map[int]bool) map[int]bool {
	out := make(map[int]bool, len(attn)+2)
	for k := range attn {
		out[k] = true
	}
	if hasID {
		for _, s := range subnets.ComputeSubscribedSubnets(id, epoch, p.Subnets) {
			out[int(s)] = true
		}
	}
	return out
}

func (p Params) refCount(h History) (refTrials, bool) {
	tr := refTrials{on: map[int]int{}, off: map[int]int{}}
	tl := refBuildTimeline(h)
	if len(tl.times) == 0 {
		return tr, false
	}
	first, ok1 := p.refSlotAt(tl.times[0])
	last, ok2 := p.refSlotAt(tl.times[len(tl.times)-1])
	if !ok1 || !ok2 {
		return tr, false
	}
	perSlot, _, _ := p.committees()
	spe := p.Subnets.SlotsPerEpoch
	if spe == 0 {
		spe = 32
	}
	subnetCount := int(p.Subnets.AttestationSubnetCount)
	if subnetCount == 0 {
		subnetCount = 64
	}
	id, hasID := refNodeID(h)
	allSubnets := true
	// Bound the work: a week of 12 s slots is 50,400 slots.
	const refMaxSlots = 60000
	if last-first > refMaxSlots {
		first = last - refMaxSlots
	}
	for slot := first + 1; slot <= last; slot++ {
		set, attn, ok := tl.at(p.refSlotMid(slot))
		if !ok {
			continue
		}
		ll := p.refLongLived(id, hasID, slot/spe, attn)
		if len(ll) < subnetCount {
			allSubnets = false
		}
		tr.slots++
		for s := 0; s < subnetCount; s++ {
			if ll[s] {
				continue
			}
			k := 0
			for d := uint64(0); d <= p.LeadSlots; d++ {
				k += p.refCommitteesOn(perSlot, slot+d, uint64(s))
			}
			if k == 0 {
				continue // no committee can explain a subscription here
			}
			if set[s] {
				tr.on[k]++
			} else {
				tr.off[k]++
			}
		}
	}
	return tr, allSubnets && tr.slots > 0
}

// refLogLik is the log-likelihood of V validators and its derivative.
func refLogLik(tr refTrials, lnr, v float64) (l, d float64) {
	for _, k := range sortedKeys(tr.on) {
		n := tr.on[k]
		x := v * float64(k) * lnr // ln r^(Vk), <= 0
		q := -math.Expm1(x)       // 1 - r^(Vk)
		if q <= 0 {
			return math.Inf(-1), math.Inf(1)
		}
		l += float64(n) * math.Log(q)
		d += float64(n) * (-float64(k) * lnr * math.Exp(x) / q)
	}
	for _, k := range sortedKeys(tr.off) {
		n := tr.off[k]
		l += float64(n) * v * float64(k) * lnr
		d += float64(n) * float64(k) * lnr
	}
	return l, d
}

func sortedKeys(m map[int]int) []int {
	ks := make([]int, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	return ks
}

// refNode estimates one node from its history.
func refNode(h History, p Params) Result {
	res := Result{Method: MethodNoData, Heuristic: refHeuristic(h, p)}
	tr, all := p.refCount(h)
	spe := p.Subnets.SlotsPerEpoch
	if spe == 0 {
		spe = 32
	}
	res.Epochs = int(uint64(tr.slots) / spe)
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
	on, off := 0, 0
	for _, n := range tr.on {
		on += n
	}
	for _, n := range tr.off {
		off += n
	}
	var v float64
	switch {
	case on == 0:
		v = 0
	case off == 0:
		v = maxV // saturated: every trial subscribed
	default:
		// d(refLogLik)/dV is decreasing in V: bisect for its root.
		lo, hi := 1e-9, maxV
		if _, d := refLogLik(tr, lnr, hi); d > 0 {
			lo = hi
		}
		for i := 0; i < 200 && hi-lo > 1e-6; i++ {
			mid := (lo + hi) / 2
			if _, d := refLogLik(tr, lnr, mid); d > 0 {
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
	// One duty shows in LeadSlots+1 consecutive slots, so the refTrials are
	// not independent; widening the drop by that factor accounts for the
	// smaller effective sample.
	drop := 1.92 * float64(p.LeadSlots+1)
	lmax, _ := refLogLik(tr, lnr, math.Max(v, 1e-9))
	bound := func(from, to float64) float64 {
		// from is inside the interval, to outside (or the domain edge).
		if l, _ := refLogLik(tr, lnr, math.Max(to, 1e-9)); l >= lmax-drop {
			return to
		}
		for i := 0; i < 100 && math.Abs(to-from) > 1e-3; i++ {
			mid := (from + to) / 2
			if l, _ := refLogLik(tr, lnr, math.Max(mid, 1e-9)); l >= lmax-drop {
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

// refHeuristic is Valtrack's estimate on the same observations: in each
// metadata observation refCount the subscribed subnets that are not long-lived
// for the node id, and take the most frequent refCount (ties: the larger).
func refHeuristic(h History, p Params) int {
	id, hasID := refNodeID(h)
	spe := p.Subnets.SlotsPerEpoch
	if spe == 0 {
		spe = 32
	}
	freq := map[int]int{}
	for _, o := range h.Snapshots {
		var ll map[int]bool
		if hasID {
			ll = p.refLongLived(id, true, o.Epoch, nil)
		}
		n := 0
		for _, s := range o.Subscribed {
			if !ll[int(s)] {
				n++
			}
		}
		freq[n]++
	}
	best, bestN := 0, -1
	for v, n := range freq {
		if n > bestN || (n == bestN && v > best) {
			best, bestN = v, n
		}
	}
	return best
}
