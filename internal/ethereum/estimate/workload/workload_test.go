package workload

import (
	"slices"
	"testing"

	"github.com/valtrack/valtrack/internal/ethereum/estimate"
)

// TestWorkloadIsRealisticAndConsistent: on a slice of the workload the
// tracker and Network agree exactly (so the benchmarks of both measure the
// same computation), and enough peers are estimated from their own
// aggregation duties for the workload to exercise the estimator.
func TestWorkloadIsRealisticAndConsistent(t *testing.T) {
	w := New(2, 60, nil)
	tk := estimate.NewTracker(w.Params(), Window)
	var hs []estimate.History
	for _, p := range w.Peers() {
		hs = append(hs, estimate.History{PeerID: p.PeerID, NodeID: p.NodeID})
	}
	for e := 0; e < Epochs+4; e++ {
		snaps, changes := w.Epoch()
		for i, p := range w.Peers() {
			tk.Add(p.PeerID, p.NodeID, snaps[i], changes[i])
			hs[i].Snapshots = append(hs[i].Snapshots, snaps[i]...)
			hs[i].Changes = append(hs[i].Changes, changes[i]...)
		}
	}
	now := w.Now()
	tk.Pass(now)
	since := now.Add(-Window)
	for i := range hs {
		h := &hs[i]
		h.Snapshots = slices.DeleteFunc(h.Snapshots, func(s estimate.Snapshot) bool { return s.Time.Before(since) })
		h.Changes = slices.DeleteFunc(h.Changes, func(c estimate.Change) bool { return c.Time.Before(since) })
	}
	want := estimate.Network(hs, w.Params())
	got := tk.Estimates()
	if len(got) != len(want) {
		t.Fatalf("tracker %d estimates, Network %d", len(got), len(want))
	}
	agg := 0
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%s: tracker %+v, Network %+v", want[i].PeerID, got[i], want[i])
		}
		if want[i].Method == estimate.MethodAggregation && want[i].Validators > 0 {
			agg++
		}
	}
	if agg < 10 {
		t.Fatalf("only %d of %d peers estimated with validators: the workload is not realistic", agg, len(want))
	}
}
