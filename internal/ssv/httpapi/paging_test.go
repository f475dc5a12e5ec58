package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/valtrack/valtrack/internal/api/apitest"
	"github.com/valtrack/valtrack/internal/ssv/registry"
	"github.com/valtrack/valtrack/internal/ssv/registry/registrytest"
)

// TestClustersInvalidPaging: /clusters (and /clusters/{owner}) page by
// after, the last cluster id of the previous page, /invalid by before, the
// block:log_index of its last item; walking the pages gives every item
// once, in order. Malformed cursors are a 400 naming the parameter.
func TestClustersInvalidPaging(t *testing.T) {
	fake := registrytest.New()
	var ids []string
	for i := 1; i <= 7; i++ {
		id := fmt.Sprintf("0x%064x", i*0x1111)
		ids = append(ids, id)
		owner := ownerA
		if i%2 == 0 {
			owner = ownerB
		}
		fake.PutCluster(testNet, registry.Cluster{ID: id, Owner: owner, OperatorIDs: []uint64{1, 2, 3, 4}, Active: true, Balance: "1"})
	}
	var places []string // newest first
	for b := uint64(30); b >= 10; b -= 10 {
		for li := uint(2); li >= 1; li-- {
			fake.AddInvalid(testNet, registry.Invalid{Block: b, LogIndex: li, TxHash: fmt.Sprintf("0x%d%d", b, li), Owner: ownerA, PublicKey: keyX, Reason: "signature verification failed"})
			places = append(places, fmt.Sprintf("%d:%d", b, li))
		}
	}
	f := newFixtureWith(t, fake, nil, Options{})

	walkClusters := func(path string) []string {
		t.Helper()
		var got []string
		after := ""
		for page := 0; ; page++ {
			if page > 10 {
				t.Fatalf("%s: more than 10 pages", path)
			}
			q := url.Values{"limit": {"2"}}
			if after != "" {
				q.Set("after", after)
			}
			var cs struct{ Clusters []registry.Cluster }
			apitest.GetJSON(t, f.srv, path+"?"+q.Encode(), "", http.StatusOK, &cs)
			if len(cs.Clusters) == 0 {
				return got
			}
			for _, c := range cs.Clusters {
				got = append(got, c.ID)
			}
			after = cs.Clusters[len(cs.Clusters)-1].ID
		}
	}
	if got := walkClusters(base + "/clusters"); strings.Join(got, " ") != strings.Join(ids, " ") {
		t.Errorf("clusters by pages of 2:\n got %v\nwant %v", got, ids)
	}
	if got := walkClusters(base + "/clusters/" + ownerB); strings.Join(got, " ") != strings.Join([]string{ids[1], ids[3], ids[5]}, " ") {
		t.Errorf("owner B's clusters by pages of 2: %v", got)
	}
	// after is case- and 0x-insensitive.
	var cs struct{ Clusters []registry.Cluster }
	apitest.GetJSON(t, f.srv, base+"/clusters?after="+strings.ToUpper(strings.TrimPrefix(ids[5], "0x")), "", http.StatusOK, &cs)
	if len(cs.Clusters) != 1 || cs.Clusters[0].ID != ids[6] {
		t.Errorf("clusters after the 6th, in upper case without 0x: %+v", cs.Clusters)
	}

	var got []string
	before := ""
	for page := 0; ; page++ {
		if page > 10 {
			t.Fatal("/invalid: more than 10 pages")
		}
		q := url.Values{"limit": {"4"}}
		if before != "" {
			q.Set("before", before)
		}
		var inv struct{ Invalid []registry.Invalid }
		apitest.GetJSON(t, f.srv, base+"/invalid?"+q.Encode(), "", http.StatusOK, &inv)
		if len(inv.Invalid) == 0 {
			break
		}
		for _, v := range inv.Invalid {
			got = append(got, fmt.Sprintf("%d:%d", v.Block, v.LogIndex))
		}
		last := inv.Invalid[len(inv.Invalid)-1]
		before = fmt.Sprintf("%d:%d", last.Block, last.LogIndex)
	}
	if strings.Join(got, " ") != strings.Join(places, " ") {
		t.Errorf("invalid by pages of 4:\n got %v\nwant %v", got, places)
	}
	var inv struct{ Invalid []registry.Invalid }
	apitest.GetJSON(t, f.srv, base+"/invalid?before=30", "", http.StatusOK, &inv)
	if len(inv.Invalid) != 4 || inv.Invalid[0].Block != 20 {
		t.Errorf("invalid before block 30: %+v", inv.Invalid)
	}

	for _, bad := range []string{"/clusters?after=0xc1", "/clusters?after=" + strings.Repeat("zz", 32), "/clusters/" + ownerA + "?after=1"} {
		apitest.WantError(t, f.srv, base+bad, "", http.StatusBadRequest, "after")
	}
	for _, bad := range []string{"/invalid?before=x", "/invalid?before=0", "/invalid?before=10:", "/invalid?before=10:-1", "/invalid?before=:3", "/invalid?before=10:99999999999"} {
		apitest.WantError(t, f.srv, base+bad, "", http.StatusBadRequest, "before")
	}
}
