// Package events defines what the Polkadot sentry publishes on the bus:
// subjects polkadot.<chain>.<kind>, payloads with "v", the schema version.
//
// The sentry reads chain state (relay, People and staking chains) and the
// telemetry feed, and publishes facts: the chain's era and session
// (KindChain), one record per validator stash of interest
// (KindValidator), one record per era with its validator set and reward
// points (KindEra), faults (KindFault) and telemetry nodes
// (KindTelemetry). A value the sentry could not read is a Fact with Err
// set and Known false: the consumer then keeps the last known value and
// records the error, so an RPC failure never reads as "not set".
package events

import (
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strings"
)

// Domain is the bus domain (stream POLKADOT, subjects polkadot.>).
const Domain = "polkadot"

// SchemaVersion is the current version of every payload.
const SchemaVersion = 1

// The kinds (the last subject token).
const (
	KindChain     = "chain"
	KindValidator = "validator"
	KindEra       = "era"
	KindFault     = "fault"
	KindTelemetry = "telemetry"
)

// Subject returns polkadot.<chain>.<kind>.
func Subject(chain, kind string) string { return Domain + "." + chain + "." + kind }

var chainRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// CheckChain refuses a chain name that cannot be a subject token.
func CheckChain(n string) error {
	if !chainRE.MatchString(n) || n == "dlq" {
		return fmt.Errorf("polkadot chain %q: use lower-case letters, digits, '-' and '_' (at most 64, not \"dlq\"), e.g. polkadot", n)
	}
	return nil
}

// Amount is a balance in the chain's smallest unit (planck) as a decimal
// string: a u128 does not fit an int64. "" is unknown, "0" is zero.
type Amount string

// AmountOf formats b (nil is "0").
func AmountOf(b *big.Int) Amount {
	if b == nil {
		return "0"
	}
	return Amount(b.String())
}

// Big parses a; an empty or malformed amount is 0.
func (a Amount) Big() *big.Int {
	b, ok := new(big.Int).SetString(string(a), 10)
	if !ok || b.Sign() < 0 {
		return new(big.Int)
	}
	return b
}

// Float is a as a float64 (planck; rounding is fine for scores).
func (a Amount) Float() float64 {
	f, _ := new(big.Float).SetInt(a.Big()).Float64()
	return f
}

// Tokens is a in whole tokens of a chain with decimals.
func (a Amount) Tokens(decimals int) float64 {
	return a.Float() / math.Pow10(decimals)
}

// Cmp compares a and b numerically.
func (a Amount) Cmp(b Amount) int { return a.Big().Cmp(b.Big()) }

// Fact is one value read from the chain or the telemetry feed, or why it
// could not be read. Known false with Err set: the read failed (the
// consumer keeps the last known value). Known false without Err: the
// sentry does not read this (the chain has no such storage).
type Fact[T any] struct {
	Value T      `json:"value"`
	Known bool   `json:"known"`
	Err   string `json:"error,omitempty"`
	At    int64  `json:"at,omitempty"` // unix ms of the read
}

// Got is a known fact.
func Got[T any](v T, at int64) Fact[T] { return Fact[T]{Value: v, Known: true, At: at} }

// Failed is a fact whose read failed with err.
func Failed[T any](err error, at int64) Fact[T] {
	return Fact[T]{Err: err.Error(), At: at}
}

// Merge is f over the previous value: a failed read keeps prev's value and
// Known, with f's error and time.
func (f Fact[T]) Merge(prev Fact[T]) Fact[T] {
	if f.Known || f.Err == "" {
		return f
	}
	prev.Err, prev.At = f.Err, f.At
	return prev
}

// Observer says which sentry and endpoint delivered an event, and when.
type Observer struct {
	Endpoint string `json:"endpoint"` // host:port of the RPC, never its URL
	SeenAt   int64  `json:"seen_at"`  // unix ms
	SentryID string `json:"sentry_id,omitempty"`
}

// Chain is the chain's position and the facts that are not per validator;
// published every poll.
type Chain struct {
	V           int    `json:"v"`
	Chain       string `json:"chain"`
	Genesis     string `json:"genesis"` // 0x hash of block 0
	SpecName    string `json:"spec_name"`
	SpecVersion uint32 `json:"spec_version"`
	SS58Prefix  uint16 `json:"ss58_prefix"`
	Decimals    int    `json:"decimals"`
	Token       string `json:"token"`
	Block       uint64 `json:"block"`      // the block the facts were read at
	BlockHash   string `json:"block_hash"` // 0x…
	// ProxyBlock is the current block number as the proxy pallet of the
	// staking chain counts it — the numbering of proxy announcements'
	// heights and delays: the relay chain's where proxies live on it, and
	// on Asset Hub since the migration too (its proxy pallet counts relay
	// blocks: ParachainSystem.LastRelayChainBlockNumber there); a staking
	// chain of its own otherwise counts its own blocks. 0 unknown (then
	// Block).
	ProxyBlock uint64 `json:"proxy_block,omitempty"`
	BlockTime  int64  `json:"block_time"` // unix ms (Timestamp.Now), 0 unknown
	ActiveEra  uint32 `json:"active_era"`
	// ActiveEraStart is unix ms, 0 when the chain has not set it.
	ActiveEraStart int64  `json:"active_era_start"`
	CurrentEra     uint32 `json:"current_era"`
	Session        uint32 `json:"session"`
	// SessionValidators are the stashes of session.validators (SS58).
	SessionValidators []string `json:"session_validators"`
	// ElectedStakes are the exposure totals of the active era's validators
	// (for the number of targets a nominator can back, 1KV's rule).
	ElectedStakes  []Amount `json:"elected_stakes"`
	MaxNominations uint32   `json:"max_nominations"` // 0: unknown
	HistoryDepth   uint32   `json:"history_depth"`
	// ExistentialDeposit and MinNominatorBond are in planck, "" unknown.
	MinNominatorBond Amount `json:"min_nominator_bond,omitempty"`
	Observer
}

// Identity is an on-chain identity as a candidate's checks need it.
type Identity struct {
	Display string `json:"display"`
	Legal   string `json:"legal,omitempty"`
	Web     string `json:"web,omitempty"`
	Email   string `json:"email,omitempty"`
	Matrix  string `json:"matrix,omitempty"` // riot / matrix field
	Twitter string `json:"twitter,omitempty"`
	// Parent is the account whose identity this is a sub-identity of, ""
	// for an identity of its own; SubName its name under the parent.
	Parent  string `json:"parent,omitempty"`
	SubName string `json:"sub_name,omitempty"`
	// Judgements of the identity that holds the display name (the parent's
	// for a sub-identity): Unknown, FeePaid, Reasonable, KnownGood,
	// OutOfDate, LowQuality, Erroneous.
	Judgements []string `json:"judgements"`
	// Subs are the sub-accounts of the identity that holds the display name.
	Subs []string `json:"subs,omitempty"`
}

// Verified: a registrar judged the identity Reasonable or KnownGood.
func (i *Identity) Verified() bool {
	if i == nil {
		return false
	}
	for _, j := range i.Judgements {
		if j == "Reasonable" || j == "KnownGood" {
			return true
		}
	}
	return false
}

// Root is the account that holds the identity: the parent, or the stash.
func (i *Identity) Root(stash string) string {
	if i != nil && i.Parent != "" {
		return i.Parent
	}
	return stash
}

// Name is the identity's display name, "parent/sub" for a sub-identity.
func (i *Identity) Name() string {
	if i == nil {
		return ""
	}
	if i.SubName != "" {
		return strings.TrimSpace(i.Display) + "/" + strings.TrimSpace(i.SubName)
	}
	return strings.TrimSpace(i.Display)
}

// Backer is a nominator of a validator and the amount it bonds.
type Backer struct {
	Who   string `json:"who"`
	Value Amount `json:"value"`
}

// Validator is what the chain says of one stash; published every poll for
// each validate intention, session validator and configured candidate or
// nominator account.
type Validator struct {
	V         int    `json:"v"`
	Chain     string `json:"chain"`
	Stash     string `json:"stash"` // SS58 with the chain's prefix
	Block     uint64 `json:"block"`
	BlockHash string `json:"block_hash"`
	// Intention: the stash is in staking.validators (wants to validate).
	Intention Fact[bool] `json:"intention"`
	// Commission in Perbill (1e9 = 100 %), Blocked: refuses nominations.
	Commission Fact[uint32] `json:"commission"`
	Blocked    Fact[bool]   `json:"blocked"`
	// Active: in session.validators now.
	Active     Fact[bool]   `json:"active"`
	Controller Fact[string] `json:"controller"` // "" not bonded
	// SelfStake is the ledger's active bond, "0" when not bonded.
	SelfStake Fact[Amount] `json:"self_stake"`
	Payee     Fact[string] `json:"payee"` // Staked, Stash, Controller, Account:<addr>, None
	// Balance is free + reserved (a nominator's targets are sized by it).
	Balance Fact[Amount] `json:"balance"`
	// Identity is nil when none is set.
	Identity Fact[*Identity] `json:"identity"`
	// NextKeys are session.nextKeys by key type (grandpa, babe,
	// para_validator, authority_discovery, beefy …), 0x hex; nil: none set.
	NextKeys Fact[map[string]string] `json:"next_keys"`
	// UnclaimedEras are eras within the history depth in which the stash
	// validated and its rewards are not all claimed, ascending.
	UnclaimedEras Fact[[]uint32] `json:"unclaimed_eras"`
	// ActiveNominators back the stash in the active era's exposure;
	// InactiveNominators name it in their targets but are not exposed.
	ActiveNominators   Fact[[]Backer] `json:"active_nominators"`
	InactiveNominators Fact[[]Backer] `json:"inactive_nominators"`
	// Nominating: the stash's own staking.nominators entry (for the
	// program's nominator accounts): targets and the era submitted in.
	NominationTargets Fact[[]string] `json:"nomination_targets"`
	NominationEra     Fact[uint32]   `json:"nomination_era"`
	Observer
}

// Era is one era's validator set and reward points, from
// ErasValidatorPrefs / ErasStakers(Overview) keys and ErasRewardPoints
// (kept on chain for the history depth, so missed eras are backfilled
// from the current state).
type Era struct {
	V          int               `json:"v"`
	Chain      string            `json:"chain"`
	Era        uint32            `json:"era"`
	Validators []string          `json:"validators"`
	Points     map[string]uint32 `json:"points"`
	Total      uint32            `json:"total"`
	// Complete: the era has ended (its points are final).
	Complete bool   `json:"complete"`
	Block    uint64 `json:"block"`
	Observer
}

// The fault kinds.
const (
	FaultOffence    = "offence"     // offences.Offence naming the stash
	FaultSlash      = "slash"       // staking.Slashed / a slash recorded
	FaultChilled    = "chilled"     // staking.Chilled
	FaultZeroPoints = "zero_points" // active in a complete era with no era points
	FaultOffline    = "offline"     // telemetry offline beyond the limit (program)
)

// Fault is one fault of a stash, with its reason and where it happened.
// ID is deterministic (chain, block, event index or era) so a republished
// fault is not counted twice.
type Fault struct {
	V       int    `json:"v"`
	Chain   string `json:"chain"`
	ID      string `json:"id"`
	Stash   string `json:"stash"`
	Kind    string `json:"kind"`
	Reason  string `json:"reason"`
	Era     uint32 `json:"era"`
	Session uint32 `json:"session"`
	Block   uint64 `json:"block"`
	At      int64  `json:"at"` // unix ms
	Observer
}

// Location is where a telemetry node runs.
type Location struct {
	Lat      float64 `json:"lat"`
	Lon      float64 `json:"lon"`
	City     string  `json:"city,omitempty"`
	Region   string  `json:"region,omitempty"`
	Country  string  `json:"country,omitempty"`
	Provider string  `json:"provider,omitempty"`
	ASN      uint32  `json:"asn,omitempty"`
}

// Telemetry is one telemetry node's state; published when it changes
// (added, removed, located, version) and at least every few minutes while
// it is known. Offline time counts only while the feed itself was
// connected: our outage is never charged to a node.
type Telemetry struct {
	V              int    `json:"v"`
	Chain          string `json:"chain"`
	Name           string `json:"name"` // as the node reports it
	Implementation string `json:"implementation"`
	Version        string `json:"version"`
	NetworkID      string `json:"network_id,omitempty"`
	// ValidatorAddress is what the node reports (may be empty).
	ValidatorAddress string `json:"validator_address,omitempty"`
	IP               string `json:"ip,omitempty"` // when the feed exposes it
	Online           bool   `json:"online"`
	StartupTime      int64  `json:"startup_time,omitempty"` // unix ms, from the node
	DiscoveredAt     int64  `json:"discovered_at"`          // first seen by this sentry, unix ms
	OnlineSince      int64  `json:"online_since"`           // 0 when offline
	OfflineSince     int64  `json:"offline_since"`          // 0 when online
	// Week is the ISO week (e.g. 2026-W49) OfflineWeek counts in: ms offline
	// this week while our feed was up.
	Week        string    `json:"week"`
	OfflineWeek int64     `json:"offline_week_ms"`
	Location    *Location `json:"location,omitempty"`
	Feed        string    `json:"feed"` // host of the feed
	// FeedAt is when the publishing sentry's feed was last known connected
	// and subscribed (unix ms): the record's time while it is, the time it
	// went down (or the tracker started) otherwise; 0 in records written
	// before it existed. A consumer judges by telemetry only while the
	// newest FeedAt is recent: records keep being republished while the
	// feed is down, with frozen contents.
	FeedAt int64 `json:"feed_at,omitempty"`
	At     int64 `json:"at"`
	Observer
}
