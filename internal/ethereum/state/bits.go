package state

import (
	"encoding/hex"
	"encoding/json"
	"strings"
)

// attSubnets is the number of attestation subnets (consensus spec
// ATTESTATION_SUBNET_COUNT).
const attSubnets = 64

// bitvectorMask decodes an SSZ Bitvector[64] given as hex ("0x…"): bit i is
// bit i%8 of byte i/8 (SSZ bit order). Anything malformed, which a hostile
// peer may send, yields 0; bytes beyond the eighth are ignored.
func bitvectorMask(s string) uint64 {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	if len(s) > 2*attSubnets/8 {
		s = s[:2*attSubnets/8]
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return 0
	}
	var m uint64
	for i, by := range b {
		m |= uint64(by) << (8 * i)
	}
	return m
}

// subnetMask is the set of attestation subnets a peer is on: its long-lived
// attnets plus the subnets it is subscribed to. Stored as a column so the
// subnet filter and coverage are a bit test instead of JSON parsing.
func subnetMask(attnets string, subscribed []int64) uint64 {
	m := bitvectorMask(attnets)
	for _, s := range subscribed {
		if s >= 0 && s < attSubnets {
			m |= 1 << uint(s)
		}
	}
	return m
}

// subnetsJSON encodes a subnet list for a text column; nil is "[]".
func subnetsJSON(v []int64) string {
	if len(v) == 0 {
		return "[]"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "[]"
	}
	return string(b)
}

// parseSubnets decodes a subnet list column; anything unreadable is empty.
func parseSubnets(s string) []int64 {
	if s == "" || s == "[]" {
		return nil
	}
	var v []int64
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil
	}
	return v
}
