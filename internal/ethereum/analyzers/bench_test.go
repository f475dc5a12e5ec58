package analyzers

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/ethereum/estimate"
	"github.com/valtrack/valtrack/internal/ethereum/state"
	"github.com/valtrack/valtrack/internal/ethereum/state/statetest"
	"github.com/valtrack/valtrack/internal/ethereum/subnets"
)

// The benchmark measures the estimate analyzer as it runs in production:
// rows read back from a real SQLite state, the tracker, and the estimates
// written back. The workload is the estimator benchmark's
// (internal/ethereum/estimate/bench_test.go) as a sentry stores it: a
// mainnet-sized network, one metadata observation per peer per epoch and
// every attestation-subnet change, over the default 6 h window.
const (
	benchPeers   = 10000
	benchEpochs  = 56
	benchWindow  = 6 * time.Hour
	benchStart   = 300000 // first epoch observed
	benchNetwork = "mainnet"
)

func benchParams() estimate.Params {
	return estimate.Params{
		Subnets:          subnets.ParamsMainnet(),
		ActiveValidators: 1_000_000,
		GenesisTime:      time.Unix(1606824023, 0).UTC(),
		SlotDuration:     12 * time.Second,
		LeadSlots:        1,
	}
}

// benchPeer plays one beacon node epoch by epoch: long-lived subnets from
// its node id, aggregation duties drawn as the spec does (a subnet joined
// one slot before the duty and left after it).
type benchPeer struct {
	peerID, nodeID string
	id             [32]byte
	v              int    // validators
	all            bool   // on every subnet, announced in attnets
	phase          uint64 // slot of the epoch at which it is observed
	cur            uint64 // subnets subscribed now
	need           []uint64
	llPeriod       uint64
	llMask         uint64
	llKnown        bool
}

type benchNet struct {
	p       estimate.Params
	rng     *rand.Rand
	peers   []*benchPeer
	perSlot uint64
	perEp   uint64
	modulo  float64
	next    uint64 // next epoch to generate
	seq     int    // message ids
}

// benchValidators is the estimator benchmark's mix: most nodes run no
// validators, some a handful, a few hundreds.
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
	sp := p.Subnets
	perSlot := subnets.CommitteesPerSlot(p.ActiveValidators, sp)
	perEp := perSlot * sp.SlotsPerEpoch
	bn := &benchNet{p: p, rng: rand.New(rand.NewSource(seed)), perSlot: perSlot, perEp: perEp,
		modulo: float64(subnets.AggregatorModulo(p.ActiveValidators/perEp, sp)), next: benchStart}
	for i := 0; i < n; i++ {
		bp := &benchPeer{peerID: statetest.PeerID(i), v: benchValidators(bn.rng), need: make([]uint64, 2*sp.SlotsPerEpoch)}
		bn.rng.Read(bp.id[:])
		bp.nodeID = hex.EncodeToString(bp.id[:])
		bp.all = bn.rng.Intn(100) == 0
		bp.phase = uint64(bn.rng.Intn(int(sp.SlotsPerEpoch)))
		bn.peers = append(bn.peers, bp)
		bn.duties(bp, benchStart)
	}
	return bn
}

// duties draws the aggregation duties of epoch e and marks the slots in
// which they need their subnet.
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
	// EPOCHS_PER_SUBNET_SUBSCRIPTION is 256 on mainnet, so the node-id
	// offset is the id's last byte; one shuffle per period.
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

// attnets is a bitvector[64] as MetaData carries it: byte i holds subnets
// 8i to 8i+7, lowest bit first.
func attnets(mask uint64) string {
	var b [8]byte
	for i := range b {
		b[i] = byte(mask >> (8 * i))
	}
	return "0x" + hex.EncodeToString(b[:])
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

// epoch generates the next epoch of every peer as the sentry stores it:
// one observation (at a peer-specific slot) and its SUBSCRIBE/UNSUBSCRIBE
// changes.
func (bn *benchNet) epoch() state.Batch {
	p := bn.p
	spe := p.Subnets.SlotsPerEpoch
	e := bn.next
	bn.next++
	var b state.Batch
	b.Observations = make([]state.Observation, 0, len(bn.peers))
	for i, bp := range bn.peers {
		bn.duties(bp, e+1)
		ll := bn.longLived(bp, e)
		announced := ll
		if bp.all {
			announced = ^uint64(0)
		}
		for slot := e * spe; slot < (e+1)*spe; slot++ {
			at := p.GenesisTime.Add(time.Duration(slot) * p.SlotDuration)
			want := ll | bp.need[slot%(2*spe)]
			if bp.all {
				want = ^uint64(0)
			}
			bp.need[slot%(2*spe)] = 0
			for d := want ^ bp.cur; d != 0; d &= d - 1 {
				s := 0
				for ; d&(1<<s) == 0; s++ {
				}
				bn.seq++
				b.Subscriptions = append(b.Subscriptions, state.SubscriptionChange{
					Network: benchNetwork, PeerID: bp.peerID, Kind: "attestation", Subnet: s, Subscribed: want&(1<<s) != 0,
					Epoch: e, SentryID: "sentry-1", Time: at.Add(10 * time.Millisecond), MsgID: fmt.Sprintf("sub-%d", bn.seq),
				})
			}
			bp.cur = want
			if slot == e*spe+bp.phase {
				o := statetest.Obs(benchNetwork, i, 0)
				bn.seq++
				o.NodeID, o.Epoch, o.HeadSlot, o.Seq = bp.nodeID, e, slot, uint64(bn.seq)
				o.Attnets, o.SubscribedSubnets = attnets(announced), bitsList(want)
				o.Time, o.MsgID = at.Add(3*time.Second), fmt.Sprintf("obs-%d", bn.seq)
				b.Observations = append(b.Observations, o)
			}
		}
	}
	return b
}

// now is the end of the last generated epoch.
func (bn *benchNet) now() time.Time {
	return bn.p.GenesisTime.Add(time.Duration(bn.next*bn.p.Subnets.SlotsPerEpoch) * bn.p.SlotDuration)
}

// apply stores a batch in pieces of 20,000 rows: large enough that the
// load is not dominated by commits, small enough to keep transactions
// like the consumer's.
func apply(tb testing.TB, st state.Store, b state.Batch) {
	tb.Helper()
	const piece = 20000
	ctx := context.Background()
	for len(b.Observations) > 0 || len(b.Subscriptions) > 0 {
		var part state.Batch
		n := min(piece, len(b.Observations))
		part.Observations, b.Observations = b.Observations[:n], b.Observations[n:]
		n = min(piece, len(b.Subscriptions))
		part.Subscriptions, b.Subscriptions = b.Subscriptions[:n], b.Subscriptions[n:]
		if err := st.Apply(ctx, part); err != nil {
			tb.Fatalf("apply: %v", err)
		}
	}
}

// countingStore counts the rows the estimator reads and the estimates it
// writes, and the time both take, so that each pass reports how much work
// it had and how much of its time is the store's.
type countingStore struct {
	state.Store
	read, written int
	readT, writeT time.Duration
}

func (c *countingStore) reset() { c.read, c.written, c.readT, c.writeT = 0, 0, 0, 0 }

func (c *countingStore) HistoryAfter(ctx context.Context, network string, since time.Time, after state.Cursor, limit int) (state.HistoryPage, error) {
	t := time.Now()
	page, err := c.Store.HistoryAfter(ctx, network, since, after, limit)
	c.readT += time.Since(t)
	c.read += len(page.Observations) + len(page.Subscriptions)
	return page, err
}

func (c *countingStore) PutEstimates(ctx context.Context, es []state.Estimate) error {
	t := time.Now()
	err := c.Store.PutEstimates(ctx, es)
	c.writeT += time.Since(t)
	c.written += len(es)
	return err
}

// report adds the counts per op of n passes.
func (c *countingStore) report(b *testing.B, n int) {
	b.ReportMetric(float64(c.read)/float64(n), "rows-read/op")
	b.ReportMetric(float64(c.written)/float64(n), "estimates/op")
	b.ReportMetric(float64(c.readT.Milliseconds())/float64(n), "read-ms/op")
	b.ReportMetric(float64(c.writeT.Milliseconds())/float64(n), "write-ms/op")
}

// fullPass is the analyzer before the incremental estimator (commit
// c7e65fc~1, internal/analyze.Estimate): every peer's whole window read
// back, estimated from scratch and written.
func fullPass(ctx context.Context, st state.Store, p estimate.Params, now time.Time) (int, error) {
	hs, err := st.Histories(ctx, benchNetwork, now.Add(-benchWindow))
	if err != nil {
		return 0, err
	}
	in := make([]estimate.History, 0, len(hs))
	for _, h := range hs {
		eh := estimate.History{PeerID: h.PeerID, NodeID: h.NodeID, Snapshots: make([]estimate.Snapshot, 0, len(h.Observations))}
		for _, o := range h.Observations {
			eh.Snapshots = append(eh.Snapshots, estimate.Snapshot{Time: o.Time, Epoch: o.Epoch, Attnets: o.Attnets, Subscribed: o.SubscribedSubnets})
		}
		for _, c := range h.Subscriptions {
			if c.Kind == "attestation" {
				eh.Changes = append(eh.Changes, estimate.Change{Time: c.Time, Subnet: c.Subnet, Subscribed: c.Subscribed})
			}
		}
		in = append(in, eh)
	}
	res := estimate.Network(in, p)
	es := make([]state.Estimate, 0, len(res))
	for _, r := range res {
		es = append(es, state.Estimate{Network: benchNetwork, PeerID: r.PeerID, Validators: r.Validators, Low: r.Low, High: r.High,
			Confidence: r.Confidence, Method: r.Method, Heuristic: r.Heuristic, Epochs: r.Epochs, UpdatedAt: now})
	}
	return len(es), st.PutEstimates(ctx, es)
}

// BenchmarkEstimatorPass is one run of the estimate analyzer on a SQLite
// state holding 10,000 peers × 56 epochs (-short: 1,000 peers):
//
//   - incremental: the steady state. The estimator has read the window
//     once; each iteration stores one new epoch of every peer (not timed),
//     moves the clock on by an epoch and times one Run.
//   - cold: a new estimator's first Run on the whole window (a restart).
//   - full: the pass before the incremental estimator, on the same state:
//     Histories of the window, estimate.Network over all, PutEstimates of
//     all. Slow; run it with -benchtime=1x.
//
// Loading the state (about 1.2 M rows) is done once, outside the timers.
func BenchmarkEstimatorPass(b *testing.B) {
	n := benchPeers
	if testing.Short() {
		n = benchPeers / 10
	}
	st := statetest.SQLite(b)
	bn := newBenchNet(1, n)
	start := time.Now()
	rows := 0
	for e := 0; e < benchEpochs; e++ {
		batch := bn.epoch()
		rows += len(batch.Observations) + len(batch.Subscriptions)
		apply(b, st, batch)
	}
	b.Logf("loaded %d peers × %d epochs: %d rows in %s", n, benchEpochs, rows, time.Since(start).Round(time.Millisecond))
	ctx := context.Background()
	p := bn.p

	// One clock for every estimator: the incremental runs move it on.
	clock := bn.now()
	newEstimator := func(cs *countingStore) *Estimator {
		return NewEstimator(Config{State: cs, Networks: map[string]estimate.Params{benchNetwork: p}, Window: benchWindow,
			Now: func() time.Time { return clock }}, benchNetwork)
	}
	// The warm estimator lives across the runs of the incremental
	// sub-benchmark (the testing package calls it again with a larger
	// b.N), so that its cold start is paid once, not per round.
	warmStore := &countingStore{Store: st}
	var warm *Estimator

	b.Run("cold", func(b *testing.B) {
		cs := &countingStore{Store: st}
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			e := newEstimator(cs)
			if err := e.Run(ctx); err != nil {
				b.Fatal(err)
			}
			n++
			if warm == nil {
				warm, warmStore = e, cs
			}
		}
		cs.report(b, n)
	})

	b.Run("incremental", func(b *testing.B) {
		if warm == nil {
			warm = newEstimator(warmStore)
			if err := warm.Run(ctx); err != nil {
				b.Fatal(err)
			}
		}
		warmStore.reset()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			apply(b, st, bn.epoch())
			clock = bn.now()
			b.StartTimer()
			if err := warm.Run(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		if warmStore.written == 0 {
			b.Fatal("a new epoch changed no estimate")
		}
		warmStore.report(b, b.N)
	})

	b.Run("full", func(b *testing.B) {
		written := 0
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if written, err = fullPass(ctx, st, p, clock); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(written), "estimates/op")
	})
}
