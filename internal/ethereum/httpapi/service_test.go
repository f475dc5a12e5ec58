package httpapi

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/valtrack/valtrack/internal/api"
)

func TestRateLimitAfterBurst(t *testing.T) {
	f := newFixture(t, func(o *api.Options, _ *[]string) {
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

func TestHealthz(t *testing.T) {
	// Every request probes, so the closed store shows at once (the caching of
	// probes is internal/api's TestHealthProbedAtMostOncePerInterval).
	f := newFixture(t, func(o *api.Options, _ *[]string) { o.HealthInterval = time.Nanosecond })
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
}

func TestIndexPageIsSelfContained(t *testing.T) {
	f := newFixture(t)
	code, h, body := f.get("/", "")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %q", code, h.Get("Content-Type"))
	}
	page := string(body)
	for _, want := range []string{`<section id="ethereum"`, `<select id="network"`, "/api/v1/networks", `n.domain === "ethereum"`,
		"/stats", "setInterval(refresh, 10000)", "subnet"} {
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

// TestOpenAPIDocumentsEveryRoute: the served document holds this domain's
// fragment, with every route it mounts.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	f := newFixture(t)
	code, h, served := f.get("/openapi.yaml", "")
	if code != 200 || h.Get("Content-Type") != "application/yaml" {
		t.Fatalf("GET /openapi.yaml: %d %q", code, h.Get("Content-Type"))
	}
	// docs/openapi.yaml is the document of every registered domain: it is
	// compared in cmd/valtrack (TestOpenAPIDocs), which knows them all.
	var doc struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(served, &doc); err != nil {
		t.Fatalf("openapi.yaml is not YAML: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	// Every route this package mounts is documented.
	src, err := os.ReadFile("httpapi.go")
	if err != nil {
		t.Fatal(err)
	}
	routes := regexp.MustCompile(`Handle\("GET (/[^"]*)"`).FindAllStringSubmatch(string(src), -1)
	if len(routes) != 4 {
		t.Fatalf("found %d routes in httpapi.go, want 4", len(routes))
	}
	for _, m := range routes {
		if _, ok := doc.Paths[m[1]]["get"]; !ok {
			t.Errorf("route GET %s is not documented in openapi.yaml", m[1])
		}
	}
}
