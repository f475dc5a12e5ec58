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
//
// Network estimates from scratch; a Tracker keeps the same estimates up to
// date as observations arrive, at a cost in proportion to what changed.
package estimate

import (
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

// Node estimates one node from its history.
func Node(h History, p Params) Result { return p.model().node(h) }

// Heuristic is Valtrack's estimate on the same observations: in each
// metadata observation count the subscribed subnets that are not long-lived
// for the node id, and take the most frequent count (ties: the larger).
func Heuristic(h History, p Params) int {
	m := p.model()
	ll := newLLCache(h.NodeID, m)
	snaps, _ := m.records(h, &ll)
	return mode(snaps)
}

// Network estimates every node of a network. Nodes on every subnet give no
// aggregation signal, and saturated nodes only a lower bound; when the
// network's active validator count is known they share what the other
// nodes leave unexplained (a saturated node keeps at least its lower bound),
// with a low confidence.
func Network(hs []History, p Params) []Estimate {
	m := p.model()
	out := make([]Estimate, 0, len(hs))
	var sh shares
	for _, h := range hs {
		r := m.node(h)
		sh.count(r)
		out = append(out, Estimate{PeerID: h.PeerID, Result: r})
	}
	rule := sh.rule(p.ActiveValidators)
	for i := range out {
		out[i].Result = rule.apply(out[i].Result)
	}
	return out
}

// shares sums what the nodes with their own signal explain and the floors
// of the vague ones (all-subnets and saturated).
type shares struct {
	explained, floors, vague int
}

func vague(r Result) bool { return r.Method == MethodAllSubnets || r.Method == MethodSaturated }

func (s *shares) count(r Result) {
	if vague(r) {
		s.vague++
		s.floors += r.Validators
	} else {
		s.explained += r.Validators
	}
}

// shareRule is how a vague node's result becomes its network estimate.
type shareRule struct {
	on          bool
	rest, share int
}

func (s shares) rule(active uint64) shareRule {
	if s.vague == 0 || active <= uint64(s.explained) {
		return shareRule{}
	}
	r := shareRule{on: true, rest: int(active) - s.explained}
	if r.rest > s.floors {
		r.share = (r.rest - s.floors) / s.vague
	}
	return r
}

func (sr shareRule) apply(r Result) Result {
	if !sr.on || !vague(r) {
		return r
	}
	r.Validators += sr.share
	if r.Method == MethodAllSubnets {
		r.Low = 0
	}
	r.High = sr.rest
	r.Confidence = 0.1
	return r
}
