package chain

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"io"
	"os"
	"testing"

	"github.com/valtrack/valtrack/internal/polkadot/scale"
	"github.com/valtrack/valtrack/internal/polkadot/ss58"
)

func metadata(tb testing.TB) *scale.Metadata {
	tb.Helper()
	f, err := os.Open("../scale/testdata/westend-dev-9320.scale.gz")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := io.ReadAll(z)
	if err != nil {
		tb.Fatal(err)
	}
	md, err := scale.ParseMetadata(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return md
}

func mustHex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// The well-known System.Account prefix and System.Events key.
func TestPrefixVectors(t *testing.T) {
	if got := hex.EncodeToString(Prefix("System", "Account")); got != "26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9" {
		t.Fatalf("System.Account prefix %s", got)
	}
	if got := hex.EncodeToString(Prefix("System", "Events")); got != "26aa394eea5630e07c48ae0c9558cef780d41e5e16056765bc8461851072c9d7" {
		t.Fatalf("System.Events key %s", got)
	}
}

// Hasher vectors: xxHash64 of "" with seed 0 is ef46db3751d8e999 (the
// xxHash reference); twox128 is seeds 0 and 1 little-endian; blake2b-256
// of "" is 0e5751c0…(RFC 7693 parameters, 32-byte digest).
func TestHashers(t *testing.T) {
	tw := HashKey(scale.Twox64Concat, []byte("ab"))
	if len(tw) != 10 || !bytes.Equal(tw[8:], []byte("ab")) {
		t.Fatalf("twox64concat %x", tw)
	}
	if got := hex.EncodeToString(twox(nil, 8)); got != "99e9d85137db46ef" {
		t.Fatalf("twox64('') = %s, want 99e9d85137db46ef (xxh64 ef46db3751d8e999 LE)", got)
	}
	if got := hex.EncodeToString(HashKey(scale.Blake2_256, nil)); got != "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8" {
		t.Fatalf("blake2_256('') = %s", got)
	}
	for _, h := range []scale.Hasher{scale.Blake2_128, scale.Blake2_256, scale.Blake2_128Concat, scale.Twox128, scale.Twox256, scale.Twox64Concat, scale.Identity} {
		n, concat := hashLen(h)
		if got := len(HashKey(h, []byte{1, 2, 3})); got != n+map[bool]int{true: 3, false: 0}[concat] {
			t.Errorf("%s: %d bytes, hashLen says %d+%v", h, got, n, concat)
		}
	}
}

// System.Account(Alice): the key known from every Substrate dev chain,
// and its account recovered from the Blake2_128Concat key.
func TestKeyAndKeyArgs(t *testing.T) {
	md := metadata(t)
	alice, _, err := ss58.Decode("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY")
	if err != nil {
		t.Fatal(err)
	}
	k, err := Key(md, "System", "Account", alice[:])
	if err != nil {
		t.Fatal(err)
	}
	want := "26aa394eea5630e07c48ae0c9558cef7b99d880ec681799c0cf30e8886371da9de1e86a9a8c739864cf3cc5ec2bea59fd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"
	if hex.EncodeToString(k) != want {
		t.Fatalf("System.Account(Alice) = %x", k)
	}
	args, err := KeyArgs(md, "System", "Account", k)
	if err != nil || len(args) != 1 || !bytes.Equal(args[0], alice[:]) {
		t.Fatalf("KeyArgs = %x %v", args, err)
	}
	// A double map (Twox64Concat u32, Twox64Concat AccountId).
	k2, err := Key(md, "Staking", "ErasStakers", u32le(7), alice[:])
	if err != nil {
		t.Fatal(err)
	}
	args, err = KeyArgs(md, "Staking", "ErasStakers", k2)
	if err != nil || len(args) != 2 || !bytes.Equal(args[0], u32le(7)) || !bytes.Equal(args[1], alice[:]) {
		t.Fatalf("ErasStakers KeyArgs = %x %v", args, err)
	}
	if _, err := KeyArgs(md, "Staking", "ErasStakers", k2[:len(k2)-1]); err == nil {
		t.Fatal("a truncated key was split")
	}
	if _, err := KeyArgs(md, "Staking", "ErasStakers", append(k2, 0)); err == nil {
		t.Fatal("a key with trailing bytes was split")
	}
	if _, err := Key(md, "Staking", "NoSuchItem"); err == nil {
		t.Fatal("a missing item has a key")
	}
	if _, err := Key(md, "System", "Account", alice[:], alice[:]); err == nil {
		t.Fatal("too many keys accepted")
	}
}

func FuzzKeyArgs(f *testing.F) {
	md := metadata(f)
	k, _ := Key(md, "Staking", "ErasStakers", u32le(7), make([]byte, 32))
	f.Add(k)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, key []byte) {
		for _, it := range [][2]string{{"Staking", "ErasStakers"}, {"System", "Account"}, {"Offences", "ConcurrentReportsIndex"}} {
			args, err := KeyArgs(md, it[0], it[1], key)
			if err != nil {
				continue
			}
			// The keys tile the storage key after its prefix: each hasher's
			// digest, then (for a concat hasher) exactly the returned key.
			hashers := md.Pallet(it[0]).Entry(it[1]).Hashers
			if len(args) != len(hashers) {
				t.Fatalf("%s.%s: %d keys for %d hashers", it[0], it[1], len(args), len(hashers))
			}
			off := 32
			for i, h := range hashers {
				n, concat := hashLen(h)
				off += n
				if !concat {
					if args[i] != nil {
						t.Fatalf("%s.%s: key %d under an opaque hasher recovered as %x", it[0], it[1], i, args[i])
					}
					continue
				}
				if !bytes.Equal(key[off:off+len(args[i])], args[i]) {
					t.Fatalf("%s.%s: key %d %x is not the bytes at %d of %x", it[0], it[1], i, args[i], off, key)
				}
				off += len(args[i])
			}
			if off != len(key) {
				t.Fatalf("%s.%s: keys cover %d of %d bytes", it[0], it[1], off, len(key))
			}
		}
		// A key built from fixed-size arguments splits back into them.
		for _, c := range []struct {
			pallet, item string
			args         [][]byte
		}{
			{"System", "Account", [][]byte{key[:min(len(key), 32)]}},
			{"Staking", "ErasStakers", [][]byte{key[:min(len(key), 4)], key[min(len(key), 4):min(len(key), 36)]}},
		} {
			if len(key) < 36 {
				break
			}
			full, err := Key(md, c.pallet, c.item, c.args...)
			if err != nil {
				t.Fatal(err)
			}
			back, err := KeyArgs(md, c.pallet, c.item, full)
			if err != nil || len(back) != len(c.args) {
				t.Fatalf("%s.%s: key of %x splits as %x, %v", c.pallet, c.item, c.args, back, err)
			}
			for i := range back {
				if !bytes.Equal(back[i], c.args[i]) {
					t.Fatalf("%s.%s: key %d of %x came back as %x", c.pallet, c.item, i, c.args, back[i])
				}
			}
		}
	})
}
