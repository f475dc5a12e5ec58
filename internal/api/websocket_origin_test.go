package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// originServer serves one WebSocket route whose own patterns are routeOrigins,
// on a server with WSOrigins.
func originServer(t *testing.T, routeOrigins, serverOrigins []string) *httptest.Server {
	t.Helper()
	dom := Domain{Name: "wsorigin", Mount: func(rt *Router) {
		rt.HandleWebSocket("GET /api/v1/wsorigin/ws", "/api/v1/wsorigin/ws", WSOptions{OriginPatterns: routeOrigins},
			func(ctx context.Context, conn *websocket.Conn, _ Caller) error {
				return conn.Write(ctx, websocket.MessageText, []byte("hi"))
			})
	}}
	s, err := New(Options{Log: slog.New(slog.DiscardHandler), Domains: []Domain{dom}, WSOrigins: serverOrigins})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv
}

// dialOrigin reports the HTTP status of an upgrade from origin (101 when it
// succeeded and the handler's message arrived).
func dialOrigin(t *testing.T, srv *httptest.Server, origin string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o := &websocket.DialOptions{}
	if origin != "" {
		o.HTTPHeader = http.Header{"Origin": {origin}}
	}
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/api/v1/wsorigin/ws", o)
	if err != nil {
		if resp == nil {
			t.Fatalf("dial from %q: %v", origin, err)
		}
		return resp.StatusCode
	}
	defer c.CloseNow()
	if _, msg, err := c.Read(ctx); err != nil || string(msg) != "hi" {
		t.Fatalf("dial from %q: read %q, %v", origin, msg, err)
	}
	return http.StatusSwitchingProtocols
}

// TestWebSocketOrigins: a route's OriginPatterns decide which browser pages
// may connect (same-origin and non-browser clients always may), "*" any;
// Options.WSOrigins replaces every route's, an empty list meaning
// same-origin only.
func TestWebSocketOrigins(t *testing.T) {
	const other = "https://explorer.example.org"
	cases := []struct {
		name          string
		route, server []string
		origin        string
		want          int
	}{
		{"default refuses another site", nil, nil, other, 403},
		{"default takes non-browsers", nil, nil, "", 101},
		{"route lists the site", []string{"explorer.example.org"}, nil, other, 101},
		{"route glob", []string{"*.example.org"}, nil, other, 101},
		{"route glob other site", []string{"*.example.org"}, nil, "https://evil.example", 403},
		{"route any", []string{AnyOrigin}, nil, other, 101},
		{"route any, null origin", []string{AnyOrigin}, nil, "null", 101},
		{"server any over a same-origin route", nil, []string{AnyOrigin}, other, 101},
		{"server same-origin over an any route", []string{AnyOrigin}, []string{}, other, 403},
		{"server same-origin, non-browser", []string{AnyOrigin}, []string{}, "", 101},
		{"server list over an any route", []string{AnyOrigin}, []string{"explorer.example.org"}, "https://evil.example", 403},
		{"server scheme pattern", nil, []string{"https://explorer.example.org"}, other, 101},
		{"server scheme pattern, wrong scheme", nil, []string{"https://explorer.example.org"}, "http://explorer.example.org", 403},
	}
	for _, tc := range cases {
		srv := originServer(t, tc.route, tc.server)
		if got := dialOrigin(t, srv, tc.origin); got != tc.want {
			t.Errorf("%s: origin %q got HTTP %d, want %d", tc.name, tc.origin, got, tc.want)
		}
		srv.Close()
	}
	same := originServer(t, nil, []string{})
	if got := dialOrigin(t, same, same.URL); got != 101 {
		t.Errorf("same-origin page refused: %d", got)
	}
}

// TestParseWSOrigins: the flag's forms, and a malformed pattern refused by
// ParseWSOrigins and by New.
func TestParseWSOrigins(t *testing.T) {
	for in, want := range map[string][]string{
		"":                                 nil,
		"  ":                               nil,
		"same-origin":                      {},
		"*":                                {"*"},
		"a.example, *.b.example ,":         {"a.example", "*.b.example"},
		"https://a.example,b.example:8443": {"https://a.example", "b.example:8443"},
	} {
		got, err := ParseWSOrigins(in)
		if err != nil || !reflect.DeepEqual(got, want) || (got == nil) != (want == nil) {
			t.Errorf("ParseWSOrigins(%q) = %#v, %v; want %#v", in, got, err, want)
		}
	}
	for _, bad := range []string{"[a", "a.example,same-origin"} {
		if _, err := ParseWSOrigins(bad); err == nil || !strings.Contains(err.Error(), "origin pattern") {
			t.Errorf("ParseWSOrigins(%q): %v; want an error naming the pattern", bad, err)
		}
	}
	if _, err := New(Options{Log: slog.New(slog.DiscardHandler), WSOrigins: []string{"[a"}}); err == nil || !strings.Contains(err.Error(), `"[a"`) {
		t.Errorf("New with a malformed WSOrigins pattern: %v", err)
	}
}
