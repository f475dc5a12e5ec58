// Package state holds the Ethereum domain's queryable state: peers with
// their latest metadata and client, the observation history the validator
// estimate needs, IP metadata and the estimates, in the ethereum_* tables of
// the shared database (internal/store), with their migrations. Both dialects
// (SQLite, PostgreSQL) pass the same suite (statetest).
package state

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned by lookups of a single row that does not exist.
var ErrNotFound = errors.New("not found")

// Discovery is a node found by a sentry's discv5 crawl.
type Discovery struct {
	Network     string
	NodeID      string // hex, 64 chars
	PeerID      string
	ENR         string
	ENRSeq      uint64
	IP          string
	Port        int // TCP
	ForkDigest  string
	Attnets     string // 0x-hex
	Syncnets    string // 0x-hex
	SameNetwork bool
	SentryID    string
	Time        time.Time
	MsgID       string // the event's Nats-Msg-Id: idempotency key
}

// Observation is one successful handshake with a peer: its status, metadata,
// client and the gossipsub subscriptions seen at that time. The latest one
// (by Time) defines the peer's current state; all are kept as history.
type Observation struct {
	Network            string
	PeerID             string
	NodeID             string
	ENR                string
	Multiaddr          string
	IP                 string
	Port               int
	Direction          string
	Epoch              uint64
	HeadSlot           uint64
	ForkDigest         string
	Seq                uint64
	Attnets            string // 0x-hex bitvector[64]
	Syncnets           string // 0x-hex bitvector[4]
	CGC                *uint64
	SubscribedSubnets  []int64
	SubscribedSyncnets []int64
	ClientVersion      string // raw agent
	ClientName         string
	ClientVersionNum   string
	SentryID           string
	Time               time.Time
	MsgID              string // idempotency key
	RowID              int64  // set by HistoryAfter: the row's id, for its cursor
}

// SubscriptionChange is one gossipsub SUBSCRIBE or UNSUBSCRIBE seen by a sentry.
type SubscriptionChange struct {
	Network    string
	PeerID     string
	Kind       string // "attestation" | "sync_committee"
	Subnet     int
	Subscribed bool
	Epoch      uint64
	SentryID   string
	Time       time.Time
	MsgID      string // idempotency key
	RowID      int64  // set by HistoryAfter
}

// IPInfo is what geolocation knows about an address.
type IPInfo struct {
	IP             string
	Country        string
	CountryCode    string
	Region         string
	City           string
	Latitude       float64
	Longitude      float64
	ASN            uint32
	ASOrganization string
	Class          string // hosting | residential | private | loopback | unknown
	UpdatedAt      time.Time
}

// Estimate is the validator estimate of one beacon node.
type Estimate struct {
	Network    string
	PeerID     string
	Validators int     // best estimate
	Low, High  int     // plausible range
	Confidence float64 // 0..1
	Method     string  // which signal decided it, e.g. "aggregation", "all-subnets", "none"
	Heuristic  int     // Valtrack's heuristic on the same observations, for comparison
	Epochs     int     // epochs of observation behind it
	UpdatedAt  time.Time
}

// Batch is written in one transaction. Writing the same batch twice (a
// redelivery) changes nothing: rows are keyed by MsgID and the current peer
// state only moves forward in time.
type Batch struct {
	Discoveries   []Discovery
	Observations  []Observation
	Subscriptions []SubscriptionChange
}

// Peer is a peer's current state joined with its IP metadata and estimate.
type Peer struct {
	Network            string
	PeerID             string
	NodeID             string
	ENR                string
	Multiaddr          string
	IP                 string
	Port               int
	Direction          string
	ForkDigest         string
	HeadSlot           uint64
	LastEpoch          uint64
	Seq                uint64
	Attnets            string
	Syncnets           string
	CGC                *uint64
	SubscribedSubnets  []int64
	SubscribedSyncnets []int64
	ClientVersion      string
	ClientName         string
	ClientVersionNum   string
	SameNetwork        bool
	Handshaken         bool // at least one Observation
	FirstSeen          time.Time
	LastSeen           time.Time
	Geo                IPInfo    // zero when unknown
	Estimate           *Estimate // nil when none yet
}

// PeerFilter selects peers for listing. Zero fields do not filter.
type PeerFilter struct {
	Network        string // required
	Client         string // client name, case-insensitive
	CountryCode    string // ISO code, case-insensitive
	ASN            uint32
	Subnet         *int // subscribed to (or long-lived on) this attestation subnet
	MinValidators  int  // estimate >= this (implies an estimate exists when > 0)
	SeenFrom       time.Time
	SeenTo         time.Time
	OnlyHandshaken bool
	Cursor         string // opaque, from the previous page
	Limit          int    // default 100, max 1000
}

// PeerPage is one page of peers, ordered by peer id.
type PeerPage struct {
	Peers      []Peer
	NextCursor string // empty on the last page
}

// PeerDetail is a peer with its recent observation history.
type PeerDetail struct {
	Peer
	History       []Observation        // newest first
	Subscriptions []SubscriptionChange // newest first
}

// Group is a count of nodes and estimated validators under one key.
type Group struct {
	Key        string
	Nodes      int
	Validators int
}

// Stats summarises a network.
type Stats struct {
	Network             string
	Nodes               int // handshaken peers seen in the window
	EstimatedValidators int
	ByClient            []Group
	ByCountry           []Group
	ByASOrganization    []Group
	ByHostingClass      []Group
	// SubnetCoverage[i] is the number of nodes subscribed to (or with a
	// long-lived) attestation subnet i.
	SubnetCoverage []int
}

// History is what the estimator reads for one peer.
type History struct {
	PeerID        string
	NodeID        string
	Observations  []Observation        // oldest first
	Subscriptions []SubscriptionChange // oldest first
}

// Cursor marks how far a reader of HistoryAfter has come: the largest row
// ids of observations and subscription changes it has read.
type Cursor struct{ Observation, Subscription int64 }

// HistoryPage is what HistoryAfter returns.
type HistoryPage struct {
	Observations  []Observation        // row id order
	Subscriptions []SubscriptionChange // row id order
	Next          Cursor               // the cursor after this page
	More          bool                 // a limit was reached: read again from Next
}

// Store is the Ethereum state. Implementations are safe for concurrent use.
type Store interface {
	// Apply writes a batch in one transaction, idempotently.
	Apply(ctx context.Context, b Batch) error
	// Applied reports which of the given message ids (of discoveries,
	// observations and subscription changes) are already stored; ids not
	// stored are absent from the map. A consumer can use it to archive a
	// redelivered event only once. Pruned history counts as not stored.
	Applied(ctx context.Context, msgIDs []string) (map[string]bool, error)
	// PutIPInfo upserts geolocation rows.
	PutIPInfo(ctx context.Context, infos []IPInfo) error
	// IPsWithoutInfo returns the peer IPs of a network that have no IPInfo yet.
	IPsWithoutInfo(ctx context.Context, network string, limit int) ([]string, error)
	// PutEstimates upserts estimates (keyed by network and peer id).
	PutEstimates(ctx context.Context, es []Estimate) error

	// Networks lists the networks that have peers.
	Networks(ctx context.Context) ([]string, error)
	ListPeers(ctx context.Context, f PeerFilter) (PeerPage, error)
	// GetPeer returns ErrNotFound for an unknown peer.
	GetPeer(ctx context.Context, network, peerID string, historyLimit int) (*PeerDetail, error)
	Stats(ctx context.Context, network string, since time.Time) (*Stats, error)
	// Histories returns, for every handshaken peer of a network seen since
	// the given time, its observations and subscription changes since then.
	Histories(ctx context.Context, network string, since time.Time) ([]History, error)
	// HistoryAfter returns what a network's history gained after a cursor:
	// the incremental read of the analyzers.
	HistoryAfter(ctx context.Context, network string, since time.Time, after Cursor, limit int) (HistoryPage, error)
	// ValidatorNodes returns handshaken peers of every network seen within
	// [from, to] whose estimate is above zero (Valtrack's /validators rows).
	ValidatorNodes(ctx context.Context, from, to time.Time) ([]Peer, error)

	// Prune deletes discovery, observation and subscription history older
	// than before (retention) and returns the number of rows deleted.
	// Current peer state, IP metadata and estimates are kept.
	Prune(ctx context.Context, before time.Time) (int64, error)
}
