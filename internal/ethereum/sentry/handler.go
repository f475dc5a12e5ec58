package sentry

import (
	"fmt"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/valtrack/valtrack/internal/ethereum/reqresp"
)

// rrHandler answers peers' req/resp requests with our state.
type rrHandler struct{ s *Sentry }

func (h rrHandler) LocalStatus() reqresp.Status     { return h.s.localStatus() }
func (h rrHandler) LocalMetaData() reqresp.MetaData { return h.s.localMetaData() }
func (h rrHandler) OnPing(peer.ID, uint64)          {}

// OnStatus hears a peer's Status; a peer of another network is told so and
// dropped, as our own handshake would.
func (h rrHandler) OnStatus(p peer.ID, st reqresp.Status, _ int) {
	if h.s.fork.statusAccepted(st.ForkDigest) {
		return
	}
	go func() {
		h.s.goodbye(h.s.runCtx, p, reqresp.GoodbyeIrrelevantNetwork)
		h.s.fail(p, ReasonWrongNetwork, fmt.Errorf("peer sent status digest %s", hex4(st.ForkDigest)))
	}()
}

// OnGoodbye notes the goodbye so a handshake cut short by it is counted as
// such; the backoff keeps us from re-dialing a peer that sent us away.
func (h rrHandler) OnGoodbye(p peer.ID, reason uint64) {
	h.s.mu.Lock()
	_, inHandshake := h.s.busy[p]
	h.s.goodbyes[p] = reason
	h.s.mu.Unlock()
	if !inHandshake {
		h.s.fail(p, ReasonGoodbye, fmt.Errorf("peer said goodbye (reason %d)", reason))
	}
}

// connNotifee handles connections, inbound ones exactly like outbound ones:
// a peer that dials us gets the handshake too.
type connNotifee struct{ s *Sentry }

func (n connNotifee) Connected(_ network.Network, c network.Conn) {
	s := n.s
	p := c.RemotePeer()
	dir := "outbound"
	if c.Stat().Direction == network.DirInbound {
		dir = "inbound"
	}
	s.mu.Lock()
	if _, ok := s.direction[p]; !ok {
		s.direction[p] = dir
	}
	// Add under the lock that Run takes to set stopping, so no Add races
	// the final Wait.
	start := dir == "inbound" && !s.stopping
	if start {
		s.wg.Add(1)
	}
	s.mu.Unlock()
	if !start {
		return
	}
	go func() {
		defer s.wg.Done()
		select {
		case s.hsSem <- struct{}{}:
		case <-s.runCtx.Done():
			return
		}
		defer func() { <-s.hsSem }()
		s.handshake(s.runCtx, p, "inbound")
	}()
}

func (n connNotifee) Disconnected(net network.Network, c network.Conn) {
	p := c.RemotePeer()
	if net.Connectedness(p) == network.Connected {
		return
	}
	n.s.mu.Lock()
	delete(n.s.direction, p)
	delete(n.s.goodbyes, p)
	n.s.mu.Unlock()
	n.s.forgetSubscriptions(p)
}

func (connNotifee) Listen(network.Network, ma.Multiaddr)      {}
func (connNotifee) ListenClose(network.Network, ma.Multiaddr) {}
