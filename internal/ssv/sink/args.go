package sink

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"

	"github.com/valtrack/valtrack/internal/safe"
	"github.com/valtrack/valtrack/internal/ssv/abi"
)

// The Args of a ContractEvent are an object keyed by the ABI parameter
// names: integers as decimal strings, bytes as 0x-hex, addresses as 0x-hex,
// the Cluster tuple as an object. These types read them and refuse
// anything else.

// num is a uint64 argument (uint32/uint64 in the ABI): a decimal string, or
// a JSON number.
type num uint64

func (n *num) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("%s is not a decimal uint64", safe.String(string(b), 90))
	}
	*n = num(v)
	return nil
}

// u256 is a uint256 argument kept as its decimal string.
type u256 string

func (u *u256) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	if s == "" || len(s) > 78 || strings.TrimLeft(s, "0123456789") != "" {
		return fmt.Errorf("%s is not a decimal uint256", safe.String(string(b), 90))
	}
	if t := strings.TrimLeft(s, "0"); t != "" {
		s = t
	} else {
		s = "0"
	}
	*u = u256(s)
	return nil
}

// hexBytes is a bytes argument: 0x-hex.
type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("bytes: %w", err)
	}
	if !strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "0X") {
		return fmt.Errorf("bytes %q are not 0x-hex", safe.String(s, 40))
	}
	v, err := hex.DecodeString(s[2:])
	if err != nil {
		return fmt.Errorf("bytes %q: %w", safe.String(s, 40), err)
	}
	*h = v
	return nil
}

// address is an address argument, kept in EIP-55 form.
type address string

func (a *address) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("address: %w", err)
	}
	if len(s) != 42 || !common.IsHexAddress(s) {
		return fmt.Errorf("address %q is not 0x and 40 hex digits", safe.String(s, 50))
	}
	*a = address(common.HexToAddress(s).Hex())
	return nil
}

func (a address) zero() bool { return common.HexToAddress(string(a)) == (common.Address{}) }

// cluster is the Cluster tuple.
type cluster struct {
	ValidatorCount  *num  `json:"validatorCount"`
	NetworkFeeIndex *num  `json:"networkFeeIndex"`
	Index           *num  `json:"index"`
	Active          *bool `json:"active"`
	Balance         *u256 `json:"balance"`
}

func (c *cluster) check() error {
	if c == nil || c.ValidatorCount == nil || c.NetworkFeeIndex == nil || c.Index == nil || c.Active == nil || c.Balance == nil {
		return fmt.Errorf("cluster tuple lacks one of validatorCount, networkFeeIndex, index, active, balance")
	}
	if *c.ValidatorCount > 1<<32-1 {
		return fmt.Errorf("cluster validatorCount %d exceeds uint32", *c.ValidatorCount)
	}
	return nil
}

// The arguments by event (the fields a handler reads; the rest stay in the
// applied-event log).
type (
	operatorArgs struct {
		OperatorID *num    `json:"operatorId"`
		Owner      address `json:"owner"`
		PublicKey  *string `json:"publicKey"`
		Fee        *u256   `json:"fee"`
		Block      *num    `json:"blockNumber"`
		// OperatorWhitelistUpdated (legacy)
		Whitelisted *address `json:"whitelisted"`
	}
	operatorsArgs struct {
		OperatorIDs          []num     `json:"operatorIds"`
		WhitelistAddresses   []address `json:"whitelistAddresses"`
		ToPrivate            *bool     `json:"toPrivate"`
		WhitelistingContract *address  `json:"whitelistingContract"`
	}
	clusterArgs struct {
		Owner       address  `json:"owner"`
		OperatorIDs []num    `json:"operatorIds"`
		PublicKey   hexBytes `json:"publicKey"`
		Shares      hexBytes `json:"shares"`
		Cluster     *cluster `json:"cluster"`
	}
	ownerArgs struct {
		Owner            address  `json:"owner"`
		RecipientAddress *address `json:"recipientAddress"`
	}
)

func parseArgs(name string, raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("malformed %s args: %v", name, err)
	}
	return nil
}

func ids(ns []num) []uint64 {
	out := make([]uint64, len(ns))
	for i, n := range ns {
		out[i] = uint64(n)
	}
	return out
}

// ClusterID is the cluster id of the SSV node and contract (abi.ClusterID)
// in the tables' form, 0x-hex.
func ClusterID(owner common.Address, operatorIDs []uint64) string {
	return abi.ClusterID(owner, operatorIDs).Hex()
}
