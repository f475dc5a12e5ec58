package shares

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

var (
	owner = common.HexToAddress("0x77fc6e8b24a623725d935bc88057098d0bca6eb3")
	other = common.HexToAddress("0x9d4D2d2dd7F11953535691786690610512E26b6C")
)

func key(t testing.TB, b byte) *SecretKey {
	t.Helper()
	sk, err := GenerateKey(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

func TestMessage(t *testing.T) {
	// The node hashes fmt.Sprintf("%s:%d", owner.String(), nonce): the
	// EIP-55 form with 0x.
	got := Message(owner, 7)
	want := crypto256("0x77FC6e8B24a623725d935Bc88057098D0bCA6eB3:7")
	if !bytes.Equal(got, want) {
		t.Fatalf("message %x, want %x", got, want)
	}
}

func TestGenerateKeyDeterministic(t *testing.T) {
	a, b := key(t, 1), key(t, 1)
	if !bytes.Equal(a.Bytes(), b.Bytes()) || !bytes.Equal(a.PublicKey(), b.PublicKey()) {
		t.Fatal("equal seeds gave different keys")
	}
	if bytes.Equal(a.PublicKey(), key(t, 2).PublicKey()) {
		t.Fatal("different seeds gave the same key")
	}
	if len(a.PublicKey()) != PublicKeyLength {
		t.Fatalf("public key %d bytes", len(a.PublicKey()))
	}
	if _, err := GenerateKey(make([]byte, 31)); err == nil {
		t.Fatal("31-byte seed accepted")
	}
	c, err := SecretKeyFromBytes(a.Bytes())
	if err != nil || !bytes.Equal(c.PublicKey(), a.PublicKey()) {
		t.Fatalf("SecretKeyFromBytes round trip: %v", err)
	}
	if _, err := SecretKeyFromBytes(make([]byte, 32)); err == nil {
		t.Fatal("zero secret key accepted")
	}
	if _, err := SecretKeyFromBytes(bytes.Repeat([]byte{0xff}, 32)); err == nil {
		t.Fatal("secret key ≥ r accepted")
	}
}

func TestSignVerify(t *testing.T) {
	sk := key(t, 3)
	pk := sk.PublicKey()
	sig, err := Sign(sk, Message(owner, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyRegistration(pk, owner, 0, sig); err != nil {
		t.Fatalf("valid signature refused: %v", err)
	}
	if err := VerifyRegistration(pk, other, 0, sig); err == nil {
		t.Fatal("signature accepted for another owner")
	}
	if err := VerifyRegistration(pk, owner, 1, sig); err == nil {
		t.Fatal("signature accepted for another nonce")
	}
	if err := VerifyRegistration(key(t, 4).PublicKey(), owner, 0, sig); err == nil {
		t.Fatal("signature accepted for another public key")
	}
	bad := append([]byte{}, sig...)
	bad[50] ^= 1
	if err := VerifyRegistration(pk, owner, 0, bad); err == nil {
		t.Fatal("tampered signature accepted")
	}
	other, _ := Sign(key(t, 4), Message(owner, 0))
	if err := VerifyRegistration(pk, owner, 0, other); err == nil {
		t.Fatal("another key's signature accepted")
	}
}

func TestBadPoints(t *testing.T) {
	sk := key(t, 5)
	pk := sk.PublicKey()
	sig, _ := Sign(sk, Message(owner, 0))
	infG1 := append([]byte{0xc0}, make([]byte, 47)...)
	infG2 := append([]byte{0xc0}, make([]byte, 95)...)
	notOnCurve := append([]byte{}, pk...)
	notOnCurve[47] ^= 0x01 // another x: not on the curve, or off the subgroup
	for name, c := range map[string]struct{ pk, sig []byte }{
		"pk infinity":         {infG1, sig},
		"sig infinity":        {pk, infG2},
		"pk short":            {pk[:47], sig},
		"sig short":           {pk, sig[:95]},
		"pk long":             {append(append([]byte{}, pk...), 0), sig},
		"pk uncompressed bit": {append([]byte{pk[0] &^ 0x80}, pk[1:]...), sig},
		"pk zero":             {make([]byte, 48), sig},
		"sig zero":            {pk, make([]byte, 96)},
		"pk all ones":         {bytes.Repeat([]byte{0xff}, 48), sig},
		"sig all ones":        {pk, bytes.Repeat([]byte{0xff}, 96)},
		"pk off curve":        {notOnCurve, sig},
	} {
		if err := Verify(c.pk, Message(owner, 0), c.sig); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSplit(t *testing.T) {
	sk := key(t, 6)
	sh, err := Build(sk, owner, 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(sh) != 96+48*4+256*4 {
		t.Fatalf("built %d bytes", len(sh))
	}
	sig, pks, enc, err := Split(sh, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(sig) != 96 || len(pks) != 4 || len(enc) != 4 {
		t.Fatalf("split %d %d %d", len(sig), len(pks), len(enc))
	}
	if !bytes.Equal(sig, sh[:96]) || !bytes.Equal(pks[1], sh[96+48:96+96]) || !bytes.Equal(enc[3], sh[len(sh)-256:]) {
		t.Fatal("split at the wrong offsets")
	}
	keys, _ := ShareKeys(sk, 4)
	for i, pk := range pks {
		if !bytes.Equal(pk, keys[i].PublicKey()) {
			t.Fatalf("share %d public key differs from its derived key", i)
		}
		if _, err := ParsePublicKey(pk); err != nil {
			t.Fatalf("share %d public key: %v", i, err)
		}
	}
	for _, n := range []int{len(sh) - 1, len(sh) + 1, 0} {
		_, _, _, err := Split(sh[:min(n, len(sh))], 4)
		if n > len(sh) {
			_, _, _, err = Split(append(append([]byte{}, sh...), 0), 4)
		}
		if !errors.Is(err, ErrSharesLength) || !strings.Contains(err.Error(), "expected 1312") {
			t.Errorf("length %d: %v", n, err)
		}
	}
	if _, _, _, err := Split(sh, 0); err == nil {
		t.Error("0 operators accepted")
	}
}

func TestCheck(t *testing.T) {
	sk := key(t, 7)
	pk := sk.PublicKey()
	ids := []uint64{1, 2, 3, 4}
	good, err := Build(sk, owner, 3, 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(owner, 3, pk, ids, good); err != nil {
		t.Fatalf("valid shares refused: %v", err)
	}
	for _, n := range []int{7, 10, 13} {
		ids := make([]uint64, n)
		for i := range ids {
			ids[i] = uint64(10 + i)
		}
		sh, _ := Build(sk, owner, 0, n)
		if err := Check(owner, 0, pk, ids, sh); err != nil {
			t.Errorf("%d operators refused: %v", n, err)
		}
	}
	bad := append([]byte{}, good...)
	bad[10] ^= 0x40
	cases := []struct {
		name   string
		owner  common.Address
		nonce  uint64
		pk     []byte
		ids    []uint64
		shares []byte
		rule   error
		reason string
	}{
		{"no operators", owner, 3, pk, nil, good, ErrOperators, "no operators"},
		{"too many", owner, 3, pk, make([]uint64, 14), good, ErrOperators, "too many operators (14)"},
		{"5 operators", owner, 3, pk, []uint64{1, 2, 3, 4, 5}, good, ErrOperators, "given operator count (5) cannot build a 3f+1 quorum"},
		{"1 operator", owner, 3, pk, []uint64{1}, good, ErrOperators, "given operator count (1) cannot build a 3f+1 quorum"},
		{"duplicate", owner, 3, pk, []uint64{1, 2, 2, 4}, good, ErrOperators, "duplicated operator ID (2)"},
		{"unsorted", owner, 3, pk, []uint64{1, 3, 2, 4}, good, ErrOperators, "operator IDs are not sorted (2 after 3)"},
		{"pk 47 bytes", owner, 3, pk[:47], ids, good, ErrPublicKey, "invalid public key length: 47 bytes, want 48"},
		{"shares short", owner, 3, pk, ids, good[:len(good)-1], ErrSharesLength, "shares length is not correct: expected 1312 bytes for 4 operators, got 1311"},
		{"shares for 7", owner, 3, pk, []uint64{1, 2, 3, 4, 5, 6, 7}, good, ErrSharesLength, "shares length is not correct: expected 2224 bytes for 7 operators, got 1312"},
		{"other nonce", owner, 4, pk, ids, good, ErrSignature, "signature verification failed"},
		{"other owner", other, 3, pk, ids, good, ErrSignature, "signature verification failed"},
		{"other key", owner, 3, key(t, 8).PublicKey(), ids, good, ErrSignature, "signature verification failed"},
		{"tampered signature", owner, 3, pk, ids, bad, ErrSignature, "signature verification failed"},
		{"pk not a point", owner, 3, bytes.Repeat([]byte{0xaa}, 48), ids, good, ErrSignature, "signature verification failed: failed to deserialize validator public key"},
	}
	for _, c := range cases {
		err := Check(c.owner, c.nonce, c.pk, c.ids, c.shares)
		if !errors.Is(err, c.rule) {
			t.Errorf("%s: %v, want rule %v", c.name, err, c.rule)
			continue
		}
		if !strings.HasPrefix(err.Error(), c.reason) {
			t.Errorf("%s: reason %q, want %q", c.name, err, c.reason)
		}
	}
}

// TestSSVFixture checks the ValidatorAdded log of the SSV node's event
// parser test (ssvlabs/ssv@365a4aba3 eth/eventparser/event_parser_test.go,
// copied as a test vector into ../abi/testdata): 4 operators, 1312 bytes
// of shares whose share public keys are valid G1 points and whose
// signature is over the owner's third registration (nonce 2).
func TestSSVFixture(t *testing.T) {
	raw, err := os.ReadFile("../abi/testdata/ssv-eventparser-logs.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Expected map[string]string `json:"expected"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	sh, _ := hex.DecodeString(strings.TrimPrefix(f.Expected["ValidatorAdded.shares"], "0x"))
	pk, _ := hex.DecodeString(strings.TrimPrefix(f.Expected["ValidatorAdded.publicKey"], "0x"))
	sig, pks, _, err := Split(sh, 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePublicKey(pk); err != nil {
		t.Fatalf("fixture validator key: %v", err)
	}
	if _, err := ParseSignature(sig); err != nil {
		t.Fatalf("fixture signature: %v", err)
	}
	for i, p := range pks {
		if _, err := ParsePublicKey(p); err != nil {
			t.Fatalf("fixture share key %d: %v", i, err)
		}
	}
	// The fixture's owner had registered two validators before: nonce 2.
	if err := Check(owner, 2, pk, []uint64{1, 2, 3, 4}, sh); err != nil {
		t.Fatalf("fixture refused with nonce 2: %v", err)
	}
	for _, nonce := range []uint64{0, 1, 3} {
		if err := VerifyRegistration(pk, owner, nonce, sig); err == nil {
			t.Errorf("fixture verifies with nonce %d", nonce)
		}
	}
	// The owner is hashed in its EIP-55 form: the lower-case hex fails.
	if err := Verify(pk, crypto256("0x77fc6e8b24a623725d935bc88057098d0bca6eb3:2"), sig); err == nil {
		t.Error("fixture verifies over the lower-case owner")
	}
}
