package reqresp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/golang/snappy"
)

// fuzzSeeds are valid frames, truncated frames, huge declared lengths and
// snappy bombs.
func fuzzSeeds() [][]byte {
	st := sampleStatus()
	var seeds [][]byte
	for _, p := range [][]byte{st.MarshalSSZ(1), st.MarshalSSZ(2), marshalUint64(3), (&MetaData{SeqNumber: 1}).MarshalSSZ(3)} {
		var buf bytes.Buffer
		_ = WriteRequest(&buf, p)
		seeds = append(seeds, buf.Bytes(), buf.Bytes()[:buf.Len()/2])
	}
	seeds = append(seeds, binary.AppendUvarint(nil, 10<<20), append(bytes.Repeat([]byte{0xff}, 10), 1))
	zeros := make([]byte, snappyMaxBlockLen)
	seeds = append(seeds, append(binary.AppendUvarint(nil, 84), frameWith(chunkCompressed, maskedCRC(zeros), snappy.Encode(nil, zeros))...))
	liar := append(binary.AppendUvarint(nil, 1<<30), 0, 0)
	seeds = append(seeds, append(binary.AppendUvarint(nil, 84), frameWith(chunkCompressed, 0, liar)...))
	return seeds
}

func FuzzReadRequest(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const lo, hi = 0, 4096
		b, err := ReadRequest(bytes.NewReader(data), lo, hi)
		if err != nil {
			return
		}
		if len(b) < lo || len(b) > hi {
			t.Fatalf("accepted %d bytes outside %d..%d", len(b), lo, hi)
		}
		// Whatever decodes must survive our own encoding.
		var buf bytes.Buffer
		if err := WriteRequest(&buf, b); err != nil {
			t.Fatal(err)
		}
		again, err := ReadRequest(&buf, lo, hi)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("re-encoded payload does not round trip: %v", err)
		}
	})
}

func FuzzReadResponseChunk(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(append([]byte{CodeSuccess}, s...))
		f.Add(append([]byte{CodeServerError}, s...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		code, b, err := ReadResponseChunk(bytes.NewReader(data), StatusV1Size, StatusV2Size)
		if err != nil {
			return
		}
		if code == CodeSuccess && (len(b) < StatusV1Size || len(b) > StatusV2Size) {
			t.Fatalf("success payload of %d bytes outside bounds", len(b))
		}
		if code != CodeSuccess && len(b) > MaxErrorMessage {
			t.Fatalf("error message of %d bytes", len(b))
		}
		var buf bytes.Buffer
		if err := WriteResponseChunk(&buf, code, b); err != nil {
			t.Fatal(err)
		}
		code2, b2, err := ReadResponseChunk(&buf, StatusV1Size, StatusV2Size)
		if err != nil || code2 != code || !bytes.Equal(b2, b) {
			t.Fatalf("re-encoded chunk does not round trip: %v", err)
		}
	})
}

func FuzzUnmarshalStatus(f *testing.F) {
	st := sampleStatus()
	f.Add(st.MarshalSSZ(1), 1)
	f.Add(st.MarshalSSZ(2), 2)
	f.Add([]byte{1, 2, 3}, 2)
	f.Fuzz(func(t *testing.T, data []byte, version int) {
		s, err := UnmarshalStatus(data, version)
		if err != nil {
			return
		}
		if !bytes.Equal(s.MarshalSSZ(version), data) {
			t.Fatalf("v%d round trip changed the bytes", version)
		}
	})
}

func FuzzUnmarshalMetaData(f *testing.F) {
	m := MetaData{SeqNumber: 4, Attnets: [8]byte{0xff}, Syncnets: 0x0f, CustodyGroupCount: 8}
	for v := 1; v <= 3; v++ {
		f.Add(m.MarshalSSZ(v), v)
	}
	f.Add(append(m.MarshalSSZ(2)[:16], 0xf0), 2)
	f.Fuzz(func(t *testing.T, data []byte, version int) {
		md, err := UnmarshalMetaData(data, version)
		if err != nil {
			if !errors.Is(err, ErrEncoding) && version >= 1 && version <= 3 {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if !bytes.Equal(md.MarshalSSZ(version), data) {
			t.Fatalf("v%d round trip changed the bytes", version)
		}
	})
}
