package cosmos

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/api/apitest"
	"github.com/valtrack/valtrack/internal/cosmos/sentry"
	"github.com/valtrack/valtrack/internal/domain"
)

type nopPublisher struct{}

func (nopPublisher) Publish(context.Context, string, string, []byte) error { return nil }

// --cosmos NAME=URL1,URL2 where the URLs carry API keys in their query
// (the second one's key holds "="): both URLs belong to the chain, intact;
// the key reaches the node byte for byte; it never reaches the logs.
func TestCosmosFlagWithAPIKeys(t *testing.T) {
	var mu sync.Mutex
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		queries = append(queries, r.URL.Path+"?"+r.URL.RawQuery)
		mu.Unlock()
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	first := "http://127.0.0.1:1/rpc?apikey=FIRSTSECRETKEY"
	second := srv.URL + "/rpc?apikey=SECOND=SECRET=KEY&x=1"

	var chains []*chain
	cmd := &cli.Command{Name: "sentry", Flags: Domain{}.Flags(domain.RoleSentry), Action: func(_ context.Context, c *cli.Command) error {
		var err error
		chains, err = parseChains(c.StringSlice("cosmos"))
		return err
	}}
	if err := cmd.Run(context.Background(), []string{"sentry", "--cosmos", "a-1=" + first + "," + second}); err != nil {
		t.Fatal(err)
	}
	if len(chains) != 1 || chains[0].Name != "a-1" || !reflect.DeepEqual(chains[0].Endpoints, []string{first, second}) {
		t.Fatalf("chains %+v", chains)
	}
	// A URL first, with no chain: refused, without quoting the key.
	if _, err := parseChains([]string{second}); err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("a URL without a chain: %v", err)
	}

	logs := &apitest.SyncBuffer{}
	s, err := sentry.New(sentry.Config{Chain: "a-1", Endpoints: chains[0].Endpoints, Publisher: nopPublisher{},
		Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), PollEvery: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(15 * time.Second)
	for strings.Count(logs.String(), "unhealthy") < 2 || strings.Count(logs.String(), "reconnecting") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for both endpoints to fail; logs:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	got := append([]string(nil), queries...)
	mu.Unlock()
	sawStatus := false
	for _, q := range got {
		if strings.HasPrefix(q, "/rpc/status?") {
			sawStatus = true
			if q != "/rpc/status?apikey=SECOND=SECRET=KEY&x=1" {
				t.Errorf("the node got %q: the key was not passed as written", q)
			}
		}
	}
	if !sawStatus {
		t.Errorf("no /status request: %v", got)
	}
	for _, secret := range []string{"FIRSTSECRETKEY", "SECRET=KEY", "SECOND"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the logs quote %q:\n%s", secret, logs.String())
		}
	}
}
