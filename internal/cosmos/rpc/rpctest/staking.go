package rpctest

import (
	"encoding/base64"
	"strconv"

	"github.com/valtrack/valtrack/internal/cosmos/rpc"
)

// StakingValidator is a validator of the fake chain's x/staking module.
type StakingValidator struct {
	Operator   string
	Moniker    string
	PubKey     string // base64 key bytes, as Validator.PubKey
	PubKeyType string // the Any's type_url; "" is rpc.Ed25519PubKeyType
	Jailed     bool
}

// Staking returns x/staking's view of vals: operator "cosmosvaloper1<i>",
// moniker "<prefix><i>", the same consensus keys.
func Staking(vals []Validator, prefix string) []StakingValidator {
	out := make([]StakingValidator, len(vals))
	for i, v := range vals {
		out[i] = StakingValidator{Operator: "cosmosvaloper1" + strconv.Itoa(i), Moniker: prefix + strconv.Itoa(i), PubKey: v.PubKey}
	}
	return out
}

// StakingValidatorsResponse is x/staking's QueryValidatorsResponse of vals
// with next_key (nil on the last page), each validator also carrying the
// fields a real one has (status, tokens, shares, the rest of its
// description, unbonding height) and an unknown field, so that a decoder
// is shown to skip them.
func StakingValidatorsResponse(vals []StakingValidator, nextKey []byte) []byte {
	var b []byte
	for _, v := range vals {
		b = append(b, rpc.ProtoField(1, rpc.WireBytes, stakingValidator(v))...)
	}
	var page []byte
	if len(nextKey) > 0 {
		page = rpc.ProtoField(1, rpc.WireBytes, nextKey)
	}
	page = append(page, rpc.ProtoField(2, rpc.WireVarint, rpc.ProtoVarint(uint64(len(vals))))...)
	return append(b, rpc.ProtoField(2, rpc.WireBytes, page)...)
}

func stakingValidator(v StakingValidator) []byte {
	typ := v.PubKeyType
	if typ == "" {
		typ = rpc.Ed25519PubKeyType
	}
	key, _ := base64.StdEncoding.DecodeString(v.PubKey)
	anyKey := append(rpc.ProtoField(1, rpc.WireBytes, []byte(typ)), rpc.ProtoField(2, rpc.WireBytes, rpc.ProtoField(1, rpc.WireBytes, key))...)
	jailed := uint64(0)
	if v.Jailed {
		jailed = 1
	}
	desc := append(rpc.ProtoField(1, rpc.WireBytes, []byte(v.Moniker)), rpc.ProtoField(3, rpc.WireBytes, []byte("https://example.org"))...)
	var b []byte
	b = append(b, rpc.ProtoField(1, rpc.WireBytes, []byte(v.Operator))...)
	b = append(b, rpc.ProtoField(2, rpc.WireBytes, anyKey)...)
	b = append(b, rpc.ProtoField(3, rpc.WireVarint, rpc.ProtoVarint(jailed))...)
	b = append(b, rpc.ProtoField(4, rpc.WireVarint, rpc.ProtoVarint(3))...) // BOND_STATUS_BONDED
	b = append(b, rpc.ProtoField(5, rpc.WireBytes, []byte("1000000"))...)
	b = append(b, rpc.ProtoField(6, rpc.WireBytes, []byte("1000000000000000000000000"))...)
	b = append(b, rpc.ProtoField(7, rpc.WireBytes, desc)...)
	b = append(b, rpc.ProtoField(8, rpc.WireVarint, rpc.ProtoVarint(0))...)
	b = append(b, rpc.ProtoField(77, rpc.WireFixed32, []byte{1, 2, 3, 4})...)
	return b
}

// StakingPages answers abci_query like a node with x/staking holding vals:
// StakingValidatorsPath a page at a time (the request's limit, else 100;
// next_key the decimal offset of the next page), any other path with the
// kvstore's code 0 and no value.
func StakingPages(vals []StakingValidator) ABCIFunc {
	return func(path string, data []byte) (int, []byte) {
		if path != rpc.StakingValidatorsPath {
			return 0, nil
		}
		from, limit := stakingRequest(data)
		if limit == 0 {
			limit = 100
		}
		from = min(from, len(vals))
		to := min(from+limit, len(vals))
		var next []byte
		if to < len(vals) {
			next = []byte(strconv.Itoa(to))
		}
		return 0, StakingValidatorsResponse(vals[from:to], next)
	}
}

// stakingRequest reads a QueryValidatorsRequest's pagination key (this
// fake's decimal offset) and limit.
func stakingRequest(data []byte) (from, limit int) {
	_ = rpc.ProtoFields(data, func(num, wire int, _ uint64, page []byte) error {
		if num != 2 || wire != rpc.WireBytes {
			return nil
		}
		return rpc.ProtoFields(page, func(num, wire int, v uint64, b []byte) error {
			switch {
			case num == 1 && wire == rpc.WireBytes:
				from, _ = strconv.Atoi(string(b))
			case num == 3 && wire == rpc.WireVarint:
				limit = int(min(v, 1<<20))
			}
			return nil
		})
	})
	return max(from, 0), limit
}
