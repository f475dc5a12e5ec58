package ssv_test

import (
	"context"
	"math/big"
	"net/http/httptest"
	"reflect"
	gosync "sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/valtrack/valtrack/internal/ssv/abi"
	"github.com/valtrack/valtrack/internal/ssv/devnet"
	"github.com/valtrack/valtrack/internal/ssv/emitter"
	"github.com/valtrack/valtrack/internal/ssv/shares"
	"github.com/valtrack/valtrack/internal/ssv/sink"
	"github.com/valtrack/valtrack/internal/ssv/state"
	ssvsync "github.com/valtrack/valtrack/internal/ssv/sync"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

// simEnv is a real chain (go-ethereum's simulated backend) with the
// emitter deployed, served over JSON-RPC on 127.0.0.1, and the real sink
// on SQLite that the sentries it starts publish into, in publish order.
type simEnv struct {
	t           *testing.T
	ctx         context.Context
	b           *simulated.Backend
	rc          *rpc.Client
	id          *big.Int
	c           *simChain
	url         string // the JSON-RPC endpoint
	proxy       *ethProxy
	deployBlock uint64
	db          *store.DB
	pub         *sinkPublisher
	reg         *state.Store
	cursorDir   string
}

func newSimEnv(t *testing.T, ctx context.Context) *simEnv {
	t.Helper()
	key, err := crypto.ToECDSA(crypto.Keccak256([]byte("valtrack ssv reorg test")))
	if err != nil {
		t.Fatal(err)
	}
	from := crypto.PubkeyToAddress(key.PublicKey)
	b := simulated.NewBackend(types.GenesisAlloc{from: {Balance: new(big.Int).Lsh(big.NewInt(1), 128)}}, devnet.MinerAllowance)
	t.Cleanup(func() { b.Close() })
	// The backend's client is a struct embedding *ethclient.Client, whose
	// field name shadows ethclient's Client() method: reach the RPC client
	// through the (exported) embedded field.
	ec, ok := reflect.ValueOf(b.Client()).Field(0).Interface().(*ethclient.Client)
	if !ok {
		t.Fatalf("the simulated backend's client is %T, not a struct embedding *ethclient.Client", b.Client())
	}
	rc := ec.Client()
	id, err := b.Client().ChainID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e := &simEnv{t: t, ctx: ctx, b: b, rc: rc, id: id, cursorDir: t.TempDir()}
	e.c = &simChain{t: t, b: b, rc: rc, key: key, from: from, signer: types.LatestSignerForChainID(id), id: id}

	srv := rpc.NewServer()
	e.proxy = &ethProxy{c: rc}
	if err := srv.RegisterName("eth", e.proxy); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv) // 127.0.0.1
	t.Cleanup(func() { hs.Close(); srv.Stop() })
	e.url = hs.URL

	// The emitter.
	_, rs := e.c.block(emitter.Init)
	e.c.contract = rs[0].ContractAddress
	e.deployBlock = rs[0].BlockNumber.Uint64()

	e.db = storetest.SQLite(t, store.WithMigrations(state.Migrations()))
	sk, err := sink.New(sink.Config{DB: e.db, Check: shares.Check})
	if err != nil {
		t.Fatal(err)
	}
	e.pub = &sinkPublisher{sk: sk, db: e.db, blocks: map[uint64][]string{}}
	e.reg = state.New(e.db)
	return e
}

// start runs a sentry (its cursor in the env's cursor directory; mod, if
// not nil, changes its configuration); the returned function stops it and
// waits for Run to return.
func (e *simEnv) start(mod func(*ssvsync.Config)) (*ssvsync.Sentry, func()) {
	t := e.t
	t.Helper()
	cfg := ssvsync.Config{
		Network: reorgNet, Contract: e.c.contract, ChainID: e.id.Uint64(), FromBlock: e.deployBlock,
		RPCs: []string{e.url}, FollowDistance: 1, Decoder: abi.Decode, Publisher: e.pub, SentryID: "reorg-test",
		DataDir: e.cursorDir, PollEvery: 5 * time.Millisecond, RetryMin: 5 * time.Millisecond, RetryMax: 50 * time.Millisecond,
		RequestTimeout: 5 * time.Second, StatusEvery: time.Hour,
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := ssvsync.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	var once gosync.Once
	wait := func() {
		once.Do(func() {
			stop()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("sentry: %v", err)
				}
			case <-time.After(waitTimeout):
				t.Errorf("sentry did not stop within %s", waitTimeout)
			}
		})
	}
	t.Cleanup(wait)
	return s, wait
}
