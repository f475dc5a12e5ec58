package statetest

import (
	"errors"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/ethereum/state"
)

// filterFixture: peers 1–3 handshaken, 4 discovered only.
//
//	peer  client      ip         geo              estimate  last seen  subnets
//	1     lighthouse  127.0.0.2  DE, AS100 hosting  5        100       0,1,10
//	2     prysm       127.0.0.3  US, AS200 resid.   0        200       0,1,20
//	3     lighthouse  127.0.0.4  (none)             64       300       none
//	4     (disc.)     127.1.0.5  (none)             (none)   50        63
func filterFixture(t *testing.T, s state.Store) {
	o1, o2, o3 := Obs("devnet", 1, 100), Obs("devnet", 2, 200), Obs("devnet", 3, 300)
	o2.ClientName, o2.SubscribedSubnets = "prysm", []int64{20}
	o3.Attnets, o3.SubscribedSubnets = "0x0000000000000000", nil
	mustApply(t, s, state.Batch{
		Observations: []state.Observation{o1, o2, o3},
		Discoveries:  []state.Discovery{Disc("devnet", 4, 1, 50)},
	})
	ctx := ctxT(t)
	if err := s.PutIPInfo(ctx, []state.IPInfo{
		{IP: o1.IP, Country: "Germany", CountryCode: "DE", ASN: 100, ASOrganization: "Org A", Class: "hosting", UpdatedAt: At(1)},
		{IP: o2.IP, Country: "United States", CountryCode: "US", ASN: 200, ASOrganization: "Org B", Class: "residential", UpdatedAt: At(1)},
	}); err != nil {
		t.Fatalf("put ip info: %v", err)
	}
	if err := s.PutEstimates(ctx, []state.Estimate{
		{Network: "devnet", PeerID: PeerID(1), Validators: 5, Low: 4, High: 6, Confidence: 0.9, Method: "aggregation", Heuristic: 3, Epochs: 3, UpdatedAt: At(2)},
		{Network: "devnet", PeerID: PeerID(2), Validators: 0, Method: "none", UpdatedAt: At(2)},
		{Network: "devnet", PeerID: PeerID(3), Validators: 64, Low: 64, High: 200, Confidence: 0.5, Method: "all-subnets", UpdatedAt: At(2)},
	}); err != nil {
		t.Fatalf("put estimates: %v", err)
	}
}

func testFilters(t *testing.T, s state.Store) {
	filterFixture(t, s)
	n := func(v int) *int { return &v }
	cases := []struct {
		name string
		f    state.PeerFilter
		want []int
	}{
		{"none", state.PeerFilter{}, []int{1, 2, 3, 4}},
		{"client case-insensitive", state.PeerFilter{Client: "LightHouse"}, []int{1, 3}},
		{"country case-insensitive", state.PeerFilter{CountryCode: "de"}, []int{1}},
		{"asn", state.PeerFilter{ASN: 200}, []int{2}},
		{"subnet subscribed", state.PeerFilter{Subnet: n(20)}, []int{2}},
		{"subnet long-lived", state.PeerFilter{Subnet: n(0)}, []int{1, 2}},
		{"subnet subscribed 10", state.PeerFilter{Subnet: n(10)}, []int{1}},
		{"subnet 63 from ENR", state.PeerFilter{Subnet: n(63)}, []int{4}},
		{"subnet none", state.PeerFilter{Subnet: n(33)}, nil},
		{"min validators 5", state.PeerFilter{MinValidators: 5}, []int{1, 3}},
		{"min validators 10", state.PeerFilter{MinValidators: 10}, []int{3}},
		{"seen from", state.PeerFilter{SeenFrom: At(150)}, []int{2, 3}},
		{"seen to", state.PeerFilter{SeenTo: At(250)}, []int{1, 2, 4}},
		{"seen window", state.PeerFilter{SeenFrom: At(150), SeenTo: At(250)}, []int{2}},
		{"only handshaken", state.PeerFilter{OnlyHandshaken: true}, []int{1, 2, 3}},
		{"combined", state.PeerFilter{Client: "lighthouse", MinValidators: 10, OnlyHandshaken: true}, []int{3}},
	}
	for _, tc := range cases {
		tc.f.Network = "devnet"
		wantIDs(t, tc.name, listAll(t, s, tc.f), tc.want...)
	}
	wantIDs(t, "other network", listAll(t, s, state.PeerFilter{Network: "other"}))

	got := listAll(t, s, state.PeerFilter{Network: "devnet"})
	p1, p4 := got[0], got[3]
	if p1.Geo.CountryCode != "DE" || p1.Geo.ASN != 100 || p1.Geo.ASOrganization != "Org A" || p1.Geo.Class != "hosting" ||
		!p1.Geo.UpdatedAt.Equal(At(1)) {
		t.Errorf("peer 1 geo join: %+v", p1.Geo)
	}
	want := state.Estimate{Network: "devnet", PeerID: PeerID(1), Validators: 5, Low: 4, High: 6, Confidence: 0.9,
		Method: "aggregation", Heuristic: 3, Epochs: 3, UpdatedAt: At(2)}
	if p1.Estimate == nil || !reflect.DeepEqual(*p1.Estimate, want) {
		t.Errorf("peer 1 estimate join: got %+v, want %+v", p1.Estimate, want)
	}
	if p4.Geo != (state.IPInfo{}) || p4.Estimate != nil {
		t.Errorf("peer 4 without geo or estimate: geo %+v estimate %+v", p4.Geo, p4.Estimate)
	}
}

func testPagination(t *testing.T, s state.Store) {
	const total = 157
	var b state.Batch
	for i := range total {
		b.Observations = append(b.Observations, Obs("devnet", i, i))
	}
	mustApply(t, s, b)
	page, err := s.ListPeers(ctxT(t), state.PeerFilter{Network: "devnet"})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(page.Peers) != 100 || page.NextCursor == "" {
		t.Errorf("default page: got %d peers, cursor %q; want 100 and a cursor", len(page.Peers), page.NextCursor)
	}
	for _, limit := range []int{1, 7, 100, 157, 5000} {
		pages := 0
		f := state.PeerFilter{Network: "devnet", Limit: limit}
		var all []string
		for {
			page, err := s.ListPeers(ctxT(t), f)
			if err != nil {
				t.Fatalf("limit %d page %d: %v", limit, pages, err)
			}
			pages++
			if len(page.Peers) > limit {
				t.Fatalf("limit %d: page of %d", limit, len(page.Peers))
			}
			all = append(all, ids(page.Peers)...)
			if page.NextCursor == "" {
				break
			}
			if pages > total+1 {
				t.Fatalf("limit %d: pagination does not end", limit)
			}
			f.Cursor = page.NextCursor
		}
		if len(all) != total || !sort.StringsAreSorted(all) {
			t.Errorf("limit %d: walked %d peers (sorted %v), want %d", limit, len(all), sort.StringsAreSorted(all), total)
		}
		for i := 1; i < len(all); i++ {
			if all[i] == all[i-1] {
				t.Errorf("limit %d: duplicate %s", limit, all[i])
			}
		}
		if wantPages := (total + min(limit, 1000) - 1) / min(limit, 1000); pages != wantPages && pages != wantPages+1 {
			t.Errorf("limit %d: %d pages, want %d", limit, pages, wantPages)
		}
	}
}

func testFilterErrors(t *testing.T, s state.Store) {
	mustApply(t, s, state.Batch{Observations: []state.Observation{Obs("devnet", 1, 1)}})
	bad := 64
	for name, f := range map[string]state.PeerFilter{
		"no network":   {},
		"bad cursor":   {Network: "devnet", Cursor: "!!not-base64!!"},
		"long cursor":  {Network: "devnet", Cursor: string(make([]byte, 4096))},
		"subnet 64":    {Network: "devnet", Subnet: &bad},
		"empty cursor": {Network: "devnet", Cursor: "="},
	} {
		if _, err := s.ListPeers(ctxT(t), f); !errors.Is(err, state.ErrInvalidFilter) {
			t.Errorf("%s: got %v, want ErrInvalidFilter", name, err)
		}
	}
}

func testStats(t *testing.T, s state.Store) {
	filterFixture(t, s)
	st, err := s.Stats(ctxT(t), "devnet", time.Time{})
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	want := &state.Stats{
		Network:             "devnet",
		Nodes:               3,
		EstimatedValidators: 69,
		ByClient:            []state.Group{{Key: "lighthouse", Nodes: 2, Validators: 69}, {Key: "prysm", Nodes: 1, Validators: 0}},
		ByCountry:           []state.Group{{Key: "DE", Nodes: 1, Validators: 5}, {Key: "US", Nodes: 1}, {Key: "unknown", Nodes: 1, Validators: 64}},
		ByASOrganization:    []state.Group{{Key: "Org A", Nodes: 1, Validators: 5}, {Key: "Org B", Nodes: 1}, {Key: "unknown", Nodes: 1, Validators: 64}},
		ByHostingClass:      []state.Group{{Key: "hosting", Nodes: 1, Validators: 5}, {Key: "residential", Nodes: 1}, {Key: "unknown", Nodes: 1, Validators: 64}},
		SubnetCoverage:      make([]int, 64),
	}
	want.SubnetCoverage[0], want.SubnetCoverage[1], want.SubnetCoverage[10], want.SubnetCoverage[20] = 2, 2, 1, 1
	if !reflect.DeepEqual(st, want) {
		t.Errorf("stats:\n got %+v\nwant %+v", st, want)
	}
	st, err = s.Stats(ctxT(t), "devnet", At(150))
	if err != nil {
		t.Fatalf("stats since: %v", err)
	}
	if st.Nodes != 2 || st.EstimatedValidators != 64 || len(st.SubnetCoverage) != 64 || st.SubnetCoverage[20] != 1 || st.SubnetCoverage[10] != 0 {
		t.Errorf("stats since 150: nodes %d validators %d coverage %v", st.Nodes, st.EstimatedValidators, st.SubnetCoverage)
	}
	empty, err := s.Stats(ctxT(t), "nowhere", time.Time{})
	if err != nil || empty.Nodes != 0 || len(empty.SubnetCoverage) != 64 {
		t.Errorf("stats of an empty network: %+v, %v", empty, err)
	}
}

func testHistories(t *testing.T, s state.Store) {
	mustApply(t, s, state.Batch{
		Observations: []state.Observation{Obs("devnet", 1, 30), Obs("devnet", 1, 10), Obs("devnet", 1, 20),
			Obs("devnet", 2, 5), Obs("other", 1, 25)},
		Subscriptions: []state.SubscriptionChange{Sub("devnet", 1, 3, true, 15), Sub("devnet", 1, 3, false, 8)},
		Discoveries:   []state.Discovery{Disc("devnet", 3, 1, 40)},
	})
	hs, err := s.Histories(ctxT(t), "devnet", At(12))
	if err != nil {
		t.Fatalf("histories: %v", err)
	}
	if len(hs) != 1 || hs[0].PeerID != PeerID(1) || hs[0].NodeID != nodeID(1) {
		t.Fatalf("histories since 12: got %+v, want peer 1 only", hs)
	}
	if len(hs[0].Observations) != 2 || !hs[0].Observations[0].Time.Equal(At(20)) || !hs[0].Observations[1].Time.Equal(At(30)) {
		t.Errorf("observations since 12, oldest first: %+v", hs[0].Observations)
	}
	if len(hs[0].Subscriptions) != 1 || !hs[0].Subscriptions[0].Time.Equal(At(15)) {
		t.Errorf("subscriptions since 12: %+v", hs[0].Subscriptions)
	}
	hs, err = s.Histories(ctxT(t), "devnet", time.Time{})
	if err != nil {
		t.Fatalf("histories: %v", err)
	}
	if len(hs) != 2 || hs[0].PeerID != PeerID(1) || hs[1].PeerID != PeerID(2) || len(hs[0].Observations) != 3 ||
		len(hs[0].Subscriptions) != 2 || len(hs[1].Observations) != 1 {
		t.Errorf("all histories: %+v", hs)
	}
}

func testValidatorNodes(t *testing.T, s state.Store) {
	mustApply(t, s, state.Batch{
		Observations: []state.Observation{Obs("a", 1, 100), Obs("b", 2, 200), Obs("a", 3, 150)},
		Discoveries:  []state.Discovery{Disc("a", 4, 1, 100)},
	})
	if err := s.PutEstimates(ctxT(t), []state.Estimate{
		{Network: "a", PeerID: PeerID(1), Validators: 5}, {Network: "b", PeerID: PeerID(2), Validators: 3},
		{Network: "a", PeerID: PeerID(3), Validators: 0}, {Network: "a", PeerID: PeerID(4), Validators: 7},
	}); err != nil {
		t.Fatalf("put estimates: %v", err)
	}
	key := func(ps []state.Peer) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Network+"/"+p.PeerID)
		}
		return out
	}
	for _, tc := range []struct {
		from, to time.Time
		want     []string
	}{
		{At(0), At(300), []string{"a/" + PeerID(1), "b/" + PeerID(2)}},
		{At(150), At(300), []string{"b/" + PeerID(2)}},
		{time.Time{}, At(150), []string{"a/" + PeerID(1)}},
		{At(201), time.Time{}, nil},
	} {
		got, err := s.ValidatorNodes(ctxT(t), tc.from, tc.to)
		if err != nil {
			t.Fatalf("validator nodes: %v", err)
		}
		if g := key(got); !reflect.DeepEqual(g, tc.want) {
			t.Errorf("validator nodes [%v, %v]: got %v, want %v", tc.from, tc.to, g, tc.want)
		}
		for _, p := range got {
			if p.Estimate == nil || p.Estimate.Validators <= 0 {
				t.Errorf("validator node %s without estimate", p.PeerID)
			}
		}
	}
}

func testEstimatesAndIPInfo(t *testing.T, s state.Store) {
	ctx := ctxT(t)
	o1, o2, o3 := Obs("devnet", 1, 1), Obs("devnet", 251, 1), Obs("devnet", 2, 1) // 1 and 251 share an IP
	mustApply(t, s, state.Batch{Observations: []state.Observation{o1, o2, o3}})
	ips, err := s.IPsWithoutInfo(ctx, "devnet", 0)
	if err != nil {
		t.Fatalf("ips without info: %v", err)
	}
	if want := []string{o1.IP, o3.IP}; !reflect.DeepEqual(ips, want) {
		t.Errorf("ips without info: got %v, want %v", ips, want)
	}
	if ips, _ := s.IPsWithoutInfo(ctx, "devnet", 1); len(ips) != 1 {
		t.Errorf("limit 1: got %v", ips)
	}
	info := state.IPInfo{IP: o1.IP, Country: "France", CountryCode: "FR", Region: "IDF", City: "Paris",
		Latitude: 48.85, Longitude: 2.35, ASN: 16276, ASOrganization: "OVH SAS", Class: "hosting", UpdatedAt: At(5)}
	if err := s.PutIPInfo(ctx, []state.IPInfo{{IP: o1.IP, CountryCode: "XX", UpdatedAt: At(4)}, {}}); err != nil {
		t.Fatalf("put ip info: %v", err)
	}
	if err := s.PutIPInfo(ctx, []state.IPInfo{info}); err != nil {
		t.Fatalf("put ip info again: %v", err)
	}
	if ips, _ := s.IPsWithoutInfo(ctx, "devnet", 0); !reflect.DeepEqual(ips, []string{o3.IP}) {
		t.Errorf("after put: got %v, want [%s]", ips, o3.IP)
	}
	if p := mustPeer(t, s, "devnet", 251); !reflect.DeepEqual(p.Geo, info) {
		t.Errorf("geo after overwrite:\n got %+v\nwant %+v", p.Geo, info)
	}
	e := state.Estimate{Network: "devnet", PeerID: PeerID(2), Validators: 1, UpdatedAt: At(3)}
	e2 := e
	e2.Validators, e2.Method, e2.Confidence = 12, "aggregation", 0.75
	if err := s.PutEstimates(ctx, []state.Estimate{e, {PeerID: "no-network"}}); err != nil {
		t.Fatalf("put estimates: %v", err)
	}
	if err := s.PutEstimates(ctx, []state.Estimate{e2}); err != nil {
		t.Fatalf("put estimates again: %v", err)
	}
	if p := mustPeer(t, s, "devnet", 2); p.Estimate == nil || !reflect.DeepEqual(*p.Estimate, e2) {
		t.Errorf("estimate after overwrite: got %+v, want %+v", p.Estimate, e2)
	}
	if err := s.PutEstimates(ctx, nil); err != nil {
		t.Errorf("empty estimates: %v", err)
	}
	if err := s.PutIPInfo(ctx, nil); err != nil {
		t.Errorf("empty ip info: %v", err)
	}
}

func testNetworks(t *testing.T, s state.Store) {
	got, err := s.Networks(ctxT(t))
	if err != nil || len(got) != 0 {
		t.Errorf("networks of an empty store: %v, %v", got, err)
	}
	mustApply(t, s, state.Batch{
		Observations: []state.Observation{Obs("hoodi", 1, 1), Obs("devnet", 1, 1)},
		Discoveries:  []state.Discovery{Disc("sepolia", 1, 1, 1)},
	})
	got, err = s.Networks(ctxT(t))
	if err != nil {
		t.Fatalf("networks: %v", err)
	}
	if want := []string{"devnet", "hoodi", "sepolia"}; !reflect.DeepEqual(got, want) {
		t.Errorf("networks: got %v, want %v", got, want)
	}
}

func testPrune(t *testing.T, s state.Store) {
	b := state.Batch{
		Observations:  []state.Observation{Obs("devnet", 1, 10), Obs("devnet", 1, 20)},
		Discoveries:   []state.Discovery{Disc("devnet", 1, 1, 5)},
		Subscriptions: []state.SubscriptionChange{Sub("devnet", 1, 1, true, 15), Sub("devnet", 1, 1, false, 17)},
	}
	mustApply(t, s, b)
	n, err := s.Prune(ctxT(t), At(16))
	if err != nil {
		t.Fatalf("prune: %v", err)
	}
	if n != 3 {
		t.Errorf("pruned %d rows, want 3", n)
	}
	p := mustPeer(t, s, "devnet", 1)
	if len(p.History) != 1 || len(p.Subscriptions) != 1 || !p.FirstSeen.Equal(At(5)) {
		t.Errorf("after prune: %d observations, %d subscriptions, first seen %v", len(p.History), len(p.Subscriptions), p.FirstSeen)
	}
	applied, err := s.Applied(ctxT(t), batchIDs(b))
	if err != nil {
		t.Fatalf("applied: %v", err)
	}
	if len(applied) != 2 {
		t.Errorf("applied after prune: %v, want the 2 kept rows", applied)
	}
}

// testHistoryAfter: a cursor returns only what was stored after it, pages
// by limit, and filters by network and time.
func testHistoryAfter(t *testing.T, s state.Store) {
	ctx := ctxT(t)
	apply := func(b state.Batch) {
		t.Helper()
		if err := s.Apply(ctx, b); err != nil {
			t.Fatalf("apply: %v", err)
		}
	}
	apply(state.Batch{
		Observations:  []state.Observation{Obs("a", 1, 10), Obs("a", 2, 20), Obs("b", 1, 30), Obs("a", 3, 1)},
		Subscriptions: []state.SubscriptionChange{Sub("a", 1, 5, true, 11)},
	})
	page, err := s.HistoryAfter(ctx, "a", At(5), state.Cursor{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Observations) != 2 || len(page.Subscriptions) != 1 || page.More {
		t.Fatalf("first read: %d observations, %d changes, more %v; want 2, 1, false (network a, time >= 5)",
			len(page.Observations), len(page.Subscriptions), page.More)
	}
	if page.Observations[0].RowID == 0 || page.Next.Observation != page.Observations[1].RowID || page.Next.Subscription == 0 {
		t.Fatalf("cursor %+v does not follow the rows", page.Next)
	}
	apply(state.Batch{Observations: []state.Observation{Obs("a", 4, 40), Obs("a", 5, 50), Obs("a", 6, 60)}})
	page, err = s.HistoryAfter(ctx, "a", At(5), page.Next, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Observations) != 2 || !page.More || page.Observations[0].PeerID != PeerID(4) || len(page.Subscriptions) != 0 {
		t.Fatalf("second read (limit 2): %+v", page)
	}
	page, err = s.HistoryAfter(ctx, "a", At(5), page.Next, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Observations) != 1 || page.More || page.Observations[0].PeerID != PeerID(6) {
		t.Fatalf("third read: %+v", page)
	}
	again, err := s.HistoryAfter(ctx, "a", At(5), page.Next, 0)
	if err != nil || len(again.Observations)+len(again.Subscriptions) != 0 || again.Next != page.Next {
		t.Fatalf("read at the end: %+v %v", again, err)
	}
}
