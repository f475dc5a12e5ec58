package analyzers

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/ethereum/estimate"
	"github.com/valtrack/valtrack/internal/ethereum/estimate/workload"
	"github.com/valtrack/valtrack/internal/ethereum/state"
	"github.com/valtrack/valtrack/internal/ethereum/state/statetest"
)

// The benchmark measures the estimate analyzer as it runs in production:
// rows read back from a real SQLite state, the tracker, and the estimates
// written back. The workload is the estimator benchmark's (package
// workload) as a sentry stores it: a mainnet-sized network, one metadata
// observation per peer per epoch and every attestation-subnet change, over
// the default 6 h window.
const (
	benchPeers   = workload.Peers
	benchEpochs  = workload.Epochs
	benchWindow  = workload.Window
	benchNetwork = "mainnet"
)

// benchNet is the workload with the message ids of the rows it stored.
type benchNet struct {
	*workload.Net
	p   estimate.Params
	seq int
}

func newBenchNet(seed int64, n int) *benchNet {
	w := workload.New(seed, n, statetest.PeerID)
	return &benchNet{Net: w, p: w.Params()}
}

func (bn *benchNet) now() time.Time { return bn.Now() }

// epoch generates the next epoch of every peer as the sentry stores it:
// its observation and its SUBSCRIBE/UNSUBSCRIBE changes.
func (bn *benchNet) epoch() state.Batch {
	snaps, changes := bn.Epoch()
	var b state.Batch
	b.Observations = make([]state.Observation, 0, len(snaps))
	for i, peer := range bn.Peers() {
		for _, sn := range snaps[i] {
			o := statetest.Obs(benchNetwork, i, 0)
			bn.seq++
			o.NodeID, o.Epoch, o.Seq = peer.NodeID, sn.Epoch, uint64(bn.seq)
			o.HeadSlot = uint64(sn.Time.Sub(bn.p.GenesisTime) / bn.p.SlotDuration)
			o.Attnets, o.SubscribedSubnets = sn.Attnets, sn.Subscribed
			if o.Attnets == "" {
				o.Attnets = "0x0000000000000000"
			}
			o.Time, o.MsgID = sn.Time, fmt.Sprintf("obs-%d", bn.seq)
			b.Observations = append(b.Observations, o)
		}
		for _, c := range changes[i] {
			bn.seq++
			b.Subscriptions = append(b.Subscriptions, state.SubscriptionChange{
				Network: benchNetwork, PeerID: peer.PeerID, Kind: "attestation", Subnet: c.Subnet, Subscribed: c.Subscribed,
				Epoch:    uint64(c.Time.Sub(bn.p.GenesisTime)/bn.p.SlotDuration) / bn.p.Subnets.SlotsPerEpoch,
				SentryID: "sentry-1", Time: c.Time, MsgID: fmt.Sprintf("sub-%d", bn.seq),
			})
		}
	}
	return b
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
