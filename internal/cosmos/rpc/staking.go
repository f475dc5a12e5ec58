package rpc

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// StakingValidatorsPath is the gRPC method x/staking lists its validators
// on; every Cosmos SDK node answers it over CometBFT's abci_query, so the
// validators' names are readable without an LCD.
const StakingValidatorsPath = "/cosmos.staking.v1beta1.Query/Validators"

// Ed25519PubKeyType is the Any type URL of an ed25519 consensus key.
const Ed25519PubKeyType = "/cosmos.crypto.ed25519.PubKey"

// Bounds of a staking answer: a hostile node gets an error, never an
// allocation it chose. The value itself is at most maxABCIValue bytes and
// a message at most maxProtoFields fields (so validators per page).
const (
	maxStakingNextKey = 1024 // next_key is a store key (an address and its prefix: ~22 bytes)
	maxStakingPubKey  = 4096 // bytes of a consensus key (ML-DSA-65 is 1952)
	maxStakingTypeURL = 256
)

// StakingValidator is what the sentry uses of an x/staking Validator.
type StakingValidator struct {
	OperatorAddress string
	PubKeyType      string // the consensus_pubkey Any's type_url
	// PubKey is the key bytes in base64, as CometBFT's /validators gives
	// pub_key.value (so the two match), "" when the Any's value is no
	// {bytes key = 1} message.
	PubKey string
	// Address is the consensus address of an ed25519 key (the first 20
	// bytes of its sha256, upper-case hex, as CometBFT names validators);
	// "" for other key types.
	Address string
	Jailed  bool
	Moniker string
}

// EncodeStakingValidatorsRequest is the protobuf QueryValidatorsRequest
// {status = 1 (empty: every status), pagination = 2: PageRequest {key = 1,
// limit = 3}}, field numbers from cosmos-sdk
// proto/cosmos/staking/v1beta1/query.proto and
// proto/cosmos/base/query/v1beta1/pagination.proto. Every status is asked,
// as from the LCD: a jailed validator is unbonding but still named.
func EncodeStakingValidatorsRequest(nextKey []byte, limit uint64) []byte {
	var page []byte
	if len(nextKey) > 0 {
		page = append(page, ProtoField(1, WireBytes, nextKey)...)
	}
	if limit > 0 {
		page = append(page, ProtoField(3, WireVarint, ProtoVarint(limit))...)
	}
	if len(page) == 0 {
		return nil
	}
	return ProtoField(2, WireBytes, page)
}

// DecodeStakingValidators decodes a QueryValidatorsResponse {validators =
// 1 (repeated Validator), pagination = 2: PageResponse {next_key = 1,
// total = 2}}, with Validator {operator_address = 1, consensus_pubkey = 2
// (Any {type_url = 1, value = 2}), jailed = 3, description = 7
// (Description {moniker = 1})} (cosmos-sdk
// proto/cosmos/staking/v1beta1/staking.proto). It is lenient where it can
// be: unknown fields are skipped, a known field of the wrong wire type is
// ignored, a validator without a readable consensus key is left out (it
// cannot be matched to the set). A response that is not protobuf, or
// exceeds the bounds, is an error.
func DecodeStakingValidators(value []byte) ([]StakingValidator, []byte, error) {
	var out []StakingValidator
	var nextKey []byte
	err := ProtoFields(value, func(num, wire int, _ uint64, data []byte) error {
		switch {
		case num == 1 && wire == WireBytes:
			if v, ok := decodeStakingValidator(data); ok {
				out = append(out, v)
			}
		case num == 2 && wire == WireBytes:
			k, err := decodeNextKey(data)
			if err != nil {
				return err
			}
			nextKey = k
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("staking validators response: %w", err)
	}
	return out, nextKey, nil
}

func decodeNextKey(page []byte) ([]byte, error) {
	var key []byte
	err := ProtoFields(page, func(num, wire int, _ uint64, data []byte) error {
		if num == 1 && wire == WireBytes {
			if len(data) > maxStakingNextKey {
				return fmt.Errorf("next_key of %d bytes: at most %d", len(data), maxStakingNextKey)
			}
			key = data
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pagination: %w", err)
	}
	return append([]byte(nil), key...), nil // not a view of the whole answer
}

// decodeStakingValidator reads one Validator; ok false when it is no
// message or has no consensus key this reader can match.
func decodeStakingValidator(b []byte) (v StakingValidator, ok bool) {
	var key []byte
	err := ProtoFields(b, func(num, wire int, x uint64, data []byte) error {
		switch {
		case num == 1 && wire == WireBytes:
			v.OperatorAddress = string(data)
		case num == 2 && wire == WireBytes:
			v.PubKeyType, key = decodeAnyKey(data)
		case num == 3 && wire == WireVarint:
			v.Jailed = x != 0
		case num == 7 && wire == WireBytes:
			v.Moniker = decodeMoniker(data)
		}
		return nil
	})
	if err != nil || len(key) == 0 {
		return StakingValidator{}, false
	}
	v.PubKey = base64.StdEncoding.EncodeToString(key)
	if v.PubKeyType == Ed25519PubKeyType && len(key) == 32 {
		sum := sha256.Sum256(key)
		v.Address = strings.ToUpper(hex.EncodeToString(sum[:20]))
	}
	return v, true
}

// decodeAnyKey reads a google.protobuf.Any {type_url = 1, value = 2} whose
// value is a cosmos-sdk PubKey {bytes key = 1} (ed25519, secp256k1, bls12_381
// alike: proto/cosmos/crypto/*/keys.proto). key is nil when unreadable.
func decodeAnyKey(b []byte) (typeURL string, key []byte) {
	var value []byte
	err := ProtoFields(b, func(num, wire int, _ uint64, data []byte) error {
		switch {
		case num == 1 && wire == WireBytes:
			if len(data) > maxStakingTypeURL {
				return fmt.Errorf("type_url of %d bytes", len(data))
			}
			typeURL = string(data)
		case num == 2 && wire == WireBytes:
			value = data
		}
		return nil
	})
	if err != nil {
		return "", nil
	}
	err = ProtoFields(value, func(num, wire int, _ uint64, data []byte) error {
		if num == 1 && wire == WireBytes {
			key = data
		}
		return nil
	})
	if err != nil || len(key) > maxStakingPubKey {
		return typeURL, nil
	}
	return typeURL, key
}

// decodeMoniker reads Description {moniker = 1, …}; "" when unreadable.
func decodeMoniker(b []byte) string {
	var m string
	err := ProtoFields(b, func(num, wire int, _ uint64, data []byte) error {
		if num == 1 && wire == WireBytes {
			m = string(data)
		}
		return nil
	})
	if err != nil {
		return ""
	}
	return m
}

// StakingValidators reads one page of x/staking's validators with
// abci_query: from nextKey (nil: the first page), at most limit (0: the
// chain's default). It returns the page's next_key, empty after the last
// page. A chain without x/staking (the kvstore devnet) is ErrNotAvailable.
func (c *Client) StakingValidators(ctx context.Context, nextKey []byte, limit uint64) ([]StakingValidator, []byte, error) {
	a, err := c.ABCIQuery(ctx, StakingValidatorsPath, EncodeStakingValidatorsRequest(nextKey, limit))
	if err != nil {
		return nil, nil, err
	}
	vals, next, err := DecodeStakingValidators(a.Value)
	if err != nil {
		c.malformed("abci_query", KindWrongShape)
		return nil, nil, fmt.Errorf("abci_query %s on %s: %w", StakingValidatorsPath, c.name, err)
	}
	return vals, next, nil
}
