package reqresp

import (
	"encoding/binary"
	"fmt"
)

// Status is the Status handshake message; EarliestAvailableSlot exists only in
// version 2 (fulu).
type Status struct {
	ForkDigest            [4]byte
	FinalizedRoot         [32]byte
	FinalizedEpoch        uint64
	HeadRoot              [32]byte
	HeadSlot              uint64
	EarliestAvailableSlot uint64
}

// MetaData is the node metadata; Syncnets (altair, Bitvector[4]) exists from
// version 2, CustodyGroupCount (fulu) from version 3.
type MetaData struct {
	SeqNumber         uint64
	Attnets           [8]byte
	Syncnets          byte
	CustodyGroupCount uint64
}

// StatusSize is the SSZ size of Status at a protocol version (1 or 2).
func StatusSize(version int) int {
	if version >= 2 {
		return StatusV2Size
	}
	return StatusV1Size
}

// MetaDataSize is the SSZ size of MetaData at a protocol version (1, 2 or 3).
func MetaDataSize(version int) int {
	switch {
	case version >= 3:
		return MetaDataV3Size
	case version == 2:
		return MetaDataV2Size
	}
	return MetaDataV1Size
}

// MarshalSSZ encodes s for a protocol version: 1 gives 84 bytes, 2 (or more) 92.
func (s *Status) MarshalSSZ(version int) []byte {
	b := make([]byte, 0, StatusSize(version))
	b = append(b, s.ForkDigest[:]...)
	b = append(b, s.FinalizedRoot[:]...)
	b = binary.LittleEndian.AppendUint64(b, s.FinalizedEpoch)
	b = append(b, s.HeadRoot[:]...)
	b = binary.LittleEndian.AppendUint64(b, s.HeadSlot)
	if version >= 2 {
		b = binary.LittleEndian.AppendUint64(b, s.EarliestAvailableSlot)
	}
	return b
}

// UnmarshalStatus decodes a Status of a protocol version (1 or 2).
func UnmarshalStatus(b []byte, version int) (Status, error) {
	var s Status
	if version != 1 && version != 2 {
		return s, fmt.Errorf("decode status: unknown version %d (want 1 or 2)", version)
	}
	if len(b) != StatusSize(version) {
		return s, fmt.Errorf("decode status v%d: %d bytes, want %d: %w", version, len(b), StatusSize(version), ErrEncoding)
	}
	copy(s.ForkDigest[:], b[0:4])
	copy(s.FinalizedRoot[:], b[4:36])
	s.FinalizedEpoch = binary.LittleEndian.Uint64(b[36:44])
	copy(s.HeadRoot[:], b[44:76])
	s.HeadSlot = binary.LittleEndian.Uint64(b[76:84])
	if version == 2 {
		s.EarliestAvailableSlot = binary.LittleEndian.Uint64(b[84:92])
	}
	return s, nil
}

// MarshalSSZ encodes m for a protocol version: 1 gives 16 bytes, 2 gives 17,
// 3 (or more) 25. Bits of Syncnets above the fourth are not sent.
func (m *MetaData) MarshalSSZ(version int) []byte {
	b := make([]byte, 0, MetaDataSize(version))
	b = binary.LittleEndian.AppendUint64(b, m.SeqNumber)
	b = append(b, m.Attnets[:]...)
	if version >= 2 {
		b = append(b, m.Syncnets&0x0f)
	}
	if version >= 3 {
		b = binary.LittleEndian.AppendUint64(b, m.CustodyGroupCount)
	}
	return b
}

// UnmarshalMetaData decodes a MetaData of a protocol version (1, 2 or 3).
func UnmarshalMetaData(b []byte, version int) (MetaData, error) {
	var m MetaData
	if version < 1 || version > 3 {
		return m, fmt.Errorf("decode metadata: unknown version %d (want 1, 2 or 3)", version)
	}
	if len(b) != MetaDataSize(version) {
		return m, fmt.Errorf("decode metadata v%d: %d bytes, want %d: %w", version, len(b), MetaDataSize(version), ErrEncoding)
	}
	m.SeqNumber = binary.LittleEndian.Uint64(b[0:8])
	copy(m.Attnets[:], b[8:16])
	if version >= 2 {
		// SSZ requires the padding bits of a Bitvector[4] to be zero.
		if b[16]&0xf0 != 0 {
			return m, fmt.Errorf("decode metadata v%d: syncnets padding bits set (0x%02x): %w", version, b[16], ErrEncoding)
		}
		m.Syncnets = b[16]
	}
	if version == 3 {
		m.CustodyGroupCount = binary.LittleEndian.Uint64(b[17:25])
	}
	return m, nil
}

func marshalUint64(v uint64) []byte {
	return binary.LittleEndian.AppendUint64(make([]byte, 0, Uint64Size), v)
}

func unmarshalUint64(b []byte) (uint64, error) {
	if len(b) != Uint64Size {
		return 0, fmt.Errorf("decode uint64: %d bytes, want 8: %w", len(b), ErrEncoding)
	}
	return binary.LittleEndian.Uint64(b), nil
}
