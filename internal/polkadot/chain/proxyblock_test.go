package chain

import (
	"context"
	"encoding/binary"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/scale"
)

// withParachainSystem is md with a ParachainSystem pallet holding
// LastRelayChainBlockNumber (a u32), as Asset Hub's runtime has it.
func withParachainSystem(t *testing.T, md *scale.Metadata) *scale.Metadata {
	t.Helper()
	u32 := md.Types.Type(md.Entry("Staking", "ErasStakers").Key).Tuple[0]
	out := &scale.Metadata{Version: md.Version, Types: md.Types, Pallets: slices.Clone(md.Pallets)}
	out.Pallets = append(out.Pallets, scale.Pallet{Name: "ParachainSystem", Index: 1, Prefix: "ParachainSystem",
		Storage: []scale.StorageEntry{{Name: "LastRelayChainBlockNumber", Value: u32, Default: []byte{0, 0, 0, 0}}}})
	return out
}

// stakingNode is a node holding the staking pallet at head number (hex).
func stakingNode(t *testing.T, md *scale.Metadata, number string) *storageNode {
	t.Helper()
	n := &storageNode{store: map[string]string{}, number: number}
	v := pk(t, "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY")
	c, u := scale.Compact, u32le
	n.set(t, md, cat(u(5), []byte{0}), "Staking", "ActiveEra")
	n.set(t, md, cat(c(300), c(100), u(0), u(0)), "Staking", "ErasStakersOverview", u(5), v)
	n.set(t, md, binary.LittleEndian.AppendUint64(nil, 1700000000000), "Timestamp", "Now")
	return n
}

// ProxyBlock is the number the staking chain's proxy pallet counts
// announcements in: on the relay its own block; on a parachain holding
// staking (Asset Hub since the migration) the relay block it last built
// on (ParachainSystem.LastRelayChainBlockNumber), not the parachain's own
// block; on a separate chain without ParachainSystem its own block.
func TestProxyBlockIsTheProxyPalletsNumbering(t *testing.T) {
	ctx := context.Background()
	md := pagedMetadata(t)
	relay := stakingNode(t, md, "0x1388") // 5000
	relay.set(t, md, cat(scale.Compact(0)), "Session", "Validators")
	rs := relay.serve(t)

	r, err := New(Config{Chain: "paged", Relay: []string{rs.URL}, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r.relay.mds[424242] = md
	ch, err := r.Chain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Block != 5000 || ch.ProxyBlock != 5000 {
		t.Fatalf("staking on the relay: block %d, proxy block %d: want 5000 both", ch.Block, ch.ProxyBlock)
	}

	ahmd := withParachainSystem(t, md)
	hub := stakingNode(t, ahmd, "0x64") // Asset Hub block 100
	hub.set(t, ahmd, u32le(4998), "ParachainSystem", "LastRelayChainBlockNumber")
	hs := hub.serve(t)
	r, err = New(Config{Chain: "paged", Relay: []string{rs.URL}, Staking: []string{hs.URL}, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r.relay.mds[424242], r.staking.mds[424242] = md, ahmd
	if ch, err = r.Chain(ctx); err != nil {
		t.Fatal(err)
	}
	if ch.Block != 5000 || ch.ProxyBlock != 4998 {
		t.Fatalf("staking on Asset Hub: block %d, proxy block %d: want relay 5000 and the relay block Asset Hub built on, 4998", ch.Block, ch.ProxyBlock)
	}

	solo := stakingNode(t, md, "0x64")
	ss := solo.serve(t)
	r, err = New(Config{Chain: "paged", Relay: []string{rs.URL}, Staking: []string{ss.URL}, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r.relay.mds[424242], r.staking.mds[424242] = md, md
	if ch, err = r.Chain(ctx); err != nil {
		t.Fatal(err)
	}
	if ch.ProxyBlock != 100 {
		t.Fatalf("a separate staking chain without ParachainSystem: proxy block %d, want its own 100", ch.ProxyBlock)
	}
}

// The staking chain's faults (Asset Hub's Staking.Chilled here) are read
// from its own blocks, named apart from the relay's faults of the same
// block number: ids start "staking-", reasons name the staking chain.
func TestStakingFaultsAreNamedForTheirChain(t *testing.T) {
	ctx := context.Background()
	md := pagedMetadata(t)
	relay := stakingNode(t, md, "0x64")
	relay.set(t, md, cat(scale.Compact(0)), "Session", "Validators")
	rs := relay.serve(t)
	hub := stakingNode(t, md, "0x64")
	charlie := "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y"
	evs := append(scale.Compact(1), record(t, md, 1, "Staking", "Chilled", pk(t, charlie))...)
	hub.store[toHex(Prefix("System", "Events"))] = toHex(evs)
	hs := hub.serve(t)
	r, err := New(Config{Chain: "paged", Relay: []string{rs.URL}, Staking: []string{hs.URL}, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r.relay.mds[424242], r.staking.mds[424242] = md, md
	if !r.SeparateStaking() {
		t.Fatal("staking configured apart is not separate")
	}
	n, hash, err := r.StakingHead(ctx)
	if err != nil || n != 100 {
		t.Fatalf("staking head %d %s, %v: want block 100", n, hash, err)
	}
	fs, err := r.StakingFaults(ctx, hash)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].ID != "staking-100-0-"+charlie || fs[0].Block != 100 ||
		!strings.Contains(fs[0].Reason, "Staking.Chilled in staking chain block 100") {
		t.Fatalf("staking faults %+v", fs)
	}
	if rf, err := r.Faults(ctx, hash); err != nil || len(rf) != 0 {
		t.Fatalf("relay faults %+v, %v: the relay's block holds none", rf, err)
	}
}
