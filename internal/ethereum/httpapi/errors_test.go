package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/ethereum/state"
)

func TestBadParametersNameTheParameter(t *testing.T) {
	f := newFixture(t)
	const peers = "/api/v1/ethereum/testnet/peers"
	for _, tc := range []struct{ path, param string }{
		{"/validators?from=yesterday", "from"},
		{"/validators?to=-5", "to"},
		{"/validators?from=2000&to=1000", "from"},
		{"/validators?from=99999999999999", "from"},
		{"/validators?from=" + time.Now().Add(time.Hour).Format("2006-01-02T15:04:05Z"), "from"},
		{peers + "?min_validators=-1", "min_validators"},
		{peers + "?min_validators=many", "min_validators"},
		{peers + "?min_validators=99999999999", "min_validators"},
		{peers + "?subnet=64", "subnet"},
		{peers + "?subnet=-1", "subnet"},
		{peers + "?subnet=x", "subnet"},
		{peers + "?limit=0", "limit"},
		{peers + "?limit=1001", "limit"},
		{peers + "?limit=ten", "limit"},
		{peers + "?country=DEU", "country"},
		{peers + "?country=1X", "country"},
		{peers + "?asn=0", "asn"},
		{peers + "?asn=4294967296", "asn"},
		{peers + "?asn=ASx", "asn"},
		{peers + "?handshaken=maybe", "handshaken"},
		{peers + "?from=3000&to=2000", "from"},
		{peers + "?to=tomorrow", "to"},
		{peers + "?client=" + strings.Repeat("a", 65), "client"},
		{peers + "?client=a%00b", "client"},
		{peers + "?cursor=" + strings.Repeat("c", 513), "cursor"},
		{peers + "?a=%zz", "query"},
		{peers + "?cursor=not-a-cursor", "cursor"},
		{peers + "/16Uiu2HAmPeerAlpha?history_limit=0", "history_limit"},
		{peers + "/16Uiu2HAmPeerAlpha?history_limit=1001", "history_limit"},
		{"/api/v1/ethereum/testnet/stats?window=0s", "window"},
		{"/api/v1/ethereum/testnet/stats?window=-1h", "window"},
		{"/api/v1/ethereum/testnet/stats?window=367d", "window"},
		{"/api/v1/ethereum/testnet/stats?window=soon", "window"},
		{"/api/v1/ethereum/testnet/stats?window=NaNd", "window"},
	} {
		e := f.wantError(tc.path, "", 400, tc.param)
		if !strings.Contains(e.Error, tc.param) {
			t.Errorf("GET %s: error %q does not mention %s", tc.path, e.Error, tc.param)
		}
	}
	e := f.wantError(peers+"?min_validators=-1", "", 400, "min_validators")
	if e.Error != "min_validators must be a non-negative integer" {
		t.Errorf("min_validators error = %q", e.Error)
	}
}

func TestNotFound(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct{ path, param string }{
		{"/api/v1/ethereum/nosuchnet/peers", "network"},
		{"/api/v1/ethereum/nosuchnet/stats", "network"},
		{"/api/v1/ethereum/nosuchnet/peers/16Uiu2HAmPeerAlpha", "network"},
		{"/api/v1/ethereum/" + strings.Repeat("n", 100) + "/peers", "network"},
		{"/api/v1/ethereum/bad%20name/peers", "network"},
		{"/api/v1/ethereum/testnet/peers/16Uiu2HAmNoSuchPeer", "peer_id"},
		{"/api/v1/ethereum/testnet/peers/16Uiu2HAmPeerEcho", "peer_id"}, // exists, but in othernet
		{"/api/v1/ethereum/testnet/peers/not-a-peer-id!", "peer_id"},
		{"/no/such/endpoint", ""},
	} {
		f.wantError(tc.path, "", 404, tc.param)
	}
}

func TestMethodNotAllowedAndPreflight(t *testing.T) {
	f := newFixture(t)
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/validators", strings.NewReader("{}"))
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("POST /validators: %d %q, want 405 JSON", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	req, _ = http.NewRequest(http.MethodOptions, f.srv.URL+"/api/v1/ethereum/testnet/peers", nil)
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
	_, h, _ := f.get("/validators", "")
	if h.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("GET without CORS header: %v", h)
	}
}

// faultyStore injects failures into the real store.
type faultyStore struct {
	state.Store
	err   error
	panic bool
}

func (s faultyStore) ValidatorNodes(ctx context.Context, from, to time.Time) ([]state.Peer, error) {
	if s.panic {
		panic("injected")
	}
	return nil, s.err
}

func TestStoreFailureIsGeneric500(t *testing.T) {
	secret := "postgres://valtrack:hunter2-secret@db.internal/valtrack"
	f := newFixture(t)
	s, err := api.New(api.Options{Domains: []api.Domain{New(faultyStore{Store: f.st, err: errors.New("dial " + secret + ": refused")}, nil)},
		Health: func(context.Context) error { return errors.New("dial " + secret + ": refused") },
		Log:    slog.New(slog.NewTextHandler(f.logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	f.serve(s)
	_, _, body := f.get("/validators", "")
	e := f.wantError("/validators", "", 500, "")
	if strings.Contains(string(body), "hunter2") || e.Error != api.InternalErrorMessage {
		t.Errorf("500 body %s leaks the store error", body)
	}
	if !strings.Contains(f.logs.String(), "request failed") {
		t.Errorf("store failure not logged:\n%s", f.logs.String())
	}
	var h struct{ Status, Error string }
	f.getJSON("/healthz", "", 503, &h)
	if h.Status != "unavailable" || strings.Contains(h.Error, "hunter2") {
		t.Errorf("healthz with a failing store: %+v", h)
	}
}

func TestPanicBecomes500(t *testing.T) {
	f := newFixture(t)
	s, err := api.New(api.Options{Domains: []api.Domain{New(faultyStore{Store: f.st, panic: true}, nil)}, Log: slog.New(slog.NewTextHandler(f.logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	f.serve(s)
	f.wantError("/validators", "", 500, "")
	if !strings.Contains(f.logs.String(), "handler panicked") {
		t.Errorf("panic not logged:\n%s", f.logs.String())
	}
	// The server still serves.
	f.getJSON("/api/v1/networks", "", 200, nil)
}
