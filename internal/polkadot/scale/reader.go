// Package scale decodes SCALE (Substrate's codec) driven by the runtime's
// own type registry (metadata v14/v15), so storage values and events are
// read by field name and survive runtime upgrades that add variants or
// reorder fields. Everything it reads comes from the network: every
// length is bounded by the bytes left, nesting by a depth limit, the
// total work by an element budget, and malformed input is an error,
// never a panic.
package scale

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"unicode/utf8"
)

// ErrShort: the input ended before the value did.
var ErrShort = errors.New("scale: input too short")

// reader is a cursor over untrusted bytes.
type reader struct {
	b   []byte
	off int
}

func (r *reader) left() int { return len(r.b) - r.off }

func (r *reader) take(n int) ([]byte, error) {
	if n < 0 || n > r.left() {
		return nil, fmt.Errorf("%w: need %d bytes at offset %d, %d left", ErrShort, n, r.off, r.left())
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p, nil
}

func (r *reader) u8() (uint8, error) {
	p, err := r.take(1)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

func (r *reader) u32() (uint32, error) {
	p, err := r.take(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(p), nil
}

func (r *reader) boolean() (bool, error) {
	b, err := r.u8()
	if err != nil {
		return false, err
	}
	switch b {
	case 0:
		return false, nil
	case 1:
		return true, nil
	}
	return false, fmt.Errorf("scale: bool byte %#x at offset %d (want 0 or 1)", b, r.off-1)
}

// compact reads a SCALE compact integer. Values above 64 bits come back
// in big (u is then 0); at most 67 bytes are read (the format's limit).
func (r *reader) compact() (u uint64, b *big.Int, err error) {
	first, err := r.u8()
	if err != nil {
		return 0, nil, err
	}
	switch first & 3 {
	case 0:
		return uint64(first >> 2), nil, nil
	case 1:
		p, err := r.take(1)
		if err != nil {
			return 0, nil, err
		}
		return uint64(first>>2) | uint64(p[0])<<6, nil, nil
	case 2:
		p, err := r.take(3)
		if err != nil {
			return 0, nil, err
		}
		return uint64(first>>2) | uint64(p[0])<<6 | uint64(p[1])<<14 | uint64(p[2])<<22, nil, nil
	}
	n := int(first>>2) + 4
	p, err := r.take(n)
	if err != nil {
		return 0, nil, err
	}
	if n <= 8 {
		var buf [8]byte
		copy(buf[:], p)
		return binary.LittleEndian.Uint64(buf[:]), nil, nil
	}
	be := make([]byte, n)
	for i := range p {
		be[n-1-i] = p[i]
	}
	v := new(big.Int).SetBytes(be)
	if v.IsUint64() {
		return v.Uint64(), nil, nil
	}
	return 0, v, nil
}

// length reads a compact length and refuses one that cannot fit in the
// bytes left (each element takes at least min bytes; min 0 is treated
// as 1 so a run of zero-sized elements cannot be claimed for free).
func (r *reader) length(min int) (int, error) {
	at := r.off
	u, b, err := r.compact()
	if err != nil {
		return 0, err
	}
	if min < 1 {
		min = 1
	}
	if b != nil || u > uint64(r.left()/min) {
		return 0, fmt.Errorf("scale: length at offset %d exceeds the %d bytes left", at, r.left())
	}
	return int(u), nil
}

func (r *reader) str() (string, error) {
	n, err := r.length(1)
	if err != nil {
		return "", err
	}
	p, _ := r.take(n)
	if !utf8.Valid(p) {
		return "", fmt.Errorf("scale: string at offset %d is not UTF-8", r.off-n)
	}
	return string(p), nil
}

func (r *reader) strs() ([]string, error) {
	n, err := r.length(1)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, min(n, 64))
	for i := 0; i < n; i++ {
		s, err := r.str()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (r *reader) bytes() ([]byte, error) {
	n, err := r.length(1)
	if err != nil {
		return nil, err
	}
	p, _ := r.take(n)
	return append([]byte(nil), p...), nil
}

func (r *reader) optStr() (string, bool, error) {
	ok, err := r.boolean()
	if err != nil || !ok {
		return "", false, err
	}
	s, err := r.str()
	return s, true, err
}

func (r *reader) typeID() (uint32, error) {
	u, b, err := r.compact()
	if err != nil {
		return 0, err
	}
	if b != nil || u > maxTypes {
		return 0, fmt.Errorf("scale: type id %v out of range", u)
	}
	return uint32(u), nil
}

// Compact encodes n as a SCALE compact integer (for building keys and
// test data).
func Compact(n uint64) []byte {
	switch {
	case n < 1<<6:
		return []byte{byte(n << 2)}
	case n < 1<<14:
		return []byte{byte(n<<2) | 1, byte(n >> 6)}
	case n < 1<<30:
		v := uint32(n<<2) | 2
		return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}
	}
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], n)
	l := 8
	for l > 4 && buf[l-1] == 0 {
		l--
	}
	return append([]byte{byte((l-4)<<2) | 3}, buf[:l]...)
}
