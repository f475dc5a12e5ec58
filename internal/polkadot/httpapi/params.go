package httpapi

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/polkadot/ss58"
	"github.com/valtrack/valtrack/internal/polkadot/state"
)

// maxAddressParam bounds the {address} text looked at: an SS58 account
// address has 47–50 characters, a 0x public key 66.
const maxAddressParam = 80

// genericPrefix is the SS58 prefix of the generic Substrate format, used
// for a public key asked of a chain whose prefix is not known yet.
const genericPrefix = 42

const addressHint = "an SS58 account address of any network prefix (e.g. 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY) or a 0x-prefixed 32-byte public key in hex"

// address reads the {address} path value and names the account the way
// the store does: with the chain's SS58 prefix. Any SS58 form of the key
// (another network's prefix, the generic 42) and its hex public key
// resolve to the same account; anything else is a 400 saying what is
// wrong. Before the chain's record has arrived an SS58 address is kept as
// written and a public key is encoded with the generic prefix.
func (h *handlers) address(ctx context.Context, chain, raw string) (string, error) {
	key, prefix, err := parseAddress(raw)
	if err != nil {
		return "", err
	}
	c, err := h.st.Chain(ctx, chain)
	if err != nil {
		return "", fmt.Errorf("chain record of %s: %w", chain, err)
	}
	if c != nil && ss58.ValidPrefix(c.SS58Prefix) {
		prefix = c.SS58Prefix
	}
	return ss58.Encode(key, prefix), nil
}

// parseAddress reads an SS58 address (its checksum verified) or a 0x hex
// public key: the key, and the prefix written (genericPrefix for a key).
func parseAddress(raw string) (key [32]byte, prefix uint16, err error) {
	if len(raw) > maxAddressParam {
		return key, 0, api.BadParam("address", "address of %d characters is too long: want %s", len(raw), addressHint)
	}
	if h0, ok := strings.CutPrefix(strings.ToLower(raw), "0x"); ok {
		b, err := hex.DecodeString(h0)
		if err != nil || len(b) != 32 {
			return key, 0, api.BadParam("address", "address %q is not a 32-byte public key in hex (64 hex digits after 0x): want %s", raw, addressHint)
		}
		copy(key[:], b)
		return key, genericPrefix, nil
	}
	key, prefix, err = ss58.Decode(raw)
	if err != nil {
		return key, 0, api.BadParam("address", "address %q: %v: want %s", raw, err, addressHint)
	}
	return key, prefix, nil
}

// listLimit reads limit: 1..state.MaxLimit, state.DefaultLimit when absent.
func listLimit(q api.Query) (int, error) {
	return q.IntRange("limit", state.DefaultLimit, 1, state.MaxLimit)
}
