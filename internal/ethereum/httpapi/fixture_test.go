package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/api/apitest"
	"github.com/valtrack/valtrack/internal/ethereum/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

// Test keys: long enough to be accepted, distinctive enough to grep logs for.
const (
	keyAlice = "alice-9f8e7d6c5b4a39281706"
	keyBob   = "bob-0a1b2c3d4e5f60718293"
	keyWrong = "wrong-5566778899aabbccdd"
	// apiKeyHeader carries the API key, as in Valtrack.
	apiKeyHeader = "X-API-KEY"
	testNet      = "testnet"
	otherNet     = "othernet"
)

type fixture struct {
	t       *testing.T
	srv     *httptest.Server
	api     *api.Server
	db      *store.DB
	st      state.Store
	logs    *syncBuffer
	keyFile string
	peers   map[string]testPeer
}

// testPeer is what the fixture wrote for one peer.
type testPeer struct {
	id, network, client, enr, maddr, ip, country string
	port                                         int
	asn                                          uint32
	lat, lon                                     float64
	subnets                                      []int64
	validators                                   int // 0: no estimate
	confidence                                   float64
	handshaken                                   bool
	seen                                         time.Time
}

// base is the fixture's reference time: recent, so default windows see it.
var fixtureBase = time.Now().UTC().Add(-time.Hour).Truncate(time.Second)

// fixturePeers: addresses are from the documentation ranges (RFC 5737);
// nothing is ever dialed.
func fixturePeers() []testPeer {
	return []testPeer{
		{id: "16Uiu2HAmPeerAlpha", network: testNet, client: "lighthouse", ip: "192.0.2.1", port: 9000,
			country: "DE", asn: 24940, lat: 50.4779, lon: 12.3713, subnets: []int64{1, 2},
			validators: 4, confidence: 0.8, handshaken: true, seen: fixtureBase},
		{id: "16Uiu2HAmPeerBravo", network: testNet, client: "prysm", ip: "192.0.2.2", port: 13000,
			country: "US", asn: 16509, lat: 39.0437, lon: -77.4875, subnets: []int64{5},
			validators: 1, confidence: 0.5, handshaken: true, seen: fixtureBase.Add(-2 * time.Hour)},
		{id: "16Uiu2HAmPeerCharlie", network: testNet, client: "teku", ip: "192.0.2.3", port: 9001,
			country: "DE", asn: 24940, lat: 52.5200, lon: 13.4050, subnets: []int64{7},
			handshaken: true, seen: fixtureBase.Add(-30 * time.Minute)},
		{id: "16Uiu2HAmPeerDelta", network: testNet, ip: "192.0.2.4", port: 9002,
			country: "FR", asn: 16276, lat: 48.8566, lon: 2.3522, seen: fixtureBase.Add(-10 * time.Minute)},
		{id: "16Uiu2HAmPeerEcho", network: otherNet, client: "nimbus", ip: "198.51.100.5", port: 9000,
			country: "JP", asn: 2516, lat: 35.6895, lon: 139.6917, subnets: []int64{9},
			validators: 2, confidence: 0.9, handshaken: true, seen: fixtureBase},
	}
}

// fixtureOpt adjusts the server's options; configured lists the Ethereum
// domain's configured networks.
type fixtureOpt func(o *api.Options, configured *[]string)

func newFixture(t *testing.T, opts ...fixtureOpt) *fixture {
	t.Helper()
	db := storetest.SQLite(t, store.WithMigrations(state.Migrations()))
	st := state.New(db)
	f := &fixture{t: t, db: db, st: st, logs: &syncBuffer{}, peers: map[string]testPeer{}}
	f.keyFile = filepath.Join(t.TempDir(), "keys")
	f.writeKeys("# operators\nalice:" + keyAlice + "\n")
	for _, p := range fixturePeers() {
		f.peers[p.id] = p
	}
	fillFixture(t, st, fixturePeers())

	configured := []string{"configured-only", testNet}
	o := api.Options{
		Health:             db.Ping,
		Log:                slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		KeysFile:           f.keyFile,
		Version:            "test",
		KeysReloadInterval: time.Nanosecond,
	}
	for _, opt := range opts {
		opt(&o, &configured)
	}
	o.Domains = []api.Domain{New(st, func() []string { return configured })}
	var err error
	f.api, err = api.New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.srv = httptest.NewServer(f.api.Handler())
	first := f.srv
	t.Cleanup(func() {
		first.Close()
		db.Close()
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

func fillFixture(t testing.TB, st state.Store, peers []testPeer) {
	t.Helper()
	ctx := context.Background()
	var b state.Batch
	var infos []state.IPInfo
	var ests []state.Estimate
	for i, p := range peers {
		nodeID := fmt.Sprintf("%064x", i+1)
		enr := "enr:-test-" + p.id
		maddr := fmt.Sprintf("/ip4/%s/tcp/%d/p2p/%s", p.ip, p.port, p.id)
		b.Discoveries = append(b.Discoveries, state.Discovery{Network: p.network, NodeID: nodeID, PeerID: p.id,
			ENR: enr, ENRSeq: 1, IP: p.ip, Port: p.port, ForkDigest: "0x01020304", Attnets: "0x0000000000000000",
			Syncnets: "0x00", SameNetwork: true, SentryID: "s1", Time: p.seen.Add(-time.Minute),
			MsgID: "d-" + p.id})
		if p.handshaken {
			for j, ago := range []time.Duration{5 * time.Minute, 0} {
				b.Observations = append(b.Observations, state.Observation{Network: p.network, PeerID: p.id,
					NodeID: nodeID, ENR: enr, Multiaddr: maddr, IP: p.ip, Port: p.port, Direction: "outbound",
					Epoch: 1000 + uint64(j), HeadSlot: 32000 + uint64(j), ForkDigest: "0x01020304", Seq: 3,
					Attnets: "0x0000000000000000", Syncnets: "0x00", SubscribedSubnets: p.subnets,
					ClientVersion: p.client + "/v1.0.0", ClientName: p.client, ClientVersionNum: "1.0.0",
					SentryID: "s1", Time: p.seen.Add(-ago), MsgID: fmt.Sprintf("o-%s-%d", p.id, j)})
			}
			for j, sn := range p.subnets {
				b.Subscriptions = append(b.Subscriptions, state.SubscriptionChange{Network: p.network,
					PeerID: p.id, Kind: "attestation", Subnet: int(sn), Subscribed: true, Epoch: 1000,
					SentryID: "s1", Time: p.seen.Add(-time.Minute), MsgID: fmt.Sprintf("s-%s-%d", p.id, j)})
			}
		}
		infos = append(infos, state.IPInfo{IP: p.ip, Country: countryName(p.country), CountryCode: p.country,
			Region: "Region " + p.country, City: "City " + p.country, Latitude: p.lat, Longitude: p.lon,
			ASN: p.asn, ASOrganization: fmt.Sprintf("AS%d Org", p.asn), Class: "hosting", UpdatedAt: p.seen})
		if p.validators > 0 {
			ests = append(ests, state.Estimate{Network: p.network, PeerID: p.id, Validators: p.validators,
				Low: p.validators, High: p.validators + 1, Confidence: p.confidence, Method: "aggregation",
				Heuristic: p.validators, Epochs: 3, UpdatedAt: p.seen})
		}
	}
	if err := st.Apply(ctx, b); err != nil {
		t.Fatalf("store.Apply: %v", err)
	}
	if err := st.PutIPInfo(ctx, infos); err != nil {
		t.Fatalf("store.PutIPInfo: %v", err)
	}
	if err := st.PutEstimates(ctx, ests); err != nil {
		t.Fatalf("store.PutEstimates: %v", err)
	}
}

func countryName(code string) string {
	return map[string]string{"DE": "Germany", "US": "United States", "FR": "France", "JP": "Japan"}[code]
}

// serve points the fixture's requests at another server over the same store.
func (f *fixture) serve(s *api.Server) {
	f.api = s
	srv := httptest.NewServer(s.Handler())
	f.t.Cleanup(srv.Close)
	f.srv = srv
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

type (
	syncBuffer = apitest.SyncBuffer
	errorBody  = apitest.ErrorBody
)

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
func (f *fixture) wantError(path, key string, status int, param string) errorBody {
	f.t.Helper()
	return apitest.WantError(f.t, f.srv, path, key, status, param)
}
