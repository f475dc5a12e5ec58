// Package estimate derives, for each beacon node, how many validators are
// attached to it from what a sentry observed of its gossipsub subscriptions.
//
// The signal: a validator gets one attestation duty per epoch, in a committee
// chosen uniformly among the epoch's committees, and is an aggregator for it
// with probability 1/modulo (consensus-specs phase0 validator.md,
// is_aggregator). An aggregator must be on its committee's attestation
// subnet around the duty slot, so a node joins short-lived subnets at a rate
// that grows with its validator count. Long-lived subnets (from the node id,
// and the ENR/metadata attnets) carry no information and are excluded.
//
// Valtrack's heuristic counts short-lived subnets in each metadata event and
// takes the most frequent count. That saturates, ignores that several duties
// share one subnet, and ignores the aggregator probability. Here instead each
// (slot, subnet) the node was observed during is a Bernoulli trial: the node
// is subscribed if any of its validators aggregates for a committee mapped to
// that subnet within the subscription window. With r = 1 - 1/(C·modulo) (C
// committees per epoch) and k committees in the window,
//
//	P(subscribed) = 1 - r^(V·k)
//
// and V is the maximum-likelihood solution over all observed trials, with a
// likelihood-ratio interval for its range. Trials are grouped by k, so the
// cost is independent of the observation window once counted.
package estimate

import (
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/valtrack/valtrack/internal/ethereum/network"
	"github.com/valtrack/valtrack/internal/ethereum/subnets"
)

// Methods name the signal that decided an estimate.
const (
	MethodAggregation = "aggregation" // short-lived subnet subscriptions
	MethodAllSubnets  = "all-subnets" // node on every subnet: share of the unexplained remainder
	MethodSaturated   = "saturated"   // on every subnet it could aggregate on: at least Low, plus a share of the remainder
	MethodNoData      = "none"        // not enough observation
)

// Params describe the network the observations come from.
type Params struct {
	Subnets          subnets.Params
	ActiveValidators uint64
	GenesisTime      time.Time
	SlotDuration     time.Duration
	// LeadSlots is how many slots before an aggregation duty a node joins
	// the subnet (it stays until the end of the duty slot). The spec asks
	// for "in advance"; the devnet uses 1.
	LeadSlots uint64
}

// ParamsFor returns the estimator parameters of a network.
func ParamsFor(n *network.Network) Params {
	c := n.Config
	sp := subnets.ParamsMainnet()
	set := func(dst *uint64, v uint64) {
		if v != 0 {
			*dst = v
		}
	}
	set(&sp.SubnetsPerNode, c.SubnetsPerNode)
	set(&sp.AttestationSubnetCount, c.AttestationSubnetCount)
	set(&sp.AttestationSubnetPrefixBits, c.AttestationSubnetPrefixBits)
	set(&sp.EpochsPerSubnetSubscription, c.EpochsPerSubnetSubscription)
	set(&sp.SlotsPerEpoch, c.SlotsPerEpoch)
	set(&sp.TargetCommitteeSize, c.TargetCommitteeSize)
	set(&sp.MaxCommitteesPerSlot, c.MaxCommitteesPerSlot)
	set(&sp.TargetAggregatorsPerCommittee, c.TargetAggregatorsPerCommittee)
	set(&sp.SyncCommitteeSubnetCount, c.SyncCommitteeSubnetCount)
	set(&sp.SyncCommitteeSize, c.SyncCommitteeSize)
	// compute_subscribed_subnets shuffles with the preset's round count:
	// minimal networks (the devnet) use 10, the mainnet and gnosis presets 90.
	if c.PresetBase == "minimal" {
		sp.ShuffleRoundCount = 10
	}
	if v, err := strconv.ParseUint(strings.TrimSpace(c.Raw["SHUFFLE_ROUND_COUNT"]), 10, 64); err == nil && v > 0 {
		sp.ShuffleRoundCount = v
	}
	return Params{
		Subnets:          sp,
		ActiveValidators: n.ActiveValidators,
		GenesisTime:      n.GenesisTime,
		SlotDuration:     c.SecondsPerSlot,
		LeadSlots:        1,
	}
}

// Snapshot is one handshake with the node: the attestation subnets it was
// subscribed to and the long-lived ones it declared (MetaData attnets).
type Snapshot struct {
	Time       time.Time
	Epoch      uint64
	Attnets    string  // 0x-hex bitvector[64]
	Subscribed []int64 // subscribed attestation subnets
}

// Change is one attestation-subnet SUBSCRIBE (Subscribed) or UNSUBSCRIBE.
type Change struct {
	Time       time.Time
	Subnet     int
	Subscribed bool
}

// History is what the estimator reads of one node, oldest first.
type History struct {
	PeerID    string
	NodeID    string // hex, 32 bytes
	Snapshots []Snapshot
	Changes   []Change
}

// Estimate is the result for one node of a network.
type Estimate struct {
	PeerID string
	Result
}

// Result is the estimate of one node.
type Result struct {
	Validators int
	Low, High  int
	Confidence float64
	Method     string
	Heuristic  int // Valtrack's heuristic on the same observations
	Epochs     int // epochs of observation
	MLE        float64
}

// trials counts, per window committee count k, the (slot, subnet) pairs in
// which the node was seen subscribed (on) and not subscribed (off).
type trials struct {
	on, off map[int]int
	slots   int
}

func (p Params) committees() (perSlot, perEpoch uint64, modulo float64) {
	sp := p.Subnets
	if sp.SlotsPerEpoch == 0 {
		sp.SlotsPerEpoch = 32
	}
	n := p.ActiveValidators
	if n == 0 {
		n = 1
	}
	perSlot = subnets.CommitteesPerSlot(n, sp)
	perEpoch = perSlot * sp.SlotsPerEpoch
	committeeLen := n / perEpoch
	modulo = float64(subnets.AggregatorModulo(committeeLen, sp))
	return perSlot, perEpoch, modulo
}

// committeesOn returns how many committees of the slot map to the subnet.
func (p Params) committeesOn(perSlot, slot, subnet uint64) int {
	k := 0
	for idx := uint64(0); idx < perSlot; idx++ {
		if subnets.SubnetForAttestation(perSlot, slot, idx, p.Subnets) == subnet {
			k++
		}
	}
	return k
}

func (p Params) slotAt(t time.Time) (uint64, bool) {
	if p.SlotDuration <= 0 || t.Before(p.GenesisTime) {
		return 0, false
	}
	return uint64(t.Sub(p.GenesisTime) / p.SlotDuration), true
}

func (p Params) slotMid(slot uint64) time.Time {
	return p.GenesisTime.Add(time.Duration(slot)*p.SlotDuration + p.SlotDuration/2)
}

// timeline is the node's attestation-subnet subscription state over time,
// rebuilt from snapshots (observations) and deltas (subscription changes).
type timeline struct {
	times []time.Time
	sets  []map[int]bool
	attn  []map[int]bool // long-lived (attnets) in force
}

func parseBits(hex string, n int) map[int]bool {
	out := map[int]bool{}
	if len(hex) >= 2 && hex[:2] == "0x" {
		hex = hex[2:]
	}
	for i := 0; i+1 < len(hex) && i/2*8 < n; i += 2 {
		b, ok := hexByte(hex[i], hex[i+1])
		if !ok {
			return map[int]bool{}
		}
		for bit := 0; bit < 8; bit++ {
			if b&(1<<bit) != 0 && i/2*8+bit < n {
				out[i/2*8+bit] = true
			}
		}
	}
	return out
}

func hexByte(a, b byte) (byte, bool) {
	h, ok1 := hexNibble(a)
	l, ok2 := hexNibble(b)
	return h<<4 | l, ok1 && ok2
}

func hexNibble(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

type event struct {
	t   time.Time
	obs *Snapshot
	chg *Change
}

func buildTimeline(h History) timeline {
	var evs []event
	for i := range h.Snapshots {
		evs = append(evs, event{t: h.Snapshots[i].Time, obs: &h.Snapshots[i]})
	}
	for i := range h.Changes {
		evs = append(evs, event{t: h.Changes[i].Time, chg: &h.Changes[i]})
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].t.Before(evs[j].t) })
	var tl timeline
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

// at returns the state in force at t (the last event at or before t).
func (tl timeline) at(t time.Time) (set, attn map[int]bool, ok bool) {
	i := sort.Search(len(tl.times), func(i int) bool { return tl.times[i].After(t) }) - 1
	if i < 0 {
		return nil, nil, false
	}
	return tl.sets[i], tl.attn[i], true
}

// ParseNodeID parses a 32-byte node id in hex, with or without 0x.
func ParseNodeID(s string) ([32]byte, bool) {
	var id [32]byte
	if len(s) >= 2 && s[:2] == "0x" {
		s = s[2:]
	}
	if len(s) != 64 {
		return id, false
	}
	for i := 0; i < 32; i++ {
		b, ok := hexByte(s[2*i], s[2*i+1])
		if !ok {
			return id, false
		}
		id[i] = b
	}
	return id, true
}

func nodeID(h History) ([32]byte, bool) { return ParseNodeID(h.NodeID) }

// SetBits lists the set bits of a 0x-hex SSZ bitvector of n bits (bit i is
// bit i%8 of byte i/8); malformed input yields none.
func SetBits(hex string, n int) []int {
	m := parseBits(hex, n)
	out := make([]int, 0, len(m))
	for i := 0; i < n; i++ {
		if m[i] {
			out = append(out, i)
		}
	}
	return out
}

// longLived is the set excluded at a slot: the attnets the node announced
// plus the spec's compute_subscribed_subnets for its node id.
func (p Params) longLived(id [32]byte, hasID bool, epoch uint64, attn map[int]bool) map[int]bool {
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

func (p Params) count(h History) (trials, bool) {
	tr := trials{on: map[int]int{}, off: map[int]int{}}
	tl := buildTimeline(h)
	if len(tl.times) == 0 {
		return tr, false
	}
	first, ok1 := p.slotAt(tl.times[0])
	last, ok2 := p.slotAt(tl.times[len(tl.times)-1])
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
	id, hasID := nodeID(h)
	allSubnets := true
	// Bound the work: a week of 12 s slots is 50,400 slots.
	const maxSlots = 60000
	if last-first > maxSlots {
		first = last - maxSlots
	}
	for slot := first + 1; slot <= last; slot++ {
		set, attn, ok := tl.at(p.slotMid(slot))
		if !ok {
			continue
		}
		ll := p.longLived(id, hasID, slot/spe, attn)
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
				k += p.committeesOn(perSlot, slot+d, uint64(s))
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

// logLik is the log-likelihood of V validators and its derivative.
func logLik(tr trials, lnr, v float64) (l, d float64) {
	for k, n := range tr.on {
		x := v * float64(k) * lnr // ln r^(Vk), <= 0
		q := -math.Expm1(x)       // 1 - r^(Vk)
		if q <= 0 {
			return math.Inf(-1), math.Inf(1)
		}
		l += float64(n) * math.Log(q)
		d += float64(n) * (-float64(k) * lnr * math.Exp(x) / q)
	}
	for k, n := range tr.off {
		l += float64(n) * v * float64(k) * lnr
		d += float64(n) * float64(k) * lnr
	}
	return l, d
}

// Node estimates one node from its history.
func Node(h History, p Params) Result {
	res := Result{Method: MethodNoData, Heuristic: Heuristic(h, p)}
	tr, all := p.count(h)
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
		// d(logLik)/dV is decreasing in V: bisect for its root.
		lo, hi := 1e-9, maxV
		if _, d := logLik(tr, lnr, hi); d > 0 {
			lo = hi
		}
		for i := 0; i < 200 && hi-lo > 1e-6; i++ {
			mid := (lo + hi) / 2
			if _, d := logLik(tr, lnr, mid); d > 0 {
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
	lmax, _ := logLik(tr, lnr, math.Max(v, 1e-9))
	bound := func(from, to float64) float64 {
		// from is inside the interval, to outside (or the domain edge).
		if l, _ := logLik(tr, lnr, math.Max(to, 1e-9)); l >= lmax-drop {
			return to
		}
		for i := 0; i < 100 && math.Abs(to-from) > 1e-3; i++ {
			mid := (from + to) / 2
			if l, _ := logLik(tr, lnr, math.Max(mid, 1e-9)); l >= lmax-drop {
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

// Heuristic is Valtrack's estimate on the same observations: in each
// metadata observation count the subscribed subnets that are not long-lived
// for the node id, and take the most frequent count (ties: the larger).
func Heuristic(h History, p Params) int {
	id, hasID := nodeID(h)
	spe := p.Subnets.SlotsPerEpoch
	if spe == 0 {
		spe = 32
	}
	freq := map[int]int{}
	for _, o := range h.Snapshots {
		var ll map[int]bool
		if hasID {
			ll = p.longLived(id, true, o.Epoch, nil)
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

// Network estimates every node of a network. Nodes on every subnet give no
// aggregation signal, and saturated nodes only a lower bound; when the
// network's active validator count is known they share what the other
// nodes leave unexplained (a saturated node keeps at least its lower bound),
// with a low confidence.
func Network(hs []History, p Params) []Estimate {
	out := make([]Estimate, 0, len(hs))
	var vague []int
	explained, floors := 0, 0
	for _, h := range hs {
		r := Node(h, p)
		e := Estimate{PeerID: h.PeerID, Result: r}
		switch r.Method {
		case MethodAllSubnets, MethodSaturated:
			vague = append(vague, len(out))
			floors += r.Validators
		default:
			explained += r.Validators
		}
		out = append(out, e)
	}
	if len(vague) == 0 || p.ActiveValidators <= uint64(explained) {
		return out
	}
	rest := int(p.ActiveValidators) - explained
	share := 0
	if rest > floors {
		share = (rest - floors) / len(vague)
	}
	for _, i := range vague {
		e := &out[i]
		e.Validators += share
		if e.Method == MethodAllSubnets {
			e.Low = 0
		}
		e.High = rest
		e.Confidence = 0.1
	}
	return out
}
