package estimate

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/ethereum/subnets"
)

// roughen makes a simulated history harder: shuffled input order, extra
// changes at the times of existing events (ties), changes before the first
// snapshot, subnets out of range, a snapshot declaring attnets, duplicate
// subnets in a snapshot.
func roughen(rng *rand.Rand, p Params, h History) History {
	out := History{PeerID: h.PeerID, NodeID: h.NodeID}
	out.Snapshots = append(out.Snapshots, h.Snapshots...)
	out.Changes = append(out.Changes, h.Changes...)
	if len(out.Snapshots) == 0 {
		return out
	}
	t0 := out.Snapshots[0].Time
	for i := 0; i < 6; i++ {
		var at time.Time
		switch rng.Intn(3) {
		case 0:
			at = out.Snapshots[rng.Intn(len(out.Snapshots))].Time
		case 1:
			at = t0.Add(-time.Duration(rng.Intn(3000)) * time.Millisecond)
		default:
			at = t0.Add(time.Duration(rng.Intn(30000)) * time.Millisecond)
		}
		subnet := rng.Intn(64)
		if rng.Intn(8) == 0 {
			subnet = []int{-1, 64, 70}[rng.Intn(3)]
		}
		out.Changes = append(out.Changes, Change{Time: at, Subnet: subnet, Subscribed: rng.Intn(2) == 0})
	}
	if rng.Intn(2) == 0 {
		i := rng.Intn(len(out.Snapshots))
		s := out.Snapshots[i]
		s.Attnets = []string{"0x0300000000000080", "0xffffffffffffffff", "0xzz", "0x01"}[rng.Intn(4)]
		s.Subscribed = append(append([]int64(nil), s.Subscribed...), 5, 5, 99)
		out.Snapshots[i] = s
	}
	rng.Shuffle(len(out.Snapshots), func(i, j int) { out.Snapshots[i], out.Snapshots[j] = out.Snapshots[j], out.Snapshots[i] })
	rng.Shuffle(len(out.Changes), func(i, j int) { out.Changes[i], out.Changes[j] = out.Changes[j], out.Changes[i] })
	return out
}

// TestNodeMatchesReference: the bitset counting, the per-slot-position k
// table and the per-period long-lived cache give exactly what the original
// map-per-slot estimator gave.
func TestNodeMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	for _, lead := range []uint64{0, 1, 3} {
		p := testParams()
		p.LeadSlots = lead
		for i, v := range []int{0, 1, 3, 10, 40, 150, 600, 0, 2, 20} {
			h := simulate(rng, p, v, 1+rng.Intn(4))
			if i%2 == 1 {
				h = roughen(rng, p, h)
			}
			if i == 7 {
				h.NodeID = "" // no node id: no long-lived subnets known
			}
			got, want := Node(h, p), refNode(h, p)
			if got != want {
				t.Fatalf("lead %d, %d validators: got %+v, reference %+v", lead, v, got, want)
			}
			if g, w := Heuristic(h, p), refHeuristic(h, p); g != w {
				t.Fatalf("heuristic %d, reference %d", g, w)
			}
		}
	}
	// All-subnets node and before-genesis observations.
	p := testParams()
	all := History{PeerID: "all"}
	for i := 0; i < 3; i++ {
		all.Snapshots = append(all.Snapshots, Snapshot{Time: p.GenesisTime.Add(time.Duration(1000+10*i) * time.Second), Epoch: uint64(125 + i), Attnets: "0xffffffffffffffff"})
	}
	early := History{PeerID: "early", Snapshots: []Snapshot{{Time: p.GenesisTime.Add(-time.Hour)}, {Time: p.GenesisTime.Add(time.Minute)}}}
	for _, h := range []History{all, early, {PeerID: "empty"}} {
		if got, want := Node(h, p), refNode(h, p); got != want {
			t.Fatalf("%s: got %+v, reference %+v", h.PeerID, got, want)
		}
	}
}

// TestLongLivedCache: one shuffle per subscription period gives the
// subnets compute_subscribed_subnets gives at every epoch.
func TestLongLivedCache(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	for _, sp := range []subnets.Params{subnets.ParamsMainnet(), subnets.ParamsMinimal(), func() subnets.Params {
		q := subnets.ParamsMainnet()
		q.EpochsPerSubnetSubscription = 7
		return q
	}()} {
		p := testParams()
		p.Subnets = sp
		m := p.model()
		for n := 0; n < 5; n++ {
			var id [32]byte
			rng.Read(id[:])
			c := newLLCache(fmt.Sprintf("%x", id), m)
			for e := uint64(1000); e < 1600; e += 1 + uint64(rng.Intn(9)) {
				var want uint64
				for _, s := range subnets.ComputeSubscribedSubnets(id, e, sp) {
					want |= 1 << s
				}
				if got := c.at(e, m); got != want {
					t.Fatalf("epoch %d: cached %x, computed %x", e, got, want)
				}
			}
		}
	}
}
