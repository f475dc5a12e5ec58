// Package enr decodes the Ethereum node records (EIP-778) of consensus-layer
// nodes, with the eth2-specific entries (eth2, attnets, syncnets, cgc, nfd),
// and provides those entries as go-ethereum enr.Entry types for building
// records.
package enr

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/ethereum/go-ethereum/p2p/enr"
	"github.com/ethereum/go-ethereum/rlp"
)

// ENR keys of the consensus p2p-interface specs.
const (
	KeyEth2     = "eth2"     // phase0: ENRForkID
	KeyAttnets  = "attnets"  // phase0: Bitvector[ATTESTATION_SUBNET_COUNT]
	KeySyncnets = "syncnets" // altair: Bitvector[SYNC_COMMITTEE_SUBNET_COUNT]
	KeyCGC      = "cgc"      // fulu: custody group count
	KeyNFD      = "nfd"      // fulu: next fork digest
)

// maxCGCBytes bounds the cgc value: a uint64 is at most 8 bytes.
const maxCGCBytes = 8

// Eth2 is the "eth2" entry: SSZ ENRForkID = fork_digest(4) ++
// next_fork_version(4) ++ next_fork_epoch(8, little-endian).
type Eth2 struct {
	ForkDigest      [4]byte
	NextForkVersion [4]byte
	NextForkEpoch   uint64
}

// ENRKey implements enr.Entry.
func (Eth2) ENRKey() string { return KeyEth2 }

// EncodeRLP writes the SSZ encoding as an RLP byte string.
func (e Eth2) EncodeRLP(w io.Writer) error {
	var b [16]byte
	copy(b[:4], e.ForkDigest[:])
	copy(b[4:8], e.NextForkVersion[:])
	binary.LittleEndian.PutUint64(b[8:], e.NextForkEpoch)
	return rlp.Encode(w, b[:])
}

// DecodeRLP reads the 16-byte SSZ ENRForkID.
func (e *Eth2) DecodeRLP(s *rlp.Stream) error {
	b, err := s.Bytes()
	if err != nil {
		return err
	}
	if len(b) != 16 {
		return fmt.Errorf("eth2 entry is %d bytes, want 16 (ENRForkID)", len(b))
	}
	copy(e.ForkDigest[:], b[:4])
	copy(e.NextForkVersion[:], b[4:8])
	e.NextForkEpoch = binary.LittleEndian.Uint64(b[8:])
	return nil
}

// Attnets is the "attnets" entry, SSZ Bitvector[64]: bit i (byte i/8,
// bit i%8) set when the node subscribes to attestation subnet i.
type Attnets [8]byte

// ENRKey implements enr.Entry.
func (Attnets) ENRKey() string { return KeyAttnets }

// EncodeRLP writes the bitvector as an RLP byte string.
func (a Attnets) EncodeRLP(w io.Writer) error { return rlp.Encode(w, a[:]) }

// DecodeRLP reads an 8-byte bitvector.
func (a *Attnets) DecodeRLP(s *rlp.Stream) error {
	b, err := s.Bytes()
	if err != nil {
		return err
	}
	if len(b) != len(a) {
		return fmt.Errorf("attnets entry is %d bytes, want %d (Bitvector[64])", len(b), len(a))
	}
	copy(a[:], b)
	return nil
}

// Syncnets is the "syncnets" entry, SSZ Bitvector[4] in one byte.
type Syncnets byte

// ENRKey implements enr.Entry.
func (Syncnets) ENRKey() string { return KeySyncnets }

// EncodeRLP writes the byte as a one-byte RLP string (not an RLP integer:
// SSZ zero is the byte 0x00, not the empty string).
func (v Syncnets) EncodeRLP(w io.Writer) error { return rlp.Encode(w, []byte{byte(v)}) }

// DecodeRLP reads a one-byte bitvector.
func (v *Syncnets) DecodeRLP(s *rlp.Stream) error {
	b, err := s.Bytes()
	if err != nil {
		return err
	}
	if len(b) != 1 {
		return fmt.Errorf("syncnets entry is %d bytes, want 1 (Bitvector[4])", len(b))
	}
	if b[0]&0xf0 != 0 {
		return fmt.Errorf("syncnets entry 0x%02x sets bits above the 4 sync subnets", b[0])
	}
	*v = Syncnets(b[0])
	return nil
}

// CGC is the "cgc" entry: the custody group count, a big-endian integer
// with no leading zero bytes, 0 as the empty string (Fulu p2p-interface.md)
// — exactly an RLP integer.
type CGC uint64

// ENRKey implements enr.Entry.
func (CGC) ENRKey() string { return KeyCGC }

// EncodeRLP writes the count as an RLP integer.
func (c CGC) EncodeRLP(w io.Writer) error { return rlp.Encode(w, uint64(c)) }

// DecodeRLP reads the count. Leading zero bytes are tolerated: the value
// is unambiguous and some clients may pad it.
func (c *CGC) DecodeRLP(s *rlp.Stream) error {
	b, err := s.Bytes()
	if err != nil {
		return err
	}
	if len(b) > maxCGCBytes {
		return fmt.Errorf("cgc entry is %d bytes, more than a uint64", len(b))
	}
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	*c = CGC(v)
	return nil
}

// NFD is the "nfd" entry: the next fork digest, zero when none is scheduled.
type NFD [4]byte

// ENRKey implements enr.Entry.
func (NFD) ENRKey() string { return KeyNFD }

// EncodeRLP writes the digest as an RLP byte string.
func (d NFD) EncodeRLP(w io.Writer) error { return rlp.Encode(w, d[:]) }

// DecodeRLP reads a 4-byte digest.
func (d *NFD) DecodeRLP(s *rlp.Stream) error {
	b, err := s.Bytes()
	if err != nil {
		return err
	}
	if len(b) != len(d) {
		return fmt.Errorf("nfd entry is %d bytes, want %d (ForkDigest)", len(b), len(d))
	}
	copy(d[:], b)
	return nil
}

// QUIC and QUIC6 are the libp2p QUIC ports ("quic", "quic6"); go-ethereum
// already defines them, and the aliases keep one type per key.
type (
	QUIC  = enr.QUIC
	QUIC6 = enr.QUIC6
)
