package analyzers

import (
	"context"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/ethereum/estimate"
	"github.com/valtrack/valtrack/internal/ethereum/state"
	"github.com/valtrack/valtrack/internal/ethereum/state/statetest"
	"github.com/valtrack/valtrack/internal/ethereum/subnets"
	"github.com/valtrack/valtrack/internal/geo"
)

func testConfig(t *testing.T, st state.Store, now *time.Time) Config {
	t.Helper()
	g, err := geo.Open(geo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := estimate.Params{Subnets: subnets.ParamsMainnet(), ActiveValidators: 1000, GenesisTime: statetest.At(0).Add(-time.Hour), SlotDuration: 12 * time.Second, LeadSlots: 1}
	return Config{State: st, Geo: g, Networks: map[string]estimate.Params{"net": p}, Window: 24 * time.Hour,
		Now: func() time.Time { return *now }}
}

func runAll(t *testing.T, cfg Config) {
	t.Helper()
	as, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if err := a.Run(context.Background()); err != nil {
			t.Fatalf("%s: %v", a.Name, err)
		}
	}
}

// One pass classifies every new peer IP and writes an estimate for every
// handshaken peer of a configured network.
func TestOnePassLocatesAndEstimates(t *testing.T) {
	ctx := context.Background()
	st := statetest.SQLite(t)
	var b state.Batch
	for i := 0; i < 5; i++ {
		b.Observations = append(b.Observations, statetest.Obs("net", i, 0), statetest.Obs("net", i, 120))
	}
	if err := st.Apply(ctx, b); err != nil {
		t.Fatal(err)
	}
	now := statetest.At(200)
	runAll(t, testConfig(t, st, &now))
	if ips, err := st.IPsWithoutInfo(ctx, "net", 10); err != nil || len(ips) != 0 {
		t.Fatalf("IPs left without info: %v %v", ips, err)
	}
	page, err := st.ListPeers(ctx, state.PeerFilter{Network: "net", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Peers) != 5 {
		t.Fatalf("%d peers", len(page.Peers))
	}
	for _, pp := range page.Peers {
		if pp.Geo.Class != geo.ClassLoopback {
			t.Errorf("peer %s at %s classed %q, want loopback", pp.PeerID, pp.IP, pp.Geo.Class)
		}
		if pp.Estimate == nil || pp.Estimate.Method == "" {
			t.Errorf("peer %s has no estimate", pp.PeerID)
		}
	}
}

// The estimator's runs read only new history, and what they write equals
// the from-scratch estimate of the whole window.
func TestEstimatorIsIncrementalAndAgreesWithFromScratch(t *testing.T) {
	ctx := context.Background()
	st := statetest.SQLite(t)
	now := statetest.At(0)
	cfg := testConfig(t, st, &now)
	e := NewEstimator(cfg, "net")
	for step := 0; step < 6; step++ {
		var b state.Batch
		for i := 0; i < 4; i++ {
			sec := step*400 + i*7
			o := statetest.Obs("net", i, sec)
			o.SubscribedSubnets = []int64{int64(10 + (step*i)%20), int64(30 + step)}
			b.Observations = append(b.Observations, o)
			b.Subscriptions = append(b.Subscriptions, statetest.Sub("net", i, 40+step, true, sec+100), statetest.Sub("net", i, 40+step, false, sec+200))
		}
		if err := st.Apply(ctx, b); err != nil {
			t.Fatal(err)
		}
		now = statetest.At(step*400 + 300)
		if err := e.Run(ctx); err != nil {
			t.Fatal(err)
		}
		// What the state holds now is what a from-scratch pass over the
		// window computes.
		hs, err := st.Histories(ctx, "net", now.Add(-cfg.Window))
		if err != nil {
			t.Fatal(err)
		}
		var in []estimate.History
		for _, h := range hs {
			eh := estimate.History{PeerID: h.PeerID, NodeID: h.NodeID}
			for _, o := range h.Observations {
				eh.Snapshots = append(eh.Snapshots, estimate.Snapshot{Time: o.Time, Epoch: o.Epoch, Attnets: o.Attnets, Subscribed: o.SubscribedSubnets})
			}
			for _, c := range h.Subscriptions {
				eh.Changes = append(eh.Changes, estimate.Change{Time: c.Time, Subnet: c.Subnet, Subscribed: c.Subscribed})
			}
			in = append(in, eh)
		}
		want := map[string]estimate.Estimate{}
		for _, r := range estimate.Network(in, cfg.Networks["net"]) {
			want[r.PeerID] = r
		}
		page, err := st.ListPeers(ctx, state.PeerFilter{Network: "net", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Peers {
			w := want[p.PeerID]
			if p.Estimate == nil || p.Estimate.Validators != w.Validators || p.Estimate.Low != w.Low || p.Estimate.High != w.High ||
				p.Estimate.Method != w.Method || p.Estimate.Heuristic != w.Heuristic || p.Estimate.Epochs != w.Epochs {
				t.Fatalf("step %d, peer %s: stored %+v, from scratch %+v", step, p.PeerID, p.Estimate, w.Result)
			}
		}
	}
	// The cursor moved: a read from the latest mark returns nothing new.
	last := e.marks[len(e.marks)-1].cursor
	page, err := st.HistoryAfter(ctx, "net", time.Time{}, last, 0)
	if err != nil || len(page.Observations)+len(page.Subscriptions) != 0 {
		t.Fatalf("history after the estimator's cursor: %d rows, %v", len(page.Observations)+len(page.Subscriptions), err)
	}
}

// A failing network's estimator does not affect another's: each network is
// its own analyzer.
func TestEachNetworkIsItsOwnAnalyzer(t *testing.T) {
	st := statetest.SQLite(t)
	now := statetest.At(0)
	cfg := testConfig(t, st, &now)
	cfg.Networks["other"] = cfg.Networks["net"]
	as, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range as {
		names = append(names, a.Name)
	}
	want := []string{"ethereum/estimate/net", "ethereum/estimate/other", "ethereum/locate", "ethereum/prune"}
	if len(names) != len(want) {
		t.Fatalf("analyzers %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("analyzers %v, want %v", names, want)
		}
	}
}
