package subnets

import (
	"crypto/sha256"
	"encoding/binary"
)

// ComputeShuffledIndex is the phase0 compute_shuffled_index (swap-or-not
// shuffle): the position of index after shuffling a list of count items
// with seed over the given number of rounds. An index outside [0, count)
// is returned unchanged rather than asserting, since callers may feed it
// values derived from the network.
func ComputeShuffledIndex(index, count uint64, seed [32]byte, rounds uint64) uint64 {
	if count == 0 || index >= count {
		return index
	}
	var buf [32 + 1 + 4]byte
	copy(buf[:32], seed[:])
	for r := uint64(0); r < rounds; r++ {
		buf[32] = byte(r)
		h := sha256.Sum256(buf[:33])
		pivot := binary.LittleEndian.Uint64(h[:8]) % count
		flip := (pivot + count - index) % count
		position := max(index, flip)
		binary.LittleEndian.PutUint32(buf[33:], uint32(position/256))
		source := sha256.Sum256(buf[:37])
		b := source[(position%256)/8]
		if (b>>(position%8))&1 == 1 {
			index = flip
		}
	}
	return index
}
