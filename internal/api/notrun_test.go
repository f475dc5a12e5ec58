package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

const otherStart = "restart `valtrack run` with --other NAME=RPC"

func TestRoutesOfADomainNotRunSaySo(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.NotRun = []NotRun{{Name: "other", Start: otherStart}} })
	want := "the other domain is not run by this process: " + otherStart
	for _, path := range []string{"/api/v1/other", "/api/v1/other/", "/api/v1/other/mainnet/peers", "/api/v1/other/x/y?limit=1"} {
		for _, key := range []string{"", keyAlice} {
			if e := f.wantError(path, key, http.StatusNotFound, ""); e.Error != want {
				t.Errorf("GET %s: error %q, want %q", path, e.Error, want)
			}
		}
	}
	// Elsewhere, and for a name this binary does not have: today's answer.
	for _, path := range []string{"/api/v1/nosuch/x", "/api/v1/otherx/y", "/api/v1/testdom/nosuch", "/nosuch"} {
		if e := f.wantError(path, "", http.StatusNotFound, ""); !strings.HasPrefix(e.Error, "no such endpoint") {
			t.Errorf("GET %s: error %q, want the generic no such endpoint", path, e.Error)
		}
	}
	// The run domain's routes are unaffected.
	f.getJSON(itemsPath, "", http.StatusOK, nil)
	// Not GET: read-only, as anywhere.
	resp, err := http.Post(f.srv.URL+"/api/v1/other/x", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var e errorBody
	if resp.StatusCode != http.StatusMethodNotAllowed || json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error, "read-only") {
		t.Errorf("POST: %d %s, want 405 read-only", resp.StatusCode, body)
	}
}

func TestNotRunDomainMustNotBeRun(t *testing.T) {
	for _, nr := range []NotRun{{Name: "testdom", Start: "x"}, {Name: "Bad-Name", Start: "x"}} {
		_, err := New(Options{Log: slog.New(slog.DiscardHandler), Domains: []Domain{newTestDomain().domain()}, NotRun: []NotRun{nr}})
		if err == nil || !strings.Contains(err.Error(), nr.Name) {
			t.Errorf("NotRun %q: err = %v, want a refusal naming it", nr.Name, err)
		}
	}
}
