package abi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// The typed events Parse returns. Their JSON is the args JSON of Decode,
// so Encode takes them too. Values of up to 64 bits are Go integers;
// uint256 values (fees, balances, amounts, block numbers of fee
// declarations) are decimal strings, as the registry stores them — Big
// reads one.

// Uint64s is a list of uint64 written as a JSON array of decimal strings.
type Uint64s []uint64

// MarshalJSON writes ["1","2",…].
func (u Uint64s) MarshalJSON() ([]byte, error) {
	s := make([]string, len(u))
	for i, v := range u {
		s[i] = strconv.FormatUint(v, 10)
	}
	return json.Marshal(s)
}

// UnmarshalJSON reads decimal strings (or plain numbers).
func (u *Uint64s) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make([]uint64, len(raw))
	for i, r := range raw {
		s := string(bytes.Trim(r, `"`))
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return fmt.Errorf("[%d]: %q is not a uint64", i, truncate(s))
		}
		out[i] = v
	}
	*u = out
	return nil
}

// Big reads a decimal string of a uint256 argument.
func Big(s string) (*big.Int, error) {
	b, ok := new(big.Int).SetString(s, 10)
	if !ok || b.Sign() < 0 || b.BitLen() > 256 || (len(s) > 0 && s[0] == '+') {
		return nil, fmt.Errorf("%q is not a uint256 in decimal", truncate(s))
	}
	return b, nil
}

// Cluster is the contract's cluster snapshot, (uint32,uint64,uint64,bool,uint256).
type Cluster struct {
	ValidatorCount  uint32 `json:"validatorCount,string"`
	NetworkFeeIndex uint64 `json:"networkFeeIndex,string"`
	Index           uint64 `json:"index,string"`
	Active          bool   `json:"active"`
	Balance         string `json:"balance"` // wei (SSV or, for v2 ETH clusters, ETH)
}

// OperatorAdded: PublicKey is the unwrapped base64 PEM RSA key.
type OperatorAdded struct {
	OperatorID uint64         `json:"operatorId,string"`
	Owner      common.Address `json:"owner"`
	PublicKey  string         `json:"publicKey"`
	Fee        string         `json:"fee"`
}

// OperatorRemoved event.
type OperatorRemoved struct {
	OperatorID uint64 `json:"operatorId,string"`
}

// OperatorFeeDeclared event.
type OperatorFeeDeclared struct {
	Owner       common.Address `json:"owner"`
	OperatorID  uint64         `json:"operatorId,string"`
	BlockNumber string         `json:"blockNumber"`
	Fee         string         `json:"fee"`
}

// OperatorFeeExecuted event.
type OperatorFeeExecuted struct {
	Owner       common.Address `json:"owner"`
	OperatorID  uint64         `json:"operatorId,string"`
	BlockNumber string         `json:"blockNumber"`
	Fee         string         `json:"fee"`
}

// OperatorFeeDeclarationCancelled event.
type OperatorFeeDeclarationCancelled struct {
	Owner      common.Address `json:"owner"`
	OperatorID uint64         `json:"operatorId,string"`
}

// OperatorWithdrawn is OperatorWithdrawn and (v2) OperatorWithdrawnSSV.
type OperatorWithdrawn struct {
	Owner      common.Address `json:"owner"`
	OperatorID uint64         `json:"operatorId,string"`
	Value      string         `json:"value"`
}

// FeeRecipientAddressUpdated event.
type FeeRecipientAddressUpdated struct {
	Owner            common.Address `json:"owner"`
	RecipientAddress common.Address `json:"recipientAddress"`
}

// OperatorWhitelistUpdated is the legacy (pre-v1.2) single whitelist.
type OperatorWhitelistUpdated struct {
	OperatorID  uint64         `json:"operatorId,string"`
	Whitelisted common.Address `json:"whitelisted"`
}

// OperatorPrivacyStatusUpdated event.
type OperatorPrivacyStatusUpdated struct {
	OperatorIDs Uint64s `json:"operatorIds"`
	ToPrivate   bool    `json:"toPrivate"`
}

// OperatorMultipleWhitelistUpdated event.
type OperatorMultipleWhitelistUpdated struct {
	OperatorIDs        Uint64s          `json:"operatorIds"`
	WhitelistAddresses []common.Address `json:"whitelistAddresses"`
}

// OperatorMultipleWhitelistRemoved event.
type OperatorMultipleWhitelistRemoved struct {
	OperatorIDs        Uint64s          `json:"operatorIds"`
	WhitelistAddresses []common.Address `json:"whitelistAddresses"`
}

// OperatorWhitelistingContractUpdated: the zero address on removal.
type OperatorWhitelistingContractUpdated struct {
	OperatorIDs          Uint64s        `json:"operatorIds"`
	WhitelistingContract common.Address `json:"whitelistingContract"`
}

// ValidatorAdded event; Shares are checked by internal/ssv/shares.
type ValidatorAdded struct {
	Owner       common.Address `json:"owner"`
	OperatorIDs Uint64s        `json:"operatorIds"`
	PublicKey   hexutil.Bytes  `json:"publicKey"`
	Shares      hexutil.Bytes  `json:"shares"`
	Cluster     Cluster        `json:"cluster"`
}

// ValidatorRemoved event.
type ValidatorRemoved struct {
	Owner       common.Address `json:"owner"`
	OperatorIDs Uint64s        `json:"operatorIds"`
	PublicKey   hexutil.Bytes  `json:"publicKey"`
	Cluster     Cluster        `json:"cluster"`
}

// ValidatorExited event.
type ValidatorExited struct {
	Owner       common.Address `json:"owner"`
	OperatorIDs Uint64s        `json:"operatorIds"`
	PublicKey   hexutil.Bytes  `json:"publicKey"`
}

// ClusterLiquidated event.
type ClusterLiquidated struct {
	Owner       common.Address `json:"owner"`
	OperatorIDs Uint64s        `json:"operatorIds"`
	Cluster     Cluster        `json:"cluster"`
}

// ClusterReactivated event.
type ClusterReactivated struct {
	Owner       common.Address `json:"owner"`
	OperatorIDs Uint64s        `json:"operatorIds"`
	Cluster     Cluster        `json:"cluster"`
}

// ClusterWithdrawn event.
type ClusterWithdrawn struct {
	Owner       common.Address `json:"owner"`
	OperatorIDs Uint64s        `json:"operatorIds"`
	Value       string         `json:"value"`
	Cluster     Cluster        `json:"cluster"`
}

// ClusterDeposited event.
type ClusterDeposited struct {
	Owner       common.Address `json:"owner"`
	OperatorIDs Uint64s        `json:"operatorIds"`
	Value       string         `json:"value"`
	Cluster     Cluster        `json:"cluster"`
}

// ClusterMigratedToETH (v2): the cluster pays in ETH from here on.
type ClusterMigratedToETH struct {
	Owner            common.Address `json:"owner"`
	OperatorIDs      Uint64s        `json:"operatorIds"`
	EthDeposited     string         `json:"ethDeposited"`
	SsvRefunded      string         `json:"ssvRefunded"`
	EffectiveBalance uint32         `json:"effectiveBalance,string"`
	Cluster          Cluster        `json:"cluster"`
}

// ClusterBalanceUpdated (v2).
type ClusterBalanceUpdated struct {
	Owner            common.Address `json:"owner"`
	OperatorIDs      Uint64s        `json:"operatorIds"`
	BlockNum         uint64         `json:"blockNum,string"`
	EffectiveBalance uint32         `json:"effectiveBalance,string"`
	Cluster          Cluster        `json:"cluster"`
}

// NetworkFeeUpdated is NetworkFeeUpdated and (v2) NetworkFeeUpdatedSSV.
type NetworkFeeUpdated struct {
	OldFee string `json:"oldFee"`
	NewFee string `json:"newFee"`
}

// NetworkEarningsWithdrawn event.
type NetworkEarningsWithdrawn struct {
	Value     string         `json:"value"`
	Recipient common.Address `json:"recipient"`
}

// DAOValue is a DAO setting with one argument named value:
// OperatorFeeIncreaseLimitUpdated, DeclareOperatorFeePeriodUpdated,
// ExecuteOperatorFeePeriodUpdated, LiquidationThresholdPeriodUpdated,
// MinimumLiquidationCollateralUpdated and (v2)
// LiquidationThresholdPeriodSSVUpdated, MinimumLiquidationCollateralSSVUpdated.
// Name is the event (not part of the args).
type DAOValue struct {
	Name  string `json:"-"`
	Value string `json:"value"`
}

// OperatorMaximumFeeUpdated (uint64 in v1, uint256 in v2).
type OperatorMaximumFeeUpdated struct {
	MaxFee string `json:"maxFee"`
}

// MinimumOperatorEthFeeUpdated (v2).
type MinimumOperatorEthFeeUpdated struct {
	MinFee string `json:"minFee"`
}

// ErrNotTyped: Parse has no struct for the event (proxy, oracle and
// staking events); read its args JSON instead.
var ErrNotTyped = errors.New("no typed form of the event")

// Parse reads the args of a decoded event into its typed struct (a
// pointer to one of the types above).
func Parse(name string, args json.RawMessage) (any, error) {
	var v any
	switch name {
	case "OperatorAdded":
		v = new(OperatorAdded)
	case "OperatorRemoved":
		v = new(OperatorRemoved)
	case "OperatorFeeDeclared":
		v = new(OperatorFeeDeclared)
	case "OperatorFeeExecuted":
		v = new(OperatorFeeExecuted)
	case "OperatorFeeDeclarationCancelled":
		v = new(OperatorFeeDeclarationCancelled)
	case "OperatorWithdrawn", "OperatorWithdrawnSSV":
		v = new(OperatorWithdrawn)
	case "FeeRecipientAddressUpdated":
		v = new(FeeRecipientAddressUpdated)
	case "OperatorWhitelistUpdated":
		v = new(OperatorWhitelistUpdated)
	case "OperatorPrivacyStatusUpdated":
		v = new(OperatorPrivacyStatusUpdated)
	case "OperatorMultipleWhitelistUpdated":
		v = new(OperatorMultipleWhitelistUpdated)
	case "OperatorMultipleWhitelistRemoved":
		v = new(OperatorMultipleWhitelistRemoved)
	case "OperatorWhitelistingContractUpdated":
		v = new(OperatorWhitelistingContractUpdated)
	case "ValidatorAdded":
		v = new(ValidatorAdded)
	case "ValidatorRemoved":
		v = new(ValidatorRemoved)
	case "ValidatorExited":
		v = new(ValidatorExited)
	case "ClusterLiquidated":
		v = new(ClusterLiquidated)
	case "ClusterReactivated":
		v = new(ClusterReactivated)
	case "ClusterWithdrawn":
		v = new(ClusterWithdrawn)
	case "ClusterDeposited":
		v = new(ClusterDeposited)
	case "ClusterMigratedToETH":
		v = new(ClusterMigratedToETH)
	case "ClusterBalanceUpdated":
		v = new(ClusterBalanceUpdated)
	case "NetworkFeeUpdated", "NetworkFeeUpdatedSSV":
		v = new(NetworkFeeUpdated)
	case "NetworkEarningsWithdrawn":
		v = new(NetworkEarningsWithdrawn)
	case "OperatorFeeIncreaseLimitUpdated", "DeclareOperatorFeePeriodUpdated", "ExecuteOperatorFeePeriodUpdated",
		"LiquidationThresholdPeriodUpdated", "MinimumLiquidationCollateralUpdated",
		"LiquidationThresholdPeriodSSVUpdated", "MinimumLiquidationCollateralSSVUpdated":
		v = &DAOValue{Name: name}
	case "OperatorMaximumFeeUpdated", V2MaxFeeName:
		v = new(OperatorMaximumFeeUpdated)
	case "MinimumOperatorEthFeeUpdated":
		v = new(MinimumOperatorEthFeeUpdated)
	default:
		return nil, fmt.Errorf("parse %s: %w", name, ErrNotTyped)
	}
	d := json.NewDecoder(bytes.NewReader(args))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	return v, nil
}
