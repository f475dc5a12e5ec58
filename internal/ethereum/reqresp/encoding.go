package reqresp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// WriteRequest writes a request: uvarint(len(ssz)) ++ snappy frames of ssz.
func WriteRequest(w io.Writer, ssz []byte) error {
	if _, err := w.Write(appendPayload(nil, ssz)); err != nil {
		return fmt.Errorf("write request: %w", err)
	}
	return nil
}

// WriteResponseChunk writes one response chunk: the result code, then the
// length-prefixed snappy frames of payload. For a non-success code payload is
// the ErrorMessage and is cut to 256 bytes.
func WriteResponseChunk(w io.Writer, code byte, payload []byte) error {
	if code != CodeSuccess && len(payload) > MaxErrorMessage {
		payload = payload[:MaxErrorMessage]
	}
	buf := appendPayload([]byte{code}, payload)
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("write response chunk: %w", err)
	}
	return nil
}

func appendPayload(dst, ssz []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(ssz)))
	return appendFramed(dst, ssz)
}

// ReadRequest reads one request whose SSZ size must lie in [minLen, maxLen].
// The length is checked before any payload byte is read.
func ReadRequest(r io.Reader, minLen, maxLen int) ([]byte, error) {
	b, err := readPayload(r, minLen, maxLen)
	if err != nil {
		return nil, fmt.Errorf("read request: %w", err)
	}
	return b, nil
}

// ReadResponseChunk reads one response chunk. On success (code 0) the payload
// is the SSZ bytes, whose size must lie in [minLen, maxLen]; on any other code
// it is the peer's ErrorMessage (at most 256 bytes). err reports only
// transport and encoding failures, not the peer's error code.
func ReadResponseChunk(r io.Reader, minLen, maxLen int) (code byte, payload []byte, err error) {
	var c [1]byte
	if _, err := io.ReadFull(r, c[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return 0, nil, fmt.Errorf("read response chunk: stream closed before any response (the peer refused or does not serve this request): %w", ErrEncoding)
		}
		return 0, nil, fmt.Errorf("read response chunk code: %w", err)
	}
	if c[0] != CodeSuccess {
		minLen, maxLen = 0, MaxErrorMessage
	}
	b, err := readPayload(r, minLen, maxLen)
	if err != nil {
		return c[0], nil, fmt.Errorf("read response chunk (code %d): %w", c[0], err)
	}
	return c[0], b, nil
}

func readPayload(r io.Reader, minLen, maxLen int) ([]byte, error) {
	n, err := readUvarint(r)
	if err != nil {
		return nil, err
	}
	if n < uint64(max(minLen, 0)) || n > uint64(max(maxLen, 0)) {
		return nil, fmt.Errorf("declared %d bytes, message allows %d..%d: %w", n, minLen, maxLen, ErrLength)
	}
	return decodeFramed(r, int(n))
}

// readUvarint reads a protobuf varint one byte at a time, so that it never
// consumes payload bytes (a stream is not buffered), and refuses more than
// ten bytes or a value beyond 64 bits.
func readUvarint(r io.Reader) (uint64, error) {
	var v uint64
	var c [1]byte
	for i := 0; i < maxUvarintLen; i++ {
		if _, err := io.ReadFull(r, c[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return 0, fmt.Errorf("length prefix truncated: %w", ErrEncoding)
			}
			return 0, fmt.Errorf("read length prefix: %w", err)
		}
		if i == maxUvarintLen-1 && c[0] > 1 {
			return 0, fmt.Errorf("length prefix overflows 64 bits: %w", ErrEncoding)
		}
		v |= uint64(c[0]&0x7f) << (7 * i)
		if c[0] < 0x80 {
			return v, nil
		}
	}
	return 0, fmt.Errorf("length prefix longer than %d bytes: %w", maxUvarintLen, ErrEncoding)
}
