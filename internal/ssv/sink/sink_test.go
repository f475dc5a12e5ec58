package sink_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/ssv/events"
	"github.com/valtrack/valtrack/internal/ssv/registry"
	"github.com/valtrack/valtrack/internal/ssv/sink"
	"github.com/valtrack/valtrack/internal/ssv/state"
	"github.com/valtrack/valtrack/internal/store"
)

var ctx = context.Background()

// five operators of owner 0, in block 1.
func operators(c *chain) []consumer.Event {
	var evs []ev
	for i := uint64(1); i <= 5; i++ {
		evs = append(evs, opAdded(i, addr(0), "100"))
	}
	return c.block(evs...)
}

func TestRegisterOperatorsAndValidators(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		sk := newSink(t, db, nil)
		c := &chain{fork: "a"}
		owner := addr(1)
		mustApply(t, sk, cat(operators(c), c.block(valAdded(owner, pubkey(1), []uint64{4, 2, 3, 1}), valAdded(owner, pubkey(2), []uint64{1, 2, 3, 5}))))
		r := state.New(db)
		ops, err := r.Operators(ctx, net, 0, 0, 0)
		if err != nil || len(ops) != 5 {
			t.Fatalf("operators: %v, %v", ops, err)
		}
		if ops[0].ID != 1 || ops[0].Owner != addr(0) || ops[0].Fee != "100" || ops[0].ValidatorCount != 2 || ops[3].ValidatorCount != 1 || ops[4].ValidatorCount != 1 {
			t.Errorf("operators: %+v", ops)
		}
		if op, err := r.Operator(ctx, net, 9); op != nil || err != nil {
			t.Errorf("unknown operator: %v, %v", op, err)
		}
		vs, err := r.Validators(ctx, net, registry.ValidatorFilter{})
		if err != nil || len(vs) != 2 {
			t.Fatalf("validators: %v, %v", vs, err)
		}
		v := vs[0]
		wantCluster := "0x" + common.Bytes2Hex(crypto.Keccak256(common.HexToAddress(owner).Bytes(),
			common.LeftPadBytes([]byte{1}, 32), common.LeftPadBytes([]byte{2}, 32), common.LeftPadBytes([]byte{3}, 32), common.LeftPadBytes([]byte{4}, 32)))
		if v.Index != 1 || v.PublicKey != hexOf(pubkey(1)) || v.Owner != owner || !slices.Equal(v.OperatorIDs, []uint64{1, 2, 3, 4}) ||
			v.ClusterID != wantCluster || v.Status != registry.StatusActive || v.AddedBlock != 2 {
			t.Errorf("validator 1: %+v (cluster want %s)", v, wantCluster)
		}
		cl, err := r.Clusters(ctx, net, registry.ClusterFilter{Owner: owner})
		if err != nil || len(cl) != 2 || cl[0].Balance != "1000" || cl[0].NetworkFeeIndex != 7 || !cl[0].Active {
			t.Errorf("clusters: %+v, %v", cl, err)
		}
		o, err := r.Owner(ctx, net, strings.ToLower(owner))
		if err != nil || o == nil || o.Nonce != 2 {
			t.Errorf("owner: %+v, %v", o, err)
		}
		counts, err := r.Counts(ctx, net)
		if err != nil || counts.Operators != 5 || counts.Validators != 2 || counts.ByStatus[registry.StatusActive] != 2 ||
			counts.Clusters != 2 || counts.ClusterSizes[4] != 2 {
			t.Errorf("counts: %+v, %v", counts, err)
		}
		s, err := r.Sync(ctx, net)
		if err != nil || s == nil || s.LastBlock != 2 || s.LastBlockHash != hash("a", 2) {
			t.Errorf("sync: %+v, %v", s, err)
		}
		if nets, err := r.Networks(ctx); err != nil || !slices.Equal(nets, []string{net}) {
			t.Errorf("networks: %v, %v", nets, err)
		}
	})
}

func TestInvalidRegistrationsAdvanceTheNonce(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		var (
			mu     sync.Mutex
			nonces []uint64
		)
		check := func(owner common.Address, nonce uint64, key []byte, ops []uint64, shares []byte) error {
			mu.Lock()
			nonces = append(nonces, nonce)
			mu.Unlock()
			if key[47] == 0xff {
				return errors.New("signature verification failed")
			}
			return nil
		}
		sk := newSink(t, db, check)
		c := &chain{fork: "a"}
		owner := addr(1)
		bad := pubkey(6)
		bad[47] = 0xff
		badShares := valAdded(owner, pubkey(4), []uint64{1, 2, 3, 4})
		badShares.args["shares"] = zeroShares(3)
		mustApply(t, sk, cat(operators(c), c.block(ev{"OperatorRemoved", map[string]any{"operatorId": "5"}})))
		mustApply(t, sk, c.block(
			valAdded(owner, pubkey(1), []uint64{1, 2, 3}),    // 3 operators
			valAdded(owner, pubkey(2), []uint64{1, 2, 2, 3}), // duplicate
			valAdded(owner, pubkey(3), []uint64{1, 2, 3, 9}), // unknown
			badShares, // shares length
			valAdded(owner, pubkey(5), []uint64{1, 2, 3, 5}),     // removed operator
			valAdded(owner, bad, []uint64{1, 2, 3, 4}),           // the check fails
			valAdded(owner, pubkey(7), []uint64{1, 2, 3, 4}),     // valid
			valAdded(owner, pubkey(7), []uint64{1, 2, 3, 4}),     // already registered
			ev{"ValidatorAdded", map[string]any{"owner": owner}}, // malformed
		))
		r := state.New(db)
		inv, err := r.Invalid(ctx, net, registry.InvalidFilter{})
		if err != nil || len(inv) != 8 {
			t.Fatalf("invalid: %+v, %v", inv, err)
		}
		slices.Reverse(inv)
		want := []string{"cannot build a 3f+1 quorum", "duplicated operator ID (2)", "operator 9 not found", "shares length is not correct",
			"operator 5 is removed", "signature verification failed", "already registered by this owner", "malformed"}
		for i, w := range want {
			if !strings.Contains(inv[i].Reason, w) || inv[i].Nonce != uint64(i) && i < 6 {
				t.Errorf("invalid %d: %+v, want reason with %q and nonce %d", i, inv[i], w, i)
			}
		}
		if inv[6].Nonce != 7 || inv[7].Nonce != 8 {
			t.Errorf("nonces of the last two: %d %d", inv[6].Nonce, inv[7].Nonce)
		}
		// Check runs once on each registration that passes the structural
		// checks, with its nonce (ahead of the transaction, concurrently).
		slices.Sort(nonces)
		if !slices.Equal(nonces, []uint64{2, 4, 5, 6, 7}) {
			t.Errorf("Check saw nonces %v, want [2 4 5 6 7]", nonces)
		}
		vs, _ := r.Validators(ctx, net, registry.ValidatorFilter{})
		if len(vs) != 1 || vs[0].PublicKey != hexOf(pubkey(7)) || vs[0].Index != 1 {
			t.Errorf("validators: %+v", vs)
		}
		o, _ := r.Owner(ctx, net, owner)
		if o == nil || o.Nonce != 9 {
			t.Errorf("owner nonce: %+v, want 9", o)
		}
		// Every registration with a readable tuple stores its cluster (the
		// contract's state), refused or not: [1 2 3], [1 2 2 3], [1 2 3 9],
		// [1 2 3 4], [1 2 3 5]; the malformed one has none.
		if n, _ := r.Counts(ctx, net); n.Invalid != 8 || n.OperatorsRemoved != 1 || n.Clusters != 5 {
			t.Errorf("counts: %+v", n)
		}
	})
}

// TestInvalidRegistrationKeepsClusterTuple: a registration the node
// refuses (its signature fails) is not a validator, is recorded as invalid
// and advances the nonce, but its cluster tuple — the contract's cluster
// after it, one more validator and the deposit — is stored, for a cluster
// that had valid ones and for one whose only registration it is. Operators'
// counts stay the node's: validators it runs. Removing the refused key
// (the contract allows it) takes the cluster's count back down.
func TestInvalidRegistrationKeepsClusterTuple(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		check := func(_ common.Address, _ uint64, key []byte, _ []uint64, _ []byte) error {
			if key[47] == 0xff {
				return errors.New("signature verification failed")
			}
			return nil
		}
		sk := newSink(t, db, check)
		c := &chain{fork: "a"}
		ownerA, ownerB := addr(1), addr(2)
		ops := []uint64{1, 2, 3, 4}
		bad, badB := pubkey(2), pubkey(3)
		bad[47], badB[47] = 0xff, 0xff
		good := valAdded(ownerA, pubkey(1), ops)
		refused := valAdded(ownerA, bad, ops)
		refused.args["cluster"] = tuple(2, true, "3000")
		refusedB := valAdded(ownerB, badB, ops)
		refusedB.args["cluster"] = tuple(1, true, "700")
		mustApply(t, sk, cat(operators(c), c.block(good), c.block(refused, refusedB)))
		r := state.New(db)
		cluster := func(owner string) registry.Cluster {
			t.Helper()
			cs, err := r.Clusters(ctx, net, registry.ClusterFilter{Owner: owner})
			if err != nil || len(cs) != 1 {
				t.Fatalf("clusters of %s: %+v, %v; want one", owner, cs, err)
			}
			return cs[0]
		}
		if cl := cluster(ownerA); cl.ValidatorCount != 2 || cl.Balance != "3000" || !cl.Active || cl.UpdatedBlock != 3 {
			t.Errorf("owner A's cluster after a refused registration: %+v; want the event's tuple (2 validators, balance 3000, block 3)", cl)
		}
		if cl := cluster(ownerB); cl.ValidatorCount != 1 || cl.Balance != "700" || cl.ID != sink.ClusterID(common.HexToAddress(ownerB), ops) {
			t.Errorf("owner B's cluster, made by a refused registration: %+v; want the event's tuple (1 validator, balance 700)", cl)
		}
		vs, _ := r.Validators(ctx, net, registry.ValidatorFilter{})
		if len(vs) != 1 || vs[0].PublicKey != hexOf(pubkey(1)) {
			t.Errorf("validators: %+v; want only the valid one", vs)
		}
		if inv, _ := r.Invalid(ctx, net, registry.InvalidFilter{}); len(inv) != 2 || !strings.Contains(inv[0].Reason, "signature") {
			t.Errorf("invalid: %+v; want the two refused registrations", inv)
		}
		if o, _ := r.Owner(ctx, net, ownerA); o == nil || o.Nonce != 2 {
			t.Errorf("owner A: %+v; want nonce 2", o)
		}
		if o, _ := r.Owner(ctx, net, ownerB); o == nil || o.Nonce != 1 {
			t.Errorf("owner B: %+v; want nonce 1", o)
		}
		if op, _ := r.Operator(ctx, net, 1); op == nil || op.ValidatorCount != 1 {
			t.Errorf("operator 1: %+v; want 1 validator (the node's count: refused ones are not run)", op)
		}
		gone := valEvent("ValidatorRemoved", ownerA, bad, ops)
		gone.args["cluster"] = tuple(1, true, "3000")
		mustApply(t, sk, c.block(gone))
		if cl := cluster(ownerA); cl.ValidatorCount != 1 || cl.UpdatedBlock != 4 {
			t.Errorf("owner A's cluster after the refused key's removal: %+v; want 1 validator at block 4", cl)
		}
		if vs, _ := r.Validators(ctx, net, registry.ValidatorFilter{}); len(vs) != 1 || vs[0].Status != registry.StatusActive {
			t.Errorf("validators after the refused key's removal: %+v; want the valid one, active", vs)
		}
	})
}

func TestSameKeyTwoOwners(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		sk := newSink(t, db, nil)
		c := &chain{fork: "a"}
		mustApply(t, sk, cat(operators(c), c.block(valAdded(addr(1), pubkey(1), []uint64{1, 2, 3, 4}), valAdded(addr(2), pubkey(1), []uint64{1, 2, 3, 4})),
			c.block(valEvent("ValidatorRemoved", addr(1), pubkey(1), []uint64{1, 2, 3, 4}))))
		vs, err := state.New(db).ValidatorsByKey(ctx, net, strings.ToUpper(hexOf(pubkey(1))[2:]))
		if err != nil || len(vs) != 2 {
			t.Fatalf("by key: %+v, %v", vs, err)
		}
		if vs[0].Owner != addr(1) || vs[0].Status != registry.StatusRemoved || vs[1].Owner != addr(2) || vs[1].Status != registry.StatusActive || vs[0].ClusterID == vs[1].ClusterID {
			t.Errorf("two owners: %+v", vs)
		}
	})
}

func TestOperatorFees(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		sk := newSink(t, db, nil)
		c := &chain{fork: "a"}
		r := state.New(db)
		fee := func(name, f string) ev {
			return ev{name, map[string]any{"owner": addr(0), "operatorId": "1", "blockNumber": "2", "fee": f}}
		}
		mustApply(t, sk, cat(operators(c), c.block(fee("OperatorFeeDeclared", "150"))))
		if op, _ := r.Operator(ctx, net, 1); op == nil || op.Fee != "100" || op.PendingFee != "150" || op.PendingFeeBlock != 2 {
			t.Errorf("declared: %+v", op)
		}
		mustApply(t, sk, c.block(ev{"OperatorFeeDeclarationCancelled", map[string]any{"owner": addr(0), "operatorId": "1"}}))
		if op, _ := r.Operator(ctx, net, 1); op.Fee != "100" || op.PendingFee != "" || op.PendingFeeBlock != 0 {
			t.Errorf("cancelled: %+v", op)
		}
		mustApply(t, sk, cat(c.block(fee("OperatorFeeDeclared", "0120")), c.block(fee("OperatorFeeExecuted", "120"))))
		if op, _ := r.Operator(ctx, net, 1); op.Fee != "120" || op.PendingFee != "" || op.UpdatedBlock != 5 {
			t.Errorf("executed: %+v", op)
		}
		// Whitelists and privacy.
		mustApply(t, sk, c.block(
			ev{"OperatorMultipleWhitelistUpdated", map[string]any{"operatorIds": ids(1, 2), "whitelistAddresses": []string{addr(7), addr(8)}}},
			ev{"OperatorMultipleWhitelistRemoved", map[string]any{"operatorIds": ids(1), "whitelistAddresses": []string{addr(7)}}},
			ev{"OperatorPrivacyStatusUpdated", map[string]any{"operatorIds": ids(2), "toPrivate": true}},
			ev{"OperatorWhitelistingContractUpdated", map[string]any{"operatorIds": ids(3), "whitelistingContract": addr(9)}},
			ev{"OperatorWhitelistUpdated", map[string]any{"operatorId": "4", "whitelisted": addr(6)}},
			ev{"NetworkFeeUpdated", map[string]any{"oldFee": "1", "newFee": "2"}},
			ev{"OperatorWithdrawn", map[string]any{"owner": addr(0), "operatorId": "1", "value": "3"}},
		))
		ops, _ := r.Operators(ctx, net, 1, 4, 0)
		if !slices.Equal(ops[0].Whitelisted, []string{addr(8)}) || len(ops[1].Whitelisted) != 2 || !ops[1].Private ||
			ops[2].WhitelistingContract != addr(9) || !ops[3].Private || !slices.Equal(ops[3].Whitelisted, []string{addr(6)}) {
			t.Errorf("whitelists: %+v", ops)
		}
		var v string
		if err := db.Reader().QueryRow("SELECT value FROM ssv_network_params WHERE name = 'network_fee'").Scan(&v); err != nil || v != "2" {
			t.Errorf("network fee: %q, %v", v, err)
		}
	})
}

func TestLiquidationExitRemoval(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		sk := newSink(t, db, nil)
		c := &chain{fork: "a"}
		r := state.New(db)
		ops := []uint64{1, 2, 3, 4}
		mustApply(t, sk, cat(operators(c), c.block(valAdded(addr(1), pubkey(1), ops), valAdded(addr(1), pubkey(2), ops), valAdded(addr(2), pubkey(3), ops))))
		mustApply(t, sk, c.block(clusterEv("ClusterLiquidated", addr(1), ops, false, "0")))
		vs, _ := r.Validators(ctx, net, registry.ValidatorFilter{})
		if !vs[0].Liquidated || !vs[1].Liquidated || vs[2].Liquidated {
			t.Errorf("liquidated: %+v", vs)
		}
		if op, _ := r.Operator(ctx, net, 1); op.ValidatorCount != 1 {
			t.Errorf("operator count after liquidation: %d", op.ValidatorCount)
		}
		if n, _ := r.Counts(ctx, net); n.ClustersLiquidated != 1 {
			t.Errorf("counts: %+v", n)
		}
		mustApply(t, sk, c.block(clusterEv("ClusterReactivated", addr(1), ops, true, "500"), clusterEv("ClusterDeposited", addr(1), ops, true, "700")))
		vs, _ = r.Validators(ctx, net, registry.ValidatorFilter{})
		cl, _ := r.Clusters(ctx, net, registry.ClusterFilter{Owner: addr(1)})
		if vs[0].Liquidated || vs[1].Liquidated || !cl[0].Active || cl[0].Balance != "700" {
			t.Errorf("reactivated: %+v %+v", vs, cl)
		}
		mustApply(t, sk, c.block(valEvent("ValidatorExited", addr(1), pubkey(1), ops), valEvent("ValidatorRemoved", addr(1), pubkey(2), ops),
			valEvent("ValidatorRemoved", addr(3), pubkey(3), ops)))
		vs, _ = r.Validators(ctx, net, registry.ValidatorFilter{})
		if vs[0].Status != registry.StatusExited || vs[1].Status != registry.StatusRemoved || vs[2].Status != registry.StatusActive {
			t.Errorf("exit and removal: %+v", vs)
		}
		if op, _ := r.Operator(ctx, net, 1); op.ValidatorCount != 2 {
			t.Errorf("operator count after removal: %d, want 2 (the exited one still counts)", op.ValidatorCount)
		}
		// Registered again after its removal: the same index, active.
		mustApply(t, sk, c.block(valAdded(addr(1), pubkey(2), []uint64{1, 2, 3, 5})))
		vs, _ = r.Validators(ctx, net, registry.ValidatorFilter{PublicKeys: []string{hexOf(pubkey(2))}})
		if len(vs) != 1 || vs[0].Index != 2 || vs[0].Status != registry.StatusActive || !slices.Equal(vs[0].OperatorIDs, []uint64{1, 2, 3, 5}) {
			t.Errorf("registered again: %+v", vs)
		}
	})
}

func TestRedeliveryChangesNothing(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		sk := newSink(t, db, nil)
		c := &chain{fork: "a"}
		b1 := cat(operators(c), c.block(valAdded(addr(1), pubkey(1), []uint64{1, 2, 3, 4})))
		b2 := c.block(valAdded(addr(1), pubkey(2), []uint64{1, 2, 3, 4}), clusterEv("ClusterDeposited", addr(1), []uint64{1, 2, 3, 4}, true, "5"))
		mustApply(t, sk, b1)
		mustApply(t, sk, b2)
		before := registryDump(t, db) + fmt.Sprint(dump(t, db, "ssv_changes", "seq"), dump(t, db, "ssv_events", "block, log_index"), dump(t, db, "ssv_pending", "log_index"))
		mustApply(t, sk, b2)
		mustApply(t, sk, cat(b1, b2))
		mustApply(t, sk, b2[:1]) // an event alone, its block processed
		after := registryDump(t, db) + fmt.Sprint(dump(t, db, "ssv_changes", "seq"), dump(t, db, "ssv_events", "block, log_index"), dump(t, db, "ssv_pending", "log_index"))
		if before != after {
			t.Errorf("redelivery changed the tables:\n%s\n%s", before, after)
		}
	})
}

// TestIncompleteBlockIsHeld: a marker whose events are not all in is not
// applied, and neither is any block after it — the registry never moves
// past a block it applied only part of, which would leave a hole no later
// event could fill; the held markers are acked (no error), /sync shows the
// first, and the missing event, when it comes, applies the held blocks in
// chain order. A reorg drops the held blocks it replaces.
func TestIncompleteBlockIsHeld(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		sk := newSink(t, db, nil)
		r := state.New(db)
		ops := []uint64{1, 2, 3, 4}
		c := &chain{fork: "a"}
		mustApply(t, sk, operators(c))
		b2 := c.block(valAdded(addr(1), pubkey(1), ops), valAdded(addr(1), pubkey(2), ops))
		// The first event and the marker, without the second event.
		mustApply(t, sk, []consumer.Event{b2[0], b2[2]})
		// The next block comes whole, and must wait behind block 2.
		b3 := c.block(valAdded(addr(2), pubkey(3), ops))
		mustApply(t, sk, b3)
		if vs, _ := r.Validators(ctx, net, registry.ValidatorFilter{}); len(vs) != 0 {
			t.Errorf("a block was applied past an incomplete one: %+v", vs)
		}
		s, _ := r.Sync(ctx, net)
		if s.LastBlock != 1 {
			t.Errorf("last block %d, want 1: the registry moved past the incomplete block 2", s.LastBlock)
		}
		if h := s.Held; h == nil || h.Block != 2 || h.Hash != hash("a", 2) || h.Announced != 2 || h.Received != 1 || h.Blocks != 2 || h.Since.IsZero() {
			t.Errorf("held %+v: want block 2, 2 announced, 1 received, 2 blocks held", h)
		}
		if p := dump(t, db, "ssv_pending", "block, log_index"); len(p) != 2 {
			t.Errorf("pending: %v, want block 2's first event and block 3's", p)
		}
		// The missing event arrives (a replay of the dead letters): block
		// 2, then block 3, apply.
		mustApply(t, sk, b2[1:2])
		vs, err := r.Validators(ctx, net, registry.ValidatorFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 3 || vs[0].PublicKey != hexOf(pubkey(1)) || vs[1].PublicKey != hexOf(pubkey(2)) || vs[2].PublicKey != hexOf(pubkey(3)) ||
			vs[2].AddedBlock != 3 || vs[2].Index != 3 {
			t.Errorf("validators after the block completed: %+v, want 1, 2 (block 2) and 3 (block 3) in chain order", vs)
		}
		s, _ = r.Sync(ctx, net)
		if s.LastBlock != 3 || s.Held != nil {
			t.Errorf("sync %+v: want block 3 applied and nothing held", s)
		}
		if p := dump(t, db, "ssv_pending", "log_index"); len(p) != 0 {
			t.Errorf("pending left: %v", p)
		}
		mustApply(t, sk, b2[2:]) // the marker redelivered: nothing
		if vs, _ := r.Validators(ctx, net, registry.ValidatorFilter{}); len(vs) != 3 {
			t.Errorf("validators after a redelivered marker: %+v", vs)
		}
		// A marker of another hash for a processed height, with no reorg first, is refused.
		other := &chain{fork: "b", number: 1}
		if err := sk.Apply(ctx, other.block()); !errors.Is(err, consumer.ErrRejected) {
			t.Errorf("second hash at a processed height: %v, want ErrRejected", err)
		}
		// Block 4 is held incomplete, then replaced by a reorg: the new
		// branch's block 4 applies.
		fork := *c
		b4 := c.block(opAdded(8, addr(1), "1"), opAdded(9, addr(1), "1"))
		mustApply(t, sk, b4[1:])
		if s, _ := r.Sync(ctx, net); s.Held == nil || s.Held.Block != 4 {
			t.Fatalf("sync %+v: want block 4 held", s)
		}
		nb := fork
		nb.fork = "c"
		reorg := &events.Reorg{V: 1, Network: net, FromBlock: 4, OldHash: hash("a", 4), NewHash: hash("c", 4)}
		mustApply(t, sk, cat([]consumer.Event{{Network: net, Kind: events.KindReorg, MsgID: reorg.MsgID(), Value: reorg}}, nb.block(opAdded(10, addr(1), "1"))))
		s, _ = r.Sync(ctx, net)
		if s.Held != nil || s.LastBlock != 4 || s.LastBlockHash != hash("c", 4) {
			t.Errorf("sync after the reorg %+v: want the new block 4 applied, nothing held", s)
		}
		if op, _ := r.Operator(ctx, net, 10); op == nil {
			t.Error("the new branch's block 4 was not applied")
		}
		if p := dump(t, db, "ssv_pending", "log_index"); len(p) != 0 {
			t.Errorf("pending left after the reorg: %v", p)
		}
	})
}

func TestReorgRollsBackExactly(t *testing.T) {
	dialectsOpen(t, func(t *testing.T, open func() *store.DB) {
		db := open()
		ops := []uint64{1, 2, 3, 4}
		common3 := func(c *chain) []consumer.Event {
			return cat(operators(c), c.block(valAdded(addr(1), pubkey(1), ops)), c.block(valAdded(addr(2), pubkey(2), ops)))
		}
		newBranch := func(c *chain) []consumer.Event {
			return cat(c.block(valAdded(addr(1), pubkey(5), ops), ev{"FeeRecipientAddressUpdated", map[string]any{"owner": addr(1), "recipientAddress": addr(9)}}),
				c.block(clusterEv("ClusterWithdrawn", addr(2), ops, true, "1")))
		}
		// The run that sees the old branch, then the reorg and the new one.
		sk := newSink(t, db, nil)
		a := &chain{fork: "a"}
		mustApply(t, sk, common3(a))
		old := *a
		mustApply(t, sk, cat(
			old.block(valAdded(addr(1), pubkey(3), ops), ev{"OperatorRemoved", map[string]any{"operatorId": "2"}}, opAdded(6, addr(3), "1")),
			old.block(clusterEv("ClusterLiquidated", addr(2), ops, false, "0"), valAdded(addr(1), pubkey(4), []uint64{1, 3, 4, 5}),
				ev{"OperatorFeeDeclared", map[string]any{"owner": addr(0), "operatorId": "1", "blockNumber": "5", "fee": "9"}}),
		))
		seqBefore, _ := state.New(db).LastChange(ctx, net)
		nb := *a
		nb.fork = "b"
		reorg := &events.Reorg{V: 1, Network: net, FromBlock: 4, OldHash: hash("a", 4), NewHash: hash("b", 4)}
		rev := consumer.Event{Network: net, Kind: events.KindReorg, MsgID: reorg.MsgID(), Value: reorg}
		branch := newBranch(&nb)
		mustApply(t, sk, append([]consumer.Event{rev}, branch...))
		mustApply(t, sk, []consumer.Event{rev}) // redelivered after the new branch: nothing

		// The run that never saw the old branch.
		db2 := open()
		sk2 := newSink(t, db2, nil)
		b := &chain{fork: "a"}
		mustApply(t, sk2, common3(b))
		b.fork = "b"
		mustApply(t, sk2, newBranch(b))
		if got, want := registryDump(t, db), registryDump(t, db2); got != want {
			t.Errorf("after the reorg:\n%s\nwant (never saw the old branch):\n%s", got, want)
		}
		if got, want := dump(t, db, "ssv_blocks", "number"), dump(t, db2, "ssv_blocks", "number"); !slices.Equal(got, want) {
			t.Errorf("blocks %v, want %v", got, want)
		}
		if got, want := dump(t, db, "ssv_events", "block, log_index"), dump(t, db2, "ssv_events", "block, log_index"); !slices.Equal(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
		r := state.New(db)
		s, _ := r.Sync(ctx, net)
		if s.Reorgs != 1 || s.LastBlockHash != hash("b", 5) {
			t.Errorf("sync: %+v", s)
		}
		// The changes after the reorg name what it changed: validators 3 and 4 of the old branch
		// (index 3 is now pubkey 5), operators 1, 2 and 6.
		ch, _ := r.ChangesAfter(ctx, net, seqBefore, 0)
		got := map[string]bool{}
		for _, c := range ch {
			got[fmt.Sprint(c.Kind, c.ID)] = true
		}
		for _, w := range []string{"validator3", "validator4", "operator2", "operator6", "operator1", "validator2"} {
			if !got[w] {
				t.Errorf("no change announced for %s: %v", w, ch)
			}
		}
	})
}

func TestValidatorFilters(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		sk := newSink(t, db, nil)
		c := &chain{fork: "a"}
		mustApply(t, sk, cat(operators(c), c.block(
			valAdded(addr(1), pubkey(1), []uint64{1, 2, 3, 4}),
			valAdded(addr(1), pubkey(2), []uint64{2, 3, 4, 5}),
			valAdded(addr(2), pubkey(3), []uint64{1, 2, 3, 4}),
			valAdded(addr(2), pubkey(4), []uint64{1, 2, 3, 5}),
		), c.block(valEvent("ValidatorExited", addr(2), pubkey(4), []uint64{1, 2, 3, 5}))))
		r := state.New(db)
		cid := sink.ClusterID(common.HexToAddress(addr(1)), []uint64{1, 2, 3, 4})
		for _, tc := range []struct {
			f    registry.ValidatorFilter
			want []uint64
		}{
			{registry.ValidatorFilter{Owners: []string{strings.ToLower(addr(2))}}, []uint64{3, 4}},
			{registry.ValidatorFilter{Operators: []uint64{5}}, []uint64{2, 4}},
			{registry.ValidatorFilter{Clusters: [][]uint64{{4, 3, 2, 1}}}, []uint64{1, 3}},
			{registry.ValidatorFilter{Status: registry.StatusExited}, []uint64{4}},
			{registry.ValidatorFilter{PublicKeys: []string{hexOf(pubkey(2)), hexOf(pubkey(4))}}, []uint64{2, 4}},
			{registry.ValidatorFilter{Indices: []uint64{1, 4, 9}}, []uint64{1, 4}},
			{registry.ValidatorFilter{FromIndex: 2, ToIndex: 3}, []uint64{2, 3}},
			{registry.ValidatorFilter{FromIndex: 2, Limit: 1}, []uint64{2}},
			{registry.ValidatorFilter{Owners: []string{addr(1)}, Operators: []uint64{1}}, []uint64{1}},
		} {
			vs, err := r.Validators(ctx, net, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []uint64
			for _, v := range vs {
				got = append(got, v.Index)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("filter %+v: %v, want %v", tc.f, got, tc.want)
			}
		}
		if vs, _ := r.Validators(ctx, net, registry.ValidatorFilter{Owners: []string{addr(1)}}); vs[0].ClusterID != cid {
			t.Errorf("cluster id %s, want %s", vs[0].ClusterID, cid)
		}
		if _, err := r.Validators(ctx, net, registry.ValidatorFilter{Indices: make([]uint64, state.MaxFilterValues+1)}); err == nil {
			t.Error("an oversized filter was accepted")
		}
		n, _ := r.Counts(ctx, net)
		if n.Validators != 4 || n.ByStatus[registry.StatusExited] != 1 || n.Clusters != 4 || n.ClusterSizes[4] != 4 {
			t.Errorf("counts: %+v", n)
		}
	})
}

func TestChangesAfter(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		sk := newSink(t, db, nil)
		c := &chain{fork: "a"}
		r := state.New(db)
		mustApply(t, sk, cat(operators(c), c.block(valAdded(addr(1), pubkey(1), []uint64{1, 2, 3, 4})),
			c.block(ev{"OperatorFeeDeclared", map[string]any{"owner": addr(0), "operatorId": "5", "blockNumber": "3", "fee": "1"}})))
		all, err := r.ChangesAfter(ctx, net, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i, ch := range all {
			if ch.Seq != uint64(i+1) {
				t.Errorf("change %d has seq %d", i, ch.Seq)
			}
			got = append(got, fmt.Sprint(ch.Kind, ch.ID))
		}
		want := []string{"operator1", "operator2", "operator3", "operator4", "operator5", "validator1", "operator1", "operator2", "operator3", "operator4", "operator5"}
		if !slices.Equal(got, want) {
			t.Errorf("changes %v, want %v", got, want)
		}
		last, _ := r.LastChange(ctx, net)
		page, _ := r.ChangesAfter(ctx, net, 5, 2)
		if last != 11 || len(page) != 2 || page[0].Seq != 6 || page[0].Kind != state.KindValidator {
			t.Errorf("last %d, page %+v", last, page)
		}
	})
}

func TestSyncStatus(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		sk := newSink(t, db, nil)
		r := state.New(db)
		if s, err := r.Sync(ctx, net); s != nil || err != nil {
			t.Errorf("sync of nothing: %+v, %v", s, err)
		}
		st := func(at int64, head uint64) []consumer.Event {
			e := &events.SyncStatus{V: 1, Network: net, Mode: "live", Head: head, Processed: head - 8, Contract: addr(100),
				Endpoints: []events.Endpoint{{Name: "a:8545", ChainID: 1, Head: head, Healthy: true}}, Observer: events.Observer{SeenAt: at}}
			return []consumer.Event{{Network: net, Kind: events.KindSyncStatus, MsgID: e.MsgID(), Value: e}}
		}
		mustApply(t, sk, st(2000, 100))
		mustApply(t, sk, st(1000, 50)) // older: ignored
		s, err := r.Sync(ctx, net)
		if err != nil || s == nil || s.Head != 100 || s.Mode != "live" || len(s.Endpoints) != 1 || s.Endpoints[0].Name != "a:8545" || s.StatusAt.UnixMilli() != 2000 {
			t.Errorf("sync: %+v, %v", s, err)
		}
	})
}

// The checks done ahead of the transaction are used only where their
// guessed nonce is the one the transaction arrives at. A malformed
// registration whose owner is readable advances the nonce in the
// transaction but not in the guess; the registrations after it are then
// checked again, in order: every verdict is the sequential one.
func TestPrecheckMatchesSequential(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		var (
			mu    sync.Mutex
			calls = map[uint64]int{}
		)
		// Odd nonces fail: the verdict depends on the nonce, as a signature
		// over owner:nonce does.
		check := func(owner common.Address, nonce uint64, key []byte, ops []uint64, shares []byte) error {
			mu.Lock()
			calls[nonce]++
			mu.Unlock()
			if nonce%2 == 1 {
				return errors.New("signature verification failed")
			}
			return nil
		}
		sk := newSink(t, db, check)
		c := &chain{fork: "p"}
		owner, other := addr(1), addr(2)
		mustApply(t, sk, operators(c))
		// Nonce 0 of owner committed before: the batch starts at 1.
		mustApply(t, sk, c.block(valAdded(owner, pubkey(1), []uint64{1, 2, 3, 4})))
		odd := valAdded(owner, pubkey(3), []uint64{1, 2, 3, 4})
		odd.args["shares"] = 12 // malformed: parsed by neither guess nor sink, but its owner is read
		mustApply(t, sk, cat(
			c.block(valAdded(owner, pubkey(2), []uint64{1, 2, 3, 4}), valAdded(other, pubkey(10), []uint64{1, 2, 3, 4})),
			c.block(odd, valAdded(owner, pubkey(4), []uint64{1, 2, 3, 4}), valAdded(owner, pubkey(5), []uint64{1, 2, 3, 4})),
		))
		r := state.New(db)
		vs, _ := r.Validators(ctx, net, registry.ValidatorFilter{})
		got := map[string]bool{}
		for _, v := range vs {
			got[v.PublicKey] = true
		}
		// owner: pubkey(1) nonce 0 ok, pubkey(2) nonce 1 fails, the malformed
		// one takes nonce 2, pubkey(4) nonce 3 fails, pubkey(5) nonce 4 ok;
		// other: pubkey(10) nonce 0 ok.
		for k, want := range map[int]bool{1: true, 2: false, 4: false, 5: true, 10: true} {
			if got[hexOf(pubkey(k))] != want {
				t.Errorf("validator %d registered %v, want %v (sequential verdicts)", k, got[hexOf(pubkey(k))], want)
			}
		}
		if o, _ := r.Owner(ctx, net, owner); o == nil || o.Nonce != 5 {
			t.Errorf("owner nonce %+v, want 5", o)
		}
		// pubkey(2)'s guess (nonce 1) was right: checked once, ahead.
		if calls[1] != 1 {
			t.Errorf("nonce 1 checked %d times, want once (the precomputed result used)", calls[1])
		}
	})
}

// TestOperatorsByKey: the store finds an operator by its public key exactly
// (base64 is case-sensitive), a removed one too, and nothing for an
// unknown key.
func TestOperatorsByKey(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		sk := newSink(t, db, nil)
		c := &chain{fork: "a"}
		mustApply(t, sk, cat(operators(c), c.block(ev{"OperatorRemoved", map[string]any{"operatorId": "3"}})))
		r := state.New(db)
		for _, tc := range []struct {
			key  string
			want []uint64
		}{{"LS0tLS1CRUdJTi2", []uint64{2}}, {"LS0tLS1CRUdJTi3", []uint64{3}}, {"ls0tls1crudjti2", nil}, {"LS0tLS1CRUdJTi", nil}} {
			ops, err := r.OperatorsByKey(ctx, net, tc.key, 10)
			var got []uint64
			for _, op := range ops {
				got = append(got, op.ID)
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("OperatorsByKey(%q) = %v, %v; want %v", tc.key, got, err, tc.want)
			}
		}
		if ops, _ := r.OperatorsByKey(ctx, net, "LS0tLS1CRUdJTi3", 10); len(ops) != 1 || !ops[0].Removed {
			t.Errorf("removed operator by key: %+v", ops)
		}
	})
}

// TestClusterAndInvalidPages: the store pages clusters by id after a
// cluster id, and refused registrations, newest first, before a block and
// log index; the pages together are the whole list, once.
func TestClusterAndInvalidPages(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		check := func(_ common.Address, _ uint64, key []byte, _ []uint64, _ []byte) error {
			if key[47] == 0xff {
				return errors.New("signature verification failed")
			}
			return nil
		}
		sk := newSink(t, db, check)
		c := &chain{fork: "a"}
		mustApply(t, sk, operators(c))
		for i := 1; i <= 5; i++ {
			bad := pubkey(i)
			bad[47] = 0xff
			// Two refused registrations a block, of five owners' clusters.
			mustApply(t, sk, c.block(valAdded(addr(i), bad, []uint64{1, 2, 3, 4}), valAdded(addr(i), pubkey(10+i), []uint64{1, 2, 3, 4}),
				valAdded(addr(i), bad, []uint64{2, 3, 4, 5})))
		}
		r := state.New(db)
		all, err := r.Clusters(ctx, net, registry.ClusterFilter{})
		if err != nil || len(all) != 10 {
			t.Fatalf("clusters: %d, %v; want 10", len(all), err)
		}
		var paged []string
		for f := (registry.ClusterFilter{Limit: 3}); ; {
			cs, err := r.Clusters(ctx, net, f)
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) == 0 {
				break
			}
			for _, cl := range cs {
				paged = append(paged, cl.ID)
			}
			f.After = cs[len(cs)-1].ID
		}
		var want []string
		for _, cl := range all {
			want = append(want, cl.ID)
		}
		if !slices.Equal(paged, want) {
			t.Errorf("clusters by pages of 3:\n got %v\nwant %v", paged, want)
		}
		if cs, _ := r.Clusters(ctx, net, registry.ClusterFilter{Owner: addr(2), After: all[0].ID}); len(cs) == 0 || cs[0].ID <= all[0].ID || cs[0].Owner != addr(2) {
			t.Errorf("owner's clusters after the first: %+v", cs)
		}
		allInv, err := r.Invalid(ctx, net, registry.InvalidFilter{})
		if err != nil || len(allInv) != 10 {
			t.Fatalf("invalid: %d, %v; want 10", len(allInv), err)
		}
		var got, wantInv []string
		for _, v := range allInv {
			wantInv = append(wantInv, fmt.Sprintf("%d:%d", v.Block, v.LogIndex))
		}
		for f := (registry.InvalidFilter{Limit: 3}); ; {
			inv, err := r.Invalid(ctx, net, f)
			if err != nil {
				t.Fatal(err)
			}
			if len(inv) == 0 {
				break
			}
			for _, v := range inv {
				got = append(got, fmt.Sprintf("%d:%d", v.Block, v.LogIndex))
			}
			f.BeforeBlock, f.BeforeLogIndex = inv[len(inv)-1].Block, inv[len(inv)-1].LogIndex
		}
		if !slices.Equal(got, wantInv) || allInv[0].Block < allInv[9].Block {
			t.Errorf("invalid by pages of 3:\n got %v\nwant %v (newest first)", got, wantInv)
		}
	})
}

// TestSkippedLogsRecorded: a marker's skipped logs are recorded once
// (a redelivered marker adds nothing), served newest first, counted in the
// sync state, and rolled back with their block by a reorg.
func TestSkippedLogsRecorded(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		sk := newSink(t, db, nil)
		r := state.New(db)
		withSkipped := func(evs []consumer.Event, skipped ...events.Skipped) []consumer.Event {
			evs[len(evs)-1].Value.(*events.Block).Skipped = skipped
			return evs
		}
		unknown := events.Skipped{LogIndex: 1, TxHash: hash("tx", 1), Topic0: hash("topic"), Reason: "unknown event topic", Data: "0x0102", DataLen: 300}
		short := events.Skipped{LogIndex: 3, TxHash: hash("tx", 3), Topic0: hash("OperatorAdded"), Reason: "OperatorAdded: malformed", Data: "0x", DataLen: 0}
		c := &chain{fork: "a"}
		mustApply(t, sk, operators(c))
		fork := *c // the chain before the block with skipped logs
		b2 := withSkipped(c.block(opAdded(7, addr(1), "1")), unknown, short)
		b2[len(b2)-1].Value.(*events.Block).SkippedMore = 3 // counted, not listed
		mustApply(t, sk, b2)
		mustApply(t, sk, b2[len(b2)-1:]) // the marker redelivered
		got, err := r.Skipped(ctx, net, registry.SkippedFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].LogIndex != 3 || got[1].LogIndex != 1 || got[1].Data != "0x0102" || got[1].DataLen != 300 ||
			got[1].BlockHash != hash("a", c.number) || got[1].Block != c.number || got[1].Topic0 != unknown.Topic0 || got[0].Reason != short.Reason {
			t.Fatalf("skipped %+v: want logs 3 and 1 of block %d", got, c.number)
		}
		if s, _ := r.Sync(ctx, net); s == nil || s.SkippedLogs != 5 {
			t.Fatalf("sync %+v: want 5 skipped logs (2 listed, 3 counted)", s)
		}
		if op, _ := r.Operator(ctx, net, 7); op == nil {
			t.Fatal("the block's decoded event was not applied beside its skipped logs")
		}
		// A reorg from that block: its skipped logs go with it; the new
		// branch's are recorded.
		reorg := &events.Reorg{V: 1, Network: net, FromBlock: c.number, OldHash: hash("a", c.number), NewHash: hash("b", c.number)}
		nb := fork
		nb.fork = "b"
		mustApply(t, sk, cat([]consumer.Event{{Network: net, Kind: events.KindReorg, MsgID: reorg.MsgID(), Value: reorg}},
			withSkipped(nb.block(), events.Skipped{LogIndex: 0, TxHash: hash("tx", 0), Reason: "no topic"})))
		got, err = r.Skipped(ctx, net, registry.SkippedFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].BlockHash != hash("b", nb.number) || got[0].Topic0 != "" {
			t.Fatalf("skipped after the reorg %+v: want only the new branch's log", got)
		}
		if s, _ := r.Sync(ctx, net); s == nil || s.SkippedLogs != 1 {
			t.Fatalf("sync after the reorg %+v: want 1 skipped log", s)
		}
	})
}
