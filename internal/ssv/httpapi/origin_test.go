package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/ssv/registry/registrytest"
)

// dialFrom opens path on srv as a browser page of origin would.
func dialFrom(srv *httptest.Server, path, origin string) (*websocket.Conn, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+path,
		&websocket.DialOptions{HTTPHeader: http.Header{"Origin": {origin}}})
	status := 0
	if resp != nil {
		status = resp.StatusCode
		if resp.Body != nil {
			resp.Body.Close()
		}
	}
	return c, status, err
}

var wsPaths = []string{"/query", "/stream", "/api/v1/ssv/" + testNet + "/query", "/api/v1/ssv/" + testNet + "/stream"}

// TestWebSocketCrossOrigin: by default a browser page of another site (an
// explorer at https://explorer.ssv.network) opens /query and /stream and
// is answered, as the SSV exporter, which accepts every origin, lets it.
func TestWebSocketCrossOrigin(t *testing.T) {
	f := newFixture(t, nil, Options{})
	for _, p := range wsPaths {
		c, status, err := dialFrom(f.srv, p, "https://explorer.ssv.network")
		if err != nil {
			t.Fatalf("%s from https://explorer.ssv.network: %v (HTTP %d); want an upgrade", p, err, status)
		}
		if strings.HasSuffix(p, "query") {
			if got := ask(t, c, `{"type":"operator","filter":{"from":1,"to":1}}`); got != `{"type":"operator","filter":{"from":1,"to":1},"data":[`+opJSON(1)+`]}` {
				t.Errorf("%s cross-origin reply %s", p, got)
			}
		}
		c.Close(websocket.StatusNormalClosure, "")
	}
}

// TestWebSocketOriginsRestricted: with the server's WSOrigins (--ws-origins)
// set, only the listed origins' pages (and same-origin ones) are upgraded;
// any other gets 403.
func TestWebSocketOriginsRestricted(t *testing.T) {
	fake := registrytest.New()
	fillRegistry(fake, testNet)
	h := newHandlers(fake, func() []string { return []string{testNet} }, Options{})
	s, err := api.New(api.Options{Log: slog.New(slog.DiscardHandler), Domains: []api.Domain{h.domain()}, WSOrigins: []string{"explorer.ssv.network"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for _, p := range wsPaths {
		c, status, err := dialFrom(srv, p, "https://explorer.ssv.network")
		if err != nil {
			t.Fatalf("%s from the allowed origin: %v (HTTP %d); want an upgrade", p, err, status)
		}
		c.Close(websocket.StatusNormalClosure, "")
		same := "http://" + strings.TrimPrefix(srv.URL, "http://")
		c, status, err = dialFrom(srv, p, same)
		if err != nil {
			t.Fatalf("%s from its own origin %s: %v (HTTP %d); want an upgrade", p, same, err, status)
		}
		c.Close(websocket.StatusNormalClosure, "")
		if _, status, err = dialFrom(srv, p, "https://evil.example"); err == nil || status != http.StatusForbidden {
			t.Fatalf("%s from https://evil.example: HTTP %d, %v; want 403", p, status, err)
		}
	}
}
