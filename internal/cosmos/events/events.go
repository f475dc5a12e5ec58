// Package events defines the events the Cosmos sentry publishes on the bus.
//
// Subjects are cosmos.<chain>.<event>; payloads are JSON objects with a "v"
// schema version, as in every domain. The chain is the name given to
// --cosmos (usually the chain id, e.g. cosmoshub-4). Heights and indexes are
// the ones the CometBFT node reported: a vote is credited to the height and
// round it names, never to the block being built when it arrived.
//
// Several endpoints (and several sentries) may see the same vote, round or
// block: its message id does not name the observer, so the stream keeps the
// first copy and the event records who saw it first and when. Times are unix
// milliseconds. The schemas are documented in docs/events.md.
package events

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/valtrack/valtrack/internal/safe"
)

// Domain is the bus domain (stream COSMOS, subjects cosmos.>).
const Domain = "cosmos"

// Event kinds, the last token of a subject.
const (
	KindVote           = "vote"
	KindNewRound       = "new_round"
	KindNewRoundStep   = "new_round_step"
	KindBlock          = "block"
	KindCommit         = "commit"
	KindValidatorSet   = "validator_set"
	KindValidatorInfo  = "validator_info"
	KindEndpointStatus = "endpoint_status"
	KindParams         = "params"
	KindPrunedHeights  = "pruned_heights"
)

// Kinds lists every kind, in documentation order.
var Kinds = []string{KindVote, KindNewRound, KindNewRoundStep, KindBlock, KindCommit,
	KindValidatorSet, KindValidatorInfo, KindEndpointStatus, KindParams, KindPrunedHeights}

// SchemaVersion is the current version of every payload in this package.
const SchemaVersion = 1

// Vote types as CometBFT's SignedMsgType names them on the wire (1, 2).
const (
	Prevote   = "prevote"
	Precommit = "precommit"
)

// Commit signature flags (CometBFT types.BlockIDFlag): absent is the only
// one x/slashing counts as missed; nil is a signature for no block.
const (
	FlagAbsent = 1
	FlagCommit = 2
	FlagNil    = 3
)

// Sources of a block or commit: seen live on a subscription, or read back
// over HTTP after a gap.
const (
	SourceLive     = "live"
	SourceBackfill = "backfill"
)

// Sources of a validator's name (ValidatorInfo.Source): x/staking read
// from an LCD, over gRPC or over the RPC's abci_query — the operator's registered
// name, with its operator address and jailed flag — or the /status of a
// node that is the validator (its node moniker, only a hint).
const (
	NameFromLCD    = "lcd"
	NameFromGRPC   = "grpc"
	NameFromABCI   = "abci"
	NameFromStatus = "status"
)

// FromStaking says whether a name's source is x/staking (lcd, grpc or abci).
func FromStaking(source string) bool {
	return source == NameFromLCD || source == NameFromGRPC || source == NameFromABCI
}

// Subject returns cosmos.<chain>.<kind>.
func Subject(chain, kind string) string { return Domain + "." + chain + "." + kind }

// chainRE is what a chain name may be: a NATS subject token that is also a
// sane table key and URL segment (chain ids are like cosmoshub-4, osmosis-1).
var chainRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// CheckChain refuses a chain name that cannot be a subject token.
func CheckChain(name string) error {
	if !chainRE.MatchString(name) || name == "dlq" {
		return fmt.Errorf("chain name %q: use letters, digits, '-' and '_' (at most 64, not \"dlq\"), e.g. the chain id cosmoshub-4", name)
	}
	return nil
}

// Observer says who delivered an observation first, and when.
type Observer struct {
	Endpoint string `json:"endpoint"` // endpoint name (host:port, no credentials)
	SeenAt   int64  `json:"seen_at"`  // unix ms
	SentryID string `json:"sentry_id,omitempty"`
}

// Vote is one prevote or precommit as a node added it to its vote set.
type Vote struct {
	V                int    `json:"v"`
	Chain            string `json:"chain"`
	Height           int64  `json:"height"`
	Round            int32  `json:"round"`
	Type             string `json:"type"`       // Prevote | Precommit
	BlockHash        string `json:"block_hash"` // upper-case hex; "" is a nil vote
	Timestamp        int64  `json:"timestamp"`  // the vote's own time, unix ms
	ValidatorAddress string `json:"validator_address"`
	ValidatorIndex   int32  `json:"validator_index"`
	Signature        string `json:"signature"` // base64
	Observer
}

// NewRound is a node entering a round, with that round's proposer.
type NewRound struct {
	V               int    `json:"v"`
	Chain           string `json:"chain"`
	Height          int64  `json:"height"`
	Round           int32  `json:"round"`
	ProposerAddress string `json:"proposer_address"`
	ProposerIndex   int32  `json:"proposer_index"`
	Observer
}

// NewRoundStep is a node moving to a step of a round. Step is CometBFT's
// name without the "RoundStep" prefix: NewHeight, NewRound, Propose,
// Prevote, PrevoteWait, Precommit, PrecommitWait, Commit.
type NewRoundStep struct {
	V      int    `json:"v"`
	Chain  string `json:"chain"`
	Height int64  `json:"height"`
	Round  int32  `json:"round"`
	Step   string `json:"step"`
	Observer
}

// Block is a committed block's header.
type Block struct {
	V               int    `json:"v"`
	Chain           string `json:"chain"`
	Height          int64  `json:"height"`
	Time            int64  `json:"time"` // header time, unix ms
	Hash            string `json:"hash"`
	ProposerAddress string `json:"proposer_address"`
	NumTxs          int    `json:"num_txs"` // 0 when Source is backfill: /commit carries no tx count
	ValidatorsHash  string `json:"validators_hash"`
	// VotesObserved: some endpoint's subscription was up from the previous
	// block to this one, so the height's votes were watched; false after a
	// gap (the votes of a backfilled height are unknown, not missed).
	VotesObserved bool   `json:"votes_observed"`
	Source        string `json:"source"` // SourceLive | SourceBackfill
	Observer
}

// Signature is one entry of a commit, at the validator's index in the set
// of the commit's height.
type Signature struct {
	Flag             uint8  `json:"flag"` // FlagAbsent | FlagCommit | FlagNil
	ValidatorAddress string `json:"validator_address,omitempty"`
	Timestamp        int64  `json:"timestamp,omitempty"` // unix ms; 0 when absent
}

// Commit is the canonical commit of a height: block(H+1).last_commit, or
// /commit?height=H once H+1 exists.
type Commit struct {
	V          int         `json:"v"`
	Chain      string      `json:"chain"`
	Height     int64       `json:"height"`
	Round      int32       `json:"round"`
	BlockHash  string      `json:"block_hash"`
	Signatures []Signature `json:"signatures"`
	Source     string      `json:"source"`
	Observer
}

// Validator is one member of a validator set.
type Validator struct {
	Address          string `json:"address"`
	PubKeyType       string `json:"pub_key_type"` // as the node names it; unknown types kept as they are
	PubKey           string `json:"pub_key"`      // base64 as the node sent it
	VotingPower      int64  `json:"voting_power"`
	ProposerPriority int64  `json:"proposer_priority"`
}

// ValidatorSet is the full set (every page of /validators) of a height,
// published where it changed (the header's validators_hash differs from
// the previous height's) and when a sentry starts. Validators are in the
// node's order: index i is signature i of the height's commit.
type ValidatorSet struct {
	V      int    `json:"v"`
	Chain  string `json:"chain"`
	Height int64  `json:"height"`
	// ValidatorsHash is the header's validators_hash of Height, the set's
	// identity: the analyzer pairs a height with the set of the same hash
	// ("" when the sentry did not know it).
	ValidatorsHash string      `json:"validators_hash,omitempty"`
	Validators     []Validator `json:"validators"`
	Observer
}

// ValidatorInfo names a validator: moniker from the chain's staking module
// (an LCD, gRPC, or abci_query over the RPC) or from the /status of a node that
// is that validator.
type ValidatorInfo struct {
	V               int    `json:"v"`
	Chain           string `json:"chain"`
	Address         string `json:"address"`
	Moniker         string `json:"moniker"`
	OperatorAddress string `json:"operator_address,omitempty"`
	Jailed          bool   `json:"jailed,omitempty"`
	Source          string `json:"source"` // NameFromLCD | NameFromGRPC | NameFromABCI | NameFromStatus
	Observer
}

// EndpointStatus is an endpoint's health, published when it changes and
// every minute.
type EndpointStatus struct {
	V               int    `json:"v"`
	Chain           string `json:"chain"`
	Healthy         bool   `json:"healthy"`
	Reason          string `json:"reason,omitempty"` // why not healthy
	Height          int64  `json:"height"`
	LatestBlockTime int64  `json:"latest_block_time"` // unix ms
	CatchingUp      bool   `json:"catching_up"`
	NodeVersion     string `json:"node_version,omitempty"`
	Moniker         string `json:"moniker,omitempty"`
	Observer
}

// Params are the chain's x/slashing parameters.
type Params struct {
	V                  int     `json:"v"`
	Chain              string  `json:"chain"`
	SignedBlocksWindow int64   `json:"signed_blocks_window"`
	MinSignedPerWindow float64 `json:"min_signed_per_window"` // 0..1
	Source             string  `json:"source"`                // "lcd" | "grpc" | "abci" (abci_query over the RPC)
	Observer
}

// What a pruned_heights event says was pruned (PrunedHeights.What).
const (
	// PrunedBlocks: the blocks and commits of From..To. Payloads written
	// before the field existed have no "what" and mean this.
	PrunedBlocks = "blocks"
	// PrunedValidatorSet: the validator sets of From..To (/validators?height=
	// below the lowest height each endpoint keeps), found when the set of
	// From (where validators_hash changed) was asked for. The blocks may
	// still be there; the heights cannot be analysed without their set.
	PrunedValidatorSet = "validator_set"
)

// PrunedHeights are heights From..To that every endpoint of the sentry
// answered it no longer holds: their blocks and commits (/commit?height=
// below the lowest height each keeps), which will never be published, or
// (What = PrunedValidatorSet) their validator sets. Heights of a blocks
// range that were published before (seen live) keep their data; the
// analyzer skips the others at once instead of waiting for them, and the
// heights of a sets range whose set is not stored likewise.
type PrunedHeights struct {
	V     int    `json:"v"`
	Chain string `json:"chain"`
	From  int64  `json:"from"`
	To    int64  `json:"to"`
	// LowestAvailable is the lowest height any endpoint still holds (To+1
	// or above).
	LowestAvailable int64 `json:"lowest_available"`
	// Endpoints is how many endpoints said so (all the sentry asked).
	Endpoints int `json:"endpoints"`
	// What was pruned: PrunedBlocks or PrunedValidatorSet ("" in older
	// payloads, read as PrunedBlocks).
	What string `json:"what,omitempty"`
	// ValidatorsHash of pruned sets: the header's validators_hash of From,
	// the set asked for ("" when the sentry did not know it; blocks ranges
	// have none).
	ValidatorsHash string `json:"validators_hash,omitempty"`
	Observer
}

// Pruned is what was pruned: What, PrunedBlocks when it is "".
func (e *PrunedHeights) Pruned() string {
	if e.What == "" {
		return PrunedBlocks
	}
	return e.What
}

// MsgID returns a deterministic Nats-Msg-Id from a kind and the fields
// that identify an observation (not its observer).
func MsgID(kind string, parts ...string) string {
	h := sha256.New()
	h.Write([]byte(kind))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return kind + "-" + hex.EncodeToString(h.Sum(nil)[:16])
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// MsgID of a vote: chain, height, round, type, validator.
func (e *Vote) MsgID() string {
	return MsgID(KindVote, e.Chain, itoa(e.Height), itoa(int64(e.Round)), e.Type, e.ValidatorAddress)
}

// MsgID of a round: chain, height, round.
func (e *NewRound) MsgID() string {
	return MsgID(KindNewRound, e.Chain, itoa(e.Height), itoa(int64(e.Round)))
}

// MsgID of a step: chain, height, round, step.
func (e *NewRoundStep) MsgID() string {
	return MsgID(KindNewRoundStep, e.Chain, itoa(e.Height), itoa(int64(e.Round)), e.Step)
}

// MsgID of a block: chain and height (live and backfill share it).
func (e *Block) MsgID() string { return MsgID(KindBlock, e.Chain, itoa(e.Height)) }

// MsgID of a commit: chain and height.
func (e *Commit) MsgID() string { return MsgID(KindCommit, e.Chain, itoa(e.Height)) }

// MsgID of a validator set: chain and height.
func (e *ValidatorSet) MsgID() string { return MsgID(KindValidatorSet, e.Chain, itoa(e.Height)) }

// MsgID of a validator's name: chain, address and what it says.
func (e *ValidatorInfo) MsgID() string {
	return MsgID(KindValidatorInfo, e.Chain, e.Address, e.Moniker, e.OperatorAddress, strconv.FormatBool(e.Jailed))
}

// MsgID of an endpoint status: chain, endpoint and time (each is news).
func (e *EndpointStatus) MsgID() string {
	return MsgID(KindEndpointStatus, e.Chain, e.Endpoint, itoa(e.SeenAt), e.SentryID)
}

// MsgID of params: chain and values.
func (e *Params) MsgID() string {
	return MsgID(KindParams, e.Chain, itoa(e.SignedBlocksWindow), strconv.FormatFloat(e.MinSignedPerWindow, 'g', -1, 64))
}

// MsgID of pruned heights: chain and range (the ids of blocks ranges are
// those they had before sets were reported), and for sets what and the
// hash asked for.
func (e *PrunedHeights) MsgID() string {
	if e.Pruned() != PrunedBlocks {
		return MsgID(KindPrunedHeights, e.Chain, itoa(e.From), itoa(e.To), e.What, e.ValidatorsHash)
	}
	return MsgID(KindPrunedHeights, e.Chain, itoa(e.From), itoa(e.To))
}

// Event is what every payload of this package is.
type Event interface {
	MsgID() string
	ChainName() string
	version() int
	sanitize() error
}

func (e *Vote) ChainName() string           { return e.Chain }
func (e *NewRound) ChainName() string       { return e.Chain }
func (e *NewRoundStep) ChainName() string   { return e.Chain }
func (e *Block) ChainName() string          { return e.Chain }
func (e *Commit) ChainName() string         { return e.Chain }
func (e *ValidatorSet) ChainName() string   { return e.Chain }
func (e *ValidatorInfo) ChainName() string  { return e.Chain }
func (e *EndpointStatus) ChainName() string { return e.Chain }
func (e *Params) ChainName() string         { return e.Chain }
func (e *PrunedHeights) ChainName() string  { return e.Chain }

func (e *Vote) version() int           { return e.V }
func (e *NewRound) version() int       { return e.V }
func (e *NewRoundStep) version() int   { return e.V }
func (e *Block) version() int          { return e.V }
func (e *Commit) version() int         { return e.V }
func (e *ValidatorSet) version() int   { return e.V }
func (e *ValidatorInfo) version() int  { return e.V }
func (e *EndpointStatus) version() int { return e.V }
func (e *Params) version() int         { return e.V }
func (e *PrunedHeights) version() int  { return e.V }

// Kind returns the kind of an event value.
func Kind(e Event) string {
	switch e.(type) {
	case *Vote:
		return KindVote
	case *NewRound:
		return KindNewRound
	case *NewRoundStep:
		return KindNewRoundStep
	case *Block:
		return KindBlock
	case *Commit:
		return KindCommit
	case *ValidatorSet:
		return KindValidatorSet
	case *ValidatorInfo:
		return KindValidatorInfo
	case *EndpointStatus:
		return KindEndpointStatus
	case *Params:
		return KindParams
	case *PrunedHeights:
		return KindPrunedHeights
	}
	return ""
}

// HeightOf is the height an event is of (0: an event of no one height:
// names, health, parameters, pruned ranges).
func HeightOf(e Event) int64 {
	switch e := e.(type) {
	case *Vote:
		return e.Height
	case *NewRound:
		return e.Height
	case *NewRoundStep:
		return e.Height
	case *Block:
		return e.Height
	case *Commit:
		return e.Height
	case *ValidatorSet:
		return e.Height
	}
	return 0
}

// New returns an empty event of a kind, or nil for an unknown kind.
func New(kind string) Event {
	switch kind {
	case KindVote:
		return new(Vote)
	case KindNewRound:
		return new(NewRound)
	case KindNewRoundStep:
		return new(NewRoundStep)
	case KindBlock:
		return new(Block)
	case KindCommit:
		return new(Commit)
	case KindValidatorSet:
		return new(ValidatorSet)
	case KindValidatorInfo:
		return new(ValidatorInfo)
	case KindEndpointStatus:
		return new(EndpointStatus)
	case KindParams:
		return new(Params)
	case KindPrunedHeights:
		return new(PrunedHeights)
	}
	return nil
}

// Decode parses a payload of a kind, refusing unknown schema versions and
// values no honest node sends (the checks of each kind's sanitize).
func Decode(kind string, data []byte) (Event, error) {
	e := New(kind)
	if e == nil {
		return nil, fmt.Errorf("decode: unknown cosmos event kind %q", kind)
	}
	if err := json.Unmarshal(data, e); err != nil {
		return nil, fmt.Errorf("decode %s: %w", kind, err)
	}
	if e.version() != SchemaVersion {
		return nil, fmt.Errorf("decode %s: schema version %d not supported (this build reads %d)", kind, e.version(), SchemaVersion)
	}
	if err := e.sanitize(); err != nil {
		return nil, fmt.Errorf("decode %s: %w", kind, err)
	}
	return e, nil
}

// Bounds on what an event may hold. A validator set is bounded by what
// /validators pages could carry in practice (chains run 100–500; room for
// far more), a commit by the same.
const (
	MaxValidators = 10000
	maxShort      = 128  // endpoints, steps, monikers, versions
	maxHash       = 128  // hex hashes and addresses (64 for sha256, 40 for an address)
	maxSig        = 512  // base64 signatures (88 for ed25519, room for BLS and PQ keys)
	maxKey        = 4096 // base64 public keys (ML-DSA-65 is 1952 bytes)
	maxReason     = 512
	maxTime       = 253402300799999 // 9999-12-31T23:59:59.999Z in unix ms
	// MaxHeight bounds a height where a range is given (pruned heights):
	// far above any chain's, and To+1 cannot overflow.
	MaxHeight = 1 << 53
)

var hexRE = regexp.MustCompile(`^[0-9A-F]*$`)

func checkHex(what, s string) error {
	if len(s) > maxHash || !hexRE.MatchString(s) {
		return fmt.Errorf("%s %q is not upper-case hex of at most %d characters", what, safe.String(s, 80), maxHash)
	}
	return nil
}

func checkTime(what string, ms int64) error {
	if ms < 0 || ms > maxTime {
		return fmt.Errorf("%s %d ms is outside 1970..9999", what, ms)
	}
	return nil
}

func checkHeight(h int64) error {
	if h < 1 {
		return fmt.Errorf("height %d: heights start at 1", h)
	}
	return nil
}

func (o *Observer) sanitize() error {
	o.Endpoint = safe.String(o.Endpoint, maxShort)
	o.SentryID = safe.String(o.SentryID, maxShort)
	return checkTime("seen_at", o.SeenAt)
}

func checkCommon(chain string, o *Observer) error {
	if err := CheckChain(chain); err != nil {
		return err
	}
	return o.sanitize()
}

func (e *Vote) sanitize() error {
	if err := checkCommon(e.Chain, &e.Observer); err != nil {
		return err
	}
	if err := checkHeight(e.Height); err != nil {
		return err
	}
	if e.Round < 0 {
		return fmt.Errorf("round %d is negative", e.Round)
	}
	if e.Type != Prevote && e.Type != Precommit {
		return fmt.Errorf("vote type %q is neither %s nor %s", safe.String(e.Type, 20), Prevote, Precommit)
	}
	if e.ValidatorIndex < 0 || e.ValidatorIndex >= MaxValidators {
		return fmt.Errorf("validator index %d is outside 0..%d", e.ValidatorIndex, MaxValidators-1)
	}
	if err := checkHex("block hash", e.BlockHash); err != nil {
		return err
	}
	if err := checkHex("validator address", e.ValidatorAddress); err != nil {
		return err
	}
	if e.ValidatorAddress == "" {
		return fmt.Errorf("a vote without a validator address")
	}
	e.Signature = safe.String(e.Signature, maxSig)
	return checkTime("timestamp", e.Timestamp)
}

func (e *NewRound) sanitize() error {
	if err := checkCommon(e.Chain, &e.Observer); err != nil {
		return err
	}
	if err := checkHeight(e.Height); err != nil {
		return err
	}
	if e.Round < 0 || e.ProposerIndex < 0 {
		return fmt.Errorf("round %d or proposer index %d is negative", e.Round, e.ProposerIndex)
	}
	return checkHex("proposer address", e.ProposerAddress)
}

// Steps are CometBFT's round steps (consensus/types RoundStepType), without
// the "RoundStep" prefix.
var Steps = []string{"NewHeight", "NewRound", "Propose", "Prevote", "PrevoteWait", "Precommit", "PrecommitWait", "Commit"}

// StepName normalises a step as a node writes it ("RoundStepPropose",
// "Propose", or its number 1..8) to the name in Steps; "" if unknown.
func StepName(s string) string {
	s = strings.TrimPrefix(s, "RoundStep")
	if n, err := strconv.Atoi(s); err == nil && n >= 1 && n <= len(Steps) {
		return Steps[n-1]
	}
	for _, st := range Steps {
		if s == st {
			return st
		}
	}
	return ""
}

func (e *NewRoundStep) sanitize() error {
	if err := checkCommon(e.Chain, &e.Observer); err != nil {
		return err
	}
	if err := checkHeight(e.Height); err != nil {
		return err
	}
	if e.Round < 0 {
		return fmt.Errorf("round %d is negative", e.Round)
	}
	if StepName(e.Step) != e.Step {
		return fmt.Errorf("step %q is not one of %v", safe.String(e.Step, 40), Steps)
	}
	return nil
}

func checkSource(s string) error {
	if s != SourceLive && s != SourceBackfill {
		return fmt.Errorf("source %q is neither %s nor %s", safe.String(s, 20), SourceLive, SourceBackfill)
	}
	return nil
}

func (e *Block) sanitize() error {
	if err := checkCommon(e.Chain, &e.Observer); err != nil {
		return err
	}
	if err := checkHeight(e.Height); err != nil {
		return err
	}
	for _, h := range []struct{ what, v string }{{"hash", e.Hash}, {"proposer address", e.ProposerAddress}, {"validators hash", e.ValidatorsHash}} {
		if err := checkHex(h.what, h.v); err != nil {
			return err
		}
	}
	if e.NumTxs < 0 {
		return fmt.Errorf("num_txs %d is negative", e.NumTxs)
	}
	if err := checkSource(e.Source); err != nil {
		return err
	}
	return checkTime("time", e.Time)
}

func (e *Commit) sanitize() error {
	if err := checkCommon(e.Chain, &e.Observer); err != nil {
		return err
	}
	if err := checkHeight(e.Height); err != nil {
		return err
	}
	if e.Round < 0 {
		return fmt.Errorf("round %d is negative", e.Round)
	}
	if err := checkHex("block hash", e.BlockHash); err != nil {
		return err
	}
	if len(e.Signatures) > MaxValidators {
		return fmt.Errorf("%d signatures: at most %d", len(e.Signatures), MaxValidators)
	}
	for i := range e.Signatures {
		s := &e.Signatures[i]
		if s.Flag < FlagAbsent || s.Flag > FlagNil {
			return fmt.Errorf("signature %d: block_id_flag %d is not 1 (absent), 2 (commit) or 3 (nil)", i, s.Flag)
		}
		if err := checkHex("signature address", s.ValidatorAddress); err != nil {
			return err
		}
		if err := checkTime("signature timestamp", s.Timestamp); err != nil {
			return err
		}
	}
	return checkSource(e.Source)
}

func (e *ValidatorSet) sanitize() error {
	if err := checkCommon(e.Chain, &e.Observer); err != nil {
		return err
	}
	if err := checkHeight(e.Height); err != nil {
		return err
	}
	if err := checkHex("validators hash", e.ValidatorsHash); err != nil {
		return err
	}
	if len(e.Validators) == 0 || len(e.Validators) > MaxValidators {
		return fmt.Errorf("%d validators: a set has 1..%d", len(e.Validators), MaxValidators)
	}
	seen := make(map[string]bool, len(e.Validators))
	for i := range e.Validators {
		v := &e.Validators[i]
		if err := checkHex("validator address", v.Address); err != nil {
			return err
		}
		if v.Address == "" || seen[v.Address] {
			return fmt.Errorf("validator %d: empty or repeated address %q", i, v.Address)
		}
		seen[v.Address] = true
		if v.VotingPower < 0 {
			return fmt.Errorf("validator %s: voting power %d is negative", v.Address, v.VotingPower)
		}
		v.PubKeyType = safe.String(v.PubKeyType, maxShort)
		v.PubKey = safe.String(v.PubKey, maxKey)
	}
	return nil
}

func (e *ValidatorInfo) sanitize() error {
	if err := checkCommon(e.Chain, &e.Observer); err != nil {
		return err
	}
	if err := checkHex("address", e.Address); err != nil || e.Address == "" {
		return fmt.Errorf("validator info: address %q is not upper-case hex", safe.String(e.Address, 80))
	}
	e.Moniker = safe.String(e.Moniker, maxShort)
	e.OperatorAddress = safe.String(e.OperatorAddress, maxShort)
	e.Source = safe.String(e.Source, 16)
	return nil
}

func (e *EndpointStatus) sanitize() error {
	if err := checkCommon(e.Chain, &e.Observer); err != nil {
		return err
	}
	if e.Endpoint == "" {
		return fmt.Errorf("endpoint status without an endpoint")
	}
	if e.Height < 0 {
		return fmt.Errorf("height %d is negative", e.Height)
	}
	e.Reason = safe.String(e.Reason, maxReason)
	e.NodeVersion = safe.String(e.NodeVersion, maxShort)
	e.Moniker = safe.String(e.Moniker, maxShort)
	return checkTime("latest_block_time", e.LatestBlockTime)
}

func (e *Params) sanitize() error {
	if err := checkCommon(e.Chain, &e.Observer); err != nil {
		return err
	}
	if e.SignedBlocksWindow < 1 {
		return fmt.Errorf("signed_blocks_window %d: at least 1", e.SignedBlocksWindow)
	}
	if !(e.MinSignedPerWindow >= 0 && e.MinSignedPerWindow <= 1) {
		return fmt.Errorf("min_signed_per_window %v is outside 0..1", e.MinSignedPerWindow)
	}
	e.Source = safe.String(e.Source, 16)
	return nil
}

func (e *PrunedHeights) sanitize() error {
	if err := checkCommon(e.Chain, &e.Observer); err != nil {
		return err
	}
	if err := checkHeight(e.From); err != nil {
		return err
	}
	if e.To < e.From || e.To >= MaxHeight {
		return fmt.Errorf("pruned heights %d..%d: the range must end at or after its start and below %d", e.From, e.To, int64(MaxHeight))
	}
	if e.LowestAvailable <= e.To || e.LowestAvailable > MaxHeight {
		return fmt.Errorf("lowest available height %d: above the pruned range (%d) and at most %d", e.LowestAvailable, e.To, int64(MaxHeight))
	}
	if e.Endpoints < 1 {
		return fmt.Errorf("pruned heights reported by %d endpoints: at least 1", e.Endpoints)
	}
	switch e.What {
	case "", PrunedBlocks:
		e.What = PrunedBlocks
		if e.ValidatorsHash != "" {
			return fmt.Errorf("pruned blocks %d..%d with a validators_hash: only a pruned validator set has one", e.From, e.To)
		}
	case PrunedValidatorSet:
		return checkHex("validators hash", e.ValidatorsHash)
	default:
		return fmt.Errorf("pruned %q: neither %s nor %s", safe.String(e.What, 40), PrunedBlocks, PrunedValidatorSet)
	}
	return nil
}
