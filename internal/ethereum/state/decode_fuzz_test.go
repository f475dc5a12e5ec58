package state

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestBitvectorMask(t *testing.T) {
	for in, want := range map[string]uint64{
		"0x0100000000000000":   1,       // subnet 0: bit 0 of byte 0 (SSZ order)
		"0x0000000000000080":   1 << 63, // subnet 63: bit 7 of byte 7
		"0x0300000000000000":   3,
		"0xffffffffffffffff":   ^uint64(0),
		"0x01":                 1,
		"":                     0,
		"0xzz":                 0,
		"0x010":                0, // odd length
		"0x01000000000000000f": 1, // bytes past the eighth ignored
	} {
		if got := bitvectorMask(in); got != want {
			t.Errorf("bitvectorMask(%q) = %#x, want %#x", in, got, want)
		}
	}
	if got := subnetMask("0x01", []int64{5, -1, 64, 1 << 40}); got != 1|1<<5 {
		t.Errorf("subnetMask ignores out-of-range subnets: got %#x", got)
	}
}

func FuzzBitvectorMask(f *testing.F) {
	for _, s := range []string{"0x0100000000000000", "0xffffffffffffffff", "", "0x", "0xz1", "00ff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m := bitvectorMask(s)
		// Re-encoding a valid 8-byte vector gives the same mask.
		h := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
		if len(h) == 16 && m != 0 {
			var b [8]byte
			for i := range b {
				b[i] = byte(m >> (8 * i))
			}
			if bitvectorMask("0x"+strings.ToLower(hexOf(b[:]))) != m {
				t.Errorf("mask of %q does not round-trip", s)
			}
		}
	})
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func FuzzParseSubnets(f *testing.F) {
	for _, s := range []string{"[]", "[1,2,3]", "", "[", "null", `["a"]`, "[1e400]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := parseSubnets(s)
		if len(v) > 0 && len(subnetsJSON(v)) == 0 {
			t.Errorf("subnets %v from %q do not re-encode", v, s)
		}
	})
}

func FuzzDecodeCursor(f *testing.F) {
	for _, s := range []string{encodeCursor("16Uiu2HAm"), "", "!!", "=", strings.Repeat("A", 600), encodeCursor("\xff")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, c string) {
		id, err := decodeCursor(c)
		if err != nil {
			if !errors.Is(err, ErrInvalidFilter) {
				t.Errorf("decode %q: error %v does not wrap ErrInvalidFilter", c, err)
			}
			return
		}
		if id == "" || !utf8.ValidString(id) {
			t.Errorf("decode %q: accepted %q", c, id)
		}
		if again, err := decodeCursor(encodeCursor(id)); err != nil || again != id {
			t.Errorf("cursor of %q does not round-trip: %q %v", id, again, err)
		}
	})
}
