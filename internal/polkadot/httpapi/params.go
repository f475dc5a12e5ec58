package httpapi

import (
	"regexp"

	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/polkadot/state"
)

// ss58RE is the shape of an SS58 address: base58 (no 0, O, I, l), 46–48
// characters for the 32-byte accounts of Polkadot, Kusama and the
// generic-prefix chains, with room for two-byte prefixes. The checksum is
// not verified: an address of no stash simply matches nothing.
var ss58RE = regexp.MustCompile(`^[1-9A-HJ-NP-Za-km-z]{40,60}$`)

// address reads the {address} path value; a malformed one is a 400.
func address(raw string) (string, error) {
	if !ss58RE.MatchString(raw) {
		return "", api.BadParam("address", "address must be an SS58 account address (base58, 40 to 60 characters), e.g. 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY")
	}
	return raw, nil
}

// listLimit reads limit: 1..state.MaxLimit, state.DefaultLimit when absent.
func listLimit(q api.Query) (int, error) {
	return q.IntRange("limit", state.DefaultLimit, 1, state.MaxLimit)
}
