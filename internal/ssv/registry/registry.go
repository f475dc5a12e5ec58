// Package registry is the SSV network registry as valtrack keeps it:
// operators, validators, clusters, owners, and the registrations it
// refused. The types are what the state store returns and what the API
// (REST and the exporter's WebSocket) serves; Reader is how the API reads
// them, implemented over the ssv_* tables by internal/ssv/state.
package registry

import (
	"context"
	"time"
)

// Operator is an SSV operator.
type Operator struct {
	ID        uint64 `json:"id"`
	Owner     string `json:"owner"`      // 0x, EIP-55
	PublicKey string `json:"public_key"` // the base64 PEM RSA key, as OperatorAdded carries it once unwrapped
	// Fee and PendingFee are wei per block, decimal strings (uint256).
	Fee        string `json:"fee"`
	PendingFee string `json:"pending_fee,omitempty"` // declared, not yet executed
	// PendingFeeBlock is the block of the declaration.
	PendingFeeBlock uint64   `json:"pending_fee_block,omitempty"`
	Private         bool     `json:"private"`
	Whitelisted     []string `json:"whitelisted,omitempty"` // addresses
	// WhitelistingContract is the operator's whitelisting contract, if any.
	WhitelistingContract string `json:"whitelisting_contract,omitempty"`
	ValidatorCount       int    `json:"validator_count"`
	Removed              bool   `json:"removed"`
	AddedBlock           uint64 `json:"added_block"`
	UpdatedBlock         uint64 `json:"updated_block"`
}

// Validator statuses.
const (
	StatusActive  = "active"
	StatusExited  = "exited"
	StatusRemoved = "removed"
)

// Validator is one registration of a validator public key by an owner: the
// same key registered by two owners is two validators, as the contract
// allows.
type Validator struct {
	// Index is valtrack's own sequence of registrations (1, 2, …, in chain
	// order), the exporter's "index".
	Index        uint64   `json:"index"`
	PublicKey    string   `json:"public_key"` // 0x-hex, 48 bytes
	Owner        string   `json:"owner"`
	OperatorIDs  []uint64 `json:"operator_ids"`
	ClusterID    string   `json:"cluster_id"` // 0x keccak256(owner ‖ operator ids)
	Status       string   `json:"status"`
	Liquidated   bool     `json:"liquidated"`
	AddedBlock   uint64   `json:"added_block"`
	UpdatedBlock uint64   `json:"updated_block"`
	// Beacon is the key's beacon-chain state where a beacon node is
	// configured (--ssv-beacon) and knows the key; nil otherwise.
	Beacon *Beacon `json:"beacon,omitempty"`
}

// Beacon is a validator's state on the beacon chain, as a beacon node
// last reported it.
type Beacon struct {
	Index uint64 `json:"index"`
	// Status is the Beacon API's validator state: pending_initialized,
	// pending_queued, active_ongoing, active_exiting, active_slashed,
	// exited_unslashed, exited_slashed, withdrawal_possible,
	// withdrawal_done.
	Status          string    `json:"status"`
	Balance         uint64    `json:"balance"` // gwei
	Slashed         bool      `json:"slashed"`
	ActivationEpoch uint64    `json:"activation_epoch"` // 2^64-1 while not activated
	ExitEpoch       uint64    `json:"exit_epoch"`       // 2^64-1 while not exiting
	UpdatedAt       time.Time `json:"updated_at"`
}

// Cluster is an owner's cluster: the owner and its sorted operator ids.
type Cluster struct {
	ID              string   `json:"id"`
	Owner           string   `json:"owner"`
	OperatorIDs     []uint64 `json:"operator_ids"`
	ValidatorCount  uint32   `json:"validator_count"`
	NetworkFeeIndex uint64   `json:"network_fee_index"`
	Index           uint64   `json:"index"`
	Active          bool     `json:"active"`
	Balance         string   `json:"balance"` // wei of FeeToken, decimal
	// FeeToken is what the cluster pays fees (and holds its balance) in:
	// "SSV", or "ETH" for clusters created under SSVNetwork v2.0.0 or
	// migrated to it.
	FeeToken     string `json:"fee_token"`
	UpdatedBlock uint64 `json:"updated_block"`
}

// Owner is an account that registered validators.
type Owner struct {
	Address      string `json:"address"`
	Nonce        uint64 `json:"nonce"` // ValidatorAdded events seen, valid or not
	FeeRecipient string `json:"fee_recipient,omitempty"`
}

// Invalid is a ValidatorAdded the SSV node's checks refuse: recorded with
// its reason, no validator (the owner's nonce still advances, and its
// cluster tuple, the contract's state, is applied).
type Invalid struct {
	Block     uint64   `json:"block"`
	TxHash    string   `json:"tx_hash"`
	LogIndex  uint     `json:"log_index"`
	Owner     string   `json:"owner"`
	PublicKey string   `json:"public_key"`
	Operators []uint64 `json:"operator_ids"`
	Nonce     uint64   `json:"nonce"`
	Reason    string   `json:"reason"`
}

// Skipped is a log of the contract the sentry could not decode (an
// unknown topic, malformed data): recorded, not applied.
type Skipped struct {
	Block     uint64 `json:"block"`
	BlockHash string `json:"block_hash"`
	TxHash    string `json:"tx_hash"`
	LogIndex  uint   `json:"log_index"`
	Topic0    string `json:"topic0"` // "" for a log without topics
	Reason    string `json:"reason"`
	// Data is the start of the log's data (0x-hex, at most 128 bytes);
	// DataLen the whole data's length in bytes.
	Data    string `json:"data"`
	DataLen uint64 `json:"data_len"`
}

// Sync is how far the registry is.
type Sync struct {
	Network       string     `json:"network"`
	Contract      string     `json:"contract"`
	LastBlock     uint64     `json:"last_block"` // last block applied
	LastBlockHash string     `json:"last_block_hash"`
	LastBlockTime time.Time  `json:"last_block_time"`
	Head          uint64     `json:"head"` // from the sentry's latest status
	Mode          string     `json:"mode"`
	Endpoints     []Endpoint `json:"endpoints"`
	StatusAt      time.Time  `json:"status_at"`
	SkippedLogs   uint64     `json:"skipped_logs"`
	Reorgs        uint64     `json:"reorgs"`
	// ContractVersion is the implementation's getVersion() after the last
	// upgrade of the proxy with a known version ("" before any).
	ContractVersion string `json:"contract_version"`
	// V2Block is the first block of SSVNetwork v2 (0: not yet): clusters
	// created from it on pay their fees in ETH.
	V2Block uint64 `json:"v2_block"`
	// Held is the first block the registry holds instead of applying: its
	// events are not all in, or blocks before it never arrived (Gap), and
	// no later block is applied until they do. nil when none.
	Held *Held `json:"held,omitempty"`
}

// Held is a block whose marker arrived without all its events, or after
// a gap.
type Held struct {
	Block     uint64    `json:"block"`
	Hash      string    `json:"hash"`
	Announced int64     `json:"announced"` // events its marker announces
	Received  int64     `json:"received"`  // events in when last tried
	Since     time.Time `json:"since"`
	// Blocks is how many markers are held: this one and those after it.
	Blocks int `json:"blocks"`
	// Gap is set when the block is held because its marker's previous
	// marker (the chain of markers the sentry publishes) is past the
	// last applied block: blocks From..To were published and never
	// received, events and markers. nil when it is held for its events.
	Gap *Gap `json:"gap,omitempty"`
}

// Gap is a range of blocks that were never received, inclusive. From is
// the block after the last applied one, 0 when none is applied yet (the
// gap then starts at the contract's start block).
type Gap struct {
	From uint64 `json:"from"`
	To   uint64 `json:"to"`
}

// Endpoint is an RPC endpoint as the sentry last reported it.
type Endpoint struct {
	Name    string `json:"name"`
	ChainID uint64 `json:"chain_id"`
	Head    uint64 `json:"head"`
	Healthy bool   `json:"healthy"`
	Error   string `json:"error,omitempty"`
}

// Change is one registry change, in the order applied; /stream pushes them.
type Change struct {
	Seq  uint64 `json:"seq"`
	Kind string `json:"kind"` // "operator" | "validator"
	// ID is the operator id or the validator index.
	ID uint64 `json:"id"`
}

// ValidatorFilter selects validators; empty fields do not filter.
type ValidatorFilter struct {
	Owners    []string
	Operators []uint64   // validators with any of these operators
	Clusters  [][]uint64 // exact operator-id sets (of any owner)
	// ClusterIDs: validators of these clusters (Validator.ClusterID, 0x
	// and lower-case hex): an owner and its operator set.
	ClusterIDs []string
	// Subclusters: validators whose operators include every id of one of
	// these sets.
	Subclusters [][]uint64
	PublicKeys  []string
	Indices     []uint64
	// BeaconIndices: validators whose key has one of these beacon-chain
	// indices (only keys with beacon data match).
	BeaconIndices      []uint64
	Status             string
	NotRemoved         bool   // leave out removed validators
	FromIndex, ToIndex uint64 // inclusive; ToIndex 0: no upper bound
	Limit              int
}

// ClusterFilter selects clusters, by id.
type ClusterFilter struct {
	Owner string // "" = every owner's
	// After pages: only clusters whose id (0x and lower-case hex) sorts
	// after it; "" = from the first.
	After string
	Limit int
}

// InvalidFilter selects refused registrations, newest first.
type InvalidFilter struct {
	// Before pages: only registrations before this place in the chain
	// (block, then log index); a zero BeforeBlock = from the newest.
	BeforeBlock    uint64
	BeforeLogIndex uint
	Limit          int
}

// SkippedFilter selects skipped logs, newest first, as InvalidFilter
// does refused registrations.
type SkippedFilter = InvalidFilter

// Reader reads the registry of a network. Lists are sorted by id or index.
type Reader interface {
	Networks(ctx context.Context) ([]string, error)
	Operators(ctx context.Context, network string, fromID, toID uint64, limit int) ([]Operator, error)
	Operator(ctx context.Context, network string, id uint64) (*Operator, error) // nil when unknown
	// OperatorsByKey: the operators registered with a public key (the
	// base64 PEM, exactly), by id; the contract allows one, at most limit.
	OperatorsByKey(ctx context.Context, network, publicKey string, limit int) ([]Operator, error)
	Validators(ctx context.Context, network string, f ValidatorFilter) ([]Validator, error)
	// ValidatorsByKey: every registration of a public key (several owners).
	ValidatorsByKey(ctx context.Context, network, publicKey string) ([]Validator, error)
	Clusters(ctx context.Context, network string, f ClusterFilter) ([]Cluster, error)
	Owner(ctx context.Context, network, address string) (*Owner, error) // nil when unknown
	// Invalid lists refused registrations newest first.
	Invalid(ctx context.Context, network string, f InvalidFilter) ([]Invalid, error)
	// Skipped lists the contract logs that could not be decoded, newest
	// first.
	Skipped(ctx context.Context, network string, f SkippedFilter) ([]Skipped, error)
	Sync(ctx context.Context, network string) (*Sync, error) // nil when nothing is synced
	Counts(ctx context.Context, network string) (Counts, error)
	// ChangesAfter returns changes with Seq > seq, at most limit, for /stream.
	ChangesAfter(ctx context.Context, network string, seq uint64, limit int) ([]Change, error)
	LastChange(ctx context.Context, network string) (uint64, error)
	// HasBeacon: whether any beacon-chain state is known for the network
	// (a beacon node is configured and has answered).
	HasBeacon(ctx context.Context, network string) (bool, error)
}

// Counts summarise a registry for the page.
type Counts struct {
	Operators          int            `json:"operators"`
	OperatorsRemoved   int            `json:"operators_removed"`
	Validators         int            `json:"validators"`
	ByStatus           map[string]int `json:"validators_by_status"`
	Clusters           int            `json:"clusters"`
	ClustersLiquidated int            `json:"clusters_liquidated"`
	// ClusterSizes: clusters by number of operators (4, 7, 10, 13).
	ClusterSizes map[int]int `json:"cluster_sizes"`
	Invalid      int         `json:"invalid"`
}
