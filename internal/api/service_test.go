package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/valtrack/valtrack/internal/api/apitest"
)

func TestRateLimitAfterBurst(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.RatePerIP, o.RatePerKey, o.Burst = 0.001, 0.001, 3
	})
	for i := 0; i < 3; i++ {
		f.getJSON("/api/v1/networks", "", 200, nil)
	}
	_, h, _ := f.get("/api/v1/networks", "")
	e := f.wantError("/api/v1/testdom/testnet/items", "", 429, "")
	if !strings.Contains(e.Error, "rate limit") {
		t.Errorf("429 error = %q", e.Error)
	}
	if ra := h.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("429 without a positive Retry-After: %q", ra)
	}
	// Wrong keys draw from the same IP bucket: no free guessing.
	f.wantError("/api/v1/testdom/testnet/items", keyWrong, 429, "")
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

func TestHealthProbedAtMostOncePerInterval(t *testing.T) {
	var probes atomic.Int32
	var failing atomic.Bool
	f := newFixture(t, func(o *Options) {
		o.HealthInterval = 5 * time.Second
		o.Health = func(context.Context) error {
			probes.Add(1)
			if failing.Load() {
				return errors.Join(&PartError{Part: "state store", Err: errors.New("dial " + secret + ": refused")},
					&PartError{Part: "ssv", Err: errors.New("mainnet: 400 s behind")})
			}
			return nil
		}
	})
	now := time.Unix(1000, 0)
	var mu sync.Mutex
	f.api.health.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	var h struct {
		Status, Version, Error string
		Failing                []string
	}
	for i := 0; i < 20; i++ {
		f.getJSON("/healthz", "", 200, &h)
	}
	if h.Status != "ok" || h.Version != "test" {
		t.Errorf("healthz = %+v", h)
	}
	if n := probes.Load(); n != 1 {
		t.Fatalf("20 requests within an interval cost %d probes, want 1", n)
	}
	// The store fails: within the interval the last result stands, after it
	// /healthz turns 503, again at the cost of one probe.
	failing.Store(true)
	advance(4 * time.Second)
	f.getJSON("/healthz", "", 200, nil)
	advance(time.Second)
	for i := 0; i < 20; i++ {
		f.getJSON("/healthz", "", 503, &h)
	}
	// The answer names the failing parts, never their causes.
	if h.Status != "unavailable" || strings.Contains(h.Error, "hunter2") || strings.Contains(h.Error, "behind") ||
		h.Error != "unhealthy: state store, ssv; see the server log" || strings.Join(h.Failing, ",") != "state store,ssv" {
		t.Errorf("healthz with a failing store = %+v", h)
	}
	if n := probes.Load(); n != 2 {
		t.Fatalf("%d probes over two intervals, want 2", n)
	}
}

func TestMetricsCountRequests(t *testing.T) {
	f := newFixture(t)
	f.getJSON("/api/v1/testdom/testnet/items", "", 200, nil)
	f.getJSON("/api/v1/testdom/othernet/items", "", 200, nil)
	f.wantError("/api/v1/testdom/testnet/items?n=0", "", 400, "n")
	_, _, body := f.get("/metrics", "")
	for _, want := range []string{
		`valtrack_api_requests_total{code="200",route="/api/v1/testdom/{network}/items"} 2`,
		`valtrack_api_requests_total{code="400",route="/api/v1/testdom/{network}/items"} 1`,
		`valtrack_api_request_duration_seconds_count{route="/api/v1/testdom/{network}/items"} 3`,
		`valtrack_api_keys 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestGzip(t *testing.T) {
	f := newFixture(t)
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/api/v1/testdom/testnet/items?big=1", nil)
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
	if err != nil || !bytes.HasPrefix(body, []byte(`{"network":"testnet"`)) {
		t.Errorf("gunzipped body %.80s, err %v", body, err)
	}
	// A small body is sent as it is.
	_, h, _ := f.get("/api/v1/testdom/testnet/items", "")
	if h.Get("Content-Encoding") != "" || h.Get("Content-Length") == "" {
		t.Errorf("small body: Content-Encoding %q, Content-Length %q", h.Get("Content-Encoding"), h.Get("Content-Length"))
	}
	for h, want := range map[string]bool{"gzip": true, "deflate, gzip;q=0.5": true, "gzip;q=0": false, "gzip; q=0.000": false, "br": false, "*": true, "": false} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", h, got, want)
		}
	}
}

func TestOpenAPIDocument(t *testing.T) {
	var base struct {
		OpenAPI    string                    `yaml:"openapi"`
		Paths      map[string]map[string]any `yaml:"paths"`
		Components struct {
			Schemas map[string]any `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(baseOpenAPI, &base); err != nil {
		t.Fatalf("base openapi.yaml is not YAML: %v", err)
	}
	if base.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", base.OpenAPI)
	}
	// Every route this package serves itself is in the base document.
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	routes := regexp.MustCompile(`handle\("GET (/[^"]*)"`).FindAllStringSubmatch(string(src), -1)
	if len(routes) != 5 {
		t.Fatalf("found %d routes in routes.go, want 5", len(routes))
	}
	for _, m := range routes {
		path := strings.TrimSuffix(m[1], "{$}")
		if _, ok := base.Paths[path]["get"]; !ok {
			t.Errorf("route GET %s is not documented in openapi.yaml", path)
		}
	}
	f := newFixture(t)
	code, h, body := f.get("/openapi.yaml", "")
	if code != 200 || h.Get("Content-Type") != "application/yaml" || !bytes.Equal(body, f.api.OpenAPI()) {
		t.Fatalf("GET /openapi.yaml: %d %q, %d bytes", code, h.Get("Content-Type"), len(body))
	}
	var merged struct {
		Paths      map[string]map[string]any `yaml:"paths"`
		Tags       []struct{ Name string }   `yaml:"tags"`
		Components struct {
			Schemas map[string]any `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(body, &merged); err != nil {
		t.Fatal(err)
	}
	for p := range base.Paths {
		if merged.Paths[p] == nil {
			t.Errorf("merged document lost path %s", p)
		}
	}
	if merged.Paths["/api/v1/testdom/{network}/items"] == nil || merged.Components.Schemas["Items"] == nil ||
		merged.Components.Schemas["Error"] == nil || len(merged.Tags) != 2 || merged.Tags[1].Name != "testdom" {
		t.Errorf("fragment not merged: paths %v, tags %v", merged.Paths, merged.Tags)
	}
	// Every $ref of the merged document resolves.
	var tree any
	if err := yaml.Unmarshal(body, &tree); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if ref, ok := x.(string); ok && k == "$ref" {
					var at any = tree
					for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
						m, _ := at.(map[string]any)
						at = m[part]
					}
					if at == nil {
						t.Errorf("$ref %s does not resolve", ref)
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(tree)

	// Defining something twice is refused.
	for name, frag := range map[string]string{
		"path":      "paths:\n  /healthz: {get: {}}\n",
		"schema":    "components:\n  schemas:\n    Error: {type: object}\n",
		"parameter": "components:\n  parameters:\n    network: {name: network}\n",
		"tag":       "tags:\n  - name: service\n",
		"section":   "info: {title: mine}\n",
		"not yaml":  "paths: [",
	} {
		d := Domain{Name: "dup", OpenAPI: []byte(frag)}
		if _, err := New(Options{Log: slog.New(slog.DiscardHandler), Domains: []Domain{d}}); err == nil {
			t.Errorf("%s: a conflicting fragment was accepted", name)
		}
	}
	one := newTestDomain().domain()
	two := one
	two.Name, two.Mount, two.Page = "other", nil, Section{}
	if _, err := New(Options{Log: slog.New(slog.DiscardHandler), Domains: []Domain{one, two}}); err == nil ||
		!strings.Contains(err.Error(), "already defined") {
		t.Errorf("two domains defining the same path: err = %v", err)
	}
}

func TestIndexPageIsSelfContained(t *testing.T) {
	second := Domain{Name: "second", Page: Section{ID: "second", Title: "Second", HTML: `<p id="s2">two</p>`, Script: `const x = 1;`}}
	f := newFixture(t, func(o *Options) { o.Domains = append(o.Domains, second) })
	code, h, body := f.get("/", "")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %q", code, h.Get("Content-Type"))
	}
	page := string(body)
	first, other := strings.Index(page, `<section id="testdom" aria-label="Test &lt;domain&gt;">`), strings.Index(page, `<section id="second"`)
	if first < 0 || other < first {
		t.Errorf("sections missing or out of order (%d, %d):\n%s", first, other, page)
	}
	for _, want := range []string{`<p id="td">test section</p>`, `document.getElementById("td").textContent = "ran";`,
		`(() => {` + "\n" + `const x = 1;`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	if regexp.MustCompile(`(src|href)\s*=\s*["']?(https?:)?//`).MatchString(page) || strings.Contains(page, "@import") {
		t.Error("page loads an external asset")
	}
	if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("page without a restrictive CSP: %q", h.Get("Content-Security-Policy"))
	}
	for _, id := range []string{"Bad", "x y", "\"><script>", ""} {
		d := Domain{Name: "bad", Page: Section{ID: id, Title: "t"}}
		if _, err := New(Options{Log: slog.New(slog.DiscardHandler), Domains: []Domain{d}}); err == nil {
			t.Errorf("section id %q accepted", id)
		}
	}
}

func TestAdminOnSeparateHandler(t *testing.T) {
	for _, separate := range []bool{false, true} {
		f := newFixture(t, func(o *Options) { o.SeparateAdmin = separate })
		admin := httptest.NewServer(f.api.AdminHandler())
		t.Cleanup(admin.Close)
		for _, path := range []string{"/healthz", "/metrics"} {
			code, _, _ := f.get(path, "")
			if want := map[bool]int{false: 200, true: 404}[separate]; code != want {
				t.Errorf("SeparateAdmin=%v: public GET %s = %d, want %d", separate, path, code, want)
			}
			if code, _, _ := apitest.Get(t, admin, path, ""); code != 200 {
				t.Errorf("SeparateAdmin=%v: admin GET %s = %d, want 200", separate, path, code)
			}
		}
		// The admin handler serves nothing else, and the public one the rest.
		if code, h, _ := apitest.Get(t, admin, "/api/v1/networks", ""); code != 404 || h.Get("Content-Type") != "application/json" {
			t.Errorf("admin GET /api/v1/networks = %d %q, want a JSON 404", code, h.Get("Content-Type"))
		}
		f.getJSON("/api/v1/networks", "", 200, nil)
	}
}

func TestNetworksListsEveryDomain(t *testing.T) {
	second := Domain{Name: "second", Networks: NewNetworks(func() []string { return []string{"chain-1"} }, nil)}
	f := newFixture(t, func(o *Options) { o.Domains = append(o.Domains, second) })
	var r struct {
		Networks []networkView `json:"networks"`
	}
	f.getJSON("/api/v1/networks", "", 200, &r)
	want := []networkView{
		{Name: "configured-only", Domain: "testdom", Configured: true},
		{Name: testNet, Domain: "testdom", Configured: true, HasData: true},
		{Name: otherNet, Domain: "testdom", HasData: true},
		{Name: "chain-1", Domain: "second", Configured: true},
	}
	if fmt.Sprint(r.Networks) != fmt.Sprint(want) {
		t.Errorf("networks = %v, want %v", r.Networks, want)
	}
	// A domain resolves only its own networks.
	var items itemsResponse
	f.getJSON("/api/v1/testdom/configured-only/items", "", 200, &items)
	f.wantError("/api/v1/testdom/chain-1/items", "", 404, "network")
}

func TestNetworksCacheRefreshesOnMiss(t *testing.T) {
	var calls atomic.Int32
	stored := []string{"a"}
	n := NewNetworks(nil, func(context.Context) ([]string, error) { calls.Add(1); return stored, nil })
	now := time.Unix(0, 0)
	n.now = func() time.Time { return now }
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	resolve := func(name string) error {
		r.SetPathValue("network", name)
		_, err := n.Resolve(context.Background(), r)
		return err
	}
	for i := 0; i < 10; i++ {
		if err := resolve("a"); err != nil {
			t.Fatal(err)
		}
	}
	if calls.Load() != 1 {
		t.Fatalf("%d store queries for 10 lookups, want 1", calls.Load())
	}
	// A new network is found once the miss refresh allows it.
	stored = []string{"a", "b"}
	if err := resolve("b"); err == nil {
		t.Fatal("b resolved from a fresh cache that lacks it")
	}
	now = now.Add(networkMissRefresh)
	if err := resolve("b"); err != nil {
		t.Fatalf("b after the miss refresh: %v", err)
	}
	if ae, ok := AsError(resolve("bad name")); !ok || ae.Status != 404 || ae.Parameter != "network" {
		t.Errorf("a malformed name: %v", ae)
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
	dup := func(rt *Router) {
		rt.Handle("GET /x", "/x", true, nil)
		rt.Handle("GET /x", "/x", true, nil)
	}
	for name, o := range map[string]Options{
		"no log":          {},
		"negative rate":   {Log: log, RatePerIP: -1},
		"bad domain name": {Log: log, Domains: []Domain{{Name: "Eth/1"}}},
		"domain twice":    {Log: log, Domains: []Domain{{Name: "a"}, {Name: "a"}}},
		"route twice":     {Log: log, Domains: []Domain{{Name: "a", Mount: dup}}},
		"a shared route":  {Log: log, Domains: []Domain{{Name: "a", Mount: func(rt *Router) { rt.Handle("GET /healthz", "/healthz", false, nil) }}}},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	// Metrics registered twice into one registry is a configuration error.
	if _, err := New(Options{Log: log, Registry: f.api.o.Registry}); err == nil {
		t.Error("a second server on the same registry was accepted")
	}
}
