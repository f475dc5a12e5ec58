package sentry

import (
	"encoding/hex"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/valtrack/valtrack/internal/ethereum/enr"
	"github.com/valtrack/valtrack/internal/ethereum/events"
	"github.com/valtrack/valtrack/internal/ethereum/peerstore"
)

func hex4(d [4]byte) string { return "0x" + hex.EncodeToString(d[:]) }

// onNode handles a discv5 sighting: the peerstore learns the record, a new
// node (or newer ENR) becomes a PeerDiscovered event, and a node of this
// network that was never handshaken is queued for a dial. Nodes without an
// eth2 entry (execution-layer nodes share the DHT) are ignored.
func (s *Sentry) onNode(n *enode.Node, changed bool) {
	rec, err := enr.FromNode(n)
	if err != nil || !rec.HasEth2 {
		return
	}
	same := s.fork.sameNetwork(rec.ForkDigest)
	now := time.Now()
	addrs := transportAddrs(rec.Multiaddrs())
	p, err := s.store.Update(rec.PeerID.String(), now, func(p *peerstore.Peer) {
		if rec.Seq >= p.ENRSeq || p.ENR == "" {
			p.NodeID = hex.EncodeToString(rec.NodeID[:])
			p.ENR = rec.Text
			p.ENRSeq = rec.Seq
			p.Addrs = addrs
			p.ForkDigest = hex4(rec.ForkDigest)
			p.SameNetwork = same
		}
		p.LastSeen = now
		p.Retired = false
	})
	if err != nil {
		s.log.Warn("peer not recorded", "err", err)
		return
	}
	s.mu.Lock()
	_, known := s.discovered[n.ID()]
	s.discovered[n.ID()] = same
	s.mu.Unlock()
	if changed || !known {
		s.m.discovered.Inc()
		s.publishDiscovered(rec, same, now)
	}
	if same && p.LastHandshake.IsZero() && !now.Before(p.NextDial) && !s.connected(rec.PeerID) {
		s.dials.push(rec.PeerID)
	}
}

// transportAddrs drops the /p2p component: the peer id is the store's key.
func transportAddrs(in []ma.Multiaddr) []string {
	out := make([]string, 0, len(in))
	for _, m := range in {
		t, _ := peer.SplitAddr(m)
		if t != nil {
			out = append(out, t.String())
		}
	}
	return out
}

func (s *Sentry) publishDiscovered(rec *enr.Record, same bool, now time.Time) {
	ev := &events.PeerDiscovered{
		V:           events.SchemaVersion,
		Network:     s.cfg.Network.Name,
		ENR:         rec.Text,
		ID:          hex.EncodeToString(rec.NodeID[:]),
		PeerID:      rec.PeerID.String(),
		ENRSeq:      rec.Seq,
		TCP:         rec.TCP,
		UDP:         rec.UDP,
		QUIC:        rec.QUIC,
		TCP6:        rec.TCP6,
		UDP6:        rec.UDP6,
		QUIC6:       rec.QUIC6,
		ForkDigest:  hex4(rec.ForkDigest),
		SameNetwork: same,
		Sentry:      events.Sentry{ID: s.cfg.SentryID, Location: s.cfg.SentryLocation},
		Timestamp:   now.UnixMilli(),
	}
	switch {
	case rec.IP4 != nil:
		ev.IP, ev.Port = rec.IP4.String(), rec.TCP
	case rec.IP6 != nil:
		ev.IP, ev.Port = rec.IP6.String(), rec.TCP6
		if ev.Port == 0 {
			ev.Port = rec.TCP
		}
	}
	if rec.IP6 != nil {
		ev.IP6 = rec.IP6.String()
	}
	if mas := rec.Multiaddrs(); len(mas) > 0 {
		ev.Multiaddr = mas[0].String()
	}
	if rec.HasEth2 {
		ev.NextForkVersion = hex4(rec.NextForkVersion)
		ev.NextForkEpoch = rec.NextForkEpoch
	}
	if rec.HasAttnets {
		ev.Attnets = "0x" + hex.EncodeToString(rec.Attnets[:])
	}
	if rec.HasSyncnets {
		ev.Syncnets = fmt.Sprintf("0x%02x", rec.Syncnets)
	}
	ev.CGC = rec.CGC
	if rec.NFD != nil {
		ev.NFD = hex4(*rec.NFD)
	}
	s.enqueue(events.KindPeerDiscovered, ev.MsgID(), ev)
}
