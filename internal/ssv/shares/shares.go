// Package shares checks the shares of a ValidatorAdded event as the SSV
// node does (ssvlabs/ssv eth/eventhandler handlers.go and validation.go),
// and builds valid ones for the devnet and tests.
//
// The shares bytes are signature(96) ‖ n × share public key(48) ‖ n ×
// encrypted share key(256), n the number of operators. The signature is
// the validator key's BLS signature over keccak256("<owner>:<nonce>"),
// owner in EIP-55 form with its 0x, nonce in decimal: the owner's count of
// earlier ValidatorAdded events (see Message).
package shares

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// EncryptedKeyLength is the size of one operator's RSA-2048-encrypted share.
const EncryptedKeyLength = 256

// MaxOperators is the largest committee (the node's maxOperators).
const MaxOperators = 13

// Length is the size of the shares for n operators: 96 + 48n + 256n.
func Length(n int) int {
	return SignatureLength + (PublicKeyLength+EncryptedKeyLength)*n
}

// Split cuts shares for n operators into the signature, the share public
// keys and the encrypted keys; the slices alias shares.
func Split(shares []byte, n int) (sig []byte, sharePubKeys [][]byte, encryptedKeys [][]byte, err error) {
	if n < 1 || n > MaxOperators {
		return nil, nil, nil, fmt.Errorf("split shares: %d operators, want 1..%d", n, MaxOperators)
	}
	if want := Length(n); len(shares) != want {
		return nil, nil, nil, fmt.Errorf("%w: expected %d bytes for %d operators, got %d", ErrSharesLength, want, n, len(shares))
	}
	sig = shares[:SignatureLength:SignatureLength]
	keys := shares[SignatureLength:]
	enc := keys[PublicKeyLength*n:]
	sharePubKeys = make([][]byte, n)
	encryptedKeys = make([][]byte, n)
	for i := range n {
		sharePubKeys[i] = keys[i*PublicKeyLength : (i+1)*PublicKeyLength : (i+1)*PublicKeyLength]
		encryptedKeys[i] = enc[i*EncryptedKeyLength : (i+1)*EncryptedKeyLength : (i+1)*EncryptedKeyLength]
	}
	return sig, sharePubKeys, encryptedKeys, nil
}

// Message is what the validator key signs: keccak256 of the owner's
// EIP-55 address (with 0x) ":" the nonce in decimal —
// fmt.Sprintf("%s:%d", owner.String(), nonce) in the node's
// verifySignature (ssvlabs/ssv eth/eventhandler/validation.go).
func Message(owner common.Address, nonce uint64) []byte {
	return crypto.Keccak256([]byte(owner.Hex() + ":" + strconv.FormatUint(nonce, 10)))
}

// VerifyRegistration checks the shares' signature: validatorPubKey's BLS
// signature over Message(owner, nonce).
func VerifyRegistration(validatorPubKey []byte, owner common.Address, nonce uint64, sig []byte) error {
	return Verify(validatorPubKey, Message(owner, nonce), sig)
}

// Errors of Check, one per rule; the error returned wraps one of them
// (errors.Is) and its text is the node's reason where it has one.
var (
	ErrOperators    = errors.New("invalid operator ids")
	ErrPublicKey    = errors.New("invalid validator public key")
	ErrSharesLength = errors.New("shares length is not correct")
	ErrSignature    = errors.New("signature verification failed")
)

// ruleError is a failed rule: its text is the reason, errors.Is matches
// the rule's sentinel, Unwrap gives the cause.
type ruleError struct {
	rule  error
	msg   string
	cause error
}

func (e *ruleError) Error() string        { return e.msg }
func (e *ruleError) Is(target error) bool { return target == e.rule }
func (e *ruleError) Unwrap() error        { return e.cause }

func fail(rule error, cause error, format string, a ...any) error {
	return &ruleError{rule: rule, msg: fmt.Sprintf(format, a...), cause: cause}
}

// ValidCommitteeSize: n = 3f+1 with 1 ≤ f ≤ 4, i.e. 4, 7, 10 or 13.
func ValidCommitteeSize(n int) bool {
	return n >= 4 && n <= MaxOperators && (n-1)%3 == 0
}

// CheckOperators applies the node's operator rules, in its order, then the
// contract's ordering rule (ascending ids), which an event from the real
// contract always meets.
func CheckOperators(ids []uint64) error {
	n := len(ids)
	switch {
	case n > MaxOperators:
		return fail(ErrOperators, nil, "too many operators (%d)", n)
	case n == 0:
		return fail(ErrOperators, nil, "no operators")
	case !ValidCommitteeSize(n):
		return fail(ErrOperators, nil, "given operator count (%d) cannot build a 3f+1 quorum", n)
	}
	seen := make(map[uint64]struct{}, n)
	for _, id := range ids {
		if _, ok := seen[id]; ok {
			return fail(ErrOperators, nil, "duplicated operator ID (%d)", id)
		}
		seen[id] = struct{}{}
	}
	for i := 1; i < n; i++ {
		if ids[i] < ids[i-1] {
			return fail(ErrOperators, nil, "operator IDs are not sorted (%d after %d)", ids[i], ids[i-1])
		}
	}
	return nil
}

// Check applies the SSV node's stateless checks of a ValidatorAdded event
// (the stateful ones — operators exist, the key is not another owner's —
// need the registry): the operators, the public key's length, the shares'
// length, the signature with the expected nonce, and the public key as a
// BLS point. Each failure says which rule failed.
func Check(owner common.Address, nonce uint64, publicKey []byte, operatorIDs []uint64, shares []byte) error {
	if err := CheckOperators(operatorIDs); err != nil {
		return err
	}
	if len(publicKey) != PublicKeyLength {
		return fail(ErrPublicKey, nil, "invalid public key length: %d bytes, want %d", len(publicKey), PublicKeyLength)
	}
	n := len(operatorIDs)
	if want := Length(n); len(shares) != want {
		return fail(ErrSharesLength, nil, "shares length is not correct: expected %d bytes for %d operators, got %d", want, n, len(shares))
	}
	if _, err := ParsePublicKey(publicKey); err != nil {
		// The node fails here in verifySignature, with its reason.
		return fail(ErrSignature, err, "signature verification failed: failed to deserialize validator public key: %v", err)
	}
	if err := VerifyRegistration(publicKey, owner, nonce, shares[:SignatureLength]); err != nil {
		return fail(ErrSignature, err, "signature verification failed: %v (owner %s, nonce %d)", err, owner.Hex(), nonce)
	}
	return nil
}

// Build makes valid shares for a validator key, owner and nonce: the real
// registration signature, operators share public keys of a Shamir
// splitting of sk (threshold 2f+1 of 3f+1, coefficients derived from sk,
// so Build is deterministic), and 256 bytes of deterministic filler per
// operator where the node has the share key encrypted to the operator's
// RSA key (no operator can decrypt them).
func Build(sk *SecretKey, owner common.Address, nonce uint64, operators int) ([]byte, error) {
	if sk == nil {
		return nil, errors.New("build shares: no secret key")
	}
	if operators < 1 || operators > MaxOperators {
		return nil, fmt.Errorf("build shares: %d operators, want 1..%d", operators, MaxOperators)
	}
	sig, err := Sign(sk, Message(owner, nonce))
	if err != nil {
		return nil, fmt.Errorf("build shares: %w", err)
	}
	out := make([]byte, 0, Length(operators))
	out = append(out, sig...)
	keys, err := ShareKeys(sk, operators)
	if err != nil {
		return nil, fmt.Errorf("build shares: %w", err)
	}
	for _, k := range keys {
		out = append(out, k.PublicKey()...)
	}
	for i := range operators {
		out = append(out, expand(sk.Bytes(), "valtrack ssv encrypted share "+strconv.Itoa(i+1), EncryptedKeyLength)...)
	}
	return out, nil
}

// ShareKeys splits sk into n Shamir shares p(1), …, p(n) of a polynomial
// with p(0) = sk and degree n − f − 1 (f = (n−1)/3): any 2f+1 of a 3f+1
// committee recover sk.
func ShareKeys(sk *SecretKey, n int) ([]*SecretKey, error) {
	if n < 1 || n > MaxOperators {
		return nil, fmt.Errorf("share keys: %d operators, want 1..%d", n, MaxOperators)
	}
	r := fr.Modulus()
	degree := n - (n-1)/3 - 1
	coeffs := []*big.Int{new(big.Int).Set(&sk.k)}
	for j := 1; j <= degree; j++ {
		c := new(big.Int).SetBytes(expand(sk.Bytes(), "valtrack ssv share coefficient "+strconv.Itoa(j), 48))
		coeffs = append(coeffs, c.Mod(c, r))
	}
	keys := make([]*SecretKey, n)
	for i := range n {
		x := big.NewInt(int64(i + 1))
		y := new(big.Int)
		for j := len(coeffs) - 1; j >= 0; j-- { // Horner
			y.Mul(y, x).Add(y, coeffs[j]).Mod(y, r)
		}
		if y.Sign() == 0 {
			return nil, fmt.Errorf("share keys: share %d is zero", i+1)
		}
		keys[i] = &SecretKey{}
		keys[i].k.Set(y)
	}
	return keys, nil
}
