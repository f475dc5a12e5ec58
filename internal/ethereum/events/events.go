// Package events defines the events the Ethereum sentry publishes on the bus.
//
// Subjects are ethereum.<network>.<event>; payloads are JSON objects with a "v"
// schema version. A consumer that sees a version it does not know refuses the
// event (counted and logged) instead of guessing. The schemas are documented in
// docs/events.md; keep the two in step.
package events

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/valtrack/valtrack/internal/safe"
)

// Domain is the bus domain (stream ETHEREUM, subjects ethereum.>) of these events.
const Domain = "ethereum"

// Event names, the last token of a subject.
const (
	KindPeerDiscovered   = "peer_discovered"
	KindMetadataReceived = "metadata_received"
	KindSubscription     = "subnet_subscription"
)

// SchemaVersion is the current version of every payload in this package.
const SchemaVersion = 1

// Subject returns ethereum.<network>.<kind>.
func Subject(network, kind string) string {
	return Domain + "." + network + "." + kind
}

// SplitSubject returns the network and kind of an ethereum subject.
func SplitSubject(subject string) (network, kind string, err error) {
	parts := strings.Split(subject, ".")
	if len(parts) != 3 || parts[0] != Domain || parts[1] == "" || parts[2] == "" {
		return "", "", fmt.Errorf("subject %q is not ethereum.<network>.<event>", subject)
	}
	return parts[1], parts[2], nil
}

// Sentry identifies the sentry that made an observation (Valtrack's crawler_id
// and crawler_location).
type Sentry struct {
	ID       string `json:"crawler_id"`
	Location string `json:"crawler_location"`
}

// PeerDiscovered is published when discv5 finds a node (or finds a newer ENR
// of a known node). It carries everything Valtrack's discovery_events carry
// (enr, id, ip, port, crawler_id, crawler_location, timestamp) and the decoded
// ENR fields.
type PeerDiscovered struct {
	V         int    `json:"v"`
	Network   string `json:"network"`
	ENR       string `json:"enr"`
	ID        string `json:"id"`      // discv5 node id, hex, 64 chars
	PeerID    string `json:"peer_id"` // libp2p peer id derived from the ENR key
	ENRSeq    uint64 `json:"enr_seq"`
	IP        string `json:"ip"`   // IPv4 if present, else IPv6
	Port      int    `json:"port"` // TCP port (libp2p), 0 when absent
	IP6       string `json:"ip6,omitempty"`
	TCP       int    `json:"tcp,omitempty"`
	UDP       int    `json:"udp,omitempty"`
	QUIC      int    `json:"quic,omitempty"`
	TCP6      int    `json:"tcp6,omitempty"`
	UDP6      int    `json:"udp6,omitempty"`
	QUIC6     int    `json:"quic6,omitempty"`
	Multiaddr string `json:"multiaddr,omitempty"`
	// eth2 ENR entry: fork digest, next fork version and epoch.
	ForkDigest      string  `json:"fork_digest,omitempty"` // 0x-hex, 4 bytes
	NextForkVersion string  `json:"next_fork_version,omitempty"`
	NextForkEpoch   uint64  `json:"next_fork_epoch,omitempty"`
	Attnets         string  `json:"attnets,omitempty"`  // 0x-hex bitvector[64]
	Syncnets        string  `json:"syncnets,omitempty"` // 0x-hex bitvector[4]
	CGC             *uint64 `json:"cgc,omitempty"`      // custody group count (Fulu)
	NFD             string  `json:"nfd,omitempty"`      // next fork digest (Fulu)
	// SameNetwork is false for nodes of another fork digest: recorded, not dialed.
	SameNetwork bool `json:"same_network"`
	Sentry
	Timestamp int64 `json:"timestamp"` // unix milliseconds
}

// MetaData is the decoded MetaData v2/v3 response.
type MetaData struct {
	SeqNumber uint64  `json:"seq_number"`
	Attnets   string  `json:"attnets"`  // 0x-hex bitvector[64]
	Syncnets  string  `json:"syncnets"` // 0x-hex bitvector[4]
	CGC       *uint64 `json:"custody_group_count,omitempty"`
	Version   int     `json:"version"` // 2 or 3
}

// Status is the decoded Status v1/v2 message.
type Status struct {
	ForkDigest            string  `json:"fork_digest"`
	FinalizedRoot         string  `json:"finalized_root"`
	FinalizedEpoch        uint64  `json:"finalized_epoch"`
	HeadRoot              string  `json:"head_root"`
	HeadSlot              uint64  `json:"head_slot"`
	EarliestAvailableSlot *uint64 `json:"earliest_available_slot,omitempty"` // v2 only
	Version               int     `json:"version"`
}

// MetadataReceived is published after a successful handshake (Status and
// MetaData) with a peer, and again at every re-check. It carries everything
// Valtrack's metadata_events carry.
type MetadataReceived struct {
	V          int      `json:"v"`
	Network    string   `json:"network"`
	ENR        string   `json:"enr,omitempty"`
	ID         string   `json:"id"` // node id, hex
	PeerID     string   `json:"peer_id"`
	Multiaddr  string   `json:"multiaddr"`
	IP         string   `json:"ip"`
	Port       int      `json:"port"`
	Direction  string   `json:"direction"` // inbound | outbound
	Epoch      uint64   `json:"epoch"`     // the sentry's wall-clock epoch
	HeadSlot   uint64   `json:"head_slot"`
	ForkDigest string   `json:"fork_digest"`
	Status     Status   `json:"status"`
	MetaData   MetaData `json:"metadata"`
	// SubscribedSubnets are the attestation subnets the peer was subscribed
	// to over gossipsub at the time of the event.
	SubscribedSubnets []int64 `json:"subscribed_subnets"`
	// SubscribedSyncnets are the sync-committee subnets likewise.
	SubscribedSyncnets []int64 `json:"subscribed_syncnets"`
	ClientVersion      string  `json:"client_version"` // identify agent version, verbatim
	ClientName         string  `json:"client_name"`
	ClientVersionNum   string  `json:"client_version_number"`
	ClientOS           string  `json:"client_os,omitempty"`
	Sentry
	Timestamp int64 `json:"timestamp"` // unix milliseconds
}

// Subscription records one gossipsub SUBSCRIBE or UNSUBSCRIBE of an
// attestation or sync-committee subnet topic by a connected peer.
type Subscription struct {
	V          int    `json:"v"`
	Network    string `json:"network"`
	PeerID     string `json:"peer_id"`
	ID         string `json:"id,omitempty"` // node id when known
	Topic      string `json:"topic"`
	Kind       string `json:"kind"` // "attestation" | "sync_committee"
	Subnet     int    `json:"subnet"`
	Subscribed bool   `json:"subscribed"`
	Epoch      uint64 `json:"epoch"`
	Sentry
	Timestamp int64 `json:"timestamp"` // unix milliseconds
}

// MsgID returns a deterministic Nats-Msg-Id for an event: the same
// observation published twice (for instance after a sentry restart, or a
// retried publish) yields the same id, so the stream drops the copy.
func MsgID(kind string, parts ...string) string {
	h := sha256.New()
	h.Write([]byte(kind))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return kind + "-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// ID returns the deterministic message id of the event.
func (e *PeerDiscovered) MsgID() string {
	return MsgID(KindPeerDiscovered, e.Network, e.ID, fmt.Sprint(e.ENRSeq), e.Sentry.ID)
}

// MsgID returns the deterministic message id of the event.
func (e *MetadataReceived) MsgID() string {
	return MsgID(KindMetadataReceived, e.Network, e.PeerID, fmt.Sprint(e.Timestamp), e.Sentry.ID)
}

// MsgID returns the deterministic message id of the event.
func (e *Subscription) MsgID() string {
	return MsgID(KindSubscription, e.Network, e.PeerID, e.Topic, fmt.Sprint(e.Subscribed), fmt.Sprint(e.Timestamp), e.Sentry.ID)
}

// Decode parses a payload of the given kind, refusing unknown schema versions.
// It decodes once, into the typed event, and checks the version after: the
// consumer's hot path.
func Decode(kind string, data []byte) (any, error) {
	var v any
	var version *int
	switch kind {
	case KindPeerDiscovered:
		e := new(PeerDiscovered)
		v, version = e, &e.V
	case KindMetadataReceived:
		e := new(MetadataReceived)
		v, version = e, &e.V
	case KindSubscription:
		e := new(Subscription)
		v, version = e, &e.V
	default:
		return nil, fmt.Errorf("decode: unknown ethereum event kind %q", kind)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", kind, err)
	}
	if *version != SchemaVersion {
		return nil, fmt.Errorf("decode %s: schema version %d not supported (this build reads %d)", kind, *version, SchemaVersion)
	}
	if err := v.(sanitizer).sanitize(); err != nil {
		return nil, fmt.Errorf("decode %s: %w", kind, err)
	}
	return v, nil
}

// maxTimestamp is 9999-12-31T23:59:59.999Z in unix ms: later (or negative)
// times are not observations, and both databases would store them wrong or
// refuse them.
const maxTimestamp = 253402300799999

func checkTimestamp(ts int64) error {
	if ts < 0 || ts > maxTimestamp {
		return fmt.Errorf("timestamp %d ms is outside 1970..9999", ts)
	}
	return nil
}

// Bounds of the strings of an event: what a sentry relays comes from peers
// (an identify agent, an ENR) and may be anything. Each is well above what
// an honest peer sends (an ENR is at most 300 bytes, 420 in base64).
const (
	maxShort = 128  // ids, names, directions, digests, IPs
	maxAddr  = 512  // multiaddrs, topics
	maxENR   = 1024 // "enr:" + base64 of up to 300 bytes, with room
	maxAgent = 512  // identify agent version and its parts
)

type sanitizer interface{ sanitize() error }

func (s *Sentry) sanitize() {
	s.ID = safe.String(s.ID, maxShort)
	s.Location = safe.String(s.Location, maxShort)
}

func (e *PeerDiscovered) sanitize() error {
	for _, f := range []*string{&e.Network, &e.ID, &e.PeerID, &e.IP, &e.IP6, &e.ForkDigest, &e.NextForkVersion,
		&e.Attnets, &e.Syncnets, &e.NFD} {
		*f = safe.String(*f, maxShort)
	}
	e.ENR = safe.String(e.ENR, maxENR)
	e.Multiaddr = safe.String(e.Multiaddr, maxAddr)
	e.Sentry.sanitize()
	return checkTimestamp(e.Timestamp)
}

func (e *MetadataReceived) sanitize() error {
	for _, f := range []*string{&e.Network, &e.ID, &e.PeerID, &e.IP, &e.Direction, &e.ForkDigest,
		&e.Status.ForkDigest, &e.Status.FinalizedRoot, &e.Status.HeadRoot, &e.MetaData.Attnets, &e.MetaData.Syncnets} {
		*f = safe.String(*f, maxShort)
	}
	e.ENR = safe.String(e.ENR, maxENR)
	e.Multiaddr = safe.String(e.Multiaddr, maxAddr)
	for _, f := range []*string{&e.ClientVersion, &e.ClientName, &e.ClientVersionNum, &e.ClientOS} {
		*f = safe.String(*f, maxAgent)
	}
	e.Sentry.sanitize()
	return checkTimestamp(e.Timestamp)
}

func (e *Subscription) sanitize() error {
	for _, f := range []*string{&e.Network, &e.PeerID, &e.ID, &e.Kind} {
		*f = safe.String(*f, maxShort)
	}
	e.Topic = safe.String(e.Topic, maxAddr)
	e.Sentry.sanitize()
	return checkTimestamp(e.Timestamp)
}
