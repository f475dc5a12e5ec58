// Package peerstore keeps the Ethereum sentry's own state about peers — what
// discovery, dialing and handshakes learned — and persists it in the data
// directory as one JSON snapshot, written atomically (temporary file, fsync,
// rename), so a restarted sentry re-dials the peers it knew at once instead
// of waiting for discovery.
package peerstore

import (
	"time"

	"github.com/valtrack/valtrack/internal/ethereum/events"
)

// Peer is everything the sentry knows about one peer, keyed by libp2p peer id.
type Peer struct {
	PeerID      string   `json:"peer_id"`
	NodeID      string   `json:"node_id,omitempty"` // discv5 node id, hex
	ENR         string   `json:"enr,omitempty"`
	ENRSeq      uint64   `json:"enr_seq,omitempty"`
	Addrs       []string `json:"addrs,omitempty"` // multiaddrs, without /p2p
	ForkDigest  string   `json:"fork_digest,omitempty"`
	SameNetwork bool     `json:"same_network"`

	FirstSeen time.Time `json:"first_seen"`
	// LastSeen is the last successful discovery or connection.
	LastSeen      time.Time        `json:"last_seen"`
	LastHandshake time.Time        `json:"last_handshake,omitzero"`
	Direction     string           `json:"direction,omitempty"`
	Status        *events.Status   `json:"status,omitempty"`
	MetaData      *events.MetaData `json:"metadata,omitempty"`
	ClientVersion string           `json:"client_version,omitempty"`

	// Failures counts consecutive failed dials or handshakes; NextDial is the
	// end of the backoff they caused.
	Failures      int       `json:"failures,omitempty"`
	LastFailure   string    `json:"last_failure,omitempty"` // reason class
	LastFailureAt time.Time `json:"last_failure_at,omitzero"`
	NextDial      time.Time `json:"next_dial,omitzero"`

	Retired   bool      `json:"retired,omitempty"`
	RetiredAt time.Time `json:"retired_at,omitzero"`
}

func (p *Peer) clone() Peer {
	c := *p
	c.Addrs = append([]string(nil), p.Addrs...)
	if p.Status != nil {
		s := *p.Status
		c.Status = &s
	}
	if p.MetaData != nil {
		m := *p.MetaData
		if m.CGC != nil {
			v := *m.CGC
			m.CGC = &v
		}
		c.MetaData = &m
	}
	if c.Status != nil && c.Status.EarliestAvailableSlot != nil {
		v := *c.Status.EarliestAvailableSlot
		c.Status.EarliestAvailableSlot = &v
	}
	return c
}
