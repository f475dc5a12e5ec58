package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestRateLimitAfterBurst(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.RatePerIP, o.RatePerKey, o.Burst = 0.001, 0.001, 3
	})
	for i := 0; i < 3; i++ {
		f.getJSON("/api/v1/networks", "", 200, nil)
	}
	_, h, _ := f.get("/api/v1/networks", "")
	e := f.wantError("/validators", "", 429, "")
	if !strings.Contains(e.Error, "rate limit") {
		t.Errorf("429 error = %q", e.Error)
	}
	if ra := h.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("429 without a positive Retry-After: %q", ra)
	}
	// Wrong keys draw from the same IP bucket: no free guessing.
	f.wantError("/validators", keyWrong, 429, "")
	// A valid key has its own bucket.
	for i := 0; i < 3; i++ {
		f.getJSON("/api/v1/networks", keyAlice, 200, nil)
	}
	f.wantError("/api/v1/networks", keyAlice, 429, "")
	// Health checks and scrapes are not limited.
	f.getJSON("/healthz", "", 200, nil)
	if code, _, _ := f.get("/metrics", ""); code != 200 {
		t.Errorf("/metrics rate limited: %d", code)
	}
	code, _, body := f.get("/metrics", "")
	if code != 200 || !strings.Contains(string(body), `valtrack_api_rate_limited_total{kind="ip"} 3`) || !strings.Contains(string(body), `valtrack_api_rate_limited_total{kind="key"} 1`) {
		t.Errorf("rate-limit counter missing or wrong:\n%s", body)
	}
}

func TestLimiterRefillsAndStaysBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLimiter(1, 2, 100, func() time.Time { return now })
	for i := 0; i < 2; i++ {
		if ok, _ := l.allow("a"); !ok {
			t.Fatalf("request %d refused within the burst", i)
		}
	}
	ok, wait := l.allow("a")
	if ok || wait != time.Second {
		t.Fatalf("third request: ok=%v wait=%v, want refused for 1s", ok, wait)
	}
	now = now.Add(time.Second)
	if ok, _ := l.allow("a"); !ok {
		t.Fatal("refused after a token refilled")
	}
	// Many clients: the set never exceeds its bound.
	for i := 0; i < 1000; i++ {
		l.allow(net.IPv4(10, 0, byte(i>>8), byte(i)).String())
	}
	if n := l.size(); n > 100 {
		t.Fatalf("limiter holds %d buckets, bound is 100", n)
	}
	// Idle buckets that refilled are dropped as traffic goes on.
	now = now.Add(time.Hour)
	for i := 0; i < 200; i++ {
		l.allow("b")
	}
	if n := l.size(); n > 1 {
		t.Errorf("limiter holds %d buckets after an idle hour, want 1", n)
	}
}

func TestClientBucket(t *testing.T) {
	s := &Server{}
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "127.0.0.1:5555"
	r.Header.Set("X-Forwarded-For", "203.0.113.9, 127.0.0.2")
	if got := s.clientBucket(r); got != "127.0.0.1" {
		t.Errorf("without TrustProxy: %q, want the remote address", got)
	}
	s.o.TrustProxy = true
	if got := s.clientBucket(r); got != "127.0.0.2" {
		t.Errorf("with TrustProxy: %q, want the last X-Forwarded-For entry", got)
	}
	r.Header.Set("X-Forwarded-For", "garbage")
	if got := s.clientBucket(r); got != "127.0.0.1" {
		t.Errorf("malformed X-Forwarded-For: %q, want the remote address", got)
	}
	r.Header.Del("X-Forwarded-For")
	r.RemoteAddr = "[2001:db8:1:2:3:4:5:6]:443"
	if got := s.clientBucket(r); got != "2001:db8:1:2::/64" {
		t.Errorf("IPv6: %q, want its /64", got)
	}
}

func TestHealthz(t *testing.T) {
	f := newFixture(t)
	var h struct{ Status, Version string }
	f.getJSON("/healthz", "", 200, &h)
	if h.Status != "ok" || h.Version != "test" {
		t.Errorf("healthz = %+v", h)
	}
	f.db.Close()
	f.getJSON("/healthz", "", 503, &h)
	if h.Status != "unavailable" {
		t.Errorf("healthz with a closed store = %+v", h)
	}
}

func TestMetricsCountRequests(t *testing.T) {
	f := newFixture(t)
	f.getJSON("/validators", "", 200, nil)
	f.getJSON("/validators", "", 200, nil)
	f.wantError("/api/v1/ethereum/testnet/peers?limit=0", "", 400, "limit")
	_, _, body := f.get("/metrics", "")
	for _, want := range []string{
		`valtrack_api_requests_total{code="200",route="/validators"} 2`,
		`valtrack_api_requests_total{code="400",route="/api/v1/ethereum/{network}/peers"} 1`,
		`valtrack_api_request_duration_seconds_count{route="/validators"} 2`,
		`valtrack_api_keys 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestGzip(t *testing.T) {
	f := newFixture(t)
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/api/v1/ethereum/testnet/peers", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(zr)
	if err != nil || !bytes.HasPrefix(body, []byte(`{"peers":[`)) {
		t.Errorf("gunzipped body %.80s, err %v", body, err)
	}
	for h, want := range map[string]bool{"gzip": true, "deflate, gzip;q=0.5": true, "gzip;q=0": false, "gzip; q=0.000": false, "br": false, "*": true, "": false} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", h, got, want)
		}
	}
}

func TestOpenAPIDocument(t *testing.T) {
	docs, err := os.ReadFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatalf("read docs/openapi.yaml: %v", err)
	}
	if !bytes.Equal(docs, openapiYAML) {
		t.Fatal("internal/api/openapi.yaml differs from docs/openapi.yaml; copy docs/openapi.yaml over it")
	}
	var doc struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(openapiYAML, &doc); err != nil {
		t.Fatalf("openapi.yaml is not YAML: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	routes := regexp.MustCompile(`handle\("GET (/[^"]*)"`).FindAllStringSubmatch(string(src), -1)
	if len(routes) < 9 {
		t.Fatalf("found only %d routes in routes.go", len(routes))
	}
	for _, m := range routes {
		path := strings.TrimSuffix(m[1], "{$}")
		if _, ok := doc.Paths[path]["get"]; !ok {
			t.Errorf("route GET %s is not documented in openapi.yaml", path)
		}
	}
	f := newFixture(t)
	code, h, body := f.get("/openapi.yaml", "")
	if code != 200 || h.Get("Content-Type") != "application/yaml" || !bytes.Equal(body, openapiYAML) {
		t.Errorf("GET /openapi.yaml: %d %q, %d bytes", code, h.Get("Content-Type"), len(body))
	}
}

func TestIndexPageIsSelfContained(t *testing.T) {
	f := newFixture(t)
	code, h, body := f.get("/", "")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %q", code, h.Get("Content-Type"))
	}
	page := string(body)
	for _, want := range []string{"/api/v1/networks", "/stats", "setInterval(refresh, 10000)", "subnet"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if regexp.MustCompile(`(src|href)\s*=\s*["']?(https?:)?//`).MatchString(page) || strings.Contains(page, "@import") {
		t.Error("page loads an external asset")
	}
	if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("page without a restrictive CSP: %q", h.Get("Content-Security-Policy"))
	}
}

func TestListenAndServeShutsDownOnCancel(t *testing.T) {
	f := newFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.api.Serve(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthz over Serve: %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve returned %v after cancel, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
}

func TestNewValidatesOptions(t *testing.T) {
	f := newFixture(t)
	log := slog.New(slog.DiscardHandler)
	for name, o := range map[string]Options{
		"no store":      {Log: log},
		"no log":        {Store: f.st},
		"negative rate": {Store: f.st, Log: log, RatePerIP: -1},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	// Metrics registered twice into one registry is a configuration error.
	if _, err := New(Options{Store: f.st, Log: log, Registry: f.api.o.Registry}); err == nil {
		t.Error("a second server on the same registry was accepted")
	}
}
