package sink_test

import (
	"database/sql"
	"testing"

	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/ssv/events"

	"github.com/valtrack/valtrack/internal/ssv/registry"
	"github.com/valtrack/valtrack/internal/ssv/sink"
	"github.com/valtrack/valtrack/internal/ssv/state"
	"github.com/valtrack/valtrack/internal/store"
)

func tokens(t *testing.T, r *state.Store) map[string]string {
	t.Helper()
	cs, err := r.Clusters(ctx, net, registry.ClusterFilter{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range cs {
		out[c.Owner] = c.FeeToken
	}
	return out
}

// Clusters pay in SSV until the contract is v2 (the first event only v2
// emits); clusters created from then on pay in ETH; a legacy cluster
// keeps SSV until its ClusterMigratedToETH. A reorg that takes the first
// v2 event away takes the ETH clusters' token back with it.
func TestClusterFeeTokens(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		sk := newSink(t, db, nil)
		c := &chain{fork: "a"}
		r := state.New(db)
		ops := []uint64{1, 2, 3, 4}
		mustApply(t, sk, cat(operators(c), c.block(valAdded(addr(1), pubkey(1), ops), valAdded(addr(2), pubkey(2), ops))))
		if got := tokens(t, r); got[addr(1)] != sink.FeeSSV || got[addr(2)] != sink.FeeSSV {
			t.Fatalf("before v2: %v", got)
		}
		forkAt := c.number + 1
		saved := *c
		mustApply(t, sk, c.block(ev{"NetworkFeeUpdatedSSV", map[string]any{"oldFee": "1", "newFee": "2"}}))
		mustApply(t, sk, c.block(valAdded(addr(3), pubkey(3), ops), valAdded(addr(1), pubkey(4), ops)))
		got := tokens(t, r)
		if got[addr(3)] != sink.FeeETH || got[addr(1)] != sink.FeeSSV || got[addr(2)] != sink.FeeSSV {
			t.Fatalf("after the first v2 event: %v, want the new cluster in ETH and the legacy ones in SSV", got)
		}
		mustApply(t, sk, c.block(ev{"ClusterMigratedToETH", map[string]any{"owner": addr(2), "operatorIds": ids(ops...),
			"ethDeposited": "5", "ssvRefunded": "3", "effectiveBalance": "32", "cluster": tuple(1, true, "5")}}))
		if got := tokens(t, r); got[addr(2)] != sink.FeeETH || got[addr(1)] != sink.FeeSSV {
			t.Fatalf("after ClusterMigratedToETH: %v", got)
		}
		// The fork drops the v2 event and what followed: the cluster of
		// owner 3, created on the new branch without a v2 event, is SSV.
		fork := saved
		fork.fork = "b"
		reorg := &events.Reorg{V: 1, Network: net, FromBlock: forkAt, OldHash: hash("a", forkAt), NewHash: hash("b", forkAt)}
		mustApply(t, sk, append([]consumer.Event{{Network: net, Kind: events.KindReorg, MsgID: reorg.MsgID(), Value: reorg}},
			fork.block(valAdded(addr(3), pubkey(3), ops))...))
		if got := tokens(t, r); got[addr(3)] != sink.FeeSSV || got[addr(2)] != sink.FeeSSV {
			t.Fatalf("after the reorg: %v, want every cluster in SSV again", got)
		}
	})
}

// A database synced before fee tokens existed (its clusters without one,
// its network marked for a rebuild by the migration) is rebuilt from its
// event log on the next batch, and every cluster gets its token.
func TestFeeTokensFromAnOlderDatabase(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		sk := newSink(t, db, nil)
		c := &chain{fork: "a"}
		r := state.New(db)
		ops := []uint64{1, 2, 3, 4}
		mustApply(t, sk, cat(operators(c), c.block(valAdded(addr(1), pubkey(1), ops)),
			c.block(ev{"CSSVUpdated", map[string]any{"cssv": addr(50)}}), c.block(valAdded(addr(2), pubkey(2), ops))))
		err := db.InTx(ctx, "make it an older database", func(tx *sql.Tx) error {
			for _, q := range []string{"UPDATE ssv_clusters SET fee_token = ''", "UPDATE ssv_networks SET rebuild = TRUE, v2_block = 0"} {
				if _, err := tx.ExecContext(ctx, q); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := tokens(t, r); got[addr(1)] != "" {
			t.Fatalf("the older database's clusters: %v", got)
		}
		before, _ := r.Validators(ctx, net, registry.ValidatorFilter{})
		mustApply(t, sk, c.block(valAdded(addr(1), pubkey(3), ops)))
		if got := tokens(t, r); got[addr(1)] != sink.FeeSSV || got[addr(2)] != sink.FeeETH {
			t.Fatalf("after the rebuild: %v, want owner 1's cluster (from before v2) in SSV, owner 2's in ETH", got)
		}
		after, _ := r.Validators(ctx, net, registry.ValidatorFilter{})
		if len(after) != len(before)+1 || after[0].Index != before[0].Index || after[1].Index != before[1].Index {
			t.Fatalf("the rebuild changed the validators: before %+v, after %+v", before, after)
		}
		var rebuild bool
		q := db.Query().SQL("SELECT rebuild FROM ssv_networks WHERE network = ").Arg(net)
		if err := db.Reader().QueryRowContext(ctx, q.String(), q.Args()...).Scan(&rebuild); err != nil || rebuild {
			t.Fatalf("rebuild flag after the rebuild: %v %v", rebuild, err)
		}
	})
}

// An Upgraded log with the version the sentry read marks the network v2
// from its block when the version is v2 or later; one with v1.x, none or
// an unknown one ("") does not. The sync status shows the last known
// version and the v2 block; a reorg that takes the upgrade away takes
// them back.
func TestUpgradeVersionMarksV2(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		sk := newSink(t, db, nil)
		c := &chain{fork: "a"}
		r := state.New(db)
		ops := []uint64{1, 2, 3, 4}
		upgraded := func(version any) ev {
			args := map[string]any{"implementation": addr(90)}
			if version != nil {
				args["version"] = version
			}
			return ev{"Upgraded", args}
		}
		mustApply(t, sk, cat(operators(c), c.block(upgraded("v1.2.0")), c.block(upgraded(nil)), c.block(upgraded("")),
			c.block(valAdded(addr(1), pubkey(1), ops))))
		if got := tokens(t, r); got[addr(1)] != sink.FeeSSV {
			t.Fatalf("after v1 upgrades: %v", got)
		}
		s, err := r.Sync(ctx, net)
		if err != nil || s.ContractVersion != "v1.2.0" || s.V2Block != 0 {
			t.Fatalf("sync after v1 upgrades: %+v %v", s, err)
		}
		forkAt := c.number + 1
		saved := *c
		mustApply(t, sk, c.block(upgraded("v2.0.0")))
		v2 := c.number
		mustApply(t, sk, c.block(valAdded(addr(2), pubkey(2), ops), valAdded(addr(1), pubkey(3), ops)))
		if got := tokens(t, r); got[addr(2)] != sink.FeeETH || got[addr(1)] != sink.FeeSSV {
			t.Fatalf("after the v2 upgrade: %v, want the new cluster in ETH, the legacy one in SSV", got)
		}
		if s, err = r.Sync(ctx, net); err != nil || s.ContractVersion != "v2.0.0" || s.V2Block != v2 {
			t.Fatalf("sync after the v2 upgrade: version %q v2 block %d (want %d) %v", s.ContractVersion, s.V2Block, v2, err)
		}
		fork := saved
		fork.fork = "b"
		reorg := &events.Reorg{V: 1, Network: net, FromBlock: forkAt, OldHash: hash("a", forkAt), NewHash: hash("b", forkAt)}
		mustApply(t, sk, append([]consumer.Event{{Network: net, Kind: events.KindReorg, MsgID: reorg.MsgID(), Value: reorg}},
			fork.block(valAdded(addr(2), pubkey(2), ops))...))
		if got := tokens(t, r); got[addr(2)] != sink.FeeSSV {
			t.Fatalf("after a reorg that drops the upgrade: %v", got)
		}
		if s, err = r.Sync(ctx, net); err != nil || s.ContractVersion != "v1.2.0" || s.V2Block != 0 {
			t.Fatalf("sync after the reorg: %+v %v", s, err)
		}
	})
}
