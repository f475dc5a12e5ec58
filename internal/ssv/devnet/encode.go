package devnet

import (
	"fmt"
	"math/big"

	gabi "github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
)

// encodeFunc ABI-encodes one SSVNetwork event: its topics (topic0 first)
// and data. args are the event's arguments in declaration order.
type encodeFunc func(name string, args ...any) ([]common.Hash, []byte, error)

// clusterTuple is the contract's Cluster struct,
// (uint32,uint64,uint64,bool,uint256); the field names are the ABI's, as
// go-ethereum's packer matches them.
type clusterTuple struct {
	ValidatorCount  uint32
	NetworkFeeIndex uint64
	Index           uint64
	Active          bool
	Balance         *big.Int
}

// eventArg is one argument of an event: name, Solidity type, indexed.
type eventArg struct {
	name, typ string
	indexed   bool
}

// devnetEvents are the SSVNetwork (v1.2.0) events the devnet emits, with
// their exact signatures (docs: research ssv.md §2.2).
var devnetEvents = map[string][]eventArg{
	"OperatorAdded":              {{"operatorId", "uint64", true}, {"owner", "address", true}, {"publicKey", "bytes", false}, {"fee", "uint256", false}},
	"OperatorRemoved":            {{"operatorId", "uint64", true}},
	"OperatorFeeDeclared":        {{"owner", "address", true}, {"operatorId", "uint64", true}, {"blockNumber", "uint256", false}, {"fee", "uint256", false}},
	"OperatorFeeExecuted":        {{"owner", "address", true}, {"operatorId", "uint64", true}, {"blockNumber", "uint256", false}, {"fee", "uint256", false}},
	"FeeRecipientAddressUpdated": {{"owner", "address", true}, {"recipientAddress", "address", false}},
	"ValidatorAdded":             {{"owner", "address", true}, {"operatorIds", "uint64[]", false}, {"publicKey", "bytes", false}, {"shares", "bytes", false}, {"cluster", "cluster", false}},
	"ValidatorRemoved":           {{"owner", "address", true}, {"operatorIds", "uint64[]", false}, {"publicKey", "bytes", false}, {"cluster", "cluster", false}},
	"ValidatorExited":            {{"owner", "address", true}, {"operatorIds", "uint64[]", false}, {"publicKey", "bytes", false}},
	"ClusterLiquidated":          {{"owner", "address", true}, {"operatorIds", "uint64[]", false}, {"cluster", "cluster", false}},
	"ClusterReactivated":         {{"owner", "address", true}, {"operatorIds", "uint64[]", false}, {"cluster", "cluster", false}},
	"ClusterWithdrawn":           {{"owner", "address", true}, {"operatorIds", "uint64[]", false}, {"value", "uint256", false}, {"cluster", "cluster", false}},
	"ClusterDeposited":           {{"owner", "address", true}, {"operatorIds", "uint64[]", false}, {"value", "uint256", false}, {"cluster", "cluster", false}},
}

// gethEncode encodes with go-ethereum's ABI packer over devnetEvents: the
// devnet's own encoder until internal/ssv/abi provides every event.
func gethEncode() (encodeFunc, error) {
	events := map[string]gabi.Event{}
	for name, args := range devnetEvents {
		var inputs gabi.Arguments
		for _, a := range args {
			var t gabi.Type
			var err error
			if a.typ == "cluster" {
				t, err = gabi.NewType("tuple", "struct ISSVNetworkCore.Cluster", []gabi.ArgumentMarshaling{
					{Name: "validatorCount", Type: "uint32"}, {Name: "networkFeeIndex", Type: "uint64"},
					{Name: "index", Type: "uint64"}, {Name: "active", Type: "bool"}, {Name: "balance", Type: "uint256"},
				})
			} else {
				t, err = gabi.NewType(a.typ, "", nil)
			}
			if err != nil {
				return nil, fmt.Errorf("ssv devnet: ABI type %s of %s.%s: %w", a.typ, name, a.name, err)
			}
			inputs = append(inputs, gabi.Argument{Name: a.name, Type: t, Indexed: a.indexed})
		}
		events[name] = gabi.NewEvent(name, name, false, inputs)
	}
	return func(name string, args ...any) ([]common.Hash, []byte, error) {
		ev, ok := events[name]
		if !ok {
			return nil, nil, fmt.Errorf("encode %s: not an event the devnet emits", name)
		}
		if len(args) != len(ev.Inputs) {
			return nil, nil, fmt.Errorf("encode %s: %d arguments, the event has %d", name, len(args), len(ev.Inputs))
		}
		topics := []common.Hash{ev.ID}
		var data []any
		for i, in := range ev.Inputs {
			if !in.Indexed {
				data = append(data, args[i])
				continue
			}
			t, err := gabi.MakeTopics([]any{args[i]})
			if err != nil {
				return nil, nil, fmt.Errorf("encode %s: topic %s: %w", name, in.Name, err)
			}
			topics = append(topics, t[0][0])
		}
		packed, err := ev.Inputs.NonIndexed().Pack(data...)
		if err != nil {
			return nil, nil, fmt.Errorf("encode %s: %w", name, err)
		}
		return topics, packed, nil
	}, nil
}

// wrapPublicKey is OperatorAdded's publicKey as the contract holds it: the
// base64 PEM string ABI-encoded as one bytes value, which the SSV node
// unpacks (research ssv.md §2.4).
func wrapPublicKey(b64pem string) ([]byte, error) {
	t, err := gabi.NewType("bytes", "", nil)
	if err != nil {
		return nil, err
	}
	return gabi.Arguments{{Type: t}}.Pack([]byte(b64pem))
}
