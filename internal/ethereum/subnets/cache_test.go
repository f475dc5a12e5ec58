package subnets

import (
	"crypto/sha256"
	"encoding/binary"
	"math/big"
	"slices"
	"testing"
)

// specSubscribed is compute_subscribed_subnets written as the spec states it,
// in 256-bit arithmetic, to check the reduced form split/subnetsFrom against.
func specSubscribed(nodeID [32]byte, epoch uint64, p Params) []uint64 {
	p = p.sane()
	id := new(big.Int).SetBytes(nodeID[:])
	prefix := new(big.Int).Rsh(id, uint(NodeIDBits-p.AttestationSubnetPrefixBits)).Uint64()
	offset := new(big.Int).Mod(id, new(big.Int).SetUint64(p.EpochsPerSubnetSubscription)).Uint64()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], (epoch+offset)/p.EpochsPerSubnetSubscription)
	seed := sha256.Sum256(b[:])
	perm := ComputeShuffledIndex(prefix, 1<<p.AttestationSubnetPrefixBits, seed, p.ShuffleRoundCount)
	var out []uint64
	for i := uint64(0); i < p.SubnetsPerNode; i++ {
		out = append(out, (perm+i)%p.AttestationSubnetCount)
	}
	return out
}

func TestIDModMatchesBigInt(t *testing.T) {
	ids := [][32]byte{{}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
	for i := 0; i < 50; i++ {
		ids = append(ids, sha256.Sum256([]byte{byte(i)}))
	}
	// Both sides of the uint64 fast path's limit, and the moduli in use.
	mods := []uint64{1, 2, 255, 256, 257, 1<<32 + 15, 1<<56 - 1, 1 << 56, 1<<63 + 7, 1<<64 - 1}
	for _, id := range ids {
		for _, m := range mods {
			want := new(big.Int).Mod(new(big.Int).SetBytes(id[:]), new(big.Int).SetUint64(m)).Uint64()
			if got := idMod(id, m); got != want {
				t.Fatalf("idMod(%x, %d) = %d, want %d", id, m, got, want)
			}
		}
	}
}

func TestCacheMatchesComputeSubscribedSubnets(t *testing.T) {
	var c Cache
	main, minimal := ParamsMainnet(), ParamsMinimal()
	for i := 0; i < 2000; i++ {
		id := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
		epoch := uint64(i) * 37
		for _, p := range []Params{main, minimal} {
			want := specSubscribed(id, epoch, p)
			if got := c.Subscribed(id, epoch, p); !slices.Equal(got, want) {
				t.Fatalf("node %d epoch %d: cache %v, spec %v", i, epoch, got, want)
			}
			if got := ComputeSubscribedSubnets(id, epoch, p); !slices.Equal(got, want) {
				t.Fatalf("node %d epoch %d: compute %v, spec %v", i, epoch, got, want)
			}
		}
	}
	// 2000 nodes over epochs 0..73963 are 290 periods (plus the offset's
	// one) of at most 64 prefixes each, for two parameter sets: far fewer
	// entries than nodes × epochs, which is the point of keying by prefix.
	if n := c.len(); n > 2*292*64 || n >= 4000 {
		t.Fatalf("cache holds %d entries for 4000 lookups", n)
	}
}

func TestCacheSharesAnswersAcrossNodesOfOnePrefix(t *testing.T) {
	var c Cache
	p := ParamsMainnet()
	// Same top 6 bits, offsets 0 and 1 (the last byte), epoch 10: one
	// period, so one entry for both nodes.
	a := [32]byte{0b10110100}
	b := [32]byte{0b10110111, 31: 1}
	if !slices.Equal(c.Subscribed(a, 10, p), c.Subscribed(b, 10, p)) {
		t.Fatal("nodes of one prefix and period got different subnets")
	}
	if n := c.len(); n != 1 {
		t.Fatalf("cache holds %d entries, want 1", n)
	}
}

func TestCacheIsBounded(t *testing.T) {
	var c Cache
	p := ParamsMainnet()
	p.ShuffleRoundCount = 1 // cheap; the bound is what is under test
	id := [32]byte{}
	for e := uint64(0); e < (maxCacheEntries+10)*p.EpochsPerSubnetSubscription; e += p.EpochsPerSubnetSubscription {
		c.Subscribed(id, e, p)
	}
	if n := c.len(); n > maxCacheEntries {
		t.Fatalf("cache grew to %d entries, bound %d", n, maxCacheEntries)
	}
}
