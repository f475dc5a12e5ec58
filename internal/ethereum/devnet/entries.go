package devnet

import (
	"encoding/binary"

	"github.com/ethereum/go-ethereum/p2p/enr"
)

// Fulu custody (fulu/das-core.md and validator.md "Validator custody"):
// a node without validators custodies CUSTODY_REQUIREMENT groups, one with
// validators at least VALIDATOR_CUSTODY_REQUIREMENT and one more group per
// 32 ETH of balance, a supernode all of them.
const (
	custodyRequirement          = 4
	validatorCustodyRequirement = 8
	numberOfCustodyGroups       = 128
)

func custodyGroupCount(validators int, large bool) uint64 {
	switch {
	case large:
		return numberOfCustodyGroups
	case validators == 0:
		return custodyRequirement
	}
	return uint64(min(numberOfCustodyGroups, max(validatorCustodyRequirement, validators)))
}

// The eth2-specific ENR entries (phase0, altair and fulu p2p-interface.md).
// They are written here rather than taken from the enr package so the
// devnet builds records exactly as a beacon node does, byte for byte.

// eth2Entry is the SSZ ENRForkID: fork digest, next fork version, next
// fork epoch (little-endian), 16 bytes as an RLP byte string.
func eth2Entry(digest, nextVersion [4]byte, nextEpoch uint64) enr.Entry {
	b := make([]byte, 16)
	copy(b[:4], digest[:])
	copy(b[4:8], nextVersion[:])
	binary.LittleEndian.PutUint64(b[8:], nextEpoch)
	return enr.WithEntry("eth2", b)
}

func attnetsEntry(bits [8]byte) enr.Entry { return enr.WithEntry("attnets", bits[:]) }

func syncnetsEntry(bits byte) enr.Entry { return enr.WithEntry("syncnets", []byte{bits}) }

func cgcEntry(n uint64) enr.Entry { return enr.WithEntry("cgc", n) }

func nfdEntry(d [4]byte) enr.Entry { return enr.WithEntry("nfd", d[:]) }

// bitsOf returns the set bit positions of an SSZ bitvector (bit i is bit
// i%8 of byte i/8).
func bitsOf(b []byte, n int) []uint64 {
	var out []uint64
	for i := 0; i < n && i/8 < len(b); i++ {
		if b[i/8]&(1<<(i%8)) != 0 {
			out = append(out, uint64(i))
		}
	}
	return out
}

func setBits(subnets []uint64) [8]byte {
	var b [8]byte
	for _, s := range subnets {
		if s < 64 {
			b[s/8] |= 1 << (s % 8)
		}
	}
	return b
}
