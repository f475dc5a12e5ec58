package shares

import (
	"bytes"
	"testing"

	"github.com/ethereum/go-ethereum/common"
)

func FuzzSplit(f *testing.F) {
	sh, err := Build(key(f, 9), owner, 0, 4)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sh, 4)
	f.Add(sh[:100], 1)
	f.Add([]byte{}, 0)
	f.Add(sh, -1)
	f.Fuzz(func(t *testing.T, b []byte, n int) {
		sig, pks, enc, err := Split(b, n)
		if err != nil {
			return
		}
		if len(b) != Length(n) || len(sig) != SignatureLength || len(pks) != n || len(enc) != n {
			t.Fatalf("split %d bytes for %d operators into %d, %d, %d", len(b), n, len(sig), len(pks), len(enc))
		}
		joined := append(append([]byte{}, sig...), bytes.Join(pks, nil)...)
		if !bytes.Equal(append(joined, bytes.Join(enc, nil)...), b) {
			t.Fatal("parts do not join to the input")
		}
	})
}

func FuzzVerifyRegistration(f *testing.F) {
	sk := key(f, 10)
	sig, err := Sign(sk, Message(owner, 5))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sk.PublicKey(), owner.Bytes(), uint64(5), sig)
	f.Add(make([]byte, 48), owner.Bytes(), uint64(0), make([]byte, 96))
	f.Add(append([]byte{0xc0}, make([]byte, 47)...), owner.Bytes(), uint64(0), append([]byte{0xc0}, make([]byte, 95)...))
	f.Fuzz(func(t *testing.T, pk, addr []byte, nonce uint64, s []byte) {
		o := common.BytesToAddress(addr)
		if VerifyRegistration(pk, o, nonce, s) == nil {
			// Only the seeded signature is valid; anything else verifying
			// would be a forgery.
			if !bytes.Equal(pk, sk.PublicKey()) || o != owner || nonce != 5 || !bytes.Equal(s, sig) {
				t.Fatalf("verified: pk %x owner %s nonce %d", pk, o, nonce)
			}
		}
	})
}

func FuzzCheck(f *testing.F) {
	sk := key(f, 11)
	sh, _ := Build(sk, owner, 1, 4)
	f.Add(sk.PublicKey(), uint64(1), []byte{1, 2, 3, 4}, sh)
	f.Add([]byte{}, uint64(0), []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, pk []byte, nonce uint64, ids []byte, shares []byte) {
		if len(ids) > 32 {
			return
		}
		opIDs := make([]uint64, len(ids))
		for i, b := range ids {
			opIDs[i] = uint64(b)
		}
		if err := Check(owner, nonce, pk, opIDs, shares); err == nil && (!bytes.Equal(pk, sk.PublicKey()) || nonce != 1) {
			t.Fatalf("accepted pk %x nonce %d", pk, nonce)
		}
	})
}
