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
// page. A chain without x/staking (CometBFT's kvstore app) is ErrNotAvailable.
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

// BondStatusBonded is x/staking's BondStatus of a validator in the active
// set (BOND_STATUS_BONDED in staking.proto).
const BondStatusBonded = 3

// StakingRecord is a validator as x/staking holds it: what
// EncodeStakingValidator writes, for a chain of our own (the devnet) and
// for tests.
type StakingRecord struct {
	Operator   string
	PubKeyType string // the consensus_pubkey Any's type_url; "" is Ed25519PubKeyType
	PubKey     []byte // the key bytes
	Jailed     bool
	Status     uint64 // BondStatus; BondStatusBonded for the active set
	Tokens     string // an Int: decimal digits
	// DelegatorShares is a LegacyDec as protobuf carries it (digits of the
	// value × 10^18).
	DelegatorShares string
	Moniker         string
	Website         string
}

// EncodeStakingValidator is the protobuf Validator of r: operator_address
// = 1, consensus_pubkey = 2 (Any {type_url = 1, value = 2: PubKey {key =
// 1}}), jailed = 3, status = 4, tokens = 5, delegator_shares = 6,
// description = 7 {moniker = 1, website = 3}; the fields
// DecodeStakingValidators reads and those a real validator also carries.
func EncodeStakingValidator(r StakingRecord) []byte {
	typ := r.PubKeyType
	if typ == "" {
		typ = Ed25519PubKeyType
	}
	anyKey := append(ProtoField(1, WireBytes, []byte(typ)), ProtoField(2, WireBytes, ProtoField(1, WireBytes, r.PubKey))...)
	desc := ProtoField(1, WireBytes, []byte(r.Moniker))
	if r.Website != "" {
		desc = append(desc, ProtoField(3, WireBytes, []byte(r.Website))...)
	}
	var b []byte
	b = append(b, ProtoField(1, WireBytes, []byte(r.Operator))...)
	b = append(b, ProtoField(2, WireBytes, anyKey)...)
	if r.Jailed {
		b = append(b, ProtoField(3, WireVarint, ProtoVarint(1))...)
	}
	if r.Status != 0 {
		b = append(b, ProtoField(4, WireVarint, ProtoVarint(r.Status))...)
	}
	if r.Tokens != "" {
		b = append(b, ProtoField(5, WireBytes, []byte(r.Tokens))...)
	}
	if r.DelegatorShares != "" {
		b = append(b, ProtoField(6, WireBytes, []byte(r.DelegatorShares))...)
	}
	return append(b, ProtoField(7, WireBytes, desc)...)
}

// EncodeStakingValidatorsResponse is a QueryValidatorsResponse of
// validators already encoded (EncodeStakingValidator), with the
// PageResponse {next_key = 1 (omitted on the last page), total = 2}.
func EncodeStakingValidatorsResponse(validators [][]byte, nextKey []byte, total uint64) []byte {
	var b []byte
	for _, v := range validators {
		b = append(b, ProtoField(1, WireBytes, v)...)
	}
	var page []byte
	if len(nextKey) > 0 {
		page = ProtoField(1, WireBytes, nextKey)
	}
	if total > 0 {
		page = append(page, ProtoField(2, WireVarint, ProtoVarint(total))...)
	}
	return append(b, ProtoField(2, WireBytes, page)...)
}

// StakingValidatorsRequest is a decoded QueryValidatorsRequest.
type StakingValidatorsRequest struct {
	Status     string // "" every status, else a BondStatus name (BOND_STATUS_BONDED…)
	Key        []byte // the page's start (a next_key); nil: the first page
	Offset     uint64 // used only without Key
	Limit      uint64 // 0: the server's default
	CountTotal bool
}

// DecodeStakingValidatorsRequest decodes QueryValidatorsRequest {status =
// 1, pagination = 2: PageRequest {key = 1, offset = 2, limit = 3,
// count_total = 4}} for a server of these queries (the devnet). Unknown
// fields are skipped (reverse = 5 among them: the devnet pages forwards
// only); a key or status over its bound, or bytes that are not protobuf,
// are an error.
func DecodeStakingValidatorsRequest(b []byte) (StakingValidatorsRequest, error) {
	var r StakingValidatorsRequest
	var page []byte
	err := ProtoFields(b, func(num, wire int, _ uint64, data []byte) error {
		switch {
		case num == 1 && wire == WireBytes:
			if len(data) > maxStakingTypeURL {
				return fmt.Errorf("status of %d bytes", len(data))
			}
			r.Status = string(data)
		case num == 2 && wire == WireBytes:
			page = data
		}
		return nil
	})
	if err == nil {
		err = ProtoFields(page, func(num, wire int, v uint64, data []byte) error {
			switch {
			case num == 1 && wire == WireBytes:
				if len(data) > maxStakingNextKey {
					return fmt.Errorf("key of %d bytes: at most %d", len(data), maxStakingNextKey)
				}
				r.Key = append([]byte(nil), data...)
			case num == 2 && wire == WireVarint:
				r.Offset = v
			case num == 3 && wire == WireVarint:
				r.Limit = v
			case num == 4 && wire == WireVarint:
				r.CountTotal = v != 0
			}
			return nil
		})
	}
	if err != nil {
		return StakingValidatorsRequest{}, fmt.Errorf("staking validators request: %w", err)
	}
	return r, nil
}
