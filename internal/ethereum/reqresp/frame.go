package reqresp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/golang/snappy"
)

// Snappy framing format (google/snappy framing_format.txt). It is decoded by
// hand rather than with snappy.Reader so that every chunk can be checked
// against the declared SSZ length before it is read or decompressed, and so
// nothing past the payload is consumed from the stream.
const (
	chunkCompressed   = 0x00
	chunkUncompressed = 0x01
	chunkPadding      = 0xfe
	chunkStreamID     = 0xff
	streamIDBody      = "sNaPpY"
	chunkHeaderLen    = 4 // type byte + 24-bit little-endian length
	checksumLen       = 4
	crcMaskDelta      = 0xa282ead8 // framing_format.txt section 3
)

func maskedCRC(b []byte) uint32 {
	c := crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))
	return (c>>15 | c<<17) + crcMaskDelta
}

// maxFramedLen bounds the compressed bytes a well-formed encoder can produce
// for n bytes: the stream identifier, then per block of at most 64 KiB a
// chunk header, a checksum and snappy's worst case (32 + len + len/6).
func maxFramedLen(n int) int {
	if n == 0 {
		return 0
	}
	total := chunkHeaderLen + len(streamIDBody)
	for rem := n; rem > 0; rem -= snappyMaxBlockLen {
		total += chunkHeaderLen + checksumLen + snappy.MaxEncodedLen(min(rem, snappyMaxBlockLen))
	}
	return total
}

// appendFramed appends the snappy framed encoding of p. An empty payload is
// encoded as nothing, and decodeFramed reads nothing for it.
func appendFramed(dst, p []byte) []byte {
	if len(p) == 0 {
		return dst
	}
	dst = append(dst, chunkStreamID, byte(len(streamIDBody)), 0, 0)
	dst = append(dst, streamIDBody...)
	for len(p) > 0 {
		block := p[:min(len(p), snappyMaxBlockLen)]
		p = p[len(block):]
		enc := snappy.Encode(nil, block)
		typ, body := byte(chunkCompressed), enc
		if len(enc) >= len(block) {
			typ, body = chunkUncompressed, block
		}
		n := checksumLen + len(body)
		dst = append(dst, typ, byte(n), byte(n>>8), byte(n>>16))
		dst = binary.LittleEndian.AppendUint32(dst, maskedCRC(block))
		dst = append(dst, body...)
	}
	return dst
}

// decodeFramed reads snappy frames from r until exactly n bytes are
// decompressed. It never reads more than maxFramedLen(n) bytes from r, never
// decompresses a chunk that would overflow n, and verifies every checksum.
func decodeFramed(r io.Reader, n int) ([]byte, error) {
	if n == 0 {
		return []byte{}, nil
	}
	budget := maxFramedLen(n)
	out := make([]byte, 0, min(n, snappyMaxBlockLen))
	var hdr [chunkHeaderLen]byte
	var body, scratch []byte
	seenID := false
	for len(out) < n {
		if budget < chunkHeaderLen {
			return nil, fmt.Errorf("snappy frames exceed %d compressed bytes for %d declared bytes: %w", maxFramedLen(n), n, ErrEncoding)
		}
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return nil, truncated(err, len(out), n)
		}
		budget -= chunkHeaderLen
		typ := hdr[0]
		clen := int(hdr[1]) | int(hdr[2])<<8 | int(hdr[3])<<16
		if clen > budget {
			return nil, fmt.Errorf("snappy chunk of %d bytes exceeds the %d compressed bytes left for %d declared bytes: %w", clen, budget, n, ErrEncoding)
		}
		budget -= clen
		if typ >= 0x02 && typ <= 0x7f {
			return nil, fmt.Errorf("reserved unskippable snappy chunk type 0x%02x: %w", typ, ErrEncoding)
		}
		if cap(body) < clen {
			body = make([]byte, clen)
		}
		body = body[:clen]
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, truncated(err, len(out), n)
		}
		switch {
		case typ == chunkStreamID:
			if string(body) != streamIDBody {
				return nil, fmt.Errorf("bad snappy stream identifier: %w", ErrEncoding)
			}
			seenID = true
			continue
		case typ == chunkPadding || typ >= 0x80:
			continue // skippable chunks carry nothing
		case !seenID:
			return nil, fmt.Errorf("snappy data before the stream identifier: %w", ErrEncoding)
		}
		if clen < checksumLen {
			return nil, fmt.Errorf("snappy chunk of %d bytes has no checksum: %w", clen, ErrEncoding)
		}
		want := binary.LittleEndian.Uint32(body[:checksumLen])
		data := body[checksumLen:]
		left := n - len(out)
		var block []byte
		if typ == chunkUncompressed {
			if len(data) > left || len(data) > snappyMaxBlockLen {
				return nil, fmt.Errorf("snappy chunk holds %d bytes, only %d declared bytes left: %w", len(data), left, ErrEncoding)
			}
			block = data
		} else {
			dlen, err := snappy.DecodedLen(data)
			if err != nil {
				return nil, fmt.Errorf("snappy block header: %v: %w", err, ErrEncoding)
			}
			// The bomb check: the block's own header says how much it would
			// expand to, so refuse before decompressing anything.
			if dlen > left || dlen > snappyMaxBlockLen {
				return nil, fmt.Errorf("snappy block expands to %d bytes, only %d declared bytes left: %w", dlen, left, ErrEncoding)
			}
			if cap(scratch) < dlen {
				scratch = make([]byte, dlen)
			}
			dec, err := snappy.Decode(scratch[:dlen], data)
			if err != nil || len(dec) != dlen {
				return nil, fmt.Errorf("snappy block: %v: %w", err, ErrEncoding)
			}
			block = dec
		}
		if got := maskedCRC(block); got != want {
			return nil, fmt.Errorf("snappy checksum mismatch (got %08x, want %08x): %w", got, want, ErrEncoding)
		}
		out = append(out, block...)
	}
	return out, nil
}

func truncated(err error, got, want int) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("stream ended after %d of %d declared bytes: %w", got, want, ErrEncoding)
	}
	return err
}
