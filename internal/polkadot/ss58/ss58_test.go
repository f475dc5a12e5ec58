package ss58

import (
	"encoding/hex"
	"testing"
)

// Alice, the well-known Substrate development account (//Alice sr25519).
const aliceHex = "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"

func alice(t testing.TB) [32]byte {
	var k [32]byte
	b, _ := hex.DecodeString(aliceHex)
	copy(k[:], b)
	return k
}

func TestAliceVectors(t *testing.T) {
	k := alice(t)
	for _, c := range []struct {
		prefix uint16
		addr   string
	}{
		{42, "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"}, // generic Substrate
		{0, "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5"},  // Polkadot
		{2, "HNZata7iMYWmk5RvZRTiAsSDhV8366zq2YGb3tLH5Upf74F"},   // Kusama
	} {
		if got := Encode(k, c.prefix); got != c.addr {
			t.Errorf("Encode(alice, %d) = %s, want %s", c.prefix, got, c.addr)
		}
		gk, gp, err := Decode(c.addr)
		if err != nil || gk != k || gp != c.prefix {
			t.Errorf("Decode(%s) = %x %d %v", c.addr, gk, gp, err)
		}
	}
}

// Two-byte prefixes round-trip and use the format's bit layout: the
// first byte has bit 6 set, and the 14 bits come back.
func TestTwoBytePrefixes(t *testing.T) {
	k := alice(t)
	for p := uint16(0); p <= MaxPrefix; p += 7 {
		a := Encode(k, p)
		gk, gp, err := Decode(a)
		if err != nil || gk != k || gp != p {
			t.Fatalf("prefix %d: %s → %d %v", p, a, gp, err)
		}
	}
	if b := prefixBytes(64); len(b) != 2 || b[0]&0xc0 != 0x40 {
		t.Fatalf("prefixBytes(64) = %x", b)
	}
}

func TestDecodeRefuses(t *testing.T) {
	good := "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
	bad := []string{
		"",
		"5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQZ", // checksum
		"5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKut0Y", // '0' is not base58
		good[:20],
		good + good,
	}
	for _, a := range bad {
		if _, _, err := Decode(a); err == nil {
			t.Errorf("Decode(%q) accepted", a)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY")
	f.Add("15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5")
	f.Add(Encode([32]byte{1}, 5000))
	f.Add("")
	f.Fuzz(func(t *testing.T, a string) {
		k, p, err := Decode(a)
		if err != nil {
			return
		}
		if Encode(k, p) != a {
			t.Fatalf("Decode(%q) = %x/%d does not re-encode", a, k, p)
		}
	})
}
