package statetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/ethereum/state"
)

// Run runs the whole suite; open must return a fresh, migrated, empty store
// per call (and close it at cleanup).
func Run(t *testing.T, open func(t *testing.T) state.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, state.Store)
	}{
		{"ApplyIdempotent", testApplyIdempotent},
		{"ObservationRoundTrip", testObservationRoundTrip},
		{"OutOfOrderKeepsNewest", testOutOfOrder},
		{"DiscoveryOnlyPeers", testDiscoveryOnly},
		{"SkipsUnkeyableRows", testSkipsUnkeyable},
		{"Filters", testFilters},
		{"Pagination", testPagination},
		{"FilterErrors", testFilterErrors},
		{"GetPeer", testGetPeer},
		{"Stats", testStats},
		{"Histories", testHistories},
		{"HistoryAfter", testHistoryAfter},
		{"ValidatorNodes", testValidatorNodes},
		{"EstimatesAndIPInfo", testEstimatesAndIPInfo},
		{"Networks", testNetworks},
		{"Prune", testPrune},
		{"ConcurrentApply", testConcurrentApply},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustApply(t *testing.T, s state.Store, b state.Batch) {
	t.Helper()
	if err := s.Apply(ctxT(t), b); err != nil {
		t.Fatalf("apply: %v", err)
	}
}

func mustPeer(t *testing.T, s state.Store, network string, i int) *state.PeerDetail {
	t.Helper()
	p, err := s.GetPeer(ctxT(t), network, PeerID(i), 0)
	if err != nil {
		t.Fatalf("get peer %d: %v", i, err)
	}
	return p
}

func listAll(t *testing.T, s state.Store, f state.PeerFilter) []state.Peer {
	t.Helper()
	var out []state.Peer
	for range 10000 {
		page, err := s.ListPeers(ctxT(t), f)
		if err != nil {
			t.Fatalf("list peers %+v: %v", f, err)
		}
		out = append(out, page.Peers...)
		if page.NextCursor == "" {
			return out
		}
		f.Cursor = page.NextCursor
	}
	t.Fatalf("pagination did not end")
	return nil
}

func ids(ps []state.Peer) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.PeerID
	}
	return out
}

func wantIDs(t *testing.T, what string, got []state.Peer, want ...int) {
	t.Helper()
	w := make([]string, len(want))
	for i, n := range want {
		w[i] = PeerID(n)
	}
	if g := ids(got); !reflect.DeepEqual(g, w) && !(len(g) == 0 && len(w) == 0) {
		t.Errorf("%s: got peers %v, want %v", what, g, w)
	}
}

func sampleBatch(network string) state.Batch {
	return state.Batch{
		Discoveries:   []state.Discovery{Disc(network, 1, 5, 0), Disc(network, 2, 1, 0)},
		Observations:  []state.Observation{Obs(network, 1, 10), Obs(network, 1, 20), Obs(network, 3, 15)},
		Subscriptions: []state.SubscriptionChange{Sub(network, 1, 7, true, 12), Sub(network, 1, 7, false, 18)},
	}
}

func batchIDs(b state.Batch) []string {
	var out []string
	for _, d := range b.Discoveries {
		out = append(out, d.MsgID)
	}
	for _, o := range b.Observations {
		out = append(out, o.MsgID)
	}
	for _, c := range b.Subscriptions {
		out = append(out, c.MsgID)
	}
	return out
}

func testApplyIdempotent(t *testing.T, s state.Store) {
	ctx := ctxT(t)
	b := sampleBatch("devnet")
	applied, err := s.Applied(ctx, batchIDs(b))
	if err != nil {
		t.Fatalf("applied: %v", err)
	}
	if len(applied) != 0 {
		t.Errorf("applied before apply: %v", applied)
	}
	mustApply(t, s, b)
	snapshot := func() (any, any, any) {
		peers := listAll(t, s, state.PeerFilter{Network: "devnet"})
		p1 := mustPeer(t, s, "devnet", 1)
		st, err := s.Stats(ctx, "devnet", time.Time{})
		if err != nil {
			t.Fatalf("stats: %v", err)
		}
		return peers, p1, st
	}
	peers1, p1a, st1 := snapshot()
	mustApply(t, s, b)
	peers2, p1b, st2 := snapshot()
	if !reflect.DeepEqual(peers1, peers2) || !reflect.DeepEqual(p1a, p1b) || !reflect.DeepEqual(st1, st2) {
		t.Errorf("applying the same batch twice changed the state:\n%+v\n%+v", p1a, p1b)
	}
	if n := len(peers1.([]state.Peer)); n != 3 {
		t.Errorf("peers: got %d, want 3", n)
	}
	if n := len(p1b.(*state.PeerDetail).History); n != 2 {
		t.Errorf("peer 1 history: got %d observations, want 2", n)
	}
	if n := len(p1b.(*state.PeerDetail).Subscriptions); n != 2 {
		t.Errorf("peer 1 subscriptions: got %d, want 2", n)
	}
	applied, err = s.Applied(ctx, append(batchIDs(b), "never-seen"))
	if err != nil {
		t.Fatalf("applied: %v", err)
	}
	for _, id := range batchIDs(b) {
		if !applied[id] {
			t.Errorf("Applied does not report %s", id)
		}
	}
	if applied["never-seen"] {
		t.Error("Applied reports an id never written")
	}
}

func testObservationRoundTrip(t *testing.T, s state.Store) {
	o := Obs("devnet", 1, 30)
	o.Seq = ^uint64(0) // above 2^63: must survive the signed columns
	o.HeadSlot = 1 << 63
	o.ENR = "enr:-xyz"
	o.SubscribedSyncnets = []int64{2}
	mustApply(t, s, state.Batch{Observations: []state.Observation{o}})
	p := mustPeer(t, s, "devnet", 1)
	if len(p.History) != 1 {
		t.Fatalf("history: got %d, want 1", len(p.History))
	}
	if !reflect.DeepEqual(p.History[0], o) {
		t.Errorf("observation round trip:\n got %+v\nwant %+v", p.History[0], o)
	}
	if p.Seq != o.Seq || p.HeadSlot != o.HeadSlot || p.CGC == nil || *p.CGC != 4 || p.ENR != o.ENR ||
		!reflect.DeepEqual(p.SubscribedSubnets, []int64{10}) || !reflect.DeepEqual(p.SubscribedSyncnets, []int64{2}) ||
		p.ClientName != "lighthouse" || p.Multiaddr != o.Multiaddr || p.LastEpoch != o.Epoch || !p.Handshaken || !p.SameNetwork {
		t.Errorf("peer state does not reflect the observation: %+v", p.Peer)
	}
}

func testOutOfOrder(t *testing.T, s state.Store) {
	newer := Obs("devnet", 1, 200)
	newer.ClientName, newer.HeadSlot = "prysm", 999
	older := Obs("devnet", 1, 100)
	older.ClientName, older.HeadSlot = "teku", 1
	mustApply(t, s, state.Batch{Observations: []state.Observation{newer}})
	mustApply(t, s, state.Batch{Observations: []state.Observation{older}})
	p := mustPeer(t, s, "devnet", 1)
	if p.ClientName != "prysm" || p.HeadSlot != 999 {
		t.Errorf("late older observation moved the peer back: client %q head %d", p.ClientName, p.HeadSlot)
	}
	if !p.FirstSeen.Equal(At(100)) || !p.LastSeen.Equal(At(200)) {
		t.Errorf("first/last seen: got %v/%v, want %v/%v", p.FirstSeen, p.LastSeen, At(100), At(200))
	}
	// Within one batch the newest wins too, whatever the order.
	a, b := Obs("devnet", 2, 50), Obs("devnet", 2, 40)
	a.ClientName, b.ClientName = "nimbus", "lodestar"
	mustApply(t, s, state.Batch{Observations: []state.Observation{a, b}})
	if p := mustPeer(t, s, "devnet", 2); p.ClientName != "nimbus" || !p.FirstSeen.Equal(At(40)) || !p.LastSeen.Equal(At(50)) {
		t.Errorf("batch with two observations: client %q first %v last %v", p.ClientName, p.FirstSeen, p.LastSeen)
	}
}

func testDiscoveryOnly(t *testing.T, s state.Store) {
	ctx := ctxT(t)
	d := Disc("devnet", 1, 5, 10)
	mustApply(t, s, state.Batch{Discoveries: []state.Discovery{d}})
	p := mustPeer(t, s, "devnet", 1)
	if p.Handshaken || p.NodeID != d.NodeID || p.ENR != d.ENR || p.IP != d.IP || p.Port != d.Port ||
		p.Attnets != d.Attnets || !p.SameNetwork || !p.FirstSeen.Equal(d.Time) {
		t.Errorf("discovery-only peer: %+v", p.Peer)
	}
	// An older ENR does not replace a newer one; a newer one does.
	old := Disc("devnet", 1, 3, 20)
	mustApply(t, s, state.Batch{Discoveries: []state.Discovery{old}})
	if p := mustPeer(t, s, "devnet", 1); p.ENR != d.ENR || !p.LastSeen.Equal(At(20)) {
		t.Errorf("older ENR: got enr %q last seen %v", p.ENR, p.LastSeen)
	}
	nw := Disc("devnet", 1, 6, 30)
	nw.IP = "127.2.0.1"
	mustApply(t, s, state.Batch{Discoveries: []state.Discovery{nw}})
	if p := mustPeer(t, s, "devnet", 1); p.ENR != nw.ENR || p.IP != nw.IP {
		t.Errorf("newer ENR: got enr %q ip %q", p.ENR, p.IP)
	}
	// Subnet 63 from the ENR attnets is found by the subnet filter.
	sub := 63
	if got := listAll(t, s, state.PeerFilter{Network: "devnet", Subnet: &sub}); len(got) != 1 {
		t.Errorf("subnet filter on ENR attnets: got %d peers, want 1", len(got))
	}
	if got := listAll(t, s, state.PeerFilter{Network: "devnet", OnlyHandshaken: true}); len(got) != 0 {
		t.Errorf("handshaken filter: got %d, want 0", len(got))
	}
	// A handshake makes it handshaken with the connection's address, and a
	// later discovery no longer moves the address.
	o := Obs("devnet", 1, 40)
	mustApply(t, s, state.Batch{Observations: []state.Observation{o}})
	later := Disc("devnet", 1, 7, 50)
	mustApply(t, s, state.Batch{Discoveries: []state.Discovery{later}})
	p = mustPeer(t, s, "devnet", 1)
	if !p.Handshaken || p.IP != o.IP || p.Attnets != o.Attnets || p.ENR != later.ENR || !p.LastSeen.Equal(At(50)) || !p.FirstSeen.Equal(At(10)) {
		t.Errorf("after handshake and later discovery: %+v", p.Peer)
	}
	st, err := s.Stats(ctx, "devnet", time.Time{})
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	if st.Nodes != 1 {
		t.Errorf("stats nodes: got %d, want 1", st.Nodes)
	}
}

func testSkipsUnkeyable(t *testing.T, s state.Store) {
	bad := Obs("devnet", 1, 10)
	bad.MsgID = ""
	noPeer := Disc("devnet", 2, 1, 10)
	noPeer.PeerID = ""
	noTime := Sub("devnet", 3, 1, true, 10)
	noTime.Time = time.Time{}
	good := Obs("devnet", 4, 10)
	mustApply(t, s, state.Batch{Observations: []state.Observation{bad, good}, Discoveries: []state.Discovery{noPeer},
		Subscriptions: []state.SubscriptionChange{noTime}})
	wantIDs(t, "after unkeyable rows", listAll(t, s, state.PeerFilter{Network: "devnet"}), 4)
	if err := s.Apply(ctxT(t), state.Batch{}); err != nil {
		t.Errorf("empty batch: %v", err)
	}
}

func testGetPeer(t *testing.T, s state.Store) {
	ctx := ctxT(t)
	_, err := s.GetPeer(ctx, "devnet", PeerID(9), 10)
	if !errors.Is(err, state.ErrNotFound) {
		t.Errorf("unknown peer: got %v, want ErrNotFound", err)
	}
	var b state.Batch
	for sec := 10; sec <= 50; sec += 10 {
		b.Observations = append(b.Observations, Obs("devnet", 1, sec))
		b.Subscriptions = append(b.Subscriptions, Sub("devnet", 1, sec/10, true, sec))
	}
	mustApply(t, s, b)
	if _, err := s.GetPeer(ctx, "other", PeerID(1), 10); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("peer of another network: got %v, want ErrNotFound", err)
	}
	p, err := s.GetPeer(ctx, "devnet", PeerID(1), 3)
	if err != nil {
		t.Fatalf("get peer: %v", err)
	}
	if len(p.History) != 3 || len(p.Subscriptions) != 3 {
		t.Fatalf("limit 3: got %d observations, %d subscriptions", len(p.History), len(p.Subscriptions))
	}
	for i, sec := range []int{50, 40, 30} {
		if !p.History[i].Time.Equal(At(sec)) || !p.Subscriptions[i].Time.Equal(At(sec)) {
			t.Errorf("entry %d: got %v / %v, want %v (newest first)", i, p.History[i].Time, p.Subscriptions[i].Time, At(sec))
		}
	}
	all, err := s.GetPeer(ctx, "devnet", PeerID(1), 0)
	if err != nil {
		t.Fatalf("get peer: %v", err)
	}
	if len(all.History) != 5 {
		t.Errorf("default limit: got %d observations, want 5", len(all.History))
	}
}

func testConcurrentApply(t *testing.T, s state.Store) {
	const workers, batches, peers = 6, 4, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers*batches)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for bi := range batches {
				var b state.Batch
				// Overlapping peers in different orders across workers.
				for i := range peers {
					p := (i*(w+1) + bi) % peers
					b.Observations = append(b.Observations, Obs("devnet", p, w*1000+bi*10+i%3))
					b.Discoveries = append(b.Discoveries, Disc("devnet", (p+7)%peers, uint64(bi), w*1000+bi))
				}
				if err := s.Apply(context.Background(), b); err != nil {
					errs <- fmt.Errorf("worker %d batch %d: %w", w, bi, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := listAll(t, s, state.PeerFilter{Network: "devnet", Limit: 7}); len(got) != peers {
		t.Errorf("peers after concurrent apply: got %d, want %d", len(got), peers)
	}
}
