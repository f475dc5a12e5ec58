package chain

import (
	"encoding/binary"
	"fmt"

	"github.com/cespare/xxhash/v2"
	"golang.org/x/crypto/blake2b"

	"github.com/valtrack/valtrack/internal/polkadot/scale"
)

// twox is Substrate's TwoX hash: xxHash64 with seeds 0, 1, … over data,
// each digest little-endian, concatenated to n bytes.
func twox(data []byte, n int) []byte {
	out := make([]byte, 0, n)
	for seed := uint64(0); len(out) < n; seed++ {
		h := xxhash.NewWithSeed(seed)
		_, _ = h.Write(data)
		out = binary.LittleEndian.AppendUint64(out, h.Sum64())
	}
	return out
}

// Twox128 is the hash storage prefixes are built from.
func Twox128(data []byte) []byte { return twox(data, 16) }

func blake2(data []byte, size int) []byte {
	h, _ := blake2b.New(size, nil)
	h.Write(data)
	return h.Sum(nil)
}

// Blake2_256 hashes a call for proxy announcements and report ids.
func Blake2_256(data []byte) []byte { return blake2(data, 32) }

// HashKey applies a storage hasher to an encoded key.
func HashKey(h scale.Hasher, key []byte) []byte {
	switch h {
	case scale.Blake2_128:
		return blake2(key, 16)
	case scale.Blake2_256:
		return blake2(key, 32)
	case scale.Blake2_128Concat:
		return append(blake2(key, 16), key...)
	case scale.Twox128:
		return twox(key, 16)
	case scale.Twox256:
		return twox(key, 32)
	case scale.Twox64Concat:
		return append(twox(key, 8), key...)
	case scale.Identity:
		return append([]byte(nil), key...)
	}
	return nil
}

// hashLen is the digest length a hasher puts before a concatenated key
// (and the whole length for opaque hashers).
func hashLen(h scale.Hasher) (n int, concat bool) {
	switch h {
	case scale.Blake2_128:
		return 16, false
	case scale.Blake2_256, scale.Twox256:
		return 32, false
	case scale.Blake2_128Concat:
		return 16, true
	case scale.Twox128:
		return 16, false
	case scale.Twox64Concat:
		return 8, true
	case scale.Identity:
		return 0, true
	}
	return 0, false
}

// Prefix is twox128(pallet) ‖ twox128(item): the key of a plain value
// and the prefix of every key of a map.
func Prefix(pallet, item string) []byte {
	return append(Twox128([]byte(pallet)), Twox128([]byte(item))...)
}

// Key builds the storage key of pallet.item for the given SCALE-encoded
// keys, hashing each with the entry's hasher; fewer keys than hashers
// give a prefix of the map (iterating all entries under those keys).
func Key(md *scale.Metadata, pallet, item string, keys ...[]byte) ([]byte, error) {
	p := md.Pallet(pallet)
	e := p.Entry(item)
	if e == nil {
		return nil, fmt.Errorf("runtime has no storage %s.%s", pallet, item)
	}
	if len(keys) > len(e.Hashers) {
		return nil, fmt.Errorf("storage %s.%s takes %d keys, got %d", pallet, item, len(e.Hashers), len(keys))
	}
	k := Prefix(p.Prefix, item)
	for i, key := range keys {
		k = append(k, HashKey(e.Hashers[i], key)...)
	}
	return k, nil
}

// KeyArgs recovers the SCALE-encoded keys of a full storage key of a map
// entry: the keys under Concat and Identity hashers come back (their
// length found by decoding the key type), opaque ones as nil.
func KeyArgs(md *scale.Metadata, pallet, item string, full []byte) ([][]byte, error) {
	p := md.Pallet(pallet)
	e := p.Entry(item)
	if e == nil || !e.Map {
		return nil, fmt.Errorf("runtime has no storage map %s.%s", pallet, item)
	}
	types, err := md.KeyTypes(e)
	if err != nil {
		return nil, err
	}
	rest := full
	if len(rest) < 32 {
		return nil, fmt.Errorf("storage key of %d bytes is shorter than its prefix", len(full))
	}
	rest = rest[32:]
	out := make([][]byte, 0, len(types))
	for i, h := range e.Hashers {
		n, concat := hashLen(h)
		if len(rest) < n {
			return nil, fmt.Errorf("storage key %s.%s: key %d truncated", pallet, item, i)
		}
		rest = rest[n:]
		if !concat {
			out = append(out, nil)
			continue
		}
		_, after, err := md.Types.Decode(types[i], rest)
		if err != nil {
			return nil, fmt.Errorf("storage key %s.%s: key %d: %w", pallet, item, i, err)
		}
		out = append(out, append([]byte(nil), rest[:len(rest)-len(after)]...))
		rest = after
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("storage key %s.%s: %d bytes after the keys", pallet, item, len(rest))
	}
	return out, nil
}
