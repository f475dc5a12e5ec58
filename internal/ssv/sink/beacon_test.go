package sink_test

import (
	"slices"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/ssv/beacon"
	"github.com/valtrack/valtrack/internal/ssv/beacon/beacontest"
	"github.com/valtrack/valtrack/internal/ssv/registry"
	"github.com/valtrack/valtrack/internal/ssv/state"
	"github.com/valtrack/valtrack/internal/store"
)

// The beacon analyzer asks about every registered key that is not removed
// (a key of two owners once), stores what the beacon node knows, and the
// registry reads it back joined to each registration, filterable by
// beacon index; keys the chain does not know stay without.
func TestBeaconRefresh(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		sk := newSink(t, db, nil)
		c := &chain{fork: "a"}
		r := state.New(db)
		ops := []uint64{1, 2, 3, 4}
		mustApply(t, sk, cat(operators(c), c.block(valAdded(addr(1), pubkey(1), ops), valAdded(addr(2), pubkey(1), ops),
			valAdded(addr(1), pubkey(2), ops), valAdded(addr(1), pubkey(3), ops), valAdded(addr(1), pubkey(4), ops)),
			c.block(valEvent("ValidatorRemoved", addr(1), pubkey(4), ops))))
		if has, err := r.HasBeacon(ctx, net); has || err != nil {
			t.Fatalf("HasBeacon before any pass: %v %v", has, err)
		}
		bn := beacontest.New(t)
		bn.Put(hexOf(pubkey(1)), beacontest.Validator{Index: 0, Status: "active_ongoing", Balance: 32_000_000_000, ActivationEpoch: 1, ExitEpoch: beacon.FarFutureEpoch})
		bn.Put(hexOf(pubkey(2)), beacontest.Validator{Index: 77, Status: "exited_slashed", Slashed: true, Balance: 1, ActivationEpoch: 2, ExitEpoch: 50})
		bn.Put(hexOf(pubkey(4)), beacontest.Validator{Index: 99, Status: "active_ongoing"})
		client, err := beacon.New(bn.URL, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
		clock := at
		ref := &beacon.Refresher{Network: net, Client: client, Store: r, Now: func() time.Time { return clock }}
		if err := ref.Run(ctx); err != nil {
			t.Fatal(err)
		}
		if asked, known := ref.Counts(); asked != 3 || known != 2 {
			t.Fatalf("asked %d, known %d: want the 3 keys not removed, 2 of them on the beacon chain", asked, known)
		}
		if bn.MaxIDs() != 3 {
			t.Fatalf("the node was asked about %d keys at most, want 3", bn.MaxIDs())
		}
		vs, err := r.Validators(ctx, net, registry.ValidatorFilter{})
		if err != nil {
			t.Fatal(err)
		}
		byIdx := map[uint64]registry.Validator{}
		for _, v := range vs {
			byIdx[v.Index] = v
		}
		want1 := registry.Beacon{Index: 0, Status: "active_ongoing", Balance: 32_000_000_000, ActivationEpoch: 1, ExitEpoch: beacon.FarFutureEpoch, UpdatedAt: at}
		for _, i := range []uint64{1, 2} { // key 1, both owners
			if b := byIdx[i].Beacon; b == nil || *b != want1 {
				t.Fatalf("registration %d: beacon %+v, want %+v", i, b, want1)
			}
		}
		if b := byIdx[3].Beacon; b == nil || b.Index != 77 || !b.Slashed || b.ExitEpoch != 50 {
			t.Fatalf("registration 3: beacon %+v", b)
		}
		if byIdx[4].Beacon != nil {
			t.Fatalf("registration 4 (not on the beacon chain): beacon %+v", byIdx[4].Beacon)
		}
		got, err := r.Validators(ctx, net, registry.ValidatorFilter{BeaconIndices: []uint64{0, 77}})
		if err != nil {
			t.Fatal(err)
		}
		var idx []uint64
		for _, v := range got {
			idx = append(idx, v.Index)
		}
		if !slices.Equal(idx, []uint64{1, 2, 3}) {
			t.Fatalf("beacon indices 0, 77: registrations %v, want [1 2 3]", idx)
		}
		if has, err := r.HasBeacon(ctx, net); !has || err != nil {
			t.Fatalf("HasBeacon after a pass: %v %v", has, err)
		}
		// A later pass replaces what changed.
		bn.Put(hexOf(pubkey(1)), beacontest.Validator{Index: 0, Status: "active_exiting", Balance: 32_000_000_000, ActivationEpoch: 1, ExitEpoch: 400})
		if err := ref.Run(ctx); err != nil {
			t.Fatal(err)
		}
		vs, _ = r.Validators(ctx, net, registry.ValidatorFilter{PublicKeys: []string{hexOf(pubkey(1))}})
		if len(vs) != 2 || vs[0].Beacon == nil || vs[0].Beacon.Status != "active_exiting" || vs[0].Beacon.ExitEpoch != 400 {
			t.Fatalf("after the second pass: %+v", vs)
		}
		// A key removed from the registry loses its state at the next pass.
		mustApply(t, sk, c.block(valEvent("ValidatorRemoved", addr(1), pubkey(2), ops)))
		clock = at.Add(10 * time.Minute)
		if err := ref.Run(ctx); err != nil {
			t.Fatal(err)
		}
		if vs, _ = r.Validators(ctx, net, registry.ValidatorFilter{PublicKeys: []string{hexOf(pubkey(2))}}); len(vs) != 1 || vs[0].Beacon != nil {
			t.Fatalf("a removed key's beacon state after the next pass: %+v", vs)
		}
		if vs, _ = r.Validators(ctx, net, registry.ValidatorFilter{PublicKeys: []string{hexOf(pubkey(1))}}); vs[0].Beacon == nil || !vs[0].Beacon.UpdatedAt.Equal(clock) {
			t.Fatalf("a registered key's beacon state after the next pass: %+v", vs[0].Beacon)
		}
		// A failing node fails the pass and keeps what was stored.
		bn.Fail(true)
		if err := ref.Run(ctx); err == nil {
			t.Fatal("a failing beacon node's pass succeeded")
		}
		if vs, _ = r.Validators(ctx, net, registry.ValidatorFilter{PublicKeys: []string{hexOf(pubkey(1))}}); vs[0].Beacon == nil {
			t.Fatal("a failed pass lost the stored state")
		}
	})
}
