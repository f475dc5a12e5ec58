package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/api"
)

// notRunAPI is the API of `valtrack run` as newAPI builds it, with the
// domains of ds that were opened (none here) and every other one not run.
func notRunAPI(t *testing.T, ds registry) *httptest.Server {
	t.Helper()
	var srv *api.Server
	cmd := &cli.Command{Name: "run", Flags: apiFlags(), Action: func(_ context.Context, c *cli.Command) error {
		var err error
		srv, err = newAPI(c, nil, nil, ds, nil, nil, newRegistry(), slog.New(slog.DiscardHandler))
		return err
	}}
	if err := cmd.Run(context.Background(), []string{"run"}); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts
}

func getError(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("GET %s: %d %q is not a JSON error", url, resp.StatusCode, body)
	}
	return resp.StatusCode, e.Error
}

// TestRoutesOfDomainsNotRunNameTheirFlag: under the prefix of every
// registered domain this process does not run, the API answers 404 saying
// so and naming the flag that starts it; other unknown paths keep the
// generic answer.
func TestRoutesOfDomainsNotRunNameTheirFlag(t *testing.T) {
	ds := domains()
	ts := notRunAPI(t, ds)
	flags := map[string]string{"ethereum": "--eth NETWORK", "cosmos": "--cosmos NAME=RPC", "ssv": "--ssv NETWORK --eth-rpc URL", "polkadot": "--polkadot NAME=RPC"}
	for _, d := range ds {
		want := "the " + d.Name() + " domain is not run by this process: restart `valtrack run` with " + d.SelectWith()
		status, msg := getError(t, ts.URL+"/api/v1/"+d.Name()+"/somenet/whatever")
		if status != http.StatusNotFound || !strings.HasPrefix(msg, want) {
			t.Errorf("%s: %d %q, want 404 %q", d.Name(), status, msg, want)
		}
		if f := flags[d.Name()]; f == "" || !strings.Contains(msg, f) {
			t.Errorf("%s: %q does not name its flag %q", d.Name(), msg, f)
		}
	}
	for _, path := range []string{"/api/v1/nosuch/x", "/validatorz"} {
		if status, msg := getError(t, ts.URL+path); status != http.StatusNotFound || !strings.HasPrefix(msg, "no such endpoint") {
			t.Errorf("%s: %d %q, want the generic 404", path, status, msg)
		}
	}
}
