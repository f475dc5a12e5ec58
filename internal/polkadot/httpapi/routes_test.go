package httpapi

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/valtrack/valtrack/internal/api/apitest"
	"github.com/valtrack/valtrack/internal/polkadot/ss58"
	"github.com/valtrack/valtrack/internal/polkadot/state"
)

const base = "/api/v1/polkadot/" + testChain

func getJSON(t *testing.T, f *fixture, path string, v any) {
	t.Helper()
	apitest.GetJSON(t, f.srv, base+path, "", http.StatusOK, v)
}

// /candidates: by score total, highest first, unscored last, in 1KV's field
// names, with the merged chain facts, telemetry and score.
func TestCandidatesSortedByTotalIn1KVFields(t *testing.T) {
	f := newFixture(t)
	var cs []map[string]any
	getJSON(t, f, "/candidates", &cs)
	if len(cs) != 3 {
		t.Fatalf("%d candidates", len(cs))
	}
	var names []string
	for _, c := range cs {
		names = append(names, c["name"].(string))
	}
	if strings.Join(names, ",") != "Charlie,Alice,Bob" {
		t.Errorf("order %v, want Charlie,Alice,Bob (by total, unscored last)", names)
	}
	a := cs[1]
	for k, want := range map[string]any{"stash": alice, "kusamaStash": "HNZata7iMYWmk5RvZRTiAsSDhV8366zq2YGb3tLH5Upf74F", "commission": 3.0, "bonded": 5.0,
		"bondedPlanck": "5000000000000", "valid": true, "status": "valid", "total": 105.0, "rank": 2.0, "inclusion": 0.25, "nominatedAt": 7.0,
		"location": "Nuremberg", "provider": "Hetzner", "region": "Bavaria", "country": "Germany", "version": "1.17.1", "implementation": "Parity Polkadot",
		"discoveredAt": 11.0, "offlineAccumulated": 13.0, "active": true, "invalidityReasons": ""} {
		if a[k] != want {
			t.Errorf("alice %s = %v (%T), want %v", k, a[k], a[k], want)
		}
	}
	if id := a["identity"].(map[string]any); id["name"] != "Alice" || id["verified"] != true {
		t.Errorf("identity %v", id)
	}
	if m := a["telemetryMatch"].(map[string]any); m["node"] != "alice-node" || m["how"] != "normalized" {
		t.Errorf("telemetryMatch %v", m)
	}
	if k := a["nextKeys"].(map[string]any); k["beefy"] != "0x03bb" {
		t.Errorf("nextKeys %v", k)
	}
	if n := a["nominations"].(map[string]any); n["totalStake"] != 2.0 || n["activeNominators"] != 1.0 {
		t.Errorf("nominations %v", n)
	}
	b := cs[2]
	if b["valid"] != false || b["status"] != "invalid" || b["score"] != nil ||
		b["invalidityReasons"] != "Bob commission is set higher than the maximum allowed. Set: 20% Allowed: 5% Bob has less than the minimum amount bonded: 1 is bonded." {
		t.Errorf("bob: valid %v status %v score %v reasons %q", b["valid"], b["status"], b["score"], b["invalidityReasons"])
	}
	if v := b["validity"].([]any); len(v) != 3 || v[2].(map[string]any)["status"] != "unknown" {
		t.Errorf("bob's checks: %v", v)
	}
}

func TestCandidateListsAndOne(t *testing.T) {
	f := newFixture(t)
	names := func(path string) string {
		var cs []struct{ Name string }
		getJSON(t, f, path, &cs)
		var n []string
		for _, c := range cs {
			n = append(n, c.Name)
		}
		return strings.Join(n, ",")
	}
	for path, want := range map[string]string{"/candidates/valid": "Charlie,Alice", "/candidates/invalid": "Bob", "/candidates/rank": "Bob,Alice,Charlie"} {
		if got := names(path); got != want {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
	var c struct {
		Name  string
		Score struct {
			Total float64 `json:"total"`
		}
	}
	getJSON(t, f, "/candidate/"+charlie, &c)
	if c.Name != "Charlie" || c.Score.Total != 275 {
		t.Errorf("candidate: %+v", c)
	}
	apitest.WantError(t, f.srv, base+"/candidate/"+dave, "", http.StatusNotFound, "address")
}

// An unknown chain is a 404 naming network; a malformed address a 400
// naming address; a bad limit a 400 naming limit.
func TestErrors(t *testing.T) {
	f := newFixture(t)
	for _, p := range []string{"/candidates", "/candidate/" + alice, "/rounds", "/scoremetadata"} {
		apitest.WantError(t, f.srv, "/api/v1/polkadot/kusama"+p, "", http.StatusNotFound, "network")
	}
	for _, p := range []string{"/candidate/0xnotss58", "/score/short", "/score/I0lO" + alice[4:] + "/explain", "/erapoints/a%00b", "/faults/x", "/nominator/" + strings.Repeat("5", 61)} {
		apitest.WantError(t, f.srv, base+p, "", http.StatusBadRequest, "address")
	}
	apitest.WantError(t, f.srv, base+"/nominations?limit=0", "", http.StatusBadRequest, "limit")
	apitest.WantError(t, f.srv, base+"/proxytxs?pending=maybe", "", http.StatusBadRequest, "pending")
	apitest.WantError(t, f.srv, base+"/score/"+bob, "", http.StatusNotFound, "address")
}

// explain: every component with raw, scaled, weight and contribution, and
// the statistics of exactly the components that were scaled.
func TestScoreExplainAndMetadata(t *testing.T) {
	f := newFixture(t)
	var e struct {
		Score struct {
			Total      float64 `json:"total"`
			SnapshotID int64   `json:"snapshot_id"`
			Components []struct {
				Name                string
				Raw, Scaled, Weight float64
				Value               float64 `json:"value"`
				Stats               string
			} `json:"components"`
		} `json:"score"`
		Snapshot struct {
			Seed    int64              `json:"seed"`
			Era     uint32             `json:"era"`
			Weights map[string]float64 `json:"weights"`
		} `json:"snapshot"`
		Stats map[string]struct {
			Q10 float64 `json:"q10"`
			Lo  float64 `json:"lo"`
		} `json:"stats"`
	}
	getJSON(t, f, "/score/"+alice+"/explain", &e)
	if e.Score.Total != 105 || len(e.Score.Components) != 2 || e.Score.Components[0].Raw != 0.25 || e.Score.Components[0].Scaled != 1 ||
		e.Score.Components[0].Weight != 200 || e.Score.Components[1].Value != -10 {
		t.Errorf("score: %+v", e.Score)
	}
	if e.Snapshot.Seed != 7 || e.Snapshot.Era != 8 || e.Snapshot.Weights["inclusion"] != 200 {
		t.Errorf("snapshot: %+v", e.Snapshot)
	}
	if len(e.Stats) != 1 || e.Stats["inclusion"].Q10 != 0.025 || e.Stats["inclusion"].Lo != 0.05 {
		t.Errorf("stats: %+v", e.Stats)
	}
	var s struct {
		Total float64 `json:"total"`
		Era   uint32  `json:"era"`
	}
	getJSON(t, f, "/score/"+charlie, &s)
	if s.Total != 275 || s.Era != 8 {
		t.Errorf("score: %+v", s)
	}
	var m struct {
		Stats   map[string]struct{ Values []float64 } `json:"stats"`
		Weights map[string]float64                    `json:"weights"`
	}
	getJSON(t, f, "/scoremetadata", &m)
	if len(m.Stats) != 4 || len(m.Stats["bonded"].Values) != 2 || m.Weights["bonded"] != 50 {
		t.Errorf("score metadata: %+v", m)
	}
}

func TestNominationsRoundsProxies(t *testing.T) {
	f := newFixture(t)
	var ns []struct {
		Address    string
		Era        uint32
		Validators []string
		DryRun     bool `json:"dryRun"`
	}
	getJSON(t, f, "/nominations", &ns)
	if len(ns) != 1 || ns[0].Address != dave || ns[0].Era != 8 || !ns[0].DryRun || len(ns[0].Validators) != 2 {
		t.Errorf("nominations: %+v", ns)
	}
	var last struct {
		LastNominatedEraIndex string `json:"lastNominatedEraIndex"`
		When                  int64  `json:"when"`
		LastRoundID           int64  `json:"lastRoundId"`
	}
	getJSON(t, f, "/lastnomination", &last)
	// A dry run does not advance the last nominated era.
	if last.LastNominatedEraIndex != "0" || last.When != 2001 || last.LastRoundID != 1 {
		t.Errorf("last nomination: %+v", last)
	}
	type nominator struct {
		Address           string
		Proxy             string
		ProxyDelay        *uint64
		Bonded            *float64
		RewardDestination string
		Current           []struct{ Name, Stash string }
		LastNomination    int64
		CreatedAt         int64
		Configured        bool
		RemovedAt         *int64
		Latest            *struct{ ID string }
		ProxyTxs          []struct {
			ID string `json:"id"`
		} `json:"proxyTxs"`
	}
	var noms []nominator
	getJSON(t, f, "/nominators", &noms)
	// Every nominator of the file, by account: ferdie (dropped from the
	// file before it nominated), dave, eve (configured, not yet nominated).
	if len(noms) != 3 || noms[0].Address != ferdie || noms[1].Address != dave || noms[2].Address != eve {
		t.Fatalf("nominators: %+v, want ferdie, dave, eve", noms)
	}
	if d := noms[1]; d.Bonded == nil || *d.Bonded != 50 || len(d.Current) != 2 || d.Current[0].Name != "Alice" || len(d.ProxyTxs) != 1 ||
		d.Proxy != bob || d.ProxyDelay == nil || *d.ProxyDelay != 10 || d.LastNomination != 2001 || d.CreatedAt != 900 || !d.Configured || d.Latest == nil {
		t.Errorf("dave: %+v", d)
	}
	// Before its first nomination: the file's settings and the chain's
	// record of the account, what it nominates now included.
	if e := noms[2]; e.Bonded == nil || *e.Bonded != 20 || e.RewardDestination != "Staked" || len(e.Current) != 1 || e.Current[0].Name != "Bob" ||
		e.Proxy != "" || e.ProxyDelay == nil || *e.ProxyDelay != 0 || e.LastNomination != 0 || e.Latest != nil || e.CreatedAt != 900 || !e.Configured || e.RemovedAt != nil {
		t.Errorf("eve: %+v", e)
	}
	if r := noms[0]; r.Configured || r.RemovedAt == nil || *r.RemovedAt != 1000 || r.Bonded != nil || len(r.Current) != 0 || r.Latest != nil {
		t.Errorf("ferdie: %+v, want marked removed at 1000, nothing known on chain", r)
	}
	for _, a := range []string{dave, eve, ferdie} {
		var one nominator
		getJSON(t, f, "/nominator/"+a, &one)
		if one.Address != a {
			t.Errorf("nominator/%s: %+v", a, one)
		}
	}
	apitest.WantError(t, f.srv, base+"/nominator/"+alice, "", http.StatusNotFound, "address")
	var rounds []struct {
		Era         uint32 `json:"era"`
		DryRun      bool   `json:"dry_run"`
		Assignments []struct {
			Nominator string
			Targets   []string
		}
	}
	getJSON(t, f, "/rounds", &rounds)
	if len(rounds) != 1 || rounds[0].Era != 8 || !rounds[0].DryRun || rounds[0].Assignments[0].Targets[0] != charlie {
		t.Errorf("rounds: %+v", rounds)
	}
	var ps []struct {
		Number     uint64
		Controller string
		CallHash   string `json:"callHash"`
		State      string `json:"state"`
		Targets    []string
	}
	getJSON(t, f, "/proxytxs?pending=true", &ps)
	if len(ps) != 1 || ps[0].Number != 95 || ps[0].Controller != dave || ps[0].CallHash != "0xca11" || ps[0].State != "announced" || ps[0].Targets[0] != charlie {
		t.Errorf("proxy txs: %+v", ps)
	}
}

func TestEraPointsValidatorsFaults(t *testing.T) {
	f := newFixture(t)
	var pts []struct {
		Era       uint32
		Address   string
		EraPoints uint32
		Active    bool
	}
	getJSON(t, f, "/erapoints/"+bob, &pts)
	if len(pts) != 2 || pts[0].EraPoints != 0 || !pts[0].Active || pts[1].Active || pts[0].Address != bob {
		t.Errorf("bob's era points: %+v", pts)
	}
	getJSON(t, f, "/erapoints/"+alice, &pts)
	if len(pts) != 2 || pts[0].EraPoints != 60 || pts[1].EraPoints != 20 {
		t.Errorf("alice's era points: %+v", pts)
	}
	var vs []struct {
		Address string
		Keys    map[string]string
	}
	getJSON(t, f, "/validators", &vs)
	if len(vs) != 5 {
		t.Errorf("validators: %d (three validators, two nominators)", len(vs))
	}
	getJSON(t, f, "/validators?active=true", &vs)
	if len(vs) != 3 || vs[0].Keys["grandpa"] != "0x88" {
		t.Errorf("active validators: %+v", vs)
	}
	var fs []struct {
		ID, Kind, Reason string
	}
	getJSON(t, f, "/faults/"+bob, &fs)
	if len(fs) != 1 || fs[0].ID != "offence-90-1" || fs[0].Kind != "offence" {
		t.Errorf("faults: %+v", fs)
	}
	getJSON(t, f, "/faults/"+alice, &fs)
	if len(fs) != 0 {
		t.Errorf("alice's faults: %+v", fs)
	}
}

// A failed round shows its failed send attempts and why it failed.
func TestRoundsShowFailedAttempts(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	last, err := f.st.LastRound(ctx, testChain)
	if err != nil || last == nil {
		t.Fatalf("last round %v %v", last, err)
	}
	last.Status, last.Reason, last.Updated = "failed", "nominator "+dave+": Staking.InsufficientBond (after 3 attempts)", 3000
	last.Attempts = map[string]state.SendAttempts{dave: {Count: 3, Last: 2999, Error: "Staking.InsufficientBond", GaveUp: true}}
	if ok, err := f.st.SaveRound(ctx, *last); !ok || err != nil {
		t.Fatalf("save round: %v %v", ok, err)
	}
	var rounds []struct {
		Status   string `json:"status"`
		Reason   string `json:"reason"`
		Attempts map[string]struct {
			Count  int    `json:"count"`
			Last   int64  `json:"last"`
			Error  string `json:"error"`
			GaveUp bool   `json:"gave_up"`
		} `json:"attempts"`
	}
	getJSON(t, f, "/rounds", &rounds)
	if len(rounds) != 1 || rounds[0].Status != "failed" || !strings.Contains(rounds[0].Reason, "InsufficientBond") {
		t.Fatalf("rounds %+v: want the failed round with its reason", rounds)
	}
	a := rounds[0].Attempts[dave]
	if a.Count != 3 || a.Last != 2999 || a.Error != "Staking.InsufficientBond" || !a.GaveUp {
		t.Errorf("attempts of %s: %+v", dave, a)
	}
}

// Any SS58 form of an account (another network's prefix, the generic 42)
// and its 0x public key resolve to the same candidate, score, era points,
// faults and nominator; the answers name it with the chain's prefix.
func TestAddressInAnyFormResolves(t *testing.T) {
	f := newFixture(t)
	forms := func(addr string) []string {
		key, _, err := ss58.Decode(addr)
		if err != nil {
			t.Fatal(err)
		}
		h := hex.EncodeToString(key[:])
		return []string{addr, ss58.Encode(key, 0), ss58.Encode(key, 2), ss58.Encode(key, 7391), "0x" + h, "0X" + strings.ToUpper(h)}
	}
	for _, a := range forms(alice) {
		var c struct{ Name, Stash string }
		getJSON(t, f, "/candidate/"+a, &c)
		if c.Name != "Alice" || c.Stash != alice {
			t.Errorf("candidate/%s: %+v, want Alice named %s", a, c, alice)
		}
		var s struct {
			Address string  `json:"address"`
			Total   float64 `json:"total"`
		}
		getJSON(t, f, "/score/"+a, &s)
		if s.Address != alice || s.Total != 105 {
			t.Errorf("score/%s: %+v", a, s)
		}
		var pts []struct{ Address string }
		getJSON(t, f, "/erapoints/"+a, &pts)
		if len(pts) != 2 || pts[0].Address != alice {
			t.Errorf("erapoints/%s: %+v", a, pts)
		}
	}
	for _, a := range forms(bob) {
		var fs []struct{ ID string }
		getJSON(t, f, "/faults/"+a, &fs)
		if len(fs) != 1 || fs[0].ID != "offence-90-1" {
			t.Errorf("faults/%s: %+v", a, fs)
		}
	}
	for _, a := range forms(dave) {
		var n struct{ Address string }
		getJSON(t, f, "/nominator/"+a, &n)
		if n.Address != dave {
			t.Errorf("nominator/%s: %+v", a, n)
		}
	}
}

// A malformed address is a 400 naming address and saying what is wrong.
func TestMalformedAddressSaysWhy(t *testing.T) {
	f := newFixture(t)
	typo := alice[:len(alice)-1] + "Z" // the checksum no longer matches
	for path, want := range map[string]string{
		"/candidate/" + typo:                       "checksum mismatch",
		"/candidate/0x" + strings.Repeat("ab", 31): "not a 32-byte public key in hex",
		"/score/0x" + strings.Repeat("zz", 32):     "not a 32-byte public key in hex",
		"/nominator/" + strings.Repeat("5", 81):    "too long",
		"/faults/5Grw0":                            "not base58",
		"/erapoints/" + alice[:20]:                 "not a 32-byte account key",
	} {
		resp, err := http.Get(f.srv.URL + base + path)
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Error, Parameter string }
		err = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusBadRequest || e.Parameter != "address" || !strings.Contains(e.Error, want) ||
			!strings.Contains(e.Error, "0x-prefixed 32-byte public key") {
			t.Errorf("GET %s: %d %+v %v: want a 400 on address saying %q and what to send", path, resp.StatusCode, e, err, want)
		}
	}
}
