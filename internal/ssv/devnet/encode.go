package devnet

import (
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"

	"github.com/valtrack/valtrack/internal/ssv/abi"
)

// encodeFunc ABI-encodes one SSVNetwork event: its topics (topic0 first)
// and data. args are the event's arguments in declaration order.
type encodeFunc func(name string, args ...any) ([]common.Hash, []byte, error)

// clusterTuple is the contract's Cluster struct,
// (uint32,uint64,uint64,bool,uint256), as the model keeps it.
type clusterTuple struct {
	ValidatorCount  uint32
	NetworkFeeIndex uint64
	Index           uint64
	Active          bool
	Balance         *big.Int
}

// eventArgs are the ABI parameter names of the events the devnet emits,
// in declaration order (SSVNetwork v1.2.0; internal/ssv/abi has their
// types).
var eventArgs = map[string][]string{
	"OperatorAdded":              {"operatorId", "owner", "publicKey", "fee"},
	"OperatorRemoved":            {"operatorId"},
	"OperatorFeeDeclared":        {"owner", "operatorId", "blockNumber", "fee"},
	"OperatorFeeExecuted":        {"owner", "operatorId", "blockNumber", "fee"},
	"FeeRecipientAddressUpdated": {"owner", "recipientAddress"},
	"ValidatorAdded":             {"owner", "operatorIds", "publicKey", "shares", "cluster"},
	"ValidatorRemoved":           {"owner", "operatorIds", "publicKey", "cluster"},
	"ValidatorExited":            {"owner", "operatorIds", "publicKey"},
	"ClusterLiquidated":          {"owner", "operatorIds", "cluster"},
	"ClusterReactivated":         {"owner", "operatorIds", "cluster"},
	"ClusterWithdrawn":           {"owner", "operatorIds", "value", "cluster"},
	"ClusterDeposited":           {"owner", "operatorIds", "value", "cluster"},
	"Upgraded":                   {"implementation"},
}

// abiString is the ABI encoding of one string return value, as Solidity
// returns it: offset 32, length, the bytes zero-padded to 32.
func abiString(v string) []byte {
	out := make([]byte, 64+(len(v)+31)/32*32)
	out[31] = 32
	new(big.Int).SetInt64(int64(len(v))).FillBytes(out[32:64])
	copy(out[64:], v)
	return out
}

// abiEncode encodes through internal/ssv/abi (abi.Encode), naming the
// positional arguments. OperatorAdded's publicKey is the base64 PEM
// string: abi.Encode wraps it as ABI-encoded bytes, as the contract's
// callers do.
func abiEncode(name string, args ...any) ([]common.Hash, []byte, error) {
	names, ok := eventArgs[name]
	if !ok {
		return nil, nil, fmt.Errorf("encode %s: not an event the devnet emits", name)
	}
	if len(args) != len(names) {
		return nil, nil, fmt.Errorf("encode %s: %d arguments, the event has %d", name, len(args), len(names))
	}
	m := make(map[string]any, len(args))
	for i, a := range args {
		if t, ok := a.(clusterTuple); ok {
			a = map[string]any{
				"validatorCount": t.ValidatorCount, "networkFeeIndex": t.NetworkFeeIndex,
				"index": t.Index, "active": t.Active, "balance": t.Balance,
			}
		}
		m[names[i]] = a
	}
	return abi.Encode(name, m)
}
