// Package tx builds, signs and submits Substrate extrinsics for the
// Polkadot domain (staking, proxy, sudo, election and balance calls) and
// tells from a block's events whether one succeeded. Calls are built from
// the runtime's metadata — pallet and call indices and argument types are
// looked up, never hard-coded — so an argument whose encoding differs
// between runtimes (MultiAddress or AccountId) is encoded as that runtime
// expects or refused with an error naming it.
package tx

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/centrifuge/go-substrate-rpc-client/v4/signature"
	"github.com/vedhavyas/go-subkey/v2"
)

// AccountID is a 32-byte account (an sr25519 public key for keyring
// accounts).
type AccountID [32]byte

// ParseAddress decodes an SS58 address of any network prefix, or a 0x hex
// public key of 32 bytes.
func ParseAddress(s string) (AccountID, error) {
	var a AccountID
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "0x") {
		b, ok := subkey.DecodeHex(s)
		if !ok || len(b) != 32 {
			return a, fmt.Errorf("account %q: a hex account must be 0x and 32 bytes", s)
		}
		copy(a[:], b)
		return a, nil
	}
	_, pub, err := subkey.SS58Decode(s)
	if err != nil {
		return a, fmt.Errorf("account %q is not an SS58 address: %v", s, err)
	}
	if len(pub) != 32 {
		return a, fmt.Errorf("account %q: %d-byte account, want 32", s, len(pub))
	}
	copy(a[:], pub)
	return a, nil
}

// SS58 is the address with the given network prefix (42: generic
// Substrate, 0: Polkadot, 2: Kusama).
func (a AccountID) SS58(prefix uint16) string { return subkey.SS58Encode(a[:], prefix) }

// Hex is the 0x hex public key.
func (a AccountID) Hex() string { return subkey.EncodeHex(a[:]) }

// Signer is an sr25519 key. It holds the secret URI, so it is never
// printed: String and the errors of this package show the address only.
type Signer struct {
	pair    signature.KeyringPair
	account AccountID
	dev     bool
}

// maxKeyFile bounds what LoadKey reads: a secret URI is a few hundred
// bytes at most (a 24-word mnemonic with a derivation path).
const maxKeyFile = 4096

// DevURI reports whether s is a well-known development URI (//Alice,
// //Alice//stash …): a path from the public dev phrase, no secret at all.
func DevURI(s string) bool {
	return strings.HasPrefix(s, "//") && !strings.ContainsAny(s, " \t\n")
}

// FromURI makes a signer from a secret URI: a 0x 32-byte seed, a
// mnemonic (optionally with //hard /soft derivations and ///password) or a
// dev URI such as //Alice.
func FromURI(uri string) (*Signer, error) {
	uri = strings.TrimSpace(uri)
	if uri == "" {
		return nil, errors.New("empty secret: give a 0x seed, a mnemonic or a dev URI such as //Alice")
	}
	if strings.HasPrefix(uri, "0x") {
		if b, ok := subkey.DecodeHex(uri); !ok || len(b) != 32 {
			return nil, errors.New("secret seed is not 0x and 32 bytes of hex")
		}
	}
	kp, err := signature.KeyringPairFromSecret(uri, 42)
	if err != nil {
		// The library's error may quote the secret: say only what is wrong.
		return nil, errors.New("secret is not a valid sr25519 seed, mnemonic or derivation URI")
	}
	s := &Signer{pair: kp, dev: DevURI(uri)}
	if len(kp.PublicKey) != 32 {
		return nil, fmt.Errorf("derived public key has %d bytes, want 32", len(kp.PublicKey))
	}
	copy(s.account[:], kp.PublicKey)
	return s, nil
}

// LoadKey reads a signer from a file holding one secret URI (FromURI).
// A file others can read (group or world) is refused unless it holds a
// dev URI: a real secret must not be readable by other users.
func LoadKey(path string) (*Signer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("key file %s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	if len(b) > maxKeyFile {
		return nil, fmt.Errorf("key file %s is over %d bytes: it should hold one secret URI", path, maxKeyFile)
	}
	uri := strings.TrimSpace(string(b))
	if st.Mode().Perm()&0o077 != 0 && !DevURI(uri) {
		return nil, fmt.Errorf("key file %s has mode %04o: others may read the secret; run chmod 600 %s", path, st.Mode().Perm(), path)
	}
	s, err := FromURI(uri)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return s, nil
}

// Account is the signer's account.
func (s *Signer) Account() AccountID { return s.account }

// Dev reports whether the key is a public development key (//Alice …).
func (s *Signer) Dev() bool { return s.dev }

// String is the generic SS58 address, never the secret.
func (s *Signer) String() string { return s.account.SS58(42) }

// GoString keeps %#v from printing the secret.
func (s *Signer) GoString() string { return "tx.Signer(" + s.String() + ")" }
