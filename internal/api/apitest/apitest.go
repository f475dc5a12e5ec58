// Package apitest is what the tests of API routes share, in the api package
// and in the domains' route packages: GET helpers for JSON endpoints, the
// error shape every route answers with, and a log sink safe for the
// server's goroutines. It imports nothing of valtrack, so api's own tests
// can use it.
package apitest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// APIKeyHeader carries the API key (api's apiKeyHeader; a test there keeps
// the two equal).
const APIKeyHeader = "X-API-KEY"

// ErrorBody is the JSON shape of every error response.
type ErrorBody struct {
	Error     string `json:"error"`
	Parameter string `json:"parameter,omitempty"`
}

// SyncBuffer is a log sink shared by the server's goroutines.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Get performs a GET on srv with an optional API key and returns status,
// headers and body.
func Get(t testing.TB, srv *httptest.Server, path, key string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set(APIKeyHeader, key)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

// GetJSON GETs path, requires status want and a JSON body, and decodes it
// into v (unless nil).
func GetJSON(t testing.TB, srv *httptest.Server, path, key string, want int, v any) {
	t.Helper()
	code, h, body := Get(t, srv, path, key)
	if code != want {
		t.Fatalf("GET %s: status %d, want %d; body %s", path, code, want, body)
	}
	if ct := h.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("GET %s: Content-Type %q, want application/json", path, ct)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: decode %s: %v", path, body, err)
		}
	}
}

// WantError GETs path and requires a JSON error with the status, a message
// and the parameter named.
func WantError(t testing.TB, srv *httptest.Server, path, key string, status int, param string) ErrorBody {
	t.Helper()
	var e ErrorBody
	GetJSON(t, srv, path, key, status, &e)
	if e.Error == "" {
		t.Fatalf("GET %s: error body without a message", path)
	}
	if e.Parameter != param {
		t.Fatalf("GET %s: parameter %q, want %q (error %q)", path, e.Parameter, param, e.Error)
	}
	return e
}
