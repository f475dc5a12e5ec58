package shares

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/big"

	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"golang.org/x/crypto/hkdf"
)

// Sizes of Ethereum's BLS12-381 encodings (min-pubkey variant).
const (
	PublicKeyLength = 48 // compressed G1
	SignatureLength = 96 // compressed G2
	SecretKeyLength = 32
)

// DST is the hash-to-curve domain separation tag of Ethereum's BLS
// signatures (the proof-of-possession ciphersuite, as the consensus spec
// and the SSV node's herumi library in ETH mode use).
var DST = []byte("BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_")

// SecretKey is a BLS12-381 secret scalar, 0 < k < r.
type SecretKey struct {
	k big.Int
}

// GenerateKey derives a secret key from a seed of at least 32 bytes with
// the KeyGen of the IETF BLS signature draft (HKDF-SHA256, salt
// "BLS-SIG-KEYGEN-SALT-" rehashed until the key is not zero). Equal seeds
// give equal keys, which the devnet and tests rely on.
func GenerateKey(seed []byte) (*SecretKey, error) {
	if len(seed) < 32 {
		return nil, fmt.Errorf("bls key generation: seed is %d bytes, at least 32 needed", len(seed))
	}
	ikm := append(append([]byte{}, seed...), 0) // IKM || I2OSP(0, 1)
	salt := []byte("BLS-SIG-KEYGEN-SALT-")
	const l = 48 // ceil(3 * ceil(log2(r)) / 16)
	r := fr.Modulus()
	for range 256 {
		h := sha256.Sum256(salt)
		salt = h[:]
		okm := make([]byte, l)
		if _, err := io.ReadFull(hkdf.New(sha256.New, ikm, salt, []byte{0, l}), okm); err != nil {
			return nil, fmt.Errorf("bls key generation: %w", err)
		}
		sk := new(SecretKey)
		sk.k.SetBytes(okm).Mod(&sk.k, r)
		if sk.k.Sign() != 0 {
			return sk, nil
		}
	}
	return nil, errors.New("bls key generation: no non-zero key")
}

// SecretKeyFromBytes reads a 32-byte big-endian scalar, refusing 0 and
// values ≥ r.
func SecretKeyFromBytes(b []byte) (*SecretKey, error) {
	if len(b) != SecretKeyLength {
		return nil, fmt.Errorf("bls secret key is %d bytes, want %d", len(b), SecretKeyLength)
	}
	sk := new(SecretKey)
	sk.k.SetBytes(b)
	if sk.k.Sign() == 0 || sk.k.Cmp(fr.Modulus()) >= 0 {
		return nil, errors.New("bls secret key is not in 1..r-1")
	}
	return sk, nil
}

// Bytes is the 32-byte big-endian scalar.
func (sk *SecretKey) Bytes() []byte {
	out := make([]byte, SecretKeyLength)
	return sk.k.FillBytes(out)
}

// PublicKey is the 48-byte compressed G1 point sk·G1.
func (sk *SecretKey) PublicKey() []byte {
	var p bls12381.G1Affine
	p.ScalarMultiplicationBase(&sk.k)
	b := p.Bytes()
	return b[:]
}

// Sign returns the 96-byte compressed G2 signature sk·H(msg), H the
// hash-to-curve of msg under DST.
func Sign(sk *SecretKey, msg []byte) ([]byte, error) {
	h, err := bls12381.HashToG2(msg, DST)
	if err != nil {
		return nil, fmt.Errorf("bls sign: hash to curve: %w", err)
	}
	var s bls12381.G2Affine
	s.ScalarMultiplication(&h, &sk.k)
	b := s.Bytes()
	return b[:], nil
}

// ParsePublicKey reads a compressed G1 public key: exactly 48 bytes, the
// canonical encoding of a point of the prime-order subgroup, not infinity.
func ParsePublicKey(b []byte) (*bls12381.G1Affine, error) {
	if len(b) != PublicKeyLength {
		return nil, fmt.Errorf("bls public key is %d bytes, want %d", len(b), PublicKeyLength)
	}
	if b[0]&0x80 == 0 {
		return nil, errors.New("bls public key is not in compressed form")
	}
	p := new(bls12381.G1Affine)
	if err := decodePoint(func() (int, error) { return p.SetBytes(b) }); err != nil {
		return nil, fmt.Errorf("bls public key: %w", err)
	}
	if p.IsInfinity() {
		return nil, errors.New("bls public key is the point at infinity")
	}
	if !p.IsInSubGroup() {
		return nil, errors.New("bls public key is not in the G1 subgroup")
	}
	if c := p.Bytes(); string(c[:]) != string(b) {
		return nil, errors.New("bls public key is not canonically encoded")
	}
	return p, nil
}

// ParseSignature reads a compressed G2 signature: exactly 96 bytes, the
// canonical encoding of a point of the prime-order subgroup, not infinity.
func ParseSignature(b []byte) (*bls12381.G2Affine, error) {
	if len(b) != SignatureLength {
		return nil, fmt.Errorf("bls signature is %d bytes, want %d", len(b), SignatureLength)
	}
	if b[0]&0x80 == 0 {
		return nil, errors.New("bls signature is not in compressed form")
	}
	p := new(bls12381.G2Affine)
	if err := decodePoint(func() (int, error) { return p.SetBytes(b) }); err != nil {
		return nil, fmt.Errorf("bls signature: %w", err)
	}
	if p.IsInfinity() {
		return nil, errors.New("bls signature is the point at infinity")
	}
	if !p.IsInSubGroup() {
		return nil, errors.New("bls signature is not in the G2 subgroup")
	}
	if c := p.Bytes(); string(c[:]) != string(b) {
		return nil, errors.New("bls signature is not canonically encoded")
	}
	return p, nil
}

// decodePoint runs a point decoder, turning a panic on hostile bytes into
// an error.
func decodePoint(f func() (int, error)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("invalid point encoding (%v)", r)
		}
	}()
	if _, err := f(); err != nil {
		return fmt.Errorf("invalid point encoding: %w", err)
	}
	return nil
}

// Verify checks a signature of msg by a public key: e(pk, H(msg)) =
// e(G1, sig).
func Verify(publicKey, msg, sig []byte) error {
	pk, err := ParsePublicKey(publicKey)
	if err != nil {
		return err
	}
	s, err := ParseSignature(sig)
	if err != nil {
		return err
	}
	h, err := bls12381.HashToG2(msg, DST)
	if err != nil {
		return fmt.Errorf("bls verify: hash to curve: %w", err)
	}
	_, _, g1, _ := bls12381.Generators()
	var negG1 bls12381.G1Affine
	negG1.Neg(&g1)
	ok, err := bls12381.PairingCheck([]bls12381.G1Affine{*pk, negG1}, []bls12381.G2Affine{h, *s})
	if err != nil {
		return fmt.Errorf("bls verify: pairing: %w", err)
	}
	if !ok {
		return errors.New("bls signature does not verify")
	}
	return nil
}

// expand fills n bytes deterministically from a key and a label
// (HMAC-SHA256 in counter mode), for the filler and share derivation.
func expand(key []byte, label string, n int) []byte {
	out := make([]byte, 0, n+sha256.Size)
	for i := uint32(0); len(out) < n; i++ {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(label))
		m.Write([]byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)})
		out = m.Sum(out)
	}
	return out[:n]
}
