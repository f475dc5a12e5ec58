package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/api/apitest"
	"github.com/valtrack/valtrack/internal/ssv/registry"
)

const base = "/api/v1/ssv/" + testNet

func indices(vs []registry.Validator) []uint64 {
	var out []uint64
	for _, v := range vs {
		out = append(out, v.Index)
	}
	return out
}

func eq(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestOperatorsRoutes(t *testing.T) {
	f := newFixture(t, nil, Options{})
	var ops struct{ Operators []registry.Operator }
	apitest.GetJSON(t, f.srv, base+"/operators?from=2&to=4", "", http.StatusOK, &ops)
	if len(ops.Operators) != 3 || ops.Operators[0].ID != 2 || ops.Operators[2].ID != 4 {
		t.Fatalf("operators 2..4: %+v", ops.Operators)
	}
	apitest.GetJSON(t, f.srv, base+"/operators?limit=2", "", http.StatusOK, &ops)
	if len(ops.Operators) != 2 || ops.Operators[0].ID != 1 {
		t.Fatalf("operators limit 2: %+v", ops.Operators)
	}
	var op map[string]any
	apitest.GetJSON(t, f.srv, base+"/operators/5", "", http.StatusOK, &op)
	if op["id"] != 5.0 || op["removed"] != true || op["public_key"] != opKey(5) || op["owner"] != ownerA || op["fee"] != "1000" {
		t.Fatalf("operator 5: %v", op)
	}
	apitest.WantError(t, f.srv, base+"/operators/9", "", http.StatusNotFound, "id")
	apitest.WantError(t, f.srv, base+"/operators/x", "", http.StatusBadRequest, "id")
	apitest.WantError(t, f.srv, base+"/operators/0", "", http.StatusBadRequest, "id")
	apitest.WantError(t, f.srv, base+"/operators?from=3&to=2", "", http.StatusBadRequest, "from")
	apitest.WantError(t, f.srv, base+"/operators?to=-1", "", http.StatusBadRequest, "to")
	apitest.WantError(t, f.srv, base+"/operators?limit=1001", "", http.StatusBadRequest, "limit")
	apitest.WantError(t, f.srv, "/api/v1/ssv/nosuch/operators", "", http.StatusNotFound, "network")
}

func TestValidatorsRoutes(t *testing.T) {
	f := newFixture(t, nil, Options{})
	hexX := strings.Repeat("aa", 48)
	cases := []struct {
		query string
		want  []uint64
	}{
		{"", []uint64{1, 2, 3, 4}},
		{"?owner=" + ownerA, []uint64{1, 2}},
		{"?owner=" + strings.TrimPrefix(strings.ToLower(ownerB), "0x"), []uint64{3, 4}},
		{"?owner=" + ownerA + "," + ownerB, []uint64{1, 2, 3, 4}},
		{"?operator=1", []uint64{1, 2}},
		{"?operator=5", []uint64{3, 4}},
		{"?cluster=4,3,2,1&owner=" + ownerA, []uint64{1, 2}},
		{"?cluster=4,3,2,1&owner=" + ownerB, nil},
		{"?cluster=2,3,4&owner=" + ownerA, nil},
		{"?status=exited", []uint64{2}},
		{"?status=removed", []uint64{4}},
		{"?pubkeys=" + hexX, []uint64{1, 3}},
		{"?pubkeys=0x" + strings.ToUpper(hexX) + ",0x" + strings.Repeat("bb", 48), []uint64{1, 2, 3}},
		{"?from=2&to=3", []uint64{2, 3}},
		{"?from=3", []uint64{3, 4}},
		{"?limit=1", []uint64{1}},
		{"?owner=" + ownerB + "&status=active", []uint64{3}},
	}
	for _, tc := range cases {
		var got struct{ Validators []registry.Validator }
		apitest.GetJSON(t, f.srv, base+"/validators"+tc.query, "", http.StatusOK, &got)
		if !eq(indices(got.Validators), tc.want) {
			t.Errorf("validators%s: %v, want %v", tc.query, indices(got.Validators), tc.want)
		}
	}
	for _, tc := range []struct{ query, param string }{
		{"?owner=0x12", "owner"}, {"?owner=" + strings.Repeat("g", 40), "owner"},
		{"?operator=a", "operator"}, {"?operator=0", "operator"},
		{"?cluster=1,1,2,3&owner=" + ownerA, "cluster"}, {"?cluster=" + strings.Repeat("1,", 14) + "1&owner=" + ownerA, "cluster"},
		{"?cluster=4,3,2,1", "cluster"}, {"?cluster=0x" + strings.Repeat("a", 63), "cluster"},
		{"?status=pending", "status"}, {"?pubkeys=abc", "pubkeys"}, {"?pubkeys=" + strings.Repeat("aa", 47), "pubkeys"},
		{"?from=4&to=1", "from"}, {"?limit=0", "limit"},
		{"?operator=" + strings.Repeat("1,", 101), "operator"},
	} {
		apitest.WantError(t, f.srv, base+"/validators"+tc.query, "", http.StatusBadRequest, tc.param)
	}
	// Every registration of a key.
	var one struct {
		PublicKey     string `json:"public_key"`
		Registrations []registry.Validator
	}
	apitest.GetJSON(t, f.srv, base+"/validators/0x"+hexX, "", http.StatusOK, &one)
	if one.PublicKey != keyX || !eq(indices(one.Registrations), []uint64{1, 3}) || one.Registrations[1].Owner != ownerB {
		t.Fatalf("validator %s: %+v", hexX, one)
	}
	apitest.GetJSON(t, f.srv, base+"/validators/"+strings.ToUpper(hexX), "", http.StatusOK, &one)
	apitest.WantError(t, f.srv, base+"/validators/"+strings.Repeat("dd", 48), "", http.StatusNotFound, "pubkey")
	apitest.WantError(t, f.srv, base+"/validators/xyz", "", http.StatusBadRequest, "pubkey")
}

func TestClustersOwnersRoutes(t *testing.T) {
	f := newFixture(t, nil, Options{})
	var cs struct{ Clusters []registry.Cluster }
	apitest.GetJSON(t, f.srv, base+"/clusters", "", http.StatusOK, &cs)
	if len(cs.Clusters) != 2 || cs.Clusters[0].ID != "0xc1" {
		t.Fatalf("clusters: %+v", cs)
	}
	apitest.GetJSON(t, f.srv, base+"/clusters/"+strings.ToLower(ownerB), "", http.StatusOK, &cs)
	if len(cs.Clusters) != 1 || cs.Clusters[0].ID != "0xc2" || cs.Clusters[0].Active {
		t.Fatalf("clusters of B: %+v", cs)
	}
	apitest.WantError(t, f.srv, base+"/clusters/0x"+strings.Repeat("22", 20), "", http.StatusNotFound, "owner")
	apitest.WantError(t, f.srv, base+"/clusters/nope", "", http.StatusBadRequest, "owner")
	var o map[string]any
	apitest.GetJSON(t, f.srv, base+"/owners/"+strings.TrimPrefix(ownerA, "0x"), "", http.StatusOK, &o)
	if o["address"] != ownerA || o["nonce"] != 3.0 || o["fee_recipient"] != ownerB || len(o["clusters"].([]any)) != 1 {
		t.Fatalf("owner A: %v", o)
	}
	apitest.WantError(t, f.srv, base+"/owners/0x"+strings.Repeat("22", 20), "", http.StatusNotFound, "address")
	apitest.WantError(t, f.srv, base+"/owners/0x12", "", http.StatusBadRequest, "address")
}

// Before the sentry's first sync status, /sync (and /summary's sync)
// shows what the process knows: the configured contract, the state
// "connecting", the endpoints with their last errors and the latest of
// them with the URL as domain.ShowURL shows it; no time is the zero time.
// Once a status is in, state is its mode.
func TestSyncBeforeTheFirstStatus(t *testing.T) {
	const contract = "0x58410Bef803ECd7E63B23664C586A6DB72DAf59c"
	pending := func(network string) *Pending {
		if network != "hoodi" {
			return nil
		}
		return &Pending{Contract: contract, Endpoints: []PendingEndpoint{
			{Name: "127.0.0.1:8545", URL: "http://127.0.0.1:8545/…"},
			{Name: "127.0.0.1:8546", URL: "https://127.0.0.1:8546/…", Error: "eth_chainId: dial tcp 127.0.0.1:8546: connect: connection refused"},
		}}
	}
	f := newFixture(t, []string{testNet, "hoodi"}, Options{Pending: pending})
	f.fake.AddNetwork("hoodi")
	for _, path := range []string{"/api/v1/ssv/hoodi/sync", "/api/v1/ssv/hoodi/summary"} {
		var raw map[string]any
		apitest.GetJSON(t, f.srv, path, "", http.StatusOK, &raw)
		s := raw
		if strings.HasSuffix(path, "/summary") {
			s, _ = raw["sync"].(map[string]any)
		}
		if s["synced"] != false || s["state"] != "connecting" || s["contract"] != contract || s["network"] != "hoodi" {
			t.Errorf("%s: %v, want connecting with the configured contract", path, s)
		}
		for _, k := range []string{"last_block_time", "status_at"} {
			if v, ok := s[k]; !ok || v != nil {
				t.Errorf("%s: %s = %v, want null", path, k, v)
			}
		}
		if s["last_error"] != "https://127.0.0.1:8546/…: eth_chainId: dial tcp 127.0.0.1:8546: connect: connection refused" {
			t.Errorf("%s: last_error %v", path, s["last_error"])
		}
		eps, _ := s["endpoints"].([]any)
		if len(eps) != 2 {
			t.Fatalf("%s: endpoints %v", path, s["endpoints"])
		}
		if e := eps[1].(map[string]any); e["name"] != "127.0.0.1:8546" || e["healthy"] != false || !strings.Contains(e["error"].(string), "connection refused") {
			t.Errorf("%s: endpoint %v", path, e)
		}
	}

	// A network with a status: its own contract, mode as state, times set,
	// no last_error.
	var s map[string]any
	apitest.GetJSON(t, f.srv, base+"/sync", "", http.StatusOK, &s)
	if s["state"] != "ongoing" || s["contract"] != "0xDD9BC35aE942eF0cFa76930954a156B3fF30a4E1" ||
		s["last_block_time"] != "2026-01-02T03:04:05Z" || s["status_at"] != "2026-01-02T03:04:06Z" || s["last_error"] != nil {
		t.Errorf("sync with a status: %v", s)
	}
}

func TestSyncInvalidSummaryRoutes(t *testing.T) {
	f := newFixture(t, []string{testNet, "empty"}, Options{})
	f.fake.AddNetwork("empty")
	var s map[string]any
	apitest.GetJSON(t, f.srv, base+"/sync", "", http.StatusOK, &s)
	if s["synced"] != true || s["last_block"] != 100.0 || s["head"] != 108.0 || s["lag"] != 8.0 || s["skipped_logs"] != 1.0 || s["reorgs"] != 2.0 || s["mode"] != "ongoing" || len(s["endpoints"].([]any)) != 2 {
		t.Fatalf("sync: %v", s)
	}
	apitest.GetJSON(t, f.srv, "/api/v1/ssv/empty/sync", "", http.StatusOK, &s)
	if s["synced"] != false || s["network"] != "empty" || len(s["endpoints"].([]any)) != 0 {
		t.Fatalf("sync of an empty network: %v", s)
	}
	if s["state"] != "connecting" || s["last_block_time"] != nil || s["status_at"] != nil || s["contract"] != "" {
		t.Fatalf("sync of an empty network, no pending info: %v", s)
	}
	var inv struct{ Invalid []registry.Invalid }
	apitest.GetJSON(t, f.srv, base+"/invalid", "", http.StatusOK, &inv)
	if len(inv.Invalid) != 1 || !strings.Contains(inv.Invalid[0].Reason, "3f+1") {
		t.Fatalf("invalid: %+v", inv)
	}
	var sum struct {
		Operators    int
		Validators   int
		ByStatus     map[string]int `json:"validators_by_status"`
		ClusterSizes map[string]int `json:"cluster_sizes"`
		Invalid      int
		Sync         map[string]any
	}
	apitest.GetJSON(t, f.srv, base+"/summary", "", http.StatusOK, &sum)
	if sum.Operators != 4 || sum.Validators != 4 || sum.ByStatus["active"] != 2 || sum.ClusterSizes["4"] != 2 || sum.Invalid != 1 || sum.Sync["lag"] != 8.0 {
		t.Fatalf("summary: %+v", sum)
	}
	f.fake.SetErr(errors.New("database is locked"))
	code, _, body := apitest.Get(t, f.srv, base+"/summary", "")
	if code != http.StatusInternalServerError || strings.Contains(string(body), "locked") {
		t.Fatalf("store failure: %d %s", code, body)
	}
}

// With beacon-chain states (--ssv-beacon), /v1/validators answers the
// beacon node's index, status and epochs and filters by indices (index 0
// included); without, an indices filter is refused saying what to do.
func TestNodeValidatorsBeacon(t *testing.T) {
	f := newFixture(t, nil, Options{})
	code, _, body := apitest.Get(t, f.srv, "/v1/validators?indices=0", "")
	if code != http.StatusBadRequest || !strings.Contains(string(body), "--ssv-beacon") {
		t.Fatalf("indices without beacon data: %d %s", code, body)
	}
	keyX, keyY := "0x"+strings.Repeat("aa", 48), "0x"+strings.Repeat("bb", 48)
	at := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	f.fake.SetBeacon(testNet, keyX, registry.Beacon{Index: 0, Status: "active_ongoing", Balance: 32_001_000_000, ActivationEpoch: 5, ExitEpoch: ^uint64(0), UpdatedAt: at})
	f.fake.SetBeacon(testNet, keyY, registry.Beacon{Index: 42, Status: "exited_unslashed", Balance: 31_000_000_000, ActivationEpoch: 7, ExitEpoch: 900, UpdatedAt: at})
	code, _, body = apitest.Get(t, f.srv, "/v1/validators?indices=42", "")
	want := `{"data":[{"public_key":"` + strings.Repeat("bb", 48) + `","index":42,"status":"exited_unslashed","activation_epoch":7,"exit_epoch":900,"owner":"` +
		strings.TrimPrefix(ownerA, "0x") + `","committee":[1,2,3,4],"quorum":0,"partial_quorum":0,"graffiti":"","liquidated":false}]}` + "\n"
	if code != http.StatusOK || string(body) != want {
		t.Fatalf("?indices=42: %d\n got %s\nwant %s", code, body, want)
	}
	var got struct {
		Data []struct {
			PublicKey string `json:"public_key"`
			Index     uint64
			Status    string
			ExitEpoch uint64 `json:"exit_epoch"`
		}
	}
	apitest.GetJSON(t, f.srv, "/v1/validators?indices=0,42,7", "", http.StatusOK, &got)
	if len(got.Data) != 3 { // key X registered by two owners, key Y once (its removed registration not listed), nothing at 7
		t.Fatalf("?indices=0,42,7: %+v", got.Data)
	}
	for _, d := range got.Data {
		if d.PublicKey == strings.Repeat("aa", 48) && (d.Index != 0 || d.Status != "active_ongoing" || d.ExitEpoch != ^uint64(0)) {
			t.Fatalf("key X: %+v", d)
		}
	}
	// REST carries the whole beacon state beside the registration.
	var one struct{ Registrations []registry.Validator }
	apitest.GetJSON(t, f.srv, base+"/validators/"+keyY, "", http.StatusOK, &one)
	if len(one.Registrations) != 1 || one.Registrations[0].Beacon == nil || *one.Registrations[0].Beacon != (registry.Beacon{Index: 42,
		Status: "exited_unslashed", Balance: 31_000_000_000, ActivationEpoch: 7, ExitEpoch: 900, UpdatedAt: at}) {
		t.Fatalf("validators/{key}: %+v", one.Registrations)
	}
}

// TestNodeValidators: the SSV node's GET /v1/validators, its filters, its
// answer shape and its error body.
func TestNodeValidators(t *testing.T) {
	f := newFixture(t, nil, Options{})
	hexX := strings.Repeat("aa", 48)
	for _, path := range []string{base + "/node/v1/validators", "/v1/validators"} {
		code, _, body := apitest.Get(t, f.srv, path+"?owners="+ownerA, "")
		want := `{"data":[` +
			`{"public_key":"` + hexX + `","index":0,"status":"active","activation_epoch":0,"exit_epoch":0,"owner":"` + strings.TrimPrefix(ownerA, "0x") + `","committee":[1,2,3,4],"quorum":0,"partial_quorum":0,"graffiti":"","liquidated":false},` +
			`{"public_key":"` + strings.Repeat("bb", 48) + `","index":0,"status":"exited","activation_epoch":0,"exit_epoch":0,"owner":"` + strings.TrimPrefix(ownerA, "0x") + `","committee":[1,2,3,4],"quorum":0,"partial_quorum":0,"graffiti":"","liquidated":false}]}` + "\n"
		if code != http.StatusOK || string(body) != want {
			t.Fatalf("%s?owners=A: %d\n got %s\nwant %s", path, code, body, want)
		}
	}
	count := func(q string) []string {
		t.Helper()
		var got struct {
			Data []struct {
				PublicKey string `json:"public_key"`
				Owner     string
			}
		}
		apitest.GetJSON(t, f.srv, "/v1/validators"+q, "", http.StatusOK, &got)
		var keys []string
		for _, d := range got.Data {
			keys = append(keys, d.PublicKey[:2]+"/"+d.Owner[:2])
		}
		return keys
	}
	for _, tc := range []struct {
		q    string
		want string
	}{
		{"", "aa/11 bb/11 aa/ab"}, // the removed validator 4 is not listed
		{"?operators=5", "aa/ab"},
		{"?operators=1,5", "aa/11 bb/11 aa/ab"},
		{"?clusters=1,2,3,4", "aa/11 bb/11"},
		{"?clusters=1,2,3,4+2,3,4,5", "aa/11 bb/11 aa/ab"},
		{"?subclusters=3,5", "aa/ab"},
		{"?subclusters=2,3", "aa/11 bb/11 aa/ab"},
		{"?pubkeys=0x" + hexX, "aa/11 aa/ab"},
		{"?pubkeys=" + hexX + "&owners=" + ownerB, "aa/ab"},
	} {
		if got := strings.Join(count(tc.q), " "); got != tc.want {
			t.Errorf("/v1/validators%s: %q, want %q", tc.q, got, tc.want)
		}
	}
	for _, q := range []string{"?pubkeys=zz", "?owners=0x1", "?operators=x", "?clusters=1,1", "?indices=1", "?indices=-1"} {
		code, _, body := apitest.Get(t, f.srv, "/v1/validators"+q, "")
		var e map[string]string
		if code != http.StatusBadRequest || json.Unmarshal(body, &e) != nil || e["status"] != "Bad Request" || e["error"] == "" || len(e) != 2 {
			t.Errorf("/v1/validators%s: %d %s; want the node's 400 body", q, code, body)
		}
	}
	code, _, body := apitest.Get(t, f.srv, "/api/v1/ssv/nosuch/node/v1/validators", "")
	if code != http.StatusNotFound || !strings.HasPrefix(string(body), `{"status":"Resource not found.","error":`) {
		t.Fatalf("unknown network: %d %s", code, body)
	}
	two := newFixture(t, []string{testNet, "other"}, Options{})
	code, _, body = apitest.Get(t, two.srv, "/v1/validators", "")
	if code != http.StatusNotFound || !strings.Contains(string(body), "/api/v1/ssv/{network}/node/v1/validators") {
		t.Fatalf("/v1/validators with two networks: %d %s", code, body)
	}
}
