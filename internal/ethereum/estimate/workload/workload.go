// Package workload plays a mainnet-sized Ethereum network as one sentry
// sees it, for the estimate benchmarks (of the estimator alone, and of the
// analyzer over a real state): peers with a mix of validator counts, each
// observed once per epoch, with every attestation-subnet change. Long-lived
// subnets come from the node id (compute_subscribed_subnets), aggregation
// duties are drawn as the consensus spec does (a committee per validator
// per epoch, aggregator with probability 1/modulo, the subnet joined
// LeadSlots before the duty and left after it). Deterministic for a seed.
package workload

import (
	"fmt"
	"math/rand"
	"time"

	"github.com/valtrack/valtrack/internal/ethereum/estimate"
	"github.com/valtrack/valtrack/internal/ethereum/subnets"
)

// The benchmarks' network: 10,000 peers over the analyzer's default 6 h
// window (1,800 slots of 12 s, 56 epochs of 32 slots).
const (
	Peers  = 10000
	Epochs = 56
	Window = 6 * time.Hour
	// Start is the first epoch generated.
	Start = 300000
)

// Params are mainnet's, with 1,000,000 active validators.
func Params() estimate.Params {
	return estimate.Params{
		Subnets:          subnets.ParamsMainnet(),
		ActiveValidators: 1_000_000,
		GenesisTime:      time.Unix(1606824023, 0).UTC(),
		SlotDuration:     12 * time.Second,
		LeadSlots:        1,
	}
}

// Peer is one beacon node.
type Peer struct {
	PeerID, NodeID string
	id             [32]byte
	validators     int
	all            bool   // on every subnet, announced in attnets
	phase          uint64 // slot of the epoch at which it is observed
	cur            uint64 // subnets subscribed now
	need           []uint64
	llPeriod       uint64
	llMask         uint64
	llKnown        bool
}

// Net generates the peers' history epoch by epoch.
type Net struct {
	p       estimate.Params
	rng     *rand.Rand
	peers   []*Peer
	perSlot uint64
	perEp   uint64
	modulo  float64
	next    uint64 // next epoch to generate
}

// validators is the mix of validator counts: most nodes run none, some a
// handful, a few hundreds.
func validators(rng *rand.Rand) int {
	switch x := rng.Float64(); {
	case x < 0.60:
		return 0
	case x < 0.75:
		return 1 + rng.Intn(4)
	case x < 0.87:
		return 5 + rng.Intn(16)
	case x < 0.96:
		return 21 + rng.Intn(80)
	default:
		return 101 + rng.Intn(300)
	}
}

// New makes n peers named by peerID (nil: "peer-00042"); 1% are on every
// subnet.
func New(seed int64, n int, peerID func(i int) string) *Net {
	if peerID == nil {
		peerID = func(i int) string { return fmt.Sprintf("peer-%05d", i) }
	}
	p := Params()
	sp := p.Subnets
	perSlot := subnets.CommitteesPerSlot(p.ActiveValidators, sp)
	perEp := perSlot * sp.SlotsPerEpoch
	w := &Net{p: p, rng: rand.New(rand.NewSource(seed)), perSlot: perSlot, perEp: perEp,
		modulo: float64(subnets.AggregatorModulo(p.ActiveValidators/perEp, sp)), next: Start}
	for i := 0; i < n; i++ {
		bp := &Peer{PeerID: peerID(i), validators: validators(w.rng), need: make([]uint64, 2*sp.SlotsPerEpoch)}
		w.rng.Read(bp.id[:])
		bp.NodeID = fmt.Sprintf("%x", bp.id)
		bp.all = w.rng.Intn(100) == 0
		bp.phase = uint64(w.rng.Intn(int(sp.SlotsPerEpoch)))
		w.peers = append(w.peers, bp)
		w.duties(bp, Start)
	}
	return w
}

// Params are the network's.
func (w *Net) Params() estimate.Params { return w.p }

// Peers are the peers, in the order of Epoch's slices.
func (w *Net) Peers() []*Peer { return w.peers }

// duties draws the aggregation duties of epoch e and marks the slots in
// which they need their subnet.
func (w *Net) duties(bp *Peer, e uint64) {
	spe := w.p.Subnets.SlotsPerEpoch
	for i := 0; i < bp.validators; i++ {
		c := uint64(w.rng.Int63n(int64(w.perEp)))
		if w.rng.Float64() >= 1/w.modulo {
			continue
		}
		slot := e*spe + c/w.perSlot
		s := subnets.SubnetForAttestation(w.perSlot, slot, c%w.perSlot, w.p.Subnets)
		for d := uint64(0); d <= w.p.LeadSlots; d++ {
			bp.need[(slot-d)%(2*spe)] |= 1 << s
		}
	}
}

func (w *Net) longLived(bp *Peer, epoch uint64) uint64 {
	// EPOCHS_PER_SUBNET_SUBSCRIPTION is 256 on mainnet, so the node-id
	// offset is the id's last byte: one shuffle per period.
	period := (epoch + uint64(bp.id[31])) / 256
	if !bp.llKnown || period != bp.llPeriod {
		bp.llMask = 0
		for _, s := range subnets.ComputeSubscribedSubnets(bp.id, epoch, w.p.Subnets) {
			bp.llMask |= 1 << s
		}
		bp.llPeriod, bp.llKnown = period, true
	}
	return bp.llMask
}

// Epoch generates the next epoch of every peer: one snapshot (at a
// peer-specific slot) and its subscription changes, indexed like Peers.
func (w *Net) Epoch() (snaps [][]estimate.Snapshot, changes [][]estimate.Change) {
	spe := w.p.Subnets.SlotsPerEpoch
	e := w.next
	w.next++
	snaps = make([][]estimate.Snapshot, len(w.peers))
	changes = make([][]estimate.Change, len(w.peers))
	for pi, bp := range w.peers {
		w.duties(bp, e+1)
		ll := w.longLived(bp, e)
		attn := ""
		if bp.all {
			attn = "0xffffffffffffffff"
		}
		for slot := e * spe; slot < (e+1)*spe; slot++ {
			at := w.p.GenesisTime.Add(time.Duration(slot) * w.p.SlotDuration)
			want := ll | bp.need[slot%(2*spe)]
			bp.need[slot%(2*spe)] = 0
			for d := want ^ bp.cur; d != 0; d &= d - 1 {
				s := 0
				for ; d&(1<<s) == 0; s++ {
				}
				changes[pi] = append(changes[pi], estimate.Change{Time: at.Add(10 * time.Millisecond), Subnet: s, Subscribed: want&(1<<s) != 0})
			}
			bp.cur = want
			if slot == e*spe+bp.phase {
				snaps[pi] = append(snaps[pi], estimate.Snapshot{Time: at.Add(3 * time.Second), Epoch: e, Attnets: attn, Subscribed: bits(want)})
			}
		}
	}
	return snaps, changes
}

// Now is the end of the last generated epoch.
func (w *Net) Now() time.Time {
	return w.p.GenesisTime.Add(time.Duration(w.next*w.p.Subnets.SlotsPerEpoch) * w.p.SlotDuration)
}

// Histories generates epochs more epochs as whole histories.
func (w *Net) Histories(epochs int) []estimate.History {
	hs := make([]estimate.History, len(w.peers))
	for i, bp := range w.peers {
		hs[i] = estimate.History{PeerID: bp.PeerID, NodeID: bp.NodeID}
	}
	for e := 0; e < epochs; e++ {
		snaps, changes := w.Epoch()
		for i := range hs {
			hs[i].Snapshots = append(hs[i].Snapshots, snaps[i]...)
			hs[i].Changes = append(hs[i].Changes, changes[i]...)
		}
	}
	return hs
}

func bits(x uint64) []int64 {
	var out []int64
	for s := 0; s < 64; s++ {
		if x&(1<<s) != 0 {
			out = append(out, int64(s))
		}
	}
	return out
}
