package ssv_test

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/valtrack/valtrack/internal/ssv/registry"
	"github.com/valtrack/valtrack/internal/ssv/shares"
	ssvsync "github.com/valtrack/valtrack/internal/ssv/sync"
)

// TestReorgDuringHistoryRange: on the simulated chain, a reorg deeper
// than the follow distance lands while the sentry reads its one history
// range — after it read the range's logs (validator B in block F+1) and
// their blocks' headers, before the headers above them. The range must
// not be published as read (B's block beside the new branch's hashes,
// which no later check would see): it is read again, and the registry
// holds the new branch only (C in block F+1, not B).
func TestReorgDuringHistoryRange(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	env := newSimEnv(t, ctx)
	b, c, reg := env.b, env.c, env.reg

	owner := common.HexToAddress("0x000000000000000000000000000000000000a11c")
	opsIDs := []uint64{1, 2, 3, 4}
	var opCalls [][]byte
	for id := uint64(1); id <= 4; id++ {
		opCalls = append(opCalls, event(t, "OperatorAdded", map[string]any{
			"operatorId": id, "owner": owner, "publicKey": fmt.Sprintf("LS0tLS1CRUdJTiBSU0EgUFVCTElDIEtFWS0tLS0t%d", id), "fee": big.NewInt(1000),
		}))
	}
	c.block(opCalls...)
	validator := func(seed string, nonce uint64) ([]byte, []byte) {
		sk, err := shares.GenerateKey(crypto.Keccak256([]byte("valtrack ssv reorg test " + seed)))
		if err != nil {
			t.Fatal(err)
		}
		sh, err := shares.Build(sk, owner, nonce, len(opsIDs))
		if err != nil {
			t.Fatal(err)
		}
		return sk.PublicKey(), event(t, "ValidatorAdded", map[string]any{
			"owner": owner, "operatorIds": opsIDs, "publicKey": sk.PublicKey(), "shares": sh, "cluster": cluster(uint32(nonce+1), true, 1e18),
		})
	}
	keyA, callA := validator("validator A", 0)
	keyB, callB := validator("validator B", 1)
	keyC, callC := validator("validator C", 1)
	hF, _ := c.block(callA)
	F := hF.Number.Uint64()
	nonceF := c.nonce
	hG, rsG := c.block(callB) // the branch to be abandoned
	old := map[common.Hash]bool{hG.Hash(): true, rsG[0].TxHash: true}
	// Enough empty blocks that F+1 is below the kept window of the range
	// end (follow distance 1 + KeepExtra).
	extra := ssvsync.KeepExtra + 10
	for range extra {
		h, _ := c.block()
		old[h.Hash()] = true
	}
	oldHead := F + 1 + uint64(extra)

	// The hook: the first header asked above F+1 forks the chain at F; the
	// new branch holds C in F+1 and reaches past the old head.
	var fired atomic.Bool
	var newHead atomic.Uint64
	hook := func(n uint64) {
		if n <= F+1 || !fired.CompareAndSwap(false, true) {
			return
		}
		if err := b.Fork(hF.Hash()); err != nil {
			t.Errorf("fork at block %d: %v", F, err)
			return
		}
		b.Rollback()
		b.Rollback()
		c.nonce = nonceF
		h, _ := c.block(callC)
		for h.Number.Uint64() < oldHead+2 {
			h, _ = c.block()
		}
		newHead.Store(h.Number.Uint64())
	}
	env.proxy.onHeader.Store(&hook)
	sentry, stop := env.start(nil)
	deadline := time.Now().Add(waitTimeout)
	for !fired.Load() || newHead.Load() == 0 || sentry.Stats().Processed < int64(newHead.Load()-1) {
		if err := env.pub.failed(); err != nil {
			t.Fatalf("sink: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("not synced within %s: fired %v, new head %d, %+v", waitTimeout, fired.Load(), newHead.Load(), sentry.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	if err := env.pub.failed(); err != nil {
		t.Fatalf("sink: %v", err)
	}

	vals, err := reg.Validators(ctx, reorgNet, registry.ValidatorFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vals {
		got = append(got, v.PublicKey)
	}
	if want := []string{hexutil.Encode(keyA), hexutil.Encode(keyC)}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("validators %v, want A and C (B is of the abandoned branch: %s)", got, hexutil.Encode(keyB))
	}
	for _, col := range []struct{ table, col string }{{"ssv_blocks", "hash"}, {"ssv_events", "block_hash"}, {"ssv_events", "tx_hash"}} {
		q := env.db.Query().SQL("SELECT lower(", col.col, ") FROM ", col.table)
		rows, err := env.db.Reader().QueryContext(ctx, q.String(), q.Args()...)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var h string
			if err := rows.Scan(&h); err != nil {
				t.Fatal(err)
			}
			if old[common.HexToHash(h)] && strings.HasPrefix(h, "0x") {
				t.Errorf("%s.%s holds %s, of the abandoned branch", col.table, col.col, h)
			}
		}
		rows.Close()
	}
}
