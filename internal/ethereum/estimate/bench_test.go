package estimate_test

import (
	"testing"

	"github.com/valtrack/valtrack/internal/ethereum/estimate"
	"github.com/valtrack/valtrack/internal/ethereum/estimate/workload"
)

// The benchmarks model a mainnet-sized network as one sentry sees it
// (package workload): 10,000 peers, one metadata snapshot per peer per
// epoch and every attestation-subnet change, over the analyzer's default
// 6 h window.

func benchN() int {
	if testing.Short() {
		return workload.Peers / 10
	}
	return workload.Peers
}

// BenchmarkFullPass is the analyzer pass as it was before the tracker: the
// from-scratch Network over every peer's whole window.
func BenchmarkFullPass(b *testing.B) {
	w := workload.New(1, benchN(), nil)
	hs := w.Histories(workload.Epochs)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if es := estimate.Network(hs, w.Params()); len(es) != len(hs) {
			b.Fatalf("%d estimates for %d peers", len(es), len(hs))
		}
	}
}

func feed(tk *estimate.Tracker, w *workload.Net, snaps [][]estimate.Snapshot, changes [][]estimate.Change) {
	for i, p := range w.Peers() {
		tk.Add(p.PeerID, p.NodeID, snaps[i], changes[i])
	}
}

// BenchmarkIncrementalPass is the steady state: the tracker holds 55
// epochs of every peer, each peer receives one new epoch (its snapshot and
// changes) and one pass runs. Generating the epoch is not timed.
func BenchmarkIncrementalPass(b *testing.B) {
	w := workload.New(1, benchN(), nil)
	tk := estimate.NewTracker(w.Params(), workload.Window)
	for e := 0; e < workload.Epochs-1; e++ {
		snaps, changes := w.Epoch()
		feed(tk, w, snaps, changes)
	}
	tk.Pass(w.Now())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		snaps, changes := w.Epoch()
		now := w.Now()
		b.StartTimer()
		feed(tk, w, snaps, changes)
		if changed, _ := tk.Pass(now); len(changed) == 0 {
			b.Fatal("a new epoch changed no estimate")
		}
	}
}

// BenchmarkColdPass is a tracker started on a full window: every peer's
// 56 epochs added, then one pass (for information: what a restart costs).
func BenchmarkColdPass(b *testing.B) {
	w := workload.New(1, benchN(), nil)
	hs := w.Histories(workload.Epochs)
	now := w.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tk := estimate.NewTracker(w.Params(), workload.Window)
		for _, h := range hs {
			tk.Add(h.PeerID, h.NodeID, h.Snapshots, h.Changes)
		}
		if changed, _ := tk.Pass(now); len(changed) != len(hs) {
			b.Fatalf("%d estimates for %d peers", len(changed), len(hs))
		}
	}
}
