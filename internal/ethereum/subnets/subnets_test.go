package subnets

import (
	"crypto/sha256"
	"encoding/binary"
	"math/big"
	"slices"
	"testing"
)

func nodeIDFromDecimal(t testing.TB, s string) [32]byte {
	t.Helper()
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("bad decimal %q", s)
	}
	var id [32]byte
	n.FillBytes(id[:])
	return id
}

// Vectors from Lighthouse consensus/types/src/subnet_id.rs (commit
// cc780aae3e0cb89649086a3b63cb02a4f97f7ae2, line 169), also used by
// Lodestar's computeSubscribedSubnet unit test; mainnet config.
func TestComputeSubscribedSubnetsVectors(t *testing.T) {
	cases := []struct {
		id    string
		epoch uint64
		want  []uint64
	}{
		{"0", 54321, []uint64{4, 5}},
		{"88752428858350697756262172400162263450541348766581994718383409852729519486397", 1017090249, []uint64{61, 62}},
		{"18732750322395381632951253735273868184515463718109267674920115648614659369468", 1827566880, []uint64{23, 24}},
		{"27726842142488109545414954493849224833670205008410190955613662332153332462900", 846255942, []uint64{38, 39}},
		{"39755236029158558527862903296867805548949739810920318269566095185775868999998", 766597383, []uint64{53, 54}},
		{"31899136003441886988955119620035330314647133604576220223892254902004850516297", 1204990115, []uint64{39, 40}},
		{"58579998103852084482416614330746509727562027284701078483890722833654510444626", 1616209495, []uint64{48, 49}},
		{"28248042035542126088870192155378394518950310811868093527036637864276176517397", 1774367616, []uint64{39, 40}},
		{"60930578857433095740782970114409273483106482059893286066493409689627770333527", 1484598751, []uint64{34, 35}},
		{"103822458477361691467064888613019442068586830412598673713899771287914656699997", 3525502229, []uint64{37, 38}},
	}
	for i, c := range cases {
		got := ComputeSubscribedSubnets(nodeIDFromDecimal(t, c.id), c.epoch, ParamsMainnet())
		if !slices.Equal(got, c.want) {
			t.Errorf("case %d: got %v, want %v", i, got, c.want)
		}
	}
}

func TestComputeSubscribedSubnetsDistinctAndBounded(t *testing.T) {
	p := ParamsMainnet()
	for i := 0; i < 200; i++ {
		id := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
		got := ComputeSubscribedSubnets(id, uint64(i)*977, p)
		if uint64(len(got)) != p.SubnetsPerNode {
			t.Fatalf("got %d subnets, want %d", len(got), p.SubnetsPerNode)
		}
		seen := map[uint64]bool{}
		for _, s := range got {
			if s >= p.AttestationSubnetCount {
				t.Fatalf("subnet %d out of range", s)
			}
			if seen[s] {
				t.Fatalf("duplicate subnet %d in %v", s, got)
			}
			seen[s] = true
		}
	}
}

// Subnets change only when (epoch + node_offset) crosses a multiple of
// EPOCHS_PER_SUBNET_SUBSCRIPTION.
func TestComputeSubscribedSubnetsStableWithinWindow(t *testing.T) {
	p := ParamsMainnet()
	p.EpochsPerSubnetSubscription = 8
	totalChanges := 0
	for i := 0; i < 20; i++ {
		id := sha256.Sum256([]byte{byte(i), 7})
		offset := new(big.Int).Mod(new(big.Int).SetBytes(id[:]), big.NewInt(8)).Uint64()
		changes := 0
		prev := ComputeSubscribedSubnets(id, 0, p)
		for e := uint64(1); e < 64; e++ {
			cur := ComputeSubscribedSubnets(id, e, p)
			boundary := (e+offset)%p.EpochsPerSubnetSubscription == 0
			if !boundary && !slices.Equal(prev, cur) {
				t.Fatalf("node %d: subnets changed at epoch %d inside a window (offset %d): %v -> %v", i, e, offset, prev, cur)
			}
			if !slices.Equal(prev, cur) {
				changes++
			}
			prev = cur
		}
		totalChanges += changes
	}
	// A node may keep its subnets across a boundary by chance (1 in 64),
	// but not 20 nodes over 8 boundaries each.
	if totalChanges == 0 {
		t.Fatal("subnets never rotated across window boundaries")
	}
}

func TestComputeShuffledIndexIsPermutation(t *testing.T) {
	for _, count := range []uint64{1, 2, 3, 10, 64, 100, 333} {
		seed := sha256.Sum256([]byte{byte(count)})
		seen := make([]bool, count)
		for i := uint64(0); i < count; i++ {
			j := ComputeShuffledIndex(i, count, seed, 90)
			if j >= count {
				t.Fatalf("count %d: index %d -> %d out of range", count, i, j)
			}
			if seen[j] {
				t.Fatalf("count %d: %d hit twice", count, j)
			}
			seen[j] = true
		}
	}
}

func TestComputeShuffledIndexZeroRoundsIsIdentity(t *testing.T) {
	var seed [32]byte
	for i := uint64(0); i < 50; i++ {
		if got := ComputeShuffledIndex(i, 50, seed, 0); got != i {
			t.Fatalf("index %d -> %d with no rounds", i, got)
		}
	}
}

func TestComputeShuffledIndexOutOfRangeUnchanged(t *testing.T) {
	var seed [32]byte
	if got := ComputeShuffledIndex(5, 5, seed, 90); got != 5 {
		t.Fatalf("got %d", got)
	}
	if got := ComputeShuffledIndex(3, 0, seed, 90); got != 3 {
		t.Fatalf("got %d", got)
	}
}

func TestCommitteesPerSlot(t *testing.T) {
	p := ParamsMainnet()
	cases := []struct{ active, want uint64 }{
		{0, 1}, {100, 1}, {32 * 128, 1}, {32 * 128 * 2, 2}, {32*128*3 - 1, 2}, {1_000_000, 64}, {32 * 128 * 64, 64},
	}
	for _, c := range cases {
		if got := CommitteesPerSlot(c.active, p); got != c.want {
			t.Errorf("CommitteesPerSlot(%d) = %d, want %d", c.active, got, c.want)
		}
	}
}

func TestSubnetForAttestation(t *testing.T) {
	p := ParamsMainnet()
	if got := SubnetForAttestation(64, 33, 5, p); got != (64*1+5)%64 {
		t.Fatalf("got %d", got)
	}
	if got := SubnetForAttestation(3, 32*10+4, 2, p); got != 14 {
		t.Fatalf("got %d, want 14", got)
	}
	for slot := uint64(0); slot < 64; slot++ {
		for ci := uint64(0); ci < 64; ci++ {
			if s := SubnetForAttestation(64, slot, ci, p); s >= 64 {
				t.Fatalf("subnet %d out of range", s)
			}
		}
	}
}

func TestAggregatorModuloAndProbability(t *testing.T) {
	p := ParamsMainnet()
	cases := []struct{ n, mod uint64 }{{0, 1}, {15, 1}, {16, 1}, {31, 1}, {32, 2}, {128, 8}, {500, 31}}
	for _, c := range cases {
		if got := AggregatorModulo(c.n, p); got != c.mod {
			t.Errorf("AggregatorModulo(%d) = %d, want %d", c.n, got, c.mod)
		}
		if got := AggregatorProbability(c.n, p); got != 1/float64(c.mod) {
			t.Errorf("AggregatorProbability(%d) = %v", c.n, got)
		}
	}
}

func TestIsAggregator(t *testing.T) {
	p := ParamsMainnet()
	// Small committees: everyone aggregates.
	if !IsAggregator(10, []byte("any"), p) {
		t.Fatal("committee of 10 must make every member an aggregator")
	}
	// The rule itself, computed independently.
	hits := 0
	for i := 0; i < 4000; i++ {
		proof := []byte{byte(i), byte(i >> 8), 1}
		h := sha256.Sum256(proof)
		want := binary.LittleEndian.Uint64(h[:8])%8 == 0
		got := IsAggregator(128, proof, p)
		if got != want {
			t.Fatalf("proof %d: got %v want %v", i, got, want)
		}
		if got {
			hits++
		}
	}
	// 1/8 of 4000 = 500; a fair hash stays well within 350..650.
	if hits < 350 || hits > 650 {
		t.Fatalf("aggregator rate %d/4000 far from 1/8", hits)
	}
}

func TestSyncSubnetForIndex(t *testing.T) {
	p := ParamsMainnet()
	cases := []struct{ idx, want uint64 }{{0, 0}, {127, 0}, {128, 1}, {255, 1}, {256, 2}, {511, 3}}
	for _, c := range cases {
		if got := SyncSubnetForIndex(c.idx, p); got != c.want {
			t.Errorf("SyncSubnetForIndex(%d) = %d, want %d", c.idx, got, c.want)
		}
	}
	m := ParamsMinimal()
	if got := SyncSubnetForIndex(31, m); got != 3 {
		t.Errorf("minimal: got %d want 3", got)
	}
}

func TestZeroParamsDoNotPanic(t *testing.T) {
	var p Params
	for _, s := range ComputeSubscribedSubnets([32]byte{1}, 3, p) {
		if s >= 64 {
			t.Errorf("subnet %d out of range with zero params", s)
		}
	}
	if c := CommitteesPerSlot(10, p); c < 1 {
		t.Errorf("committees per slot %d, want at least 1", c)
	}
	if s := SubnetForAttestation(0, 1, 1, p); s >= 64 {
		t.Errorf("attestation subnet %d out of range", s)
	}
	if !IsAggregator(0, nil, p) {
		t.Error("with modulo 1 every validator aggregates")
	}
	if s := SyncSubnetForIndex(9, p); s >= 4 {
		t.Errorf("sync subnet %d out of range", s)
	}
}

// Node ids come from ENRs of strangers; no input may panic or leave range,
// and the reduced arithmetic and the cache must give the spec's answer.
func FuzzComputeSubscribedSubnets(f *testing.F) {
	f.Add(make([]byte, 32), uint64(0), uint64(256), uint64(6))
	f.Add([]byte{0xff, 0xff}, uint64(1<<63), uint64(1), uint64(32))
	f.Add([]byte{0xff, 0xff}, uint64(1<<63), uint64(1<<60), uint64(32))
	f.Add([]byte{1, 2, 3}, uint64(54321), uint64(0), uint64(0))
	var c Cache
	f.Fuzz(func(t *testing.T, raw []byte, epoch, epss, bits uint64) {
		var id [32]byte
		copy(id[:], raw)
		p := ParamsMainnet()
		p.EpochsPerSubnetSubscription = epss
		p.AttestationSubnetPrefixBits = bits % 40
		got := ComputeSubscribedSubnets(id, epoch, p)
		for _, s := range got {
			if s >= p.sane().AttestationSubnetCount {
				t.Fatalf("subnet %d out of range", s)
			}
		}
		want := specSubscribed(id, epoch, p)
		if !slices.Equal(got, want) {
			t.Fatalf("compute %v, spec %v", got, want)
		}
		if cached := c.Subscribed(id, epoch, p); !slices.Equal(cached, want) {
			t.Fatalf("cache %v, spec %v", cached, want)
		}
	})
}

func BenchmarkComputeShuffledIndex(b *testing.B) {
	seed := sha256.Sum256([]byte("bench"))
	for i := 0; i < b.N; i++ {
		ComputeShuffledIndex(uint64(i)%1000, 1000, seed, 90)
	}
}
