package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/valtrack/valtrack/internal/api/apitest"
)

// Test keys: long enough to be accepted, distinctive enough to grep logs for.
const (
	keyAlice = "alice-9f8e7d6c5b4a39281706"
	keyBob   = "bob-0a1b2c3d4e5f60718293"
	keyWrong = "wrong-5566778899aabbccdd"
	testNet  = "testnet"
	otherNet = "othernet"
	// secret stands for what a store error may carry (a DSN with a password).
	secret = "postgres://valtrack:hunter2-secret@db.internal/valtrack"
)

// testDomain is a tiny domain that exercises what real domains use: a
// network-scoped route, the cache, failures, a panic and a WebSocket echo.
type testDomain struct {
	rt        *Router
	nets      *Networks
	computed  atomic.Int32 // cache computations
	wsMax     int
	wsStarted chan struct{} // one send per echo connection accepted
}

const testFragment = `tags:
  - name: testdom
paths:
  /api/v1/testdom/{network}/items:
    get:
      tags: [testdom]
      parameters:
        - $ref: "#/components/parameters/network"
      responses:
        "200": {description: Items., content: {application/json: {schema: {$ref: "#/components/schemas/Items"}}}}
        "404": {$ref: "#/components/responses/NotFound"}
components:
  schemas:
    Items: {type: object}
`

func newTestDomain() *testDomain {
	return &testDomain{
		nets: NewNetworks(func() []string { return []string{"configured-only", testNet} },
			func(context.Context) ([]string, error) { return []string{testNet, otherNet}, nil }),
		wsMax:     2,
		wsStarted: make(chan struct{}, 16),
	}
}

func (d *testDomain) domain() Domain {
	return Domain{Name: "testdom", Mount: d.mount, OpenAPI: []byte(testFragment), Networks: d.nets,
		Page: Section{ID: "testdom", Title: "Test <domain>", HTML: `<p id="td">test section</p>`,
			Script: `document.getElementById("td").textContent = "ran";`}}
}

func (d *testDomain) mount(rt *Router) {
	d.rt = rt
	rt.Handle("GET /api/v1/testdom/{network}/items", "/api/v1/testdom/{network}/items", true, d.items)
	rt.Handle("GET /api/v1/testdom/cached", "/api/v1/testdom/cached", true, d.cached)
	rt.Handle("GET /api/v1/testdom/fail", "/api/v1/testdom/fail", true, func(http.ResponseWriter, *http.Request, Caller) error {
		return errors.New("dial " + secret + ": refused")
	})
	rt.Handle("GET /api/v1/testdom/panic", "/api/v1/testdom/panic", true, func(http.ResponseWriter, *http.Request, Caller) error {
		panic("injected")
	})
	rt.HandleWebSocket("GET /api/v1/testdom/echo", "/api/v1/testdom/echo", WSOptions{Limited: true, MaxConns: d.wsMax}, d.echo)
}

type itemsResponse struct {
	Network string `json:"network"`
	Admin   bool   `json:"admin"`
	N       int    `json:"n"`
	Pad     string `json:"pad,omitempty"`
}

func (d *testDomain) items(w http.ResponseWriter, r *http.Request, c Caller) error {
	ctx, cancel := d.rt.QueryContext(r)
	defer cancel()
	q, err := ParseQuery(r)
	if err != nil {
		return err
	}
	network, err := d.nets.Resolve(ctx, r)
	if err != nil {
		return err
	}
	n, err := q.IntRange("n", 1, 1, 10)
	if err != nil {
		return err
	}
	resp := itemsResponse{Network: network, Admin: c.Admin, N: n}
	if q.Has("big") {
		resp.Pad = strings.Repeat("x", 2*gzipMinBytes)
	}
	return WriteJSON(w, r, http.StatusOK, resp)
}

func (d *testDomain) cached(w http.ResponseWriter, r *http.Request, c Caller) error {
	q, err := ParseQuery(r)
	if err != nil {
		return err
	}
	body, err := d.rt.Cache().Get(r.Context(), CacheKey("testdom", c.Admin, q, "n"), func() ([]byte, error) {
		return MarshalJSON(map[string]int32{"computed": d.computed.Add(1)})
	})
	if err != nil {
		return err
	}
	WriteBody(w, r, http.StatusOK, "application/json", body)
	return nil
}

// echo sends every message back until the client closes.
func (d *testDomain) echo(ctx context.Context, conn *websocket.Conn, _ Caller) error {
	d.wsStarted <- struct{}{}
	for {
		typ, msg, err := conn.Read(ctx)
		if err != nil {
			return err
		}
		if err := conn.Write(ctx, typ, msg); err != nil {
			return err
		}
	}
}

type fixture struct {
	t       *testing.T
	srv     *httptest.Server
	api     *Server
	dom     *testDomain
	logs    *syncBuffer
	keyFile string
}

func newFixture(t *testing.T, opts ...func(*Options)) *fixture {
	t.Helper()
	f := &fixture{t: t, logs: &syncBuffer{}, dom: newTestDomain()}
	f.keyFile = filepath.Join(t.TempDir(), "keys")
	f.writeKeys("# operators\nalice:" + keyAlice + "\n")
	o := Options{
		Log:                slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		KeysFile:           f.keyFile,
		Domains:            []Domain{f.dom.domain()},
		Version:            "test",
		KeysReloadInterval: time.Nanosecond,
	}
	for _, opt := range opts {
		opt(&o)
	}
	var err error
	f.api, err = New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.srv = httptest.NewServer(f.api.Handler())
	srv := f.srv
	t.Cleanup(func() {
		srv.Close()
		// Whatever a test did, no key may have reached the logs.
		logs := f.logs.String()
		for _, k := range []string{keyAlice, keyBob, keyWrong} {
			if strings.Contains(logs, k) {
				t.Errorf("an API key appears in the logs:\n%s", logs)
			}
		}
	})
	return f
}

// writeKeys replaces the keys file atomically, as an operator's tooling would.
func (f *fixture) writeKeys(content string) {
	f.t.Helper()
	tmp := f.keyFile + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Rename(tmp, f.keyFile); err != nil {
		f.t.Fatal(err)
	}
}

type syncBuffer = apitest.SyncBuffer

// get performs a GET with an optional API key and returns status, headers and body.
func (f *fixture) get(path, key string) (int, http.Header, []byte) {
	f.t.Helper()
	return apitest.Get(f.t, f.srv, path, key)
}

// getJSON GETs path, requires status want and decodes the body into v.
func (f *fixture) getJSON(path, key string, want int, v any) {
	f.t.Helper()
	apitest.GetJSON(f.t, f.srv, path, key, want, v)
}

// wantError GETs path and requires a JSON error with status and parameter.
func (f *fixture) wantError(path, key string, status int, param string) apitest.ErrorBody {
	f.t.Helper()
	return apitest.WantError(f.t, f.srv, path, key, status, param)
}

// The shared helpers agree with the server on the key header and the error
// shape.
func TestAPITestMatchesTheServer(t *testing.T) {
	if apitest.APIKeyHeader != apiKeyHeader {
		t.Errorf("apitest.APIKeyHeader %q, the server reads %q", apitest.APIKeyHeader, apiKeyHeader)
	}
	a, _ := json.Marshal(errorBody{Error: "e", Parameter: "p"})
	b, _ := json.Marshal(apitest.ErrorBody{Error: "e", Parameter: "p"})
	if string(a) != string(b) {
		t.Errorf("apitest.ErrorBody encodes as %s, the server's errors as %s", b, a)
	}
}
