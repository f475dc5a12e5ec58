// Package ss58 encodes and decodes Substrate SS58 addresses of 32-byte
// account keys (https://docs.substrate.io/reference/address-formats/):
// base58(prefix ‖ key ‖ checksum), the checksum being the first two
// bytes of blake2b-512("SS58PRE" ‖ prefix ‖ key).
package ss58

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/mr-tron/base58"
	"golang.org/x/crypto/blake2b"
)

// MaxPrefix is the largest network prefix the format can carry (14 bits).
const MaxPrefix = 16383

// maxAddrLen bounds the text decoded: a 32-byte key with a two-byte
// prefix and checksum is 36 bytes, at most 50 base58 characters.
const maxAddrLen = 64

var checksumPrefix = []byte("SS58PRE")

func checksum(payload []byte) []byte {
	h, _ := blake2b.New512(nil)
	h.Write(checksumPrefix)
	h.Write(payload)
	return h.Sum(nil)[:2]
}

// prefixBytes is the SS58 identifier encoding: one byte below 64, else
// two bytes holding the 14 bits as the format specifies.
func prefixBytes(p uint16) []byte {
	if p < 64 {
		return []byte{byte(p)}
	}
	return []byte{
		byte((p&0xfc)>>2) | 0x40,
		byte(p>>8) | byte((p&0x03)<<6),
	}
}

// Encode returns the address of pubkey on the network with prefix
// (a prefix above MaxPrefix is encoded modulo the 14 bits, so callers
// validate prefixes read from the chain; see Valid).
func Encode(pubkey [32]byte, prefix uint16) string {
	p := prefixBytes(prefix & MaxPrefix)
	payload := make([]byte, 0, len(p)+32+2)
	payload = append(payload, p...)
	payload = append(payload, pubkey[:]...)
	payload = append(payload, checksum(payload)...)
	return base58.Encode(payload)
}

// ValidPrefix: p can be an SS58 network prefix.
func ValidPrefix(p uint16) bool { return p <= MaxPrefix }

// Decode returns the key and network prefix of an address of a 32-byte
// account, verifying the checksum.
func Decode(addr string) (pubkey [32]byte, prefix uint16, err error) {
	if addr == "" || len(addr) > maxAddrLen {
		return pubkey, 0, fmt.Errorf("ss58 address of %d characters: an account address has 47–48", len(addr))
	}
	raw, err := base58.Decode(addr)
	if err != nil {
		return pubkey, 0, errors.New("ss58 address is not base58 (check for a typo)")
	}
	if len(raw) < 1 {
		return pubkey, 0, errors.New("ss58 address is empty")
	}
	var plen int
	switch {
	case raw[0] < 64:
		plen, prefix = 1, uint16(raw[0])
	case raw[0] < 128:
		if len(raw) < 2 {
			return pubkey, 0, errors.New("ss58 address too short")
		}
		plen = 2
		lower := (raw[0] << 2) | (raw[1] >> 6)
		upper := raw[1] & 0x3f
		prefix = uint16(lower) | uint16(upper)<<8
	default:
		return pubkey, 0, fmt.Errorf("ss58 address has a reserved first byte %#x", raw[0])
	}
	if len(raw) != plen+32+2 {
		return pubkey, 0, fmt.Errorf("ss58 address holds %d bytes, not a 32-byte account key", len(raw)-plen)
	}
	body := raw[:plen+32]
	if !bytes.Equal(checksum(body), raw[plen+32:]) {
		return pubkey, 0, errors.New("ss58 address checksum mismatch (check for a typo)")
	}
	copy(pubkey[:], raw[plen:plen+32])
	return pubkey, prefix, nil
}
