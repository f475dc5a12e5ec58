package estimate

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/ethereum/subnets"
)

// The benchmarks model a mainnet-sized network as one sentry sees it:
// 10,000 peers, one metadata snapshot per peer per epoch and every
// attestation-subnet change, over the analyzer's default 6 h window
// (1,800 slots of 12 s, 56 epochs of 32 slots).
const (
	benchPeers  = 10000
	benchEpochs = 56
	benchWindow = 6 * time.Hour
	benchStart  = 300000 // first epoch observed
)

func benchParams() Params {
	return Params{
		Subnets:          subnets.ParamsMainnet(),
		ActiveValidators: 1_000_000,
		GenesisTime:      time.Unix(1606824023, 0),
		SlotDuration:     12 * time.Second,
		LeadSlots:        1,
	}
}

// benchPeer plays one beacon node epoch by epoch. It is a cheaper cousin
// of simulate (bitsets instead of maps, duties drawn one epoch ahead) so
// that 10,000 peers × 56 epochs can be generated in a few seconds.
type benchPeer struct {
	peerID, nodeID string
	id             [32]byte
	v              int
	all            bool // announces every subnet in attnets
	phase          uint64
	cur            uint64
	need           []uint64 // by slot % (2·slots per epoch)
	llPeriod       uint64
	llMask         uint64
	llKnown        bool
}

type benchNet struct {
	p       Params
	rng     *rand.Rand
	peers   []*benchPeer
	perSlot uint64
	perEp   uint64
	modulo  float64
	next    uint64 // next epoch to generate
}

// benchValidators is the mix of validator counts: most nodes run none,
// some a handful, a few run hundreds.
func benchValidators(rng *rand.Rand) int {
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

func newBenchNet(seed int64, n int) *benchNet {
	p := benchParams()
	perSlot, perEp, modulo := p.committees()
	bn := &benchNet{p: p, rng: rand.New(rand.NewSource(seed)), perSlot: perSlot, perEp: perEp, modulo: modulo, next: benchStart}
	spe := p.Subnets.SlotsPerEpoch
	for i := 0; i < n; i++ {
		bp := &benchPeer{peerID: fmt.Sprintf("peer-%05d", i), v: benchValidators(bn.rng), need: make([]uint64, 2*spe)}
		bn.rng.Read(bp.id[:])
		bp.nodeID = fmt.Sprintf("%x", bp.id)
		bp.all = bn.rng.Intn(100) == 0
		bp.phase = uint64(bn.rng.Intn(int(spe)))
		bn.peers = append(bn.peers, bp)
		bn.duties(bp, benchStart)
	}
	return bn
}

// duties draws the aggregation duties of epoch e and marks the slots in
// which they need their subnet (LeadSlots before the duty until its end).
func (bn *benchNet) duties(bp *benchPeer, e uint64) {
	spe := bn.p.Subnets.SlotsPerEpoch
	for i := 0; i < bp.v; i++ {
		c := uint64(bn.rng.Int63n(int64(bn.perEp)))
		if bn.rng.Float64() >= 1/bn.modulo {
			continue
		}
		slot := e*spe + c/bn.perSlot
		s := subnets.SubnetForAttestation(bn.perSlot, slot, c%bn.perSlot, bn.p.Subnets)
		for d := uint64(0); d <= bn.p.LeadSlots; d++ {
			bp.need[(slot-d)%(2*spe)] |= 1 << s
		}
	}
}

func (bn *benchNet) longLived(bp *benchPeer, epoch uint64) uint64 {
	// mainnet: EPOCHS_PER_SUBNET_SUBSCRIPTION is 256, so the node-id offset
	// is its last byte.
	period := (epoch + uint64(bp.id[31])) / 256
	if !bp.llKnown || period != bp.llPeriod {
		bp.llMask = 0
		for _, s := range subnets.ComputeSubscribedSubnets(bp.id, epoch, bn.p.Subnets) {
			bp.llMask |= 1 << s
		}
		bp.llPeriod, bp.llKnown = period, true
	}
	return bp.llMask
}

func bitsList(x uint64) []int64 {
	var out []int64
	for s := 0; s < 64; s++ {
		if x&(1<<s) != 0 {
			out = append(out, int64(s))
		}
	}
	return out
}

// epoch generates the next epoch of every peer: its snapshot (taken at a
// peer-specific slot of the epoch) and its subscription changes.
func (bn *benchNet) epoch() (snaps [][]Snapshot, changes [][]Change) {
	p := bn.p
	spe := p.Subnets.SlotsPerEpoch
	e := bn.next
	bn.next++
	snaps = make([][]Snapshot, len(bn.peers))
	changes = make([][]Change, len(bn.peers))
	for pi, bp := range bn.peers {
		bn.duties(bp, e+1)
		attn := ""
		if bp.all {
			attn = "0xffffffffffffffff"
		}
		for slot := e * spe; slot < (e+1)*spe; slot++ {
			at := p.GenesisTime.Add(time.Duration(slot) * p.SlotDuration)
			want := bn.longLived(bp, e) | bp.need[slot%(2*spe)]
			bp.need[slot%(2*spe)] = 0
			for d := want ^ bp.cur; d != 0; d &= d - 1 {
				s := 0
				for ; d&(1<<s) == 0; s++ {
				}
				changes[pi] = append(changes[pi], Change{Time: at.Add(10 * time.Millisecond), Subnet: s, Subscribed: want&(1<<s) != 0})
			}
			bp.cur = want
			if slot == e*spe+bp.phase {
				snaps[pi] = append(snaps[pi], Snapshot{Time: at.Add(3 * time.Second), Epoch: e, Attnets: attn, Subscribed: bitsList(want)})
			}
		}
	}
	return snaps, changes
}

// nowAfter is the time at the end of the last generated epoch.
func (bn *benchNet) now() time.Time {
	spe := bn.p.Subnets.SlotsPerEpoch
	return bn.p.GenesisTime.Add(time.Duration(bn.next*spe) * bn.p.SlotDuration)
}

func benchHistories(bn *benchNet, epochs int) []History {
	hs := make([]History, len(bn.peers))
	for i, bp := range bn.peers {
		hs[i] = History{PeerID: bp.peerID, NodeID: bp.nodeID}
	}
	for e := 0; e < epochs; e++ {
		snaps, changes := bn.epoch()
		for i := range hs {
			hs[i].Snapshots = append(hs[i].Snapshots, snaps[i]...)
			hs[i].Changes = append(hs[i].Changes, changes[i]...)
		}
	}
	return hs
}

func benchN(b *testing.B) int {
	if testing.Short() {
		return benchPeers / 10
	}
	return benchPeers
}

// BenchmarkFullPass is the analyzer pass as it was before the tracker: the
// from-scratch Network over every peer's whole window.
func BenchmarkFullPass(b *testing.B) {
	bn := newBenchNet(1, benchN(b))
	hs := benchHistories(bn, benchEpochs)
	p := bn.p
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		es := Network(hs, p)
		if len(es) != len(hs) {
			b.Fatalf("%d estimates for %d peers", len(es), len(hs))
		}
	}
}

func feed(tk *Tracker, bn *benchNet, snaps [][]Snapshot, changes [][]Change) {
	for i, bp := range bn.peers {
		tk.Add(bp.peerID, bp.nodeID, snaps[i], changes[i])
	}
}

// BenchmarkIncrementalPass is the steady state: the tracker holds 55
// epochs of every peer, each peer receives one new epoch (its snapshot and
// changes) and one pass runs. Generating the epoch is not timed.
func BenchmarkIncrementalPass(b *testing.B) {
	bn := newBenchNet(1, benchN(b))
	tk := NewTracker(bn.p, benchWindow)
	for e := 0; e < benchEpochs-1; e++ {
		snaps, changes := bn.epoch()
		feed(tk, bn, snaps, changes)
	}
	tk.Pass(bn.now())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		snaps, changes := bn.epoch()
		now := bn.now()
		b.StartTimer()
		feed(tk, bn, snaps, changes)
		changed, _ := tk.Pass(now)
		if len(changed) == 0 {
			b.Fatal("a new epoch changed no estimate")
		}
	}
}

// BenchmarkColdPass is a tracker started on a full window: every peer's
// 56 epochs added, then one pass (for information: what a restart costs).
func BenchmarkColdPass(b *testing.B) {
	bn := newBenchNet(1, benchN(b))
	hs := benchHistories(bn, benchEpochs)
	now := bn.now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tk := NewTracker(bn.p, benchWindow)
		for _, h := range hs {
			tk.Add(h.PeerID, h.NodeID, h.Snapshots, h.Changes)
		}
		if changed, _ := tk.Pass(now); len(changed) != len(hs) {
			b.Fatalf("%d estimates for %d peers", len(changed), len(hs))
		}
	}
}

// TestBenchNetMatches: the benchmark's workload gives the tracker and
// Network the same answers (on a small slice of it), so the two
// benchmarks measure the same computation.
func TestBenchNetMatches(t *testing.T) {
	bn := newBenchNet(2, 60)
	tk := NewTracker(bn.p, benchWindow)
	var hs []History
	for _, bp := range bn.peers {
		hs = append(hs, History{PeerID: bp.peerID, NodeID: bp.nodeID})
	}
	for e := 0; e < benchEpochs+4; e++ {
		snaps, changes := bn.epoch()
		feed(tk, bn, snaps, changes)
		for i := range hs {
			hs[i].Snapshots = append(hs[i].Snapshots, snaps[i]...)
			hs[i].Changes = append(hs[i].Changes, changes[i]...)
		}
	}
	now := bn.now()
	tk.Pass(now)
	since := now.Add(-benchWindow)
	for i := range hs {
		h := &hs[i]
		h.Snapshots = slices.DeleteFunc(h.Snapshots, func(s Snapshot) bool { return s.Time.Before(since) })
		h.Changes = slices.DeleteFunc(h.Changes, func(c Change) bool { return c.Time.Before(since) })
	}
	want := Network(hs, bn.p)
	sameEstimates(t, "bench network", tk.Estimates(), want)
	agg := 0
	for _, e := range want {
		if e.Method == MethodAggregation && e.Validators > 0 {
			agg++
		}
	}
	if agg < 10 {
		t.Fatalf("only %d of %d peers estimated with validators: the workload is not realistic", agg, len(want))
	}
}
