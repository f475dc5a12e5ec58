package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/api/apitest"
	"github.com/valtrack/valtrack/internal/ssv/registry"
	"github.com/valtrack/valtrack/internal/ssv/registry/registrytest"
)

const testNet = "testnet"

// The fixture registry: operators 1–4 (4 removed later: 5 is removed),
// validators 1–3 where 1 and 3 are the same key registered by two owners,
// two clusters, an invalid registration and a sync state.
var (
	ownerA = "0x1111111111111111111111111111111111111111"
	ownerB = "0xAbCdEfabCDEFaBcDEfAbcdEFABCdEfAbCdEfaBcD" // not checksummed on purpose: the fake compares case-insensitively
	keyX   = "0x" + strings.Repeat("aa", 48)
	keyY   = "0x" + strings.Repeat("bb", 48)
	keyZ   = "0x" + strings.Repeat("cc", 48)
)

func opKey(id uint64) string { return fmt.Sprintf("LS0tLS1CRUdJTiBSU0Eg%d", id) }

type fixture struct {
	t    *testing.T
	fake *registrytest.Fake
	srv  *httptest.Server
	h    *handlers
	log  *apitest.SyncBuffer
}

func fillRegistry(f *registrytest.Fake, network string) {
	for id := uint64(1); id <= 5; id++ {
		f.PutOperator(network, registry.Operator{ID: id, Owner: ownerA, PublicKey: opKey(id), Fee: "1000", ValidatorCount: 1, Removed: id == 5, AddedBlock: 10 + id, UpdatedBlock: 10 + id})
	}
	f.PutValidator(network, registry.Validator{Index: 1, PublicKey: keyX, Owner: ownerA, OperatorIDs: []uint64{1, 2, 3, 4}, ClusterID: "0xc1", Status: registry.StatusActive, AddedBlock: 20, UpdatedBlock: 20})
	f.PutValidator(network, registry.Validator{Index: 2, PublicKey: keyY, Owner: ownerA, OperatorIDs: []uint64{1, 2, 3, 4}, ClusterID: "0xc1", Status: registry.StatusExited, AddedBlock: 21, UpdatedBlock: 25})
	f.PutValidator(network, registry.Validator{Index: 3, PublicKey: keyX, Owner: ownerB, OperatorIDs: []uint64{2, 3, 4, 5}, ClusterID: "0xc2", Status: registry.StatusActive, Liquidated: true, AddedBlock: 22, UpdatedBlock: 22})
	f.PutValidator(network, registry.Validator{Index: 4, PublicKey: keyZ, Owner: ownerB, OperatorIDs: []uint64{2, 3, 4, 5}, ClusterID: "0xc2", Status: registry.StatusRemoved, AddedBlock: 23, UpdatedBlock: 24})
	f.PutCluster(network, registry.Cluster{ID: "0xc1", Owner: ownerA, OperatorIDs: []uint64{1, 2, 3, 4}, ValidatorCount: 2, Active: true, Balance: "5", UpdatedBlock: 25})
	f.PutCluster(network, registry.Cluster{ID: "0xc2", Owner: ownerB, OperatorIDs: []uint64{2, 3, 4, 5}, ValidatorCount: 1, Active: false, Balance: "0", UpdatedBlock: 22})
	f.PutOwner(network, registry.Owner{Address: ownerA, Nonce: 3, FeeRecipient: ownerB})
	f.PutOwner(network, registry.Owner{Address: ownerB, Nonce: 2})
	f.AddInvalid(network, registry.Invalid{Block: 26, TxHash: "0xdead", LogIndex: 1, Owner: ownerA, PublicKey: keyZ, Operators: []uint64{1, 2, 3}, Nonce: 2, Reason: "given operator count (3) cannot build a 3f+1 quorum"})
	f.SetSync(network, registry.Sync{Network: network, Contract: "0xDD9BC35aE942eF0cFa76930954a156B3fF30a4E1", LastBlock: 100, Head: 108, Mode: "ongoing",
		Endpoints:   []registry.Endpoint{{Name: "rpc-1", ChainID: 1, Head: 108, Healthy: true}, {Name: "rpc-2", ChainID: 1, Head: 90, Error: "connection refused"}},
		SkippedLogs: 1, Reorgs: 2, LastBlockTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), StatusAt: time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC)})
}

// newFixture serves the fixture registry with networks configured (nil:
// just testNet) and o.
func newFixture(t testing.TB, networks []string, o Options) *fixture {
	fake := registrytest.New()
	fillRegistry(fake, testNet)
	return newFixtureWith(t, fake, networks, o)
}

// newFixtureWith serves reader; the fixture's fake is reader when it is
// one.
func newFixtureWith(t testing.TB, reader registry.Reader, networks []string, o Options) *fixture {
	fake, _ := reader.(*registrytest.Fake)
	if networks == nil {
		networks = []string{testNet}
	}
	log := &apitest.SyncBuffer{}
	h := newHandlers(reader, func() []string { return networks }, o)
	s, err := api.New(api.Options{Log: slog.New(slog.NewTextHandler(log, nil)), Domains: []api.Domain{h.domain()}, CacheTTL: -1})
	if err != nil {
		t.Fatalf("api.New: %v", err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	tt, _ := t.(*testing.T)
	return &fixture{t: tt, fake: fake, srv: srv, h: h, log: log}
}

// dial opens a WebSocket to path on the fixture's server.
func dial(t testing.TB, srv *httptest.Server, path string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+path, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	if resp.Body != nil {
		resp.Body.Close()
	}
	c.SetReadLimit(16 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// ask sends one frame and returns the raw reply.
func ask(t testing.TB, c *websocket.Conn, frame string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		t.Fatalf("write %s: %v", frame, err)
	}
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read the reply to %s: %v", frame, err)
	}
	return string(b)
}
