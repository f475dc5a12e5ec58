package sentry

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/valtrack/valtrack/internal/ethereum/agent"
	"github.com/valtrack/valtrack/internal/ethereum/events"
	"github.com/valtrack/valtrack/internal/ethereum/peerstore"
	"github.com/valtrack/valtrack/internal/ethereum/reqresp"
)

// handshake runs Status, MetaData, identify and Ping with a connected peer,
// records the result, and publishes MetadataReceived after SettleDelay.
func (s *Sentry) handshake(ctx context.Context, p peer.ID, direction string) {
	s.mu.Lock()
	if s.busy[p] {
		s.mu.Unlock()
		return
	}
	s.busy[p] = true
	delete(s.goodbyes, p)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.busy, p)
		s.mu.Unlock()
	}()

	st, sv, err := s.rr.Status(ctx, p, s.localStatus())
	if err != nil {
		s.handshakeFailed(p, err)
		return
	}
	if !s.fork.statusAccepted(st.ForkDigest) {
		_, cur := s.fork.current()
		s.goodbye(ctx, p, reqresp.GoodbyeIrrelevantNetwork)
		s.fail(p, ReasonWrongNetwork, fmt.Errorf("status digest %s, network %s is on %s", hex4(st.ForkDigest), s.cfg.Network.Name, hex4(cur)))
		return
	}
	md, mv, err := s.rr.MetaData(ctx, p)
	if err != nil {
		s.handshakeFailed(p, err)
		return
	}
	agentVersion := truncate(s.waitAgent(ctx, p), agent.MaxLen)
	if _, err := s.rr.Ping(ctx, p, s.localMetaData().SeqNumber); err != nil {
		// Ping is a liveness courtesy; Status and MetaData already answered.
		s.log.Debug("ping failed after handshake", "peer", p, "err", err)
	}

	now := time.Now()
	evStatus := statusEvent(st, sv)
	evMeta := metaDataEvent(md, mv)
	rec, err := s.store.Update(p.String(), now, func(r *peerstore.Peer) {
		if r.NodeID == "" {
			r.NodeID = nodeIDFromPeer(p)
		}
		if len(r.Addrs) == 0 {
			r.Addrs = s.remoteAddrs(p)
		}
		r.SameNetwork = true
		r.LastSeen = now
		r.LastHandshake = now
		r.Direction = direction
		r.Status = &evStatus
		r.MetaData = &evMeta
		r.ClientVersion = agentVersion
		r.Failures = 0
		r.LastFailure = ""
		r.NextDial = time.Time{}
		r.Retired = false
	})
	if err != nil {
		s.log.Warn("handshake not recorded", "peer", p, "err", err)
	}
	s.mu.Lock()
	s.handshaken[p] = true
	s.mu.Unlock()
	s.m.handshaken.Inc()

	// Subscriptions arrive on the gossipsub stream, asynchronously to the
	// handshake: the event waits SettleDelay so the peer's hello RPC (sent as
	// soon as its stream opens) is in it. Later changes are Subscription
	// events; every recheck publishes the current set again.
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		select {
		case <-s.runCtx.Done():
			return
		case <-time.After(s.cfg.SettleDelay):
		}
		s.publishMetadata(p, rec, direction, evStatus, evMeta, agentVersion)
	}()
}

func (s *Sentry) handshakeFailed(p peer.ID, err error) {
	reason := classify(err)
	s.mu.Lock()
	if _, bye := s.goodbyes[p]; bye {
		reason = ReasonGoodbye
	}
	s.mu.Unlock()
	s.fail(p, reason, err)
	s.host.Network().ClosePeer(p)
}

// goodbye tells the peer why we leave and disconnects.
func (s *Sentry) goodbye(ctx context.Context, p peer.ID, reason uint64) {
	gctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := s.rr.Goodbye(gctx, p, reason); err != nil {
		s.log.Debug("goodbye not delivered", "peer", p, "err", err)
	}
	s.host.Network().ClosePeer(p)
}

// waitAgent waits (bounded by IdentifyWait) for identify to store the
// peer's agent version.
func (s *Sentry) waitAgent(ctx context.Context, p peer.ID) string {
	deadline := time.Now().Add(s.cfg.IdentifyWait)
	for {
		if v, err := s.host.Peerstore().Get(p, "AgentVersion"); err == nil {
			if str, ok := v.(string); ok {
				return str
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return ""
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (s *Sentry) remoteAddrs(p peer.ID) []string {
	var out []string
	for _, c := range s.host.Network().ConnsToPeer(p) {
		out = append(out, c.RemoteMultiaddr().String())
	}
	return out
}

func (s *Sentry) publishMetadata(p peer.ID, rec peerstore.Peer, direction string, st events.Status, md events.MetaData, agentVersion string) {
	now := time.Now()
	epoch, _ := s.fork.current()
	atts, syncs := s.subscribed(p)
	client := agent.Parse(agentVersion)
	ev := &events.MetadataReceived{
		V:                  events.SchemaVersion,
		Network:            s.cfg.Network.Name,
		ENR:                rec.ENR,
		ID:                 rec.NodeID,
		PeerID:             p.String(),
		Direction:          direction,
		Epoch:              epoch,
		HeadSlot:           st.HeadSlot,
		ForkDigest:         st.ForkDigest,
		Status:             st,
		MetaData:           md,
		SubscribedSubnets:  atts,
		SubscribedSyncnets: syncs,
		ClientVersion:      agentVersion,
		ClientName:         client.Name,
		ClientVersionNum:   client.Version,
		ClientOS:           client.OS,
		Sentry:             events.Sentry{ID: s.cfg.SentryID, Location: s.cfg.SentryLocation},
		Timestamp:          now.UnixMilli(),
	}
	if ev.ID == "" {
		ev.ID = nodeIDFromPeer(p)
	}
	if conns := s.host.Network().ConnsToPeer(p); len(conns) > 0 {
		ev.Multiaddr = conns[0].RemoteMultiaddr().String()
		ev.IP, ev.Port = ipPort(conns[0].RemoteMultiaddr())
	} else if len(rec.Addrs) > 0 {
		ev.Multiaddr = rec.Addrs[0]
		if m, err := ma.NewMultiaddr(rec.Addrs[0]); err == nil {
			ev.IP, ev.Port = ipPort(m)
		}
	}
	s.enqueue(events.KindMetadataReceived, ev.MsgID(), ev)
}

// ipPort reads the IP and TCP or UDP port of a multiaddr (QUIC included,
// which manet cannot convert).
func ipPort(m ma.Multiaddr) (string, int) {
	ip, err := m.ValueForProtocol(ma.P_IP4)
	if err != nil {
		if ip, err = m.ValueForProtocol(ma.P_IP6); err != nil {
			return "", 0
		}
	}
	port, err := m.ValueForProtocol(ma.P_TCP)
	if err != nil {
		port, _ = m.ValueForProtocol(ma.P_UDP)
	}
	n, _ := strconv.Atoi(port)
	return ip, n
}

func statusEvent(st reqresp.Status, version int) events.Status {
	ev := events.Status{
		ForkDigest:     hex4(st.ForkDigest),
		FinalizedRoot:  "0x" + hex.EncodeToString(st.FinalizedRoot[:]),
		FinalizedEpoch: st.FinalizedEpoch,
		HeadRoot:       "0x" + hex.EncodeToString(st.HeadRoot[:]),
		HeadSlot:       st.HeadSlot,
		Version:        version,
	}
	if version >= 2 {
		v := st.EarliestAvailableSlot
		ev.EarliestAvailableSlot = &v
	}
	return ev
}

func metaDataEvent(md reqresp.MetaData, version int) events.MetaData {
	ev := events.MetaData{
		SeqNumber: md.SeqNumber,
		Attnets:   "0x" + hex.EncodeToString(md.Attnets[:]),
		Syncnets:  fmt.Sprintf("0x%02x", md.Syncnets),
		Version:   version,
	}
	if version >= 3 {
		v := md.CustodyGroupCount
		ev.CGC = &v
	}
	return ev
}

// sortedInts returns the keys of a set, ascending, never nil.
func sortedInts(set map[int64]bool) []int64 {
	out := make([]int64, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
