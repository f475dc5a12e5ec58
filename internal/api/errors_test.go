package api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestBadParametersNameTheParameter(t *testing.T) {
	q := func(raw string) Query {
		v, err := url.ParseQuery(raw)
		if err != nil {
			t.Fatal(err)
		}
		return NewQuery(v)
	}
	for _, tc := range []struct {
		raw, param string
		get        func(Query) error
	}{
		{"from=yesterday", "from", func(q Query) error { _, _, err := q.TimeRange(); return err }},
		{"to=-5", "to", func(q Query) error { _, _, err := q.TimeRange(); return err }},
		{"from=2000&to=1000", "from", func(q Query) error { _, _, err := q.TimeRange(); return err }},
		{"from=99999999999999", "from", func(q Query) error { _, err := q.Instant("from"); return err }},
		{"m=-1", "m", func(q Query) error { _, err := q.NonNegInt("m"); return err }},
		{"m=many", "m", func(q Query) error { _, err := q.NonNegInt("m"); return err }},
		{"m=99999999999", "m", func(q Query) error { _, err := q.NonNegInt("m"); return err }},
		{"l=0", "l", func(q Query) error { _, err := q.IntRange("l", 1, 1, 10); return err }},
		{"l=11", "l", func(q Query) error { _, err := q.IntRange("l", 1, 1, 10); return err }},
		{"asn=0", "asn", func(q Query) error { _, err := q.ASN("asn"); return err }},
		{"asn=4294967296", "asn", func(q Query) error { _, err := q.ASN("asn"); return err }},
		{"asn=ASx", "asn", func(q Query) error { _, err := q.ASN("asn"); return err }},
		{"b=maybe", "b", func(q Query) error { _, err := q.Bool("b"); return err }},
		{"s=" + strings.Repeat("a", 65), "s", func(q Query) error { _, err := q.Str("s", 64); return err }},
		{"s=a%00b", "s", func(q Query) error { _, err := q.Str("s", 64); return err }},
		{"window=0s", "window", func(q Query) error { _, err := q.Window("window"); return err }},
		{"window=-1h", "window", func(q Query) error { _, err := q.Window("window"); return err }},
		{"window=367d", "window", func(q Query) error { _, err := q.Window("window"); return err }},
		{"window=soon", "window", func(q Query) error { _, err := q.Window("window"); return err }},
		{"window=NaNd", "window", func(q Query) error { _, err := q.Window("window"); return err }},
	} {
		ae, ok := AsError(tc.get(q(tc.raw)))
		if !ok || ae.Status != 400 || ae.Parameter != tc.param || !strings.Contains(ae.Message, tc.param) {
			t.Errorf("%s: %+v, want a 400 naming %s", tc.raw, ae, tc.param)
		}
	}
	if _, err := q("m=-1").NonNegInt("m"); err.Error() != "m must be a non-negative integer" {
		t.Errorf("NonNegInt error = %q", err)
	}
	// Absent parameters give defaults, valid ones their value.
	if w, err := q("").Window("window"); err != nil || w != DefaultWindow {
		t.Errorf("absent window = %v, %v", w, err)
	}
	if w, err := q("window=1.5d").Window("window"); err != nil || w != 36*time.Hour {
		t.Errorf("window=1.5d = %v, %v", w, err)
	}
	if n, err := q("asn=AS24940").ASN("asn"); err != nil || n != 24940 {
		t.Errorf("asn=AS24940 = %v, %v", n, err)
	}
	f := newFixture(t)
	f.wantError(itemsPath+"?n=11", "", 400, "n")
	f.wantError(itemsPath+"?a=%zz", "", 400, "query")
}

func TestNotFound(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct{ path, param string }{
		{"/api/v1/testdom/nosuchnet/items", "network"},
		{"/api/v1/testdom/" + strings.Repeat("n", 100) + "/items", "network"},
		{"/api/v1/testdom/bad%20name/items", "network"},
		{"/no/such/endpoint", ""},
	} {
		f.wantError(tc.path, "", 404, tc.param)
	}
}

func TestMethodNotAllowedAndPreflight(t *testing.T) {
	f := newFixture(t)
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+itemsPath, strings.NewReader("{}"))
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("POST: %d %q, want 405 JSON", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	req, _ = http.NewRequest(http.MethodOptions, f.srv.URL+itemsPath, nil)
	req.Header.Set("Origin", "https://dashboard.example")
	req.Header.Set("Access-Control-Request-Method", "GET")
	resp, err = f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), apiKeyHeader) {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	_, h, _ := f.get(itemsPath, "")
	if h.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("GET without CORS header: %v", h)
	}
}

func TestFailureIsGeneric500(t *testing.T) {
	f := newFixture(t)
	_, _, body := f.get("/api/v1/testdom/fail", "")
	e := f.wantError("/api/v1/testdom/fail", "", 500, "")
	if strings.Contains(string(body), "hunter2") || e.Error != InternalErrorMessage {
		t.Errorf("500 body %s leaks the error", body)
	}
	if !strings.Contains(f.logs.String(), "request failed") {
		t.Errorf("failure not logged:\n%s", f.logs.String())
	}
}

func TestPanicBecomes500(t *testing.T) {
	f := newFixture(t)
	f.wantError("/api/v1/testdom/panic", "", 500, "")
	if !strings.Contains(f.logs.String(), "handler panicked") {
		t.Errorf("panic not logged:\n%s", f.logs.String())
	}
	_, _, body := f.get("/metrics", "")
	if !strings.Contains(string(body), "valtrack_api_panics_total 1") {
		t.Error("panic not counted")
	}
	// The server still serves.
	f.getJSON("/api/v1/networks", "", 200, nil)
}
