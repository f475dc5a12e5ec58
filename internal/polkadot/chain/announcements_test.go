package chain

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/scale"
	"github.com/valtrack/valtrack/internal/polkadot/ss58"
)

// AnnouncementsOf reads the proxy announcements of many delegates in one
// batched storage query at one block: the answer equals the per-delegate
// reads', a delegate with no entry has none, and the batch costs the same
// RPC calls for six delegates as one read does for one, where six reads
// cost six times that.
func TestAnnouncementsOfIsOneBatchedRead(t *testing.T) {
	md := metadata(t)
	n := &storageNode{store: map[string]string{}}
	real := pk(t, dave)
	var delegates []string
	for i := range 6 {
		var a [32]byte
		a[0], a[31] = byte(i+1), 0xd
		d := ss58.Encode(a, 42)
		delegates = append(delegates, d)
		if i == 5 {
			continue // the last delegate has announced nothing
		}
		// (BoundedVec<Announcement{real, call_hash, height}>, deposit)
		hash := bytes.Repeat([]byte{byte(0xa0 + i)}, 32)
		val := cat(scale.Compact(1), real, hash, u32le(uint32(10+i)), make([]byte, 16))
		n.set(t, md, val, "Proxy", "Announcements", a[:])
	}
	srv := n.serve(t)
	r, err := New(Config{Chain: "proxy-test", Relay: []string{srv.URL}, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.relay.mds[424242] = md
	ctx := context.Background()
	// Warm the per-connection caches (metadata, properties) so that both
	// counts below are of the reads alone.
	if _, err := r.Announcements(ctx, delegates[0]); err != nil {
		t.Fatal(err)
	}

	calls := func() uint64 { return r.Stats().Relay.Calls }
	before := calls()
	one := make(map[string][]Announcement)
	for _, d := range delegates {
		as, err := r.Announcements(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		one[d] = as
	}
	perDelegate := calls() - before

	before = calls()
	by, err := r.AnnouncementsOf(ctx, delegates...)
	if err != nil {
		t.Fatal(err)
	}
	batched := calls() - before

	for i, d := range delegates {
		got := by[d]
		if i == 5 {
			if len(got) != 0 {
				t.Errorf("delegate %d announced nothing, read %+v", i, got)
			}
			continue
		}
		want := Announcement{Real: dave, CallHash: toHex(bytes.Repeat([]byte{byte(0xa0 + i)}, 32)), Height: uint32(10 + i)}
		if len(got) != 1 || got[0] != want {
			t.Errorf("delegate %d: %+v, want %+v", i, got, want)
		}
		if len(one[d]) != len(got) || (len(got) == 1 && one[d][0] != got[0]) {
			t.Errorf("delegate %d: batched %+v, alone %+v", i, got, one[d])
		}
	}
	if perDelegate != 6*(perDelegate/6) || batched != perDelegate/6 {
		t.Errorf("six delegates cost %d RPC calls read one by one and %d batched: want the batch to cost one read's %d", perDelegate, batched, perDelegate/6)
	}
	t.Logf("RPC calls for six delegates: %d one by one, %d batched", perDelegate, batched)
	if _, err := r.AnnouncementsOf(ctx, "not-an-address"); err == nil {
		t.Error("an address that does not decode was read")
	}
}
