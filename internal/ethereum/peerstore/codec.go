package peerstore

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
)

// formatVersion is the snapshot's schema version.
const formatVersion = 1

// Field bounds checked on load: a snapshot is our own file, but a damaged or
// replaced one must not make the sentry hold arbitrary amounts of memory.
const (
	maxIDLen     = 128
	maxENRLen    = 1024 // EIP-778 caps a record at 300 bytes; base64 text is longer
	maxAddrs     = 16
	maxAddrLen   = 256
	maxStringLen = 512
)

type snapshot struct {
	V     int    `json:"v"`
	Peers []Peer `json:"peers"`
}

func encode(w io.Writer, peers []Peer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(snapshot{V: formatVersion, Peers: peers}); err != nil {
		return err
	}
	return bw.Flush()
}

// decode reads a snapshot of at most maxBytes holding at most maxPeers
// peers; invalid peers are skipped, a malformed document is an error.
func decode(r io.Reader, maxBytes int64, maxPeers int) ([]Peer, error) {
	lr := &io.LimitedReader{R: r, N: maxBytes + 1}
	var snap snapshot
	if err := json.NewDecoder(lr).Decode(&snap); err != nil {
		if lr.N <= 0 {
			return nil, fmt.Errorf("snapshot larger than %d bytes", maxBytes)
		}
		return nil, fmt.Errorf("decode snapshot: %w", err)
	}
	if snap.V != formatVersion {
		return nil, fmt.Errorf("snapshot version %d not supported (this build reads %d)", snap.V, formatVersion)
	}
	if len(snap.Peers) > maxPeers {
		return nil, fmt.Errorf("snapshot holds %d peers, more than the limit %d", len(snap.Peers), maxPeers)
	}
	out := snap.Peers[:0]
	seen := make(map[string]bool, len(snap.Peers))
	for _, p := range snap.Peers {
		if valid(&p) && !seen[p.PeerID] {
			seen[p.PeerID] = true
			out = append(out, p)
		}
	}
	return out, nil
}

func valid(p *Peer) bool {
	if p.PeerID == "" || len(p.PeerID) > maxIDLen || len(p.NodeID) > maxIDLen || len(p.ENR) > maxENRLen || len(p.Addrs) > maxAddrs {
		return false
	}
	for _, a := range p.Addrs {
		if len(a) > maxAddrLen {
			return false
		}
	}
	for _, s := range []string{p.ForkDigest, p.Direction, p.ClientVersion, p.LastFailure} {
		if len(s) > maxStringLen {
			return false
		}
	}
	return p.Failures >= 0
}
