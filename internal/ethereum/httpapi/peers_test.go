package httpapi

import (
	"fmt"
	"net/url"
	"sort"
	"testing"
	"time"
)

func peerIDs(r peersResponse) []string {
	ids := make([]string, 0, len(r.Peers))
	for _, p := range r.Peers {
		ids = append(ids, p.PeerID)
	}
	sort.Strings(ids)
	return ids
}

func TestPeersFilters(t *testing.T) {
	f := newFixture(t)
	const (
		a = "16Uiu2HAmPeerAlpha"
		b = "16Uiu2HAmPeerBravo"
		c = "16Uiu2HAmPeerCharlie"
		d = "16Uiu2HAmPeerDelta"
	)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{a, b, c, d}},
		{"client=lighthouse", []string{a}},
		{"client=LightHouse", []string{a}},
		{"country=de", []string{a, c}},
		{"country=US", []string{b}},
		{"asn=16509", []string{b}},
		{"asn=AS24940", []string{a, c}},
		{"subnet=5", []string{b}},
		{"subnet=1", []string{a}},
		{"subnet=63", nil},
		{"min_validators=1", []string{a, b}},
		{"min_validators=2", []string{a}},
		{"min_validators=0", []string{a, b, c, d}},
		{"handshaken=true", []string{a, b, c}},
		{"handshaken=false", []string{a, b, c, d}},
		{"from=" + fmt.Sprint(fixtureBase.Add(-40*time.Minute).Unix()), []string{a, c, d}},
		{"to=" + url.QueryEscape(fixtureBase.Add(-time.Hour).Format(time.RFC3339)), []string{b}},
		{"country=DE&min_validators=1", []string{a}},
	} {
		var r peersResponse
		f.getJSON("/api/v1/ethereum/testnet/peers?"+tc.query, "", 200, &r)
		if got := peerIDs(r); fmt.Sprint(got) != fmt.Sprint(tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Errorf("?%s: peers %v, want %v", tc.query, got, tc.want)
		}
		if r.NextCursor != "" {
			t.Errorf("?%s: next_cursor %q on a single page", tc.query, r.NextCursor)
		}
	}
	// Another network's peers never leak in.
	var other peersResponse
	f.getJSON("/api/v1/ethereum/othernet/peers", "", 200, &other)
	if fmt.Sprint(peerIDs(other)) != "[16Uiu2HAmPeerEcho]" {
		t.Errorf("othernet peers = %v", peerIDs(other))
	}
}

func TestPeersPagination(t *testing.T) {
	f := newFixture(t)
	var all peersResponse
	f.getJSON("/api/v1/ethereum/testnet/peers?limit=1000", "", 200, &all)
	var walked []string
	cursor := ""
	for page := 0; ; page++ {
		if page > 10 {
			t.Fatal("pagination does not end")
		}
		var r peersResponse
		f.getJSON("/api/v1/ethereum/testnet/peers?limit=3&cursor="+url.QueryEscape(cursor), "", 200, &r)
		if len(r.Peers) > 3 {
			t.Fatalf("page of %d peers with limit=3", len(r.Peers))
		}
		for _, p := range r.Peers {
			walked = append(walked, p.PeerID)
		}
		if r.NextCursor == "" {
			break
		}
		cursor = r.NextCursor
	}
	want := make([]string, 0, len(all.Peers))
	for _, p := range all.Peers {
		want = append(want, p.PeerID)
	}
	if fmt.Sprint(walked) != fmt.Sprint(want) || len(want) != 4 {
		t.Errorf("walking pages of 3 gave %v, one page gave %v", walked, want)
	}
	if !sort.StringsAreSorted(want) {
		t.Errorf("peers not ordered by peer id: %v", want)
	}
}

func TestStats(t *testing.T) {
	f := newFixture(t)
	var s statsResponse
	f.getJSON("/api/v1/ethereum/testnet/stats", "", 200, &s)
	if s.Network != testNet || s.Nodes != 3 || s.EstimatedValidators != 5 {
		t.Errorf("stats: network %q, nodes %d, validators %d; want testnet, 3 handshaken, 5", s.Network, s.Nodes, s.EstimatedValidators)
	}
	if len(s.SubnetCoverage) != 64 {
		t.Fatalf("subnet_coverage has %d entries, want 64", len(s.SubnetCoverage))
	}
	for sn, want := range map[int]int{1: 1, 2: 1, 5: 1, 7: 1, 0: 0, 63: 0} {
		if s.SubnetCoverage[sn] != want {
			t.Errorf("subnet_coverage[%d] = %d, want %d", sn, s.SubnetCoverage[sn], want)
		}
	}
	groups := func(gs []groupView) map[string]groupView {
		m := map[string]groupView{}
		for _, g := range gs {
			m[g.Key] = g
		}
		return m
	}
	if g := groups(s.ByClient)["lighthouse"]; g.Nodes != 1 || g.Validators != 4 {
		t.Errorf("by_client lighthouse = %+v, want 1 node, 4 validators", g)
	}
	if len(s.ByCountry) == 0 || len(s.ByASOrganization) == 0 || len(s.ByHostingClass) == 0 {
		t.Errorf("empty groups: %+v", s)
	}
	// Every fixture peer was last seen an hour ago or earlier.
	f.getJSON("/api/v1/ethereum/testnet/stats?window=1m", "", 200, &s)
	if s.Nodes != 0 || s.Window != "1m0s" {
		t.Errorf("window=1m: nodes %d, window %q; want 0 and 1m0s", s.Nodes, s.Window)
	}
	f.getJSON("/api/v1/ethereum/testnet/stats?window=7d", "", 200, &s)
	if s.Nodes != 3 || s.Window != "168h0m0s" {
		t.Errorf("window=7d: nodes %d, window %q; want 3 and 168h0m0s", s.Nodes, s.Window)
	}
}

// networkView is an entry of /api/v1/networks.
type networkView struct {
	Name       string `json:"name"`
	Domain     string `json:"domain"`
	Configured bool   `json:"configured"`
	HasData    bool   `json:"has_data"`
}

func TestNetworks(t *testing.T) {
	f := newFixture(t)
	var r struct {
		Networks []networkView `json:"networks"`
	}
	f.getJSON("/api/v1/networks", "", 200, &r)
	got := map[string]networkView{}
	for _, n := range r.Networks {
		got[n.Name] = n
	}
	want := map[string]networkView{
		"configured-only": {Name: "configured-only", Domain: Name, Configured: true},
		testNet:           {Name: testNet, Domain: Name, Configured: true, HasData: true},
		otherNet:          {Name: otherNet, Domain: Name, HasData: true},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("networks = %v, want %v", got, want)
	}
	// A configured network without data is known: 200 and an empty page.
	var p peersResponse
	f.getJSON("/api/v1/ethereum/configured-only/peers", "", 200, &p)
	if len(p.Peers) != 0 || p.Peers == nil {
		t.Errorf("configured-only peers = %#v, want an empty array", p.Peers)
	}
}
