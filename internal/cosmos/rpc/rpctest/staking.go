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
	enc := make([][]byte, len(vals))
	for i, v := range vals {
		key, _ := base64.StdEncoding.DecodeString(v.PubKey)
		enc[i] = append(rpc.EncodeStakingValidator(rpc.StakingRecord{Operator: v.Operator, PubKeyType: v.PubKeyType, PubKey: key,
			Jailed: v.Jailed, Status: rpc.BondStatusBonded, Tokens: "1000000", DelegatorShares: "1000000000000000000000000",
			Moniker: v.Moniker, Website: "https://example.org"}),
			rpc.ProtoField(77, rpc.WireFixed32, []byte{1, 2, 3, 4})...)
	}
	return rpc.EncodeStakingValidatorsResponse(enc, nextKey, uint64(len(vals)))
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
	r, _ := rpc.DecodeStakingValidatorsRequest(data)
	from, _ = strconv.Atoi(string(r.Key))
	return max(from, 0), int(min(r.Limit, 1<<20))
}
