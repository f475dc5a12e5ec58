package runner

import (
	"context"
	"testing"
)

// Staking on Asset Hub: the nominator's announcement is included in an
// Asset Hub block (100), while the proxy pallet there counts relay blocks
// (5000 on). The delay is counted in relay blocks from the announcement's
// on-chain height — the estimate made when sending replaced by that height
// when next read — so nothing is executed before the chain would accept
// it (each refused execution pays a fee), and it is executed once after.
func TestDelayedProxyOnAssetHubCountsRelayBlocks(t *testing.T) {
	st, cfg := fixture(t, 10)
	fc := goodChain()
	fc.relay = 5000
	fc.beforeSend = func(what string) {
		if what == "announce" {
			fc.mu.Lock()
			fc.relay += 2 // included two relay blocks after the head the pass read
			fc.mu.Unlock()
		}
	}
	r := newRunner(t, st, cfg, fc, true)
	ctx := context.Background()
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	txs, _ := st.ProxyTxs(ctx, chain, true, 0)
	if len(txs) != 1 || txs[0].ExecuteAfter != 5010 {
		t.Fatalf("announced: %+v: want it to execute after relay block 5010 (the head before sending + 10), not Asset Hub block 110", txs)
	}
	step := func(relay, hub uint64) *Pass {
		t.Helper()
		fc.mu.Lock()
		fc.relay, fc.block = relay, hub
		fc.mu.Unlock()
		p, err := r.Pass(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Asset Hub far past block 110, the relay not yet at 5010.
	step(5005, 150)
	// Past the estimate, but not past the on-chain height (5002) + 10.
	step(5011, 160)
	if fc.count("execute") != 0 {
		t.Fatalf("sent %v: executed before the delay passed in relay blocks", fc.sent)
	}
	txs, _ = st.ProxyTxs(ctx, chain, true, 0)
	if len(txs) != 1 || txs[0].AnnouncedBlock != 5002 || txs[0].ExecuteAfter != 5012 || txs[0].Attempts.Count != 0 {
		t.Fatalf("announcement %+v: want the on-chain height 5002 stored, executing after 5012, no attempt", txs)
	}
	if p := step(5012, 161); p.Executed != 1 || fc.count("execute") != 1 {
		t.Fatalf("at relay block 5012: pass %+v, sent %v: want it executed once", p, fc.sent)
	}
}
