package estimate

import (
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/ethereum/network"
	"github.com/valtrack/valtrack/internal/ethereum/subnets"
)

func testParams() Params {
	sp := subnets.ParamsMainnet()
	sp.SlotsPerEpoch = 8
	return Params{
		Subnets:          sp,
		ActiveValidators: 10000,
		GenesisTime:      time.Unix(1_700_000_000, 0),
		SlotDuration:     time.Second,
		LeadSlots:        1,
	}
}

// simulate plays a node with v validators through epochs of duties the way
// the spec (and the devnet) does: one committee per validator per epoch,
// aggregator with probability 1/modulo, subscribed from one slot before the
// duty until its end. It returns the history a sentry would have recorded:
// a metadata snapshot per epoch and every subscription change.
func simulate(rng *rand.Rand, p Params, v int, epochs int) History {
	perSlot, perEpoch, modulo := p.committees()
	spe := p.Subnets.SlotsPerEpoch
	var id [32]byte
	rng.Read(id[:])
	h := History{PeerID: "peer", NodeID: fmt.Sprintf("%x", id)}
	startSlot := uint64(1000)
	// need[slot] = set of subnets required during that slot
	need := map[uint64]map[int]bool{}
	for e := 0; e < epochs+1; e++ {
		for i := 0; i < v; i++ {
			c := uint64(rng.Intn(int(perEpoch)))
			if rng.Float64() >= 1/modulo {
				continue
			}
			slot := startSlot + uint64(e)*spe + c/perSlot
			s := int(subnets.SubnetForAttestation(perSlot, slot, c%perSlot, p.Subnets))
			for d := uint64(0); d <= p.LeadSlots; d++ {
				if slot < d {
					continue
				}
				if need[slot-d] == nil {
					need[slot-d] = map[int]bool{}
				}
				need[slot-d][s] = true
			}
		}
	}
	cur := map[int]bool{}
	endSlot := startSlot + uint64(epochs)*spe
	for slot := startSlot; slot < endSlot; slot++ {
		at := p.GenesisTime.Add(time.Duration(slot) * p.SlotDuration).Add(10 * time.Millisecond)
		epoch := slot / spe
		ll := map[int]bool{}
		for _, s := range subnets.ComputeSubscribedSubnets(id, epoch, p.Subnets) {
			ll[int(s)] = true
		}
		want := map[int]bool{}
		for s := range ll {
			want[s] = true
		}
		for s := range need[slot] {
			want[s] = true
		}
		if slot == startSlot || slot%spe == 0 {
			o := Snapshot{Time: at.Add(-5 * time.Millisecond), Epoch: epoch}
			for s := range cur {
				o.Subscribed = append(o.Subscribed, int64(s))
			}
			if slot == startSlot {
				o.Subscribed = nil
				for s := range want {
					o.Subscribed = append(o.Subscribed, int64(s))
				}
				cur = want
			}
			sort.Slice(o.Subscribed, func(i, j int) bool { return o.Subscribed[i] < o.Subscribed[j] })
			h.Snapshots = append(h.Snapshots, o)
			if slot == startSlot {
				continue
			}
		}
		for s := range want {
			if !cur[s] {
				h.Changes = append(h.Changes, Change{Subnet: s, Subscribed: true, Time: at})
			}
		}
		for s := range cur {
			if !want[s] {
				h.Changes = append(h.Changes, Change{Subnet: s, Subscribed: false, Time: at})
			}
		}
		cur = want
	}
	// a last snapshot closes the observed window
	last := Snapshot{Time: p.GenesisTime.Add(time.Duration(endSlot) * p.SlotDuration), Epoch: endSlot / spe}
	for s := range cur {
		last.Subscribed = append(last.Subscribed, int64(s))
	}
	h.Snapshots = append(h.Snapshots, last)
	return h
}

func TestNodeZeroValidators(t *testing.T) {
	p := testParams()
	h := simulate(rand.New(rand.NewSource(1)), p, 0, 3)
	r := Node(h, p)
	if r.Method != MethodAggregation || r.Validators != 0 {
		t.Fatalf("node without validators: got %+v, want 0 by aggregation", r)
	}
	if r.High > 20 {
		t.Fatalf("upper bound %d too loose for 3 epochs without any subscription", r.High)
	}
}

// TestEstimateBeatsHeuristic runs many simulated nodes with a spread of
// validator counts through 3 epochs and compares the mean absolute error of
// the estimate with Valtrack's heuristic on the same observations.
func TestEstimateBeatsHeuristic(t *testing.T) {
	p := testParams()
	rng := rand.New(rand.NewSource(7))
	counts := []int{0, 1, 2, 4, 8, 16, 32, 64, 100, 200, 400}
	var errEst, errHeur float64
	var sumTrue, sumEst, sumHeur int
	n, inside := 0, 0
	for rep := 0; rep < 6; rep++ {
		for _, v := range counts {
			h := simulate(rng, p, v, 3)
			r := Node(h, p)
			if r.Low <= v && v <= r.High {
				inside++
			}
			errEst += math.Abs(float64(r.Validators - v))
			errHeur += math.Abs(float64(r.Heuristic - v))
			sumTrue += v
			sumEst += r.Validators
			sumHeur += r.Heuristic
			n++
		}
	}
	maeEst, maeHeur := errEst/float64(n), errHeur/float64(n)
	t.Logf("per-node MAE: estimate %.2f, heuristic %.2f; total true %d, estimate %d, heuristic %d", maeEst, maeHeur, sumTrue, sumEst, sumHeur)
	if float64(inside) < 0.8*float64(n) {
		t.Fatalf("only %d of %d true counts inside the estimate's interval", inside, n)
	}
	if maeEst >= maeHeur/2 {
		t.Fatalf("estimate MAE %.2f is not clearly below the heuristic's %.2f", maeEst, maeHeur)
	}
	if rel := math.Abs(float64(sumEst-sumTrue)) / float64(sumTrue); rel > 0.15 {
		t.Fatalf("network total off by %.0f%% (estimate %d, truth %d)", rel*100, sumEst, sumTrue)
	}
}

func TestAllSubnetsShareRemainder(t *testing.T) {
	p := testParams()
	p.ActiveValidators = 1000
	rng := rand.New(rand.NewSource(3))
	small := simulate(rng, p, 0, 2)
	small.PeerID = "small"
	all := History{PeerID: "big"}
	for i, tm := range []time.Time{p.GenesisTime.Add(1000 * time.Second), p.GenesisTime.Add(1020 * time.Second)} {
		all.Snapshots = append(all.Snapshots, Snapshot{Time: tm, Epoch: uint64(125 + i*2), Attnets: "0xffffffffffffffff"})
	}
	es := Network([]History{small, all}, p)
	if es[1].Method != MethodAllSubnets || es[1].Validators != 1000-es[0].Validators {
		t.Fatalf("all-subnets node should get the remainder: %+v (other %+v)", es[1], es[0])
	}
}

func TestNoObservations(t *testing.T) {
	r := Node(History{PeerID: "x"}, testParams())
	if r.Method != MethodNoData || r.Validators != 0 {
		t.Fatalf("got %+v", r)
	}
}

func TestParseBits(t *testing.T) {
	got := parseBits("0x0300000000000080", 64)
	if len(got) != 3 || !got[0] || !got[1] || !got[63] {
		t.Fatalf("parseBits: %v", got)
	}
	if len(parseBits("0xzz", 64)) != 0 {
		t.Fatal("bad hex must yield no bits")
	}
}

// TestParamsForDevnetMatchesItsLongLivedSubnets: the long-lived subnets the
// estimator excludes are the ones a devnet node really has (the minimal
// preset shuffles with 10 rounds, not mainnet's 90).
func TestParamsForDevnetMatchesItsLongLivedSubnets(t *testing.T) {
	dir := t.TempDir()
	cfg := "CONFIG_NAME: 'x'\nPRESET_BASE: 'minimal'\nSLOTS_PER_EPOCH: 8\nSECONDS_PER_SLOT: 1\nSHUFFLE_ROUND_COUNT: 10\nGENESIS_FORK_VERSION: 0x10000000\n"
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("config.yaml", cfg)
	write("bootstrap_nodes.txt", "")
	write("genesis.json", `{"genesis_time": 1700000000, "genesis_validators_root": "0x0000000000000000000000000000000000000000000000000000000000000000"}`)
	n, err := network.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := ParamsFor(n)
	if p.Subnets.ShuffleRoundCount != 10 {
		t.Fatalf("shuffle rounds %d, want 10 for the minimal preset", p.Subnets.ShuffleRoundCount)
	}
	want := subnets.ParamsMinimal()
	id := [32]byte{0xef, 0x0a, 0xaf, 0x06}
	got := subnets.ComputeSubscribedSubnets(id, 1, p.Subnets)
	exp := subnets.ComputeSubscribedSubnets(id, 1, want)
	if fmt.Sprint(got) != fmt.Sprint(exp) {
		t.Fatalf("long-lived subnets %v, the minimal preset gives %v", got, exp)
	}
}
