// Package events defines the events the SSV sentry publishes on the bus.
//
// Subjects are ssv.<network>.<event>: one per SSVNetwork contract log
// (ssv.mainnet.validator_added, …; the event name of the contract ABI in
// snake case), then one ssv.<network>.block after the logs of each
// processed block, which says how many logs the block had: the consumer
// applies a block's events together, in one transaction, once its marker
// is in. A reorg that reaches processed blocks is ssv.<network>.reorg, after
// which the sentry republishes the new blocks. Payloads carry "v", the
// schema version. docs/events.md documents them.
package events

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/valtrack/valtrack/internal/safe"
)

// Domain is the bus domain (stream SSV, subjects ssv.>).
const Domain = "ssv"

// SchemaVersion is the current version of every payload.
const SchemaVersion = 1

// Kinds that are not contract events.
const (
	KindBlock      = "block"
	KindReorg      = "reorg"
	KindSyncStatus = "sync_status"
)

// Subject returns ssv.<network>.<kind>.
func Subject(network, kind string) string { return Domain + "." + network + "." + kind }

var networkRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// CheckNetwork refuses a network name that cannot be a subject token.
func CheckNetwork(n string) error {
	if !networkRE.MatchString(n) || n == "dlq" {
		return fmt.Errorf("ssv network %q: use lower-case letters, digits, '-' and '_' (at most 64, not \"dlq\"), e.g. mainnet", n)
	}
	return nil
}

// Kind is the subject token of a contract event name: its snake case
// (ValidatorAdded → validator_added, OperatorWithdrawnSSV → operator_withdrawn_ssv).
func Kind(eventName string) string {
	var b strings.Builder
	rs := []rune(eventName)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]) || (i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1]))) {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Observer says which sentry and endpoint delivered an event, and when.
type Observer struct {
	Endpoint string `json:"endpoint"` // host:port of the RPC, never its URL
	SeenAt   int64  `json:"seen_at"`  // unix ms
	SentryID string `json:"sentry_id,omitempty"`
}

// ContractEvent is one decoded SSVNetwork log.
type ContractEvent struct {
	V         int    `json:"v"`
	Network   string `json:"network"`
	Name      string `json:"name"` // the ABI event name, e.g. ValidatorAdded
	Block     uint64 `json:"block"`
	BlockHash string `json:"block_hash"` // 0x-hex
	TxHash    string `json:"tx_hash"`
	TxIndex   uint   `json:"tx_index"`
	LogIndex  uint   `json:"log_index"`
	Contract  string `json:"contract"` // 0x-hex, EIP-55
	// Args are the decoded arguments by their ABI names; integers as
	// decimal strings, bytes and addresses as 0x-hex (see internal/ssv/abi).
	Args json.RawMessage `json:"args"`
	// Gen is the sentry's reorg generation (see Reorg.Gen).
	Gen uint64 `json:"gen,omitempty"`
	Observer
}

// MsgID of a contract event: network, block hash and log index (a log of a
// block that a reorg replaced has another id), and the generation when
// not 0.
func (e *ContractEvent) MsgID() string {
	return MsgID("log", withGen(e.Gen, e.Network, e.BlockHash, strconv.FormatUint(uint64(e.LogIndex), 10))...)
}

// withGen appends a non-zero reorg generation to an id's parts. Ids of
// generation 0 stay those of the sentries that had none, so an upgrade
// republishes nothing under new ids.
func withGen(gen uint64, parts ...string) []string {
	if gen == 0 {
		return parts
	}
	return append(parts, "gen", strconv.FormatUint(gen, 10))
}

// Skipped is a log of the contract that could not be decoded: an unknown
// topic or malformed data. It is counted and recorded, never fatal.
type Skipped struct {
	LogIndex uint   `json:"log_index"`
	TxHash   string `json:"tx_hash"`
	Topic0   string `json:"topic0"`
	Reason   string `json:"reason"`
	// Data is the start of the log's data, 0x-hex, at most MaxSkippedData
	// bytes; DataLen the whole data's length in bytes.
	Data    string `json:"data,omitempty"`
	DataLen int    `json:"data_len,omitempty"`
}

// Size is about what a skipped log adds to its marker's JSON, in bytes.
func (s *Skipped) Size() int { return len(s.TxHash) + len(s.Topic0) + len(s.Reason) + len(s.Data) + 96 }

// Block marks a processed block: every decoded log of it was published
// before it (Events of them), and Skipped lists the others.
type Block struct {
	V          int       `json:"v"`
	Network    string    `json:"network"`
	Number     uint64    `json:"number"`
	Hash       string    `json:"hash"`
	ParentHash string    `json:"parent_hash"`
	Time       int64     `json:"time"` // header time, unix ms
	Events     int       `json:"events"`
	Skipped    []Skipped `json:"skipped,omitempty"`
	// SkippedMore counts the skipped logs not listed in Skipped (past
	// MaxSkipped or MaxSkippedBytes, so that the marker fits a message).
	SkippedMore int `json:"skipped_more,omitempty"`
	// Gen is the sentry's reorg generation (see Reorg.Gen).
	Gen uint64 `json:"gen,omitempty"`
	// PrevMarker is the block number of the previous marker the sentry
	// published for the network: the blocks between it and Number hold no
	// contract event. The markers form a chain, and a consumer whose last
	// applied block is below PrevMarker has lost a whole block — events
	// and marker — in between (a gap), which the event count of a marker
	// cannot show. Nil: no previous marker is known (the first marker
	// from the start block, after a resync, the first of a replay or
	// reorg whose previous marker is older than the sentry's kept blocks,
	// the first after an upgrade from a cursor without it) and in markers
	// from before the field: no gap check.
	PrevMarker *uint64 `json:"prev_marker,omitempty"`
	Observer
}

// SkippedCount is how many logs of the block were skipped, listed or not.
func (e *Block) SkippedCount() int { return len(e.Skipped) + e.SkippedMore }

// MsgID of a block: network, number and hash, and the generation when
// not 0.
func (e *Block) MsgID() string {
	return MsgID(KindBlock, withGen(e.Gen, e.Network, strconv.FormatUint(e.Number, 10), e.Hash)...)
}

// Reorg: the blocks from FromBlock on that were processed are no longer on
// the chain; state derived from them is rolled back.
type Reorg struct {
	V         int    `json:"v"`
	Network   string `json:"network"`
	FromBlock uint64 `json:"from_block"`
	OldHash   string `json:"old_hash"` // FromBlock's hash as processed
	NewHash   string `json:"new_hash"` // its hash on the chain now
	// Gen is the sentry's reorg generation from this reorg on: each
	// reorg (or resync) adds one, and every event published after it
	// carries it in its message id. A block published again after a
	// rollback — unchanged below the fork, or the same branch back after
	// A→B→A — then has a new id, which JetStream's duplicate window does
	// not drop while the consumer has rolled that block back.
	Gen uint64 `json:"gen,omitempty"`
	Observer
}

// MsgID of a reorg: network, block and both hashes, and the generation
// when not 0.
func (e *Reorg) MsgID() string {
	return MsgID(KindReorg, withGen(e.Gen, e.Network, strconv.FormatUint(e.FromBlock, 10), e.OldHash, e.NewHash)...)
}

// Endpoint is one RPC endpoint's state.
type Endpoint struct {
	Name    string `json:"name"`
	ChainID uint64 `json:"chain_id"`
	Head    uint64 `json:"head"`
	Healthy bool   `json:"healthy"`
	Error   string `json:"error,omitempty"`
}

// SyncStatus is the sentry's progress, published on change and every 30 s.
type SyncStatus struct {
	V         int        `json:"v"`
	Network   string     `json:"network"`
	Mode      string     `json:"mode"` // history | live
	Head      uint64     `json:"head"`
	Processed uint64     `json:"processed"` // last fully published block
	Contract  string     `json:"contract"`
	Endpoints []Endpoint `json:"endpoints"`
	Observer
}

// MsgID of a status: network, time and sentry.
func (e *SyncStatus) MsgID() string {
	return MsgID(KindSyncStatus, e.Network, strconv.FormatInt(e.SeenAt, 10), e.SentryID)
}

// MsgID returns a deterministic Nats-Msg-Id from a kind and the fields that
// identify an observation.
func MsgID(kind string, parts ...string) string {
	h := sha256.New()
	h.Write([]byte(kind))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return kind + "-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// Bounds of what an event may hold.
const (
	MaxArgs    = 1 << 20 // decoded arguments (bulk registrations carry shares)
	MaxSkipped = 10000
	// MaxSkippedData is how many bytes of a skipped log's data its
	// record keeps.
	MaxSkippedData = 128
	// MaxSkippedBytes bounds the skipped logs a marker lists (Skipped.Size
	// each), far below a bus message's 1 MiB.
	MaxSkippedBytes = 256 << 10
	maxShort        = 128
	maxReason       = 512
	maxTime         = 253402300799999
)

var hash32RE = regexp.MustCompile(`^0x[0-9a-fA-F]{64}$`)
var hexDataRE = regexp.MustCompile(`^0x(?:[0-9a-fA-F]{2})*$`)
var addrRE = regexp.MustCompile(`^0x[0-9a-fA-F]{40}$`)

func checkHash(what, s string) error {
	if !hash32RE.MatchString(s) {
		return fmt.Errorf("%s %q is not a 0x-prefixed 32-byte hex hash", what, safe.String(s, 80))
	}
	return nil
}

func (o *Observer) sanitize() error {
	o.Endpoint = safe.String(o.Endpoint, maxShort)
	o.SentryID = safe.String(o.SentryID, maxShort)
	if o.SeenAt < 0 || o.SeenAt > maxTime {
		return fmt.Errorf("seen_at %d ms is outside 1970..9999", o.SeenAt)
	}
	return nil
}

// Decode parses a payload of a kind: KindBlock, KindReorg, KindSyncStatus,
// or any other kind as a contract event whose name's snake case is that
// kind. It refuses unknown versions and values no honest sentry sends.
func Decode(kind string, data []byte) (any, error) {
	switch kind {
	case KindBlock:
		e := new(Block)
		if err := decode(kind, data, e, &e.V); err != nil {
			return nil, err
		}
		return e, e.sanitize()
	case KindReorg:
		e := new(Reorg)
		if err := decode(kind, data, e, &e.V); err != nil {
			return nil, err
		}
		return e, e.sanitize()
	case KindSyncStatus:
		e := new(SyncStatus)
		if err := decode(kind, data, e, &e.V); err != nil {
			return nil, err
		}
		return e, e.sanitize()
	}
	if len(data) > MaxArgs+4096 {
		return nil, fmt.Errorf("decode %s: %d bytes, at most %d", kind, len(data), MaxArgs+4096)
	}
	e := new(ContractEvent)
	if err := decode(kind, data, e, &e.V); err != nil {
		return nil, err
	}
	if Kind(e.Name) != kind {
		return nil, fmt.Errorf("decode %s: the event is named %q", kind, safe.String(e.Name, 64))
	}
	return e, e.sanitize()
}

func decode(kind string, data []byte, v any, version *int) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s: %w", kind, err)
	}
	if *version != SchemaVersion {
		return fmt.Errorf("decode %s: schema version %d not supported (this build reads %d)", kind, *version, SchemaVersion)
	}
	return nil
}

func (e *ContractEvent) sanitize() error {
	if err := CheckNetwork(e.Network); err != nil {
		return err
	}
	if err := e.Observer.sanitize(); err != nil {
		return err
	}
	if e.Name == "" || len(e.Name) > 64 {
		return fmt.Errorf("event name %q: 1..64 characters", safe.String(e.Name, 80))
	}
	if err := checkHash("block hash", e.BlockHash); err != nil {
		return err
	}
	if err := checkHash("tx hash", e.TxHash); err != nil {
		return err
	}
	if !addrRE.MatchString(e.Contract) {
		return fmt.Errorf("contract %q is not a 0x-prefixed 20-byte address", safe.String(e.Contract, 80))
	}
	if len(e.Args) == 0 || e.Args[0] != '{' {
		return fmt.Errorf("args are not a JSON object")
	}
	return nil
}

func (e *Block) sanitize() error {
	if err := CheckNetwork(e.Network); err != nil {
		return err
	}
	if err := e.Observer.sanitize(); err != nil {
		return err
	}
	if err := checkHash("hash", e.Hash); err != nil {
		return err
	}
	if err := checkHash("parent hash", e.ParentHash); err != nil {
		return err
	}
	if e.Events < 0 || len(e.Skipped) > MaxSkipped || e.SkippedMore < 0 || e.SkippedMore > 1<<30 {
		return fmt.Errorf("events %d or skipped %d (+%d) out of range", e.Events, len(e.Skipped), e.SkippedMore)
	}
	if e.Time < 0 || e.Time > maxTime {
		return fmt.Errorf("time %d ms is outside 1970..9999", e.Time)
	}
	if e.PrevMarker != nil && *e.PrevMarker >= e.Number {
		return fmt.Errorf("block %d: prev_marker %d is not below it", e.Number, *e.PrevMarker)
	}
	for i := range e.Skipped {
		s := &e.Skipped[i]
		s.TxHash = safe.String(s.TxHash, maxShort)
		s.Topic0 = safe.String(s.Topic0, maxShort)
		s.Reason = safe.String(s.Reason, maxReason)
		have := 0
		if s.Data != "" {
			if len(s.Data) > 2+2*MaxSkippedData || !hexDataRE.MatchString(s.Data) {
				return fmt.Errorf("skipped log %d: data is not 0x-hex of at most %d bytes", s.LogIndex, MaxSkippedData)
			}
			have = (len(s.Data) - 2) / 2
		}
		if s.DataLen < have || s.DataLen > MaxArgs*16 {
			return fmt.Errorf("skipped log %d: data length %d does not fit its %d bytes of data", s.LogIndex, s.DataLen, have)
		}
	}
	return nil
}

func (e *Reorg) sanitize() error {
	if err := CheckNetwork(e.Network); err != nil {
		return err
	}
	if err := e.Observer.sanitize(); err != nil {
		return err
	}
	if err := checkHash("old hash", e.OldHash); err != nil {
		return err
	}
	return checkHash("new hash", e.NewHash)
}

func (e *SyncStatus) sanitize() error {
	if err := CheckNetwork(e.Network); err != nil {
		return err
	}
	if err := e.Observer.sanitize(); err != nil {
		return err
	}
	if e.Mode != "history" && e.Mode != "live" {
		return fmt.Errorf("mode %q is neither history nor live", safe.String(e.Mode, 20))
	}
	if len(e.Endpoints) > 64 {
		return fmt.Errorf("%d endpoints: at most 64", len(e.Endpoints))
	}
	e.Contract = safe.String(e.Contract, maxShort)
	for i := range e.Endpoints {
		ep := &e.Endpoints[i]
		ep.Name = safe.String(ep.Name, maxShort)
		ep.Error = safe.String(ep.Error, maxReason)
	}
	return nil
}
