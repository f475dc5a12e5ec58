package sync

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"
)

// SSVNetwork is an ERC-1967 proxy: an upgrade is its log
// Upgraded(address indexed implementation) (in the contract's ABI). The
// log does not say which version the implementation is; the
// implementation answers getVersion() ("v2.0.0"), and since that function
// is pure the implementation's own address answers at the latest block,
// on any node. The sentry adds the answer to the event's arguments as
// "version": from that block on, the consumer knows that new clusters
// pay their fees in ETH, without waiting for an event only v2 emits.

var (
	// UpgradedTopic is topic0 of ERC-1967's Upgraded(address).
	UpgradedTopic    = crypto.Keccak256Hash([]byte("Upgraded(address)"))
	getVersionCall   = hexutil.Bytes(crypto.Keccak256([]byte("getVersion()"))[:4])
	errNoVersionHere = errors.New("no version in the answer")
)

const (
	maxVersionLen     = 64     // bytes of a version string
	maxVersionAnswer  = 32 * 8 // bytes of a getVersion answer
	upgradedEventName = "Upgraded"
	// VersionArg is the argument the sentry adds to an Upgraded event.
	VersionArg = "version"
)

// resolveVersions learns the version of every implementation an Upgraded
// log among logs names, once per implementation (its code never
// changes). It runs before any log of the range is published, so that a
// failure publishes nothing twice. A transport failure is an error (the
// range is read again, from another endpoint if need be); a node that
// answers but gives no version (the call reverts, returns nothing or no
// short string, or the state is pruned) leaves it unknown: "".
func (s *Sentry) resolveVersions(ctx context.Context, ep *endpoint, logs []types.Log) error {
	for _, l := range logs {
		impl := upgradedImpl(l)
		if _, ok := s.versions[impl]; ok || impl == (common.Address{}) {
			continue
		}
		v, err := s.version(ctx, ep, impl, l.BlockNumber)
		if err != nil {
			return err
		}
		s.versions[impl] = v
		s.log.Info("ssv sentry: the contract was upgraded", "block", l.BlockNumber, "implementation", impl.Hex(), "version", v)
	}
	return nil
}

// version asks the implementation, then the proxy as of the upgrade's
// block (which needs the node to keep that block's state).
func (s *Sentry) version(ctx context.Context, ep *endpoint, impl common.Address, block uint64) (string, error) {
	v, err := ep.getVersion(ctx, impl, "latest")
	if err == nil || !answered(err) {
		return v, err
	}
	v, err = ep.getVersion(ctx, s.cfg.Contract, hexutil.EncodeUint64(block))
	if err != nil && answered(err) {
		s.log.Warn("ssv sentry: the upgraded contract's version is unknown; new clusters are taken to pay in SSV until an event only v2 emits",
			"implementation", impl.Hex(), "block", block, "err", err)
		return "", nil
	}
	return v, err
}

// answered: the node answered (an error of the call, or no version in
// the result), as opposed to a transport failure.
func answered(err error) bool {
	var rerr rpc.Error
	return errors.Is(err, errNoVersionHere) || errors.As(err, &rerr)
}

func (e *endpoint) getVersion(ctx context.Context, to common.Address, block string) (string, error) {
	var out hexutil.Bytes
	err := e.call(ctx, &out, "eth_call", map[string]any{"to": to, "data": getVersionCall}, block)
	if err != nil {
		return "", err
	}
	v, ok := abiString(out)
	if !ok {
		return "", errNoVersionHere
	}
	return v, nil
}

// abiString reads the ABI encoding of one short printable string as
// Solidity returns it: offset 32, length, the bytes zero-padded.
func abiString(b []byte) (string, bool) {
	if len(b) < 64 || len(b) > maxVersionAnswer || len(b)%32 != 0 {
		return "", false
	}
	off, n := new(big.Int).SetBytes(b[:32]), new(big.Int).SetBytes(b[32:64])
	if off.Cmp(big.NewInt(32)) != 0 || n.Cmp(big.NewInt(int64(maxVersionLen))) > 0 || 64+int(n.Int64()) > len(b) {
		return "", false
	}
	s := b[64 : 64+n.Int64()]
	if len(s) == 0 {
		return "", false
	}
	for _, c := range s {
		if c < 0x21 || c > 0x7e {
			return "", false
		}
	}
	return string(s), true
}

// withVersion adds "version" to the arguments of an Upgraded event.
func withVersion(args json.RawMessage, version string) (json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(args, &m); err != nil {
		return nil, err
	}
	v, err := json.Marshal(version)
	if err != nil {
		return nil, err
	}
	m[VersionArg] = v
	return json.Marshal(m)
}

// upgradedImpl is the implementation an Upgraded log names (zero for
// another log).
func upgradedImpl(l types.Log) common.Address {
	if len(l.Topics) != 2 || l.Topics[0] != UpgradedTopic {
		return common.Address{}
	}
	return common.BytesToAddress(l.Topics[1][12:])
}
