package network

import (
	"encoding/binary"
	"encoding/hex"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/p2p/enode"
)

func hex4(t *testing.T, s string) [4]byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 4 {
		t.Fatalf("bad test digest %q", s)
	}
	return [4]byte(b)
}

func mustLoad(t *testing.T, name string) *Network {
	t.Helper()
	n, err := Load(name)
	if err != nil {
		t.Fatalf("Load(%q): %v", name, err)
	}
	return n
}

// Mainnet digests per fork. phase0..deneb are the widely published mainnet
// topic digests; electra ad532ceb and fulu cc2c5cdb appear in Prysm's
// beacon-chain/p2p TestAllTopics (OffchainLabs/prysm); the two BPO digests
// are derived from the Fulu compute_fork_digest rule and match a public
// table of mainnet digests (cb0d1acc, 8c9f62fe).
func TestMainnetForkDigests(t *testing.T) {
	n := mustLoad(t, "mainnet")
	cases := []struct {
		epoch uint64
		want  string
	}{
		{0, "b5303f2a"},
		{74239, "b5303f2a"},
		{74240, "afcaaba0"},
		{144896, "4a26c58b"},
		{194048, "bba4da96"},
		{269568, "6a95a1a9"},
		{364032, "ad532ceb"},
		{411391, "ad532ceb"},
		{411392, "cc2c5cdb"},
		{412671, "cc2c5cdb"},
		{412672, "cb0d1acc"},
		{419071, "cb0d1acc"},
		{419072, "8c9f62fe"},
		{FarFutureEpoch - 1, "8c9f62fe"},
	}
	for _, c := range cases {
		if got := n.ForkDigest(c.epoch); got != hex4(t, c.want) {
			t.Errorf("mainnet ForkDigest(%d) = %x, want %s", c.epoch, got, c.want)
		}
	}
}

// Gnosis has no BLOB_SCHEDULE: Fulu uses (ELECTRA_FORK_EPOCH, 2). 3237dab6
// is the Fulu digest reported by public crawls of gnosis.
func TestGnosisFuluDigestWithoutBlobSchedule(t *testing.T) {
	n := mustLoad(t, "gnosis")
	if len(n.Config.BlobSchedule) != 0 {
		t.Fatalf("gnosis BlobSchedule = %v, want empty", n.Config.BlobSchedule)
	}
	if got := n.ForkDigest(1714688); got != hex4(t, "3237dab6") {
		t.Errorf("gnosis fulu digest = %x, want 3237dab6", got)
	}
	if got := n.ForkDigest(385536); got != hex4(t, "824be431") {
		t.Errorf("gnosis bellatrix digest = %x, want 824be431", got)
	}
}

type eth2Entry [16]byte

func (eth2Entry) ENRKey() string { return "eth2" }

// Every eth2 digest in a builtin network's bootnode ENRs is one of the
// network's known digests, except genesis-only records: bootnodes that
// published their record with nothing but the genesis fork configured
// (next_fork_version = GENESIS_FORK_VERSION, next_fork_epoch = FAR_FUTURE)
// and a genesis_validators_root other than the network's: on mainnet the
// zero root (f5a5fd42 = sha256 of 64 zero bytes, a pre-genesis record), on
// hoodi and holesky a root of a pre-launch genesis. Such a record never
// says anything about the live network, so it is tolerated here, counted,
// and must not be the only kind a network has.
func TestBootnodeDigestsAreKnown(t *testing.T) {
	for _, name := range Builtin() {
		n := mustLoad(t, name)
		known := n.KnownDigests()
		genesisVersion := n.Config.Forks[0].Version
		var withEth2, matched, genesisOnly int
		for _, b := range n.Bootnodes {
			node, err := enode.Parse(enode.ValidSchemes, b)
			if err != nil {
				t.Errorf("%s: bootnode %.30s: %v", name, b, err)
				continue
			}
			var e eth2Entry
			if err := node.Load(&e); err != nil {
				continue
			}
			withEth2++
			d := [4]byte(e[:4])
			ep, ok := known[d]
			if !ok {
				if [4]byte(e[4:8]) == genesisVersion && binary.LittleEndian.Uint64(e[8:]) == FarFutureEpoch {
					genesisOnly++
					continue
				}
				t.Errorf("%s: bootnode digest %x (next %x) is not among the network's digests %v", name, d, e[4:], known)
				continue
			}
			matched++
			if n.ForkDigest(ep) != d {
				t.Errorf("%s: KnownDigests says %x starts at %d but ForkDigest(%d) = %x", name, d, ep, ep, n.ForkDigest(ep))
			}
		}
		if withEth2 == 0 || matched == 0 {
			t.Errorf("%s: %d bootnodes carry eth2, %d matched a known digest; want some of each", name, withEth2, matched)
		}
		t.Logf("%s: %d bootnode eth2 entries, %d known digests, %d genesis-only", name, withEth2, matched, genesisOnly)
	}
	// The mainnet genesis-only records use the zero root.
	m := mustLoad(t, "mainnet")
	if d := ComputeForkDigest(m.Config.Forks[0].Version, [32]byte{}, nil); d != hex4(t, "f5a5fd42") {
		t.Errorf("zero-root mainnet genesis digest = %x, want f5a5fd42", d)
	}
}

func TestBuiltinsParse(t *testing.T) {
	want := map[string]struct {
		slots    uint64
		slot     time.Duration
		genesis  int64
		forks    int
		gvrFirst byte
	}{
		"mainnet": {32, 12 * time.Second, 1606824023, 11, 0x4b},
		"sepolia": {32, 12 * time.Second, 1655733600, 8, 0xd8},
		"hoodi":   {32, 12 * time.Second, 1742213400, 7, 0x21},
		"holesky": {32, 12 * time.Second, 1695902400, 7, 0x91},
		"gnosis":  {16, 5 * time.Second, 1638993340, 7, 0xf5},
	}
	for _, name := range Builtin() {
		n := mustLoad(t, name)
		w := want[name]
		if n.Name != name || n.Dir != "" {
			t.Errorf("%s: Name %q Dir %q", name, n.Name, n.Dir)
		}
		if n.Config.SlotsPerEpoch != w.slots || n.Config.SecondsPerSlot != w.slot {
			t.Errorf("%s: slots/epoch %d slot %v, want %d %v", name, n.Config.SlotsPerEpoch, n.Config.SecondsPerSlot, w.slots, w.slot)
		}
		if n.GenesisTime.Unix() != w.genesis || n.GenesisValidatorsRoot[0] != w.gvrFirst {
			t.Errorf("%s: genesis %v root %x", name, n.GenesisTime, n.GenesisValidatorsRoot)
		}
		if len(n.Config.Forks) != w.forks || n.Config.Forks[0].Name != "phase0" {
			t.Errorf("%s: forks %+v, want %d starting with phase0", name, n.Config.Forks, w.forks)
		}
		for i := 1; i < len(n.Config.Forks); i++ {
			if n.Config.Forks[i].Epoch < n.Config.Forks[i-1].Epoch {
				t.Errorf("%s: forks not sorted by epoch: %+v", name, n.Config.Forks)
			}
		}
		if len(n.Bootnodes) == 0 {
			t.Errorf("%s: no bootnodes", name)
		}
		if n.Config.AttestationSubnetCount != 64 || n.Config.SubnetsPerNode != 2 || n.Config.EpochsPerSubnetSubscription != 256 ||
			n.Config.AttestationSubnetPrefixBits != 6 || n.Config.SyncCommitteeSubnetCount != 4 || n.Config.TargetAggregatorsPerCommittee != 16 {
			t.Errorf("%s: networking parameters %+v", name, n.Config)
		}
		if n.ActiveValidators != 0 {
			t.Errorf("%s: ActiveValidators %d, want 0 (unknown)", name, n.ActiveValidators)
		}
	}
	if g := mustLoad(t, "gnosis"); g.Config.EpochsPerSyncCommitteePeriod != 512 || g.Config.MaxBlobsPerBlockElectra != 2 {
		t.Errorf("gnosis preset values: sync period %d, electra blobs %d", g.Config.EpochsPerSyncCommitteePeriod, g.Config.MaxBlobsPerBlockElectra)
	}
	if m := mustLoad(t, "mainnet"); len(m.Config.BlobSchedule) != 2 || m.Config.BlobSchedule[1] != (BlobParams{419072, 21}) {
		t.Errorf("mainnet blob schedule %v", m.Config.BlobSchedule)
	}
}

func TestHoodiForksSharingGenesisEpoch(t *testing.T) {
	n := mustLoad(t, "hoodi")
	// phase0..deneb all sit at epoch 0: deneb, the newest, is in force.
	if f := n.ForkAt(0); f.Name != "deneb" {
		t.Errorf("hoodi ForkAt(0) = %s, want deneb", f.Name)
	}
	if f := n.ForkAt(2048); f.Name != "electra" {
		t.Errorf("hoodi ForkAt(2048) = %s, want electra", f.Name)
	}
	// d2f1997f: digest in early hoodi bootnode ENRs (deneb at genesis).
	if d := n.ForkDigest(0); d != hex4(t, "d2f1997f") {
		t.Errorf("hoodi genesis digest %x, want d2f1997f", d)
	}
}

func TestENRForkIDAndNextForkDigest(t *testing.T) {
	n := mustLoad(t, "mainnet")
	d, v, e := n.ENRForkID(0)
	if d != hex4(t, "b5303f2a") || v != hex4(t, "01000000") || e != 74240 {
		t.Errorf("ENRForkID(0) = %x %x %d", d, v, e)
	}
	// Before a BPO boundary the next version stays Fulu's; the epoch moves.
	d, v, e = n.ENRForkID(411392)
	if d != hex4(t, "cc2c5cdb") || v != hex4(t, "06000000") || e != 412672 {
		t.Errorf("ENRForkID(411392) = %x %x %d", d, v, e)
	}
	if nfd := n.NextForkDigest(411392); nfd != hex4(t, "cb0d1acc") {
		t.Errorf("NextForkDigest(411392) = %x, want cb0d1acc", nfd)
	}
	// After the last boundary nothing is scheduled (Gloas is FAR_FUTURE).
	d, v, e = n.ENRForkID(500000)
	if d != hex4(t, "8c9f62fe") || v != hex4(t, "06000000") || e != FarFutureEpoch {
		t.Errorf("ENRForkID(500000) = %x %x %d", d, v, e)
	}
	if nfd := n.NextForkDigest(500000); nfd != ([4]byte{}) {
		t.Errorf("NextForkDigest(500000) = %x, want zero", nfd)
	}
	// sepolia has Gloas scheduled: a regular fork changes the version.
	s := mustLoad(t, "sepolia")
	_, v, e = s.ENRForkID(300000)
	if v != hex4(t, "90000076") || e != 353024 {
		t.Errorf("sepolia ENRForkID(300000) next = %x %d", v, e)
	}
	if s.NextForkDigest(300000) != s.ForkDigest(353024) {
		t.Errorf("sepolia nfd does not equal the Gloas digest")
	}
}

func TestBoundariesAndKnownDigests(t *testing.T) {
	n := mustLoad(t, "mainnet")
	want := []uint64{74240, 144896, 194048, 269568, 364032, 411392, 412672, 419072}
	got := n.Boundaries()
	if len(got) != len(want) {
		t.Fatalf("Boundaries = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Boundaries = %v, want %v", got, want)
		}
	}
	kd := n.KnownDigests()
	if len(kd) != 9 {
		t.Errorf("KnownDigests has %d entries, want 9: %v", len(kd), kd)
	}
	if kd[hex4(t, "cb0d1acc")] != 412672 || kd[hex4(t, "b5303f2a")] != 0 {
		t.Errorf("KnownDigests first epochs wrong: %v", kd)
	}
	// hoodi: forks at epoch 0 add no boundary.
	if b := mustLoad(t, "hoodi").Boundaries(); b[0] != 2048 {
		t.Errorf("hoodi Boundaries = %v, want first 2048", b)
	}
}

func TestClock(t *testing.T) {
	n := mustLoad(t, "mainnet")
	g := n.GenesisTime
	if n.SlotAt(g.Add(-time.Hour)) != 0 || n.EpochAt(g) != 0 {
		t.Error("before/at genesis must be slot 0")
	}
	if s := n.SlotAt(g.Add(12*time.Second - 1)); s != 0 {
		t.Errorf("SlotAt(genesis+11.99s) = %d", s)
	}
	if s := n.SlotAt(g.Add(12 * time.Second)); s != 1 {
		t.Errorf("SlotAt(genesis+12s) = %d", s)
	}
	if e := n.EpochAt(g.Add(32 * 12 * time.Second)); e != 1 {
		t.Errorf("EpochAt(first slot of epoch 1) = %d", e)
	}
	if e := n.EpochAt(g.Add(32*12*time.Second - time.Nanosecond)); e != 0 {
		t.Errorf("EpochAt(last instant of epoch 0) = %d", e)
	}
	// Altair activated on mainnet Oct 27, 2021, 10:56:23 UTC.
	altair := time.Date(2021, 10, 27, 10, 56, 23, 0, time.UTC)
	if !n.EpochStart(74240).Equal(altair) {
		t.Errorf("EpochStart(74240) = %v, want %v", n.EpochStart(74240), altair)
	}
	if n.SlotStart(74240*32) != n.EpochStart(74240) {
		t.Error("SlotStart and EpochStart disagree")
	}
	// Crossing the Altair boundary by one second changes the digest.
	before, after := n.EpochAt(altair.Add(-time.Second)), n.EpochAt(altair)
	if before != 74239 || after != 74240 || n.ForkDigest(before) == n.ForkDigest(after) {
		t.Errorf("boundary crossing: epochs %d->%d digests %x->%x", before, after, n.ForkDigest(before), n.ForkDigest(after))
	}
	if !n.EpochStart(FarFutureEpoch).After(n.EpochStart(1 << 20)) {
		t.Error("EpochStart must saturate, not wrap, for huge epochs")
	}
	gn := mustLoad(t, "gnosis")
	if e := gn.EpochAt(gn.GenesisTime.Add(16 * 5 * time.Second)); e != 1 {
		t.Errorf("gnosis EpochAt(+80s) = %d, want 1", e)
	}
}
