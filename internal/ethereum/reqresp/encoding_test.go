package reqresp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/golang/snappy"
)

func TestRequestRoundTrip(t *testing.T) {
	s := sampleStatus()
	for _, payload := range [][]byte{s.MarshalSSZ(1), s.MarshalSSZ(2), marshalUint64(42), bytes.Repeat([]byte{7}, 200000)} {
		var buf bytes.Buffer
		if err := WriteRequest(&buf, payload); err != nil {
			t.Fatal(err)
		}
		buf.WriteString("next") // bytes after the payload must stay unread
		got, err := ReadRequest(&buf, len(payload), len(payload))
		if err != nil {
			t.Fatalf("%d bytes: %v", len(payload), err)
		}
		if !bytes.Equal(got, payload) {
			t.Fatalf("%d bytes: payload changed", len(payload))
		}
		if buf.String() != "next" {
			t.Fatalf("reader consumed past the payload: %q left", buf.String())
		}
	}
}

func TestResponseChunkRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteResponseChunk(&buf, CodeSuccess, marshalUint64(5)); err != nil {
		t.Fatal(err)
	}
	if err := WriteResponseChunk(&buf, CodeServerError, bytes.Repeat([]byte("x"), 300)); err != nil {
		t.Fatal(err)
	}
	code, p, err := ReadResponseChunk(&buf, 8, 8)
	if err != nil || code != CodeSuccess || binary.LittleEndian.Uint64(p) != 5 {
		t.Fatalf("first chunk: code %d payload %x err %v", code, p, err)
	}
	code, p, err = ReadResponseChunk(&buf, 8, 8)
	if err != nil || code != CodeServerError || len(p) != MaxErrorMessage {
		t.Fatalf("error chunk: code %d len %d err %v", code, len(p), err)
	}
}

// Our frames must be readable by an independent framed decoder and the
// other way round.
func TestFramesInteroperateWithGolangSnappy(t *testing.T) {
	payload := bytes.Repeat([]byte("beacon chain "), 9000) // > 64 KiB: several chunks
	theirs, err := io.ReadAll(snappy.NewReader(bytes.NewReader(appendFramed(nil, payload))))
	if err != nil || !bytes.Equal(theirs, payload) {
		t.Fatalf("golang/snappy cannot read our frames: %v", err)
	}
	var framed bytes.Buffer
	w := snappy.NewBufferedWriter(&framed)
	if _, err := w.Write(payload); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ours, err := decodeFramed(&framed, len(payload))
	if err != nil || !bytes.Equal(ours, payload) {
		t.Fatalf("cannot read golang/snappy frames: %v", err)
	}
}

func TestReadRequestRejectsOversizedLengthBeforeReading(t *testing.T) {
	var buf bytes.Buffer
	buf.Write(binary.AppendUvarint(nil, 10<<20)) // a Status claiming 10 MB
	r := &countingReader{r: io.MultiReader(&buf, neverEnding{})}
	_, err := ReadRequest(r, StatusV1Size, StatusV1Size)
	if !errors.Is(err, ErrLength) {
		t.Fatalf("err %v, want ErrLength", err)
	}
	if r.n > maxUvarintLen {
		t.Fatalf("read %d bytes after an out-of-bounds length", r.n)
	}
	if _, err := ReadRequest(bytes.NewReader(binary.AppendUvarint(nil, 3)), 8, 8); !errors.Is(err, ErrLength) {
		t.Fatalf("undersized length: %v", err)
	}
}

func TestReadRejectsLongUvarint(t *testing.T) {
	long := append(bytes.Repeat([]byte{0x80}, 10), 0x01)
	if _, err := ReadRequest(bytes.NewReader(long), 0, 1<<20); !errors.Is(err, ErrEncoding) {
		t.Fatalf("11-byte varint: %v", err)
	}
	overflow := append(bytes.Repeat([]byte{0xff}, 9), 0x02)
	if _, err := ReadRequest(bytes.NewReader(overflow), 0, 1<<20); !errors.Is(err, ErrEncoding) {
		t.Fatalf("overflowing varint: %v", err)
	}
}

func TestReadRejectsTruncatedFrames(t *testing.T) {
	var buf bytes.Buffer
	st := sampleStatus()
	payload := st.MarshalSSZ(2)
	if err := WriteRequest(&buf, payload); err != nil {
		t.Fatal(err)
	}
	full := buf.Bytes()
	for cut := 0; cut < len(full); cut++ {
		_, err := ReadRequest(bytes.NewReader(full[:cut]), StatusV2Size, StatusV2Size)
		if !errors.Is(err, ErrEncoding) {
			t.Fatalf("cut at %d of %d: err %v, want ErrEncoding", cut, len(full), err)
		}
	}
	// A complete frame stream that decompresses to less than declared.
	short := append(binary.AppendUvarint(nil, StatusV2Size), appendFramed(nil, payload[:50])...)
	if _, err := ReadRequest(bytes.NewReader(short), StatusV2Size, StatusV2Size); !errors.Is(err, ErrEncoding) {
		t.Fatalf("short payload: %v", err)
	}
}

func TestReadRejectsSnappyBombs(t *testing.T) {
	zeros := make([]byte, snappyMaxBlockLen)
	block := snappy.Encode(nil, zeros) // 64 KiB of zeros in about 3 KB
	// A frame holding that block under a small declared length.
	bomb := binary.AppendUvarint(nil, 100)
	bomb = append(bomb, frameWith(chunkCompressed, maskedCRC(zeros), block)...)
	if _, err := ReadRequest(bytes.NewReader(bomb), 0, 1<<20); !errors.Is(err, ErrEncoding) {
		t.Fatalf("bomb within budget: %v", err)
	}
	// A tiny block whose header claims a gigabyte.
	liar := binary.AppendUvarint(nil, 1<<30)
	liar = append(liar, 0x00, 0x00) // literal tag, then nothing
	claim := append(binary.AppendUvarint(nil, 100), frameWith(chunkCompressed, 0, liar)...)
	if _, err := ReadRequest(bytes.NewReader(claim), 0, 1<<20); !errors.Is(err, ErrEncoding) {
		t.Fatalf("lying block header: %v", err)
	}
	// An uncompressed chunk longer than declared.
	long := append(binary.AppendUvarint(nil, 8), frameWith(chunkUncompressed, maskedCRC(zeros[:16]), zeros[:16])...)
	if _, err := ReadRequest(bytes.NewReader(long), 8, 8); !errors.Is(err, ErrEncoding) {
		t.Fatalf("long uncompressed chunk: %v", err)
	}
}

func TestReadRejectsBadChecksumAndMissingIdentifier(t *testing.T) {
	payload := marshalUint64(99)
	bad := append(binary.AppendUvarint(nil, 8), frameWith(chunkUncompressed, maskedCRC(payload)^1, payload)...)
	if _, err := ReadRequest(bytes.NewReader(bad), 8, 8); !errors.Is(err, ErrEncoding) {
		t.Fatalf("bad checksum: %v", err)
	}
	noID := binary.AppendUvarint(nil, 8)
	noID = append(noID, chunkUncompressed, 12, 0, 0)
	noID = binary.LittleEndian.AppendUint32(noID, maskedCRC(payload))
	noID = append(noID, payload...)
	if _, err := ReadRequest(bytes.NewReader(noID), 8, 8); !errors.Is(err, ErrEncoding) {
		t.Fatalf("missing stream identifier: %v", err)
	}
	reserved := append(binary.AppendUvarint(nil, 8), frameWith(0x02, 0, payload)...)
	if _, err := ReadRequest(bytes.NewReader(reserved), 8, 8); !errors.Is(err, ErrEncoding) {
		t.Fatalf("reserved chunk type: %v", err)
	}
}

func TestReadSkipsPaddingChunks(t *testing.T) {
	payload := marshalUint64(7)
	b := binary.AppendUvarint(nil, 8)
	b = append(b, appendFramed(nil, nil)...)
	b = append(b, chunkStreamID, 6, 0, 0)
	b = append(b, streamIDBody...)
	b = append(b, chunkPadding, 2, 0, 0, 0, 0)
	b = append(b, chunkUncompressed, 12, 0, 0)
	b = binary.LittleEndian.AppendUint32(b, maskedCRC(payload))
	b = append(b, payload...)
	got, err := ReadRequest(bytes.NewReader(b), 8, 8)
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("padding chunk not skipped: %v", err)
	}
}

func TestMaxFramedLenCoversEncoder(t *testing.T) {
	for _, n := range []int{1, 8, 84, 65535, 65536, 65537, 200000} {
		// Random-looking data does not compress: the worst case for size.
		p := make([]byte, n)
		x := uint32(n)
		for i := range p {
			x = x*1664525 + 1013904223
			p[i] = byte(x >> 24)
		}
		if got := len(appendFramed(nil, p)); got > maxFramedLen(n) {
			t.Fatalf("n=%d: encoder wrote %d bytes, bound %d", n, got, maxFramedLen(n))
		}
	}
}

// frameWith builds a stream identifier and one chunk of the given type.
func frameWith(typ byte, crc uint32, data []byte) []byte {
	b := []byte{chunkStreamID, 6, 0, 0}
	b = append(b, streamIDBody...)
	n := checksumLen + len(data)
	b = append(b, typ, byte(n), byte(n>>8), byte(n>>16))
	b = binary.LittleEndian.AppendUint32(b, crc)
	return append(b, data...)
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += n
	return n, err
}

type neverEnding struct{}

func (neverEnding) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = 0xaa
	}
	return len(b), nil
}
