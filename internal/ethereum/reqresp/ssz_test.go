package reqresp

import (
	"bytes"
	"errors"
	"testing"
)

func sampleStatus() Status {
	s := Status{FinalizedEpoch: 0x0102030405060708, HeadSlot: 123456, EarliestAvailableSlot: 777}
	copy(s.ForkDigest[:], []byte{0xb5, 0x30, 0x3f, 0x2a})
	for i := range s.FinalizedRoot {
		s.FinalizedRoot[i] = byte(i)
		s.HeadRoot[i] = byte(255 - i)
	}
	return s
}

func TestStatusSSZLayout(t *testing.T) {
	s := sampleStatus()
	v1 := s.MarshalSSZ(1)
	v2 := s.MarshalSSZ(2)
	if len(v1) != 84 || len(v2) != 92 {
		t.Fatalf("sizes v1=%d v2=%d, want 84 and 92", len(v1), len(v2))
	}
	// Field offsets of the SSZ container: fork_digest 0, finalized_root 4,
	// finalized_epoch 36, head_root 44, head_slot 76, earliest_available_slot 84.
	if !bytes.Equal(v1[:4], s.ForkDigest[:]) || v1[4] != 0 || v1[35] != 31 {
		t.Fatalf("fork digest / finalized root misplaced: %x", v1[:36])
	}
	if !bytes.Equal(v1[36:44], []byte{8, 7, 6, 5, 4, 3, 2, 1}) {
		t.Fatalf("finalized_epoch not little endian: %x", v1[36:44])
	}
	if v1[44] != 255 || v2[84] != 0x09 || v2[85] != 0x03 {
		t.Fatalf("head root or earliest slot misplaced: %x", v2[44:])
	}
	if !bytes.Equal(v1, v2[:84]) {
		t.Fatal("v2 does not extend v1")
	}
	for _, v := range []int{1, 2} {
		got, err := UnmarshalStatus(s.MarshalSSZ(v), v)
		if err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
		want := s
		if v == 1 {
			want.EarliestAvailableSlot = 0
		}
		if got != want {
			t.Fatalf("v%d round trip: got %+v want %+v", v, got, want)
		}
	}
}

func TestUnmarshalStatusRejectsWrongSizeAndVersion(t *testing.T) {
	s := sampleStatus()
	if _, err := UnmarshalStatus(s.MarshalSSZ(2), 1); !errors.Is(err, ErrEncoding) {
		t.Fatalf("92 bytes as v1: err %v", err)
	}
	if _, err := UnmarshalStatus(s.MarshalSSZ(1), 2); !errors.Is(err, ErrEncoding) {
		t.Fatalf("84 bytes as v2: err %v", err)
	}
	if _, err := UnmarshalStatus(s.MarshalSSZ(1), 3); err == nil {
		t.Fatal("version 3 accepted")
	}
}

func TestMetaDataSSZ(t *testing.T) {
	m := MetaData{SeqNumber: 9, Attnets: [8]byte{1, 0, 0, 0, 0, 0, 0, 0x80}, Syncnets: 0x05, CustodyGroupCount: 128}
	for v, size := range map[int]int{1: 16, 2: 17, 3: 25} {
		b := m.MarshalSSZ(v)
		if len(b) != size {
			t.Fatalf("v%d size %d want %d", v, len(b), size)
		}
		got, err := UnmarshalMetaData(b, v)
		if err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
		want := m
		if v < 3 {
			want.CustodyGroupCount = 0
		}
		if v < 2 {
			want.Syncnets = 0
		}
		if got != want {
			t.Fatalf("v%d round trip: got %+v want %+v", v, got, want)
		}
	}
	b := m.MarshalSSZ(3)
	if b[0] != 9 || b[8] != 1 || b[15] != 0x80 || b[16] != 5 || b[17] != 128 {
		t.Fatalf("layout: %x", b)
	}
}

func TestUnmarshalMetaDataRejectsSyncnetsPadding(t *testing.T) {
	b := (&MetaData{}).MarshalSSZ(2)
	b[16] = 0x10 // bit 4 lies beyond Bitvector[4]
	if _, err := UnmarshalMetaData(b, 2); !errors.Is(err, ErrEncoding) {
		t.Fatalf("padding bit accepted: %v", err)
	}
	if _, err := UnmarshalMetaData(b[:10], 2); !errors.Is(err, ErrEncoding) {
		t.Fatalf("short metadata accepted: %v", err)
	}
	if _, err := UnmarshalMetaData(make([]byte, 25), 4); err == nil {
		t.Fatal("version 4 accepted")
	}
}
