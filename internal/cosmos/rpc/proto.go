package rpc

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A minimal protobuf reader and writer of our own, enough for the few
// cosmos-sdk queries the sentry asks over abci_query (x/slashing params,
// x/staking validators): a generated client would pull the cosmos-sdk
// module and its dependencies into the binary for a handful of fields.

// Protobuf wire types this reader knows (groups, 3 and 4, are refused).
const (
	WireVarint  = 0
	WireFixed64 = 1
	WireBytes   = 2
	WireFixed32 = 5
)

// maxProtoFields bounds the fields of one message.
const maxProtoFields = 10000

// ProtoFields walks the fields of one protobuf message, calling f with
// each field's number, wire type and value (v for varints and fixed
// sizes, data for length-delimited ones, a sub-slice of b). It never reads
// past b and stops at the first malformed field.
func ProtoFields(b []byte, f func(num, wire int, v uint64, data []byte) error) error {
	for n := 0; len(b) > 0; n++ {
		if n >= maxProtoFields {
			return fmt.Errorf("more than %d fields", maxProtoFields)
		}
		key, k := uvarint(b)
		if k <= 0 {
			return errors.New("truncated field key")
		}
		b = b[k:]
		num, wire := key>>3, int(key&7)
		if num < 1 || num > 1<<29-1 {
			return fmt.Errorf("field number %d is out of range", num)
		}
		var v uint64
		var data []byte
		switch wire {
		case WireVarint:
			v, k = uvarint(b)
			if k <= 0 {
				return fmt.Errorf("field %d: truncated varint", num)
			}
			b = b[k:]
		case WireFixed64, WireFixed32:
			size := 8
			if wire == WireFixed32 {
				size = 4
			}
			if len(b) < size {
				return fmt.Errorf("field %d: truncated fixed-size value", num)
			}
			for i := size - 1; i >= 0; i-- {
				v = v<<8 | uint64(b[i])
			}
			b = b[size:]
		case WireBytes:
			l, k := uvarint(b)
			if k <= 0 {
				return fmt.Errorf("field %d: truncated length", num)
			}
			b = b[k:]
			if l > uint64(len(b)) {
				return fmt.Errorf("field %d: length %d over the %d bytes left", num, l, len(b))
			}
			data, b = b[:l], b[l:]
		default:
			return fmt.Errorf("field %d: wire type %d is not supported", num, wire)
		}
		if err := f(int(num), wire, v, data); err != nil {
			return err
		}
	}
	return nil
}

// uvarint is binary.Uvarint: k == 0 when b ends first, k < 0 on overflow.
func uvarint(b []byte) (uint64, int) { return binary.Uvarint(b) }

// ProtoVarint is v as a protobuf base-128 varint.
func ProtoVarint(v uint64) []byte { return binary.AppendUvarint(nil, v) }

// ProtoField is one field: its key (number and wire type), then payload,
// preceded by its length for WireBytes. For the other wire types payload
// must already be the encoded value (ProtoVarint, or 4 / 8 little-endian
// bytes).
func ProtoField(num, wire int, payload []byte) []byte {
	b := ProtoVarint(uint64(num)<<3 | uint64(wire))
	if wire == WireBytes {
		b = binary.AppendUvarint(b, uint64(len(payload)))
	}
	return append(b, payload...)
}
