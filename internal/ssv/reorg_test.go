package ssv_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient/simulated"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/ssv/abi"
	"github.com/valtrack/valtrack/internal/ssv/emitter"
	"github.com/valtrack/valtrack/internal/ssv/events"
	"github.com/valtrack/valtrack/internal/ssv/registry"
	"github.com/valtrack/valtrack/internal/ssv/shares"
	"github.com/valtrack/valtrack/internal/ssv/sink"
	"github.com/valtrack/valtrack/internal/ssv/state"
	ssvsync "github.com/valtrack/valtrack/internal/ssv/sync"
	"github.com/valtrack/valtrack/internal/store"
)

// The reorg test: go-ethereum's simulated backend (a real chain: node,
// eth service, catalyst's simulated beacon) forks; the real sentry follows
// it over JSON-RPC on 127.0.0.1 and publishes into the real sink on
// SQLite; after the reorg nothing of the abandoned branch survives.

const reorgNet = "reorgnet"

// waitTimeout bounds every wait of the test.
const waitTimeout = 20 * time.Second

// ethProxy serves the simulated backend's in-process RPC client over an
// rpc.Server (the backend does not expose its node's HTTP endpoint): the
// eth_ methods the sentry calls, passed through as they are.
type ethProxy struct {
	c *rpc.Client
	// onHeader, when set, runs before each eth_getBlockByNumber is passed
	// on, with the block number asked (a test's hook into the sentry's
	// reads).
	onHeader atomic.Pointer[func(n uint64)]
}

func (p *ethProxy) call(ctx context.Context, method string, args ...any) (json.RawMessage, error) {
	var out json.RawMessage
	if err := p.c.CallContext(ctx, &out, method, args...); err != nil {
		return nil, err
	}
	if out == nil {
		out = json.RawMessage("null")
	}
	return out, nil
}

// ChainId is eth_chainId (rpc.Server lower-cases the first letter only).
func (p *ethProxy) ChainId(ctx context.Context) (json.RawMessage, error) {
	return p.call(ctx, "eth_chainId")
}

func (p *ethProxy) BlockNumber(ctx context.Context) (json.RawMessage, error) {
	return p.call(ctx, "eth_blockNumber")
}

func (p *ethProxy) GetBlockByNumber(ctx context.Context, n json.RawMessage, full bool) (json.RawMessage, error) {
	if f := p.onHeader.Load(); f != nil {
		var num hexutil.Uint64
		if json.Unmarshal(n, &num) == nil {
			(*f)(uint64(num))
		}
	}
	return p.call(ctx, "eth_getBlockByNumber", n, full)
}

func (p *ethProxy) GetLogs(ctx context.Context, filter json.RawMessage) (json.RawMessage, error) {
	return p.call(ctx, "eth_getLogs", filter)
}

func (p *ethProxy) GetBlockReceipts(ctx context.Context, block json.RawMessage) (json.RawMessage, error) {
	return p.call(ctx, "eth_getBlockReceipts", block)
}

// simChain sends emitter calls from a funded account and commits blocks.
type simChain struct {
	t        *testing.T
	b        *simulated.Backend
	rc       *rpc.Client
	key      *ecdsa.PrivateKey
	from     common.Address
	signer   types.Signer
	id       *big.Int
	nonce    uint64
	contract common.Address
}

// block commits a block holding one transaction per calldata (to the
// emitter; nil contract: a deployment) and returns its header and
// receipts, each checked to have succeeded.
func (c *simChain) block(calls ...[]byte) (*types.Header, []*types.Receipt) {
	c.t.Helper()
	ctx := context.Background()
	var txs []*types.Transaction
	for _, in := range calls {
		var to *common.Address
		gas := uint64(300_000)
		if c.contract != (common.Address{}) {
			to, gas = &c.contract, emitter.Gas(in)
		}
		tx := types.MustSignNewTx(c.key, c.signer, &types.DynamicFeeTx{
			ChainID: c.id, Nonce: c.nonce, To: to, Data: in, Gas: gas,
			GasTipCap: big.NewInt(params.GWei), GasFeeCap: big.NewInt(1000 * params.GWei),
		})
		if err := c.b.Client().SendTransaction(ctx, tx); err != nil {
			c.t.Fatalf("send transaction %d: %v", c.nonce, err)
		}
		c.nonce++
		txs = append(txs, tx)
	}
	// The pool promotes sent transactions to pending in the background,
	// and Commit seals what is pending (its Sync waits for the pool's head
	// reset, not for the promotion): wait until the pool's pending nonce
	// covers every transaction sent, or a loaded machine seals a block
	// with some left out.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		n, err := c.b.Client().PendingNonceAt(ctx, c.from)
		if err != nil {
			c.t.Fatalf("pending nonce: %v", err)
		}
		if n >= c.nonce {
			break
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the pool holds nonces up to %d pending, %d were sent", n, c.nonce)
		}
	}
	hash := c.b.Commit()
	h, err := c.b.Client().HeaderByHash(ctx, hash)
	if err != nil {
		c.t.Fatalf("read the committed block %s: %v", hash, err)
	}
	var rs []*types.Receipt
	if err := c.rc.CallContext(ctx, &rs, "eth_getBlockReceipts", hash); err != nil {
		c.t.Fatalf("receipts of block %d: %v", h.Number, err)
	}
	if len(rs) != len(txs) {
		c.t.Fatalf("block %d holds %d transactions, %d were sent", h.Number, len(rs), len(txs))
	}
	for i, r := range rs {
		if r.TxHash != txs[i].Hash() || r.Status != types.ReceiptStatusSuccessful {
			c.t.Fatalf("block %d transaction %d: %s status %d, want %s successful", h.Number, i, r.TxHash, r.Status, txs[i].Hash())
		}
		if c.contract != (common.Address{}) && (len(r.Logs) != 1 || r.Logs[0].Address != c.contract) {
			c.t.Fatalf("block %d transaction %d: %d logs, want one of the emitter", h.Number, i, len(r.Logs))
		}
	}
	return h, rs
}

// event is the emitter calldata of one SSVNetwork event.
func event(t *testing.T, name string, args map[string]any) []byte {
	t.Helper()
	topics, data, err := abi.Encode(name, args)
	if err != nil {
		t.Fatalf("encode %s: %v", name, err)
	}
	in, err := emitter.Calldata(topics, data)
	if err != nil {
		t.Fatalf("calldata %s: %v", name, err)
	}
	return in
}

func cluster(count uint32, active bool, balance int64) map[string]any {
	return map[string]any{"validatorCount": count, "networkFeeIndex": uint64(0), "index": uint64(0), "active": active, "balance": big.NewInt(balance)}
}

// sinkPublisher applies every published event to the sink at once, in
// publish order (one batch per event, as a consumer with batches of one).
type sinkPublisher struct {
	sk *sink.Sink
	db *store.DB

	mu     gosync.Mutex
	err    error
	reorgs []*events.Reorg
	blocks map[uint64][]string // block markers by number: hashes, in order
}

func (p *sinkPublisher) Publish(ctx context.Context, subject, msgID string, data []byte) error {
	parts := strings.Split(subject, ".")
	if len(parts) != 3 || parts[0] != events.Domain {
		return fmt.Errorf("subject %q", subject)
	}
	network, kind := parts[1], parts[2]
	p.mu.Lock()
	defer p.mu.Unlock()
	v, err := p.sk.Decode(kind, data)
	if err == nil {
		err = p.sk.Apply(ctx, []consumer.Event{{Network: network, Kind: kind, MsgID: msgID, Value: v}})
	}
	if err != nil {
		if p.err == nil && ctx.Err() == nil {
			p.err = fmt.Errorf("%s %s: %w", subject, msgID, err)
		}
		return nil // recorded; the test fails on it
	}
	switch ev := v.(type) {
	case *events.Reorg:
		p.reorgs = append(p.reorgs, ev)
	case *events.Block:
		p.blocks[ev.Number] = append(p.blocks[ev.Number], ev.Hash)
	}
	return nil
}

func (p *sinkPublisher) failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// waitProcessed waits until the sentry has published block n and the
// sink has applied it with this hash.
func waitProcessed(t *testing.T, pub *sinkPublisher, s *ssvsync.Sentry, reg *state.Store, n uint64, hash common.Hash) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		if err := pub.failed(); err != nil {
			t.Fatalf("sink: %v", err)
		}
		st := s.Stats()
		sy, err := reg.Sync(context.Background(), reorgNet)
		if err != nil {
			t.Fatal(err)
		}
		if st.Processed >= int64(n) && sy != nil && sy.LastBlock >= n && blockHash(pub.db, n) == hash.Hex() {
			return
		}
		if time.Now().After(deadline) {
			last, held := uint64(0), "nothing held"
			if sy != nil {
				last = sy.LastBlock
				if sy.Held != nil {
					held = fmt.Sprintf("block %d held (%d of %d events)", sy.Held.Block, sy.Held.Received, sy.Held.Announced)
				}
			}
			t.Fatalf("block %d (%s) not processed within %s: sentry processed %d (head %d, mode %s), sink at %d with its block %d %s, %s", n, hash.Hex(), waitTimeout, st.Processed, st.Head, st.Mode, last, n, blockHash(pub.db, n), held)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// blockHash is the hash of block n in ssv_blocks, "" when absent.
func blockHash(db *store.DB, n uint64) string {
	var h string
	q := db.Query().SQL("SELECT hash FROM ssv_blocks WHERE network = ").Arg(reorgNet).SQL(" AND number = ").Arg(store.U64(n))
	if err := db.Reader().QueryRow(q.String(), q.Args()...).Scan(&h); err != nil {
		return ""
	}
	return h
}

// TestReorgOnSimulatedChain: the sentry follows the chain through the
// fork (live: the new branch's block's parent is not the processed one);
// "restart": the sentry is down during the fork and resumes from its
// cursor (history: the last processed block's hash changed). "deep": the
// fork is older than every block hash the sentry keeps (follow distance +
// sync.KeepExtra), so its fork point is unknown: the registry is rolled
// back to the start block and synced again from there.
func TestReorgOnSimulatedChain(t *testing.T) {
	t.Run("live", func(t *testing.T) { testReorg(t, false, false) })
	t.Run("restart", func(t *testing.T) { testReorg(t, true, false) })
	t.Run("deep live", func(t *testing.T) { testReorg(t, false, true) })
	t.Run("deep restart", func(t *testing.T) { testReorg(t, true, true) })
}

func testReorg(t *testing.T, restart, deep bool) {
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	env := newSimEnv(t, ctx)
	b, rc, c, db, pub, reg := env.b, env.rc, env.c, env.db, env.pub, env.reg
	start := func() (*ssvsync.Sentry, func()) { return env.start(nil) }
	sentry, stopSentry := start()

	// The common history: operators 1..4, then F: validator A.
	owner := common.HexToAddress("0x000000000000000000000000000000000000a11c")
	opsIDs := []uint64{1, 2, 3, 4}
	var opCalls [][]byte
	for id := uint64(1); id <= 4; id++ {
		opCalls = append(opCalls, event(t, "OperatorAdded", map[string]any{
			"operatorId": id, "owner": owner, "publicKey": fmt.Sprintf("LS0tLS1CRUdJTiBSU0EgUFVCTElDIEtFWS0tLS0t%d", id), "fee": big.NewInt(1000),
		}))
	}
	c.block(opCalls...)
	validator := func(seed string, nonce uint64, count uint32) ([]byte, []byte) {
		sk, err := shares.GenerateKey(crypto.Keccak256([]byte("valtrack ssv reorg test " + seed)))
		if err != nil {
			t.Fatal(err)
		}
		sh, err := shares.Build(sk, owner, nonce, len(opsIDs))
		if err != nil {
			t.Fatal(err)
		}
		return sk.PublicKey(), event(t, "ValidatorAdded", map[string]any{
			"owner": owner, "operatorIds": opsIDs, "publicKey": sk.PublicKey(), "shares": sh, "cluster": cluster(count, true, 1e18),
		})
	}
	keyA, callA := validator("validator A", 0, 1)
	keyB, callB := validator("validator B", 1, 2)
	keyC, callC := validator("validator C", 1, 2) // the owner's nonce 1 again, on the other branch
	hF, _ := c.block(callA)
	F := hF.Number.Uint64()
	nonceF := c.nonce

	// The branch to be abandoned: B, A's cluster liquidated, operator 4
	// removed; two more blocks so that the sentry processes all three.
	old := map[uint64]common.Hash{}
	oldTx := map[common.Hash]bool{}
	for _, in := range [][]byte{
		callB,
		event(t, "ClusterLiquidated", map[string]any{"owner": owner, "operatorIds": opsIDs, "cluster": cluster(2, false, 0)}),
		event(t, "OperatorRemoved", map[string]any{"operatorId": uint64(4)}),
	} {
		h, rs := c.block(in)
		old[h.Number.Uint64()] = h.Hash()
		oldTx[rs[0].TxHash] = true
	}
	// Empty blocks after them: two, or, for a deep reorg, enough that the
	// fork is older than every kept hash (1 + KeepExtra with follow
	// distance 1).
	extra := 2
	if deep {
		extra = 1 + ssvsync.KeepExtra + 3
	}
	for range extra {
		h, _ := c.block()
		old[h.Number.Uint64()] = h.Hash()
	}
	oldHead := F + 3 + uint64(extra)
	waitProcessed(t, pub, sentry, reg, oldHead-1, old[oldHead-1])
	if restart {
		stopSentry()
	}
	// The old branch is in the registry: the premise of the test.
	if v, _ := reg.ValidatorsByKey(ctx, reorgNet, hexutil.Encode(keyB)); len(v) != 1 || v[0].Status != registry.StatusActive {
		t.Fatalf("old branch: validator B = %+v, want one active", v)
	}
	if op, _ := reg.Operator(ctx, reorgNet, 4); op == nil || !op.Removed {
		t.Fatalf("old branch: operator 4 = %+v, want removed", op)
	}
	if cl, _ := reg.Clusters(ctx, reorgNet, registry.ClusterFilter{}); len(cl) != 1 || cl[0].Active {
		t.Fatalf("old branch: clusters = %+v, want A's liquidated", cl)
	}

	// The fork: back to F; the pool's re-injected old transactions are
	// dropped; the new branch holds C and is longer than the old one.
	if err := b.Fork(hF.Hash()); err != nil {
		t.Fatalf("fork at block %d: %v", F, err)
	}
	b.Rollback()
	b.Rollback() // a re-injection that raced the first clear
	var status struct{ Pending, Queued hexutil.Uint }
	if err := rc.CallContext(ctx, &status, "txpool_status"); err != nil {
		t.Fatal(err)
	}
	if status.Pending+status.Queued != 0 {
		t.Fatalf("after the fork the pool holds %d pending and %d queued transactions", status.Pending, status.Queued)
	}
	c.nonce = nonceF
	newB := map[uint64]common.Hash{}
	hC, rsC := c.block(callC)
	if hC.Number.Uint64() != F+1 || hC.ParentHash != hF.Hash() {
		t.Fatalf("the new branch's first block is %d with parent %s, want %d on %s", hC.Number, hC.ParentHash, F+1, hF.Hash())
	}
	newB[F+1] = hC.Hash()
	for uint64(len(newB)) < oldHead-F+2 { // two blocks longer than the old branch
		h, _ := c.block()
		newB[h.Number.Uint64()] = h.Hash()
	}
	newHead := F + uint64(len(newB))
	if h, err := b.Client().HeaderByNumber(ctx, nil); err != nil || h.Hash() != newB[newHead] {
		t.Fatalf("head after the fork: %v, %v; want the new branch's %d", h, err, newHead)
	}
	if restart {
		sentry, _ = start()
	}
	if restart || deep {
		// History reads up to the target (a deep reorg syncs again from
		// the start block, in history); empty blocks there get no marker.
		deadline := time.Now().Add(waitTimeout)
		for sentry.Stats().Processed < int64(newHead-1) {
			if time.Now().After(deadline) {
				t.Fatalf("the restarted sentry did not process block %d within %s: %+v", newHead-1, waitTimeout, sentry.Stats())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// One block more: the new head is then processed live, with its marker.
	h, _ := c.block()
	newB[h.Number.Uint64()] = h.Hash()
	waitProcessed(t, pub, sentry, reg, newHead, newB[newHead])
	newHead++
	if err := pub.failed(); err != nil {
		t.Fatalf("sink: %v", err)
	}

	// A reorg from F+1, old hash to new.
	pub.mu.Lock()
	reorgs := append([]*events.Reorg(nil), pub.reorgs...)
	pub.mu.Unlock()
	if len(reorgs) != 1 {
		t.Fatalf("%d reorgs published, want 1: %+v", len(reorgs), reorgs)
	}
	wantFrom, wantOld, wantNew := F+1, old[F+1], newB[F+1]
	if deep {
		// From the start block, which both branches share.
		h, err := b.Client().HeaderByNumber(ctx, new(big.Int).SetUint64(env.deployBlock))
		if err != nil {
			t.Fatal(err)
		}
		wantFrom, wantOld, wantNew = env.deployBlock, h.Hash(), h.Hash()
	}
	if r := reorgs[0]; r.FromBlock != wantFrom || r.OldHash != wantOld.Hex() || r.NewHash != wantNew.Hex() {
		t.Fatalf("reorg = from %d %s → %s, want from %d %s → %s", r.FromBlock, r.OldHash, r.NewHash, wantFrom, wantOld.Hex(), wantNew.Hex())
	}
	if st := sentry.Stats(); st.Reorgs != 1 {
		t.Fatalf("sentry counted %d reorgs", st.Reorgs)
	}
	// The abandoned blocks' markers, then the new branch's, re-published
	// (in history, only blocks with events get one: F+1 here; a deep
	// reorg reads the new branch in history).
	pub.mu.Lock()
	for n := F + 1; n <= F+4; n++ {
		want := []string{old[n].Hex(), newB[n].Hex()}
		got := pub.blocks[n]
		if (restart || deep) && n > F+1 {
			want = want[:1]
			if deep && !restart && len(got) == 2 {
				// The sentry went live on the new branch before it
				// passed n: n then has its marker.
				want = append(want, newB[n].Hex())
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("block %d markers %v, want %v", n, got, want)
		}
	}
	pub.mu.Unlock()

	// Processed blocks F+1… are the new branch's; nothing of the old one
	// survives in any ssv_* table.
	for n := F + 1; n < newHead; n++ {
		if got := blockHash(db, n); got != newB[n].Hex() && (got != "" || !(restart || deep) || n == F+1) {
			t.Errorf("ssv_blocks %d = %q, want the new branch's %s", n, got, newB[n].Hex())
		}
	}
	if got := blockHash(db, F); got != hF.Hash().Hex() {
		t.Errorf("ssv_blocks %d = %q, want F's %s", F, got, hF.Hash().Hex())
	}
	assertNewBranch(t, env, survivor{keyA: keyA, keyC: keyC, F: F, owner: owner, ops: opsIDs, txC: rsC[0].TxHash}, old, oldTx)

	t.Logf("fork at block %d: old branch to %d, new to %d; 1 reorg; took %s", F, oldHead, newHead, time.Since(began).Round(time.Millisecond))
}

// survivor is what the surviving branch of the reorg tests holds: operators
// 1..4 of block F-1, validator A in block F, validator C in block F+1 (the
// owner's nonce 1, as B's on the abandoned branch).
type survivor struct {
	keyA, keyC []byte
	F          uint64
	owner      common.Address
	ops        []uint64
	txC        common.Hash
}

// assertNewBranch checks that the registry is exactly the surviving
// branch's and that nothing of the abandoned one (its block and
// transaction hashes) is left in any ssv_* table.
func assertNewBranch(t *testing.T, env *simEnv, w survivor, old map[uint64]common.Hash, oldTx map[common.Hash]bool) {
	t.Helper()
	ctx, reg, db, F, keyA, keyC, owner, opsIDs := env.ctx, env.reg, env.db, w.F, w.keyA, w.keyC, w.owner, w.ops
	// The registry: A and C, not B; A's cluster active; operator 4 not removed.
	vals, err := reg.Validators(ctx, reorgNet, registry.ValidatorFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(vals) != 2 {
		t.Fatalf("validators = %+v, want A and C", vals)
	}
	for i, want := range []struct {
		key   []byte
		block uint64
	}{{keyA, F}, {keyC, F + 1}} {
		v := vals[i]
		if v.PublicKey != hexutil.Encode(want.key) || v.Status != registry.StatusActive || v.Liquidated || v.AddedBlock != want.block || v.Index != uint64(i+1) {
			t.Errorf("validator %d = %+v, want %s active, not liquidated, added in block %d", i+1, v, hexutil.Encode(want.key), want.block)
		}
	}
	if inv, _ := reg.Invalid(ctx, reorgNet, registry.InvalidFilter{}); len(inv) != 0 {
		t.Errorf("invalid registrations: %+v (C is signed for the owner's nonce 1 on the new branch)", inv)
	}
	if o, _ := reg.Owner(ctx, reorgNet, owner.Hex()); o == nil || o.Nonce != 2 {
		t.Errorf("owner = %+v, want nonce 2", o)
	}
	cls, err := reg.Clusters(ctx, reorgNet, registry.ClusterFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cls) != 1 || !cls[0].Active || cls[0].ValidatorCount != 2 || cls[0].ID != abi.ClusterID(owner, opsIDs).Hex() {
		t.Errorf("clusters = %+v, want A's (%s) active with 2 validators", cls, abi.ClusterID(owner, opsIDs).Hex())
	}
	ops, err := reg.Operators(ctx, reorgNet, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 4 {
		t.Fatalf("operators = %+v, want 1..4", ops)
	}
	for _, op := range ops {
		if op.Removed || op.ValidatorCount != 2 {
			t.Errorf("operator %d: removed %v, %d validators; want not removed, 2", op.ID, op.Removed, op.ValidatorCount)
		}
	}
	cnt, err := reg.Counts(ctx, reorgNet)
	if err != nil {
		t.Fatal(err)
	}
	if cnt.Operators != 4 || cnt.OperatorsRemoved != 0 || cnt.Validators != 2 || cnt.ClustersLiquidated != 0 {
		t.Errorf("counts = %+v", cnt)
	}
	sy, err := reg.Sync(ctx, reorgNet)
	if err != nil || sy == nil || sy.Reorgs != 1 {
		t.Errorf("sync = %+v, %v; want 1 reorg", sy, err)
	}

	var oldHashes []string
	for _, h := range old {
		oldHashes = append(oldHashes, h.Hex())
	}
	for h := range oldTx {
		oldHashes = append(oldHashes, h.Hex())
	}
	for _, col := range []struct{ table, col string }{
		{"ssv_blocks", "hash"}, {"ssv_blocks", "parent_hash"},
		{"ssv_events", "block_hash"}, {"ssv_events", "tx_hash"},
		{"ssv_pending", "block_hash"}, {"ssv_pending", "tx_hash"}, {"ssv_skipped", "block_hash"}, {"ssv_held", "hash"},
		{"ssv_invalid", "tx_hash"},
	} {
		q := db.Query().SQL("SELECT COUNT(*) FROM ", col.table, " WHERE lower(", col.col, ") IN (")
		for i, h := range oldHashes {
			if i > 0 {
				q.SQL(", ")
			}
			q.Arg(strings.ToLower(h))
		}
		q.SQL(")")
		var n int
		if err := db.Reader().QueryRowContext(ctx, q.String(), q.Args()...).Scan(&n); err != nil {
			t.Fatalf("%s.%s: %v", col.table, col.col, err)
		}
		if n != 0 {
			t.Errorf("%s.%s: %d rows of the abandoned branch", col.table, col.col, n)
		}
	}
	// The applied-event log is exactly the new branch's: 4 operators, A, C.
	var logged []string
	q := db.Query().SQL("SELECT name, block, tx_hash FROM ssv_events WHERE network = ").Arg(reorgNet).SQL(" ORDER BY block, log_index")
	rows, err := db.Reader().QueryContext(ctx, q.String(), q.Args()...)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name, tx string
		var blk int64
		if err := rows.Scan(&name, &blk, &tx); err != nil {
			t.Fatal(err)
		}
		logged = append(logged, fmt.Sprintf("%s@%d", name, blk))
		if blk == int64(F+1) && !strings.EqualFold(tx, w.txC.Hex()) {
			t.Errorf("ssv_events block %d tx %s, want C's %s", blk, tx, w.txC.Hex())
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	want := fmt.Sprintf("[OperatorAdded@%[1]d OperatorAdded@%[1]d OperatorAdded@%[1]d OperatorAdded@%[1]d ValidatorAdded@%[2]d ValidatorAdded@%[3]d]", F-1, F, F+1)
	if got := fmt.Sprint(logged); got != want {
		t.Errorf("ssv_events = %s, want %s", got, want)
	}
}
