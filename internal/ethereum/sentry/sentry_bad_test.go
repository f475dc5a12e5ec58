package sentry

import (
	"crypto/rand"
	"net"
	"testing"
	"time"

	gethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/p2p/discover"
	"github.com/ethereum/go-ethereum/p2p/enode"
	gethenr "github.com/ethereum/go-ethereum/p2p/enr"
	"github.com/libp2p/go-libp2p"
	libp2pcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/valtrack/valtrack/internal/ethereum/enr"
	ethnet "github.com/valtrack/valtrack/internal/ethereum/network"
	"github.com/valtrack/valtrack/internal/ethereum/reqresp"
)

// badPeer is a real libp2p host and discv5 node of the network whose
// req/resp handlers misbehave.
type badPeer struct {
	host host.Host
	enr  string
}

func startBadPeer(t *testing.T, n *ethnet.Network, handler network.StreamHandler) *badPeer {
	t.Helper()
	key, err := gethcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	sk, _ := libp2pcrypto.UnmarshalSecp256k1PrivateKey(gethcrypto.FromECDSA(key))
	h, err := libp2p.New(libp2p.Identity(sk), libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	for _, pid := range reqresp.Protocols() {
		h.SetStreamHandler(pid, handler)
	}
	var tcpPort int
	for _, a := range h.Addrs() {
		if v, err := a.ValueForProtocol(ma.P_TCP); err == nil {
			p, _ := net.ResolveTCPAddr("tcp", "127.0.0.1:"+v)
			tcpPort = p.Port
		}
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	db, _ := enode.OpenDB("")
	ln := enode.NewLocalNode(db, key)
	ln.SetStaticIP(net.IPv4(127, 0, 0, 1))
	ln.SetFallbackUDP(conn.LocalAddr().(*net.UDPAddr).Port)
	epoch := n.EpochAt(time.Now())
	digest, nv, ne := n.ENRForkID(epoch)
	ln.Set(enr.Eth2{ForkDigest: digest, NextForkVersion: nv, NextForkEpoch: ne})
	ln.Set(gethenr.TCP(tcpPort))
	d, err := discover.ListenV5(conn, ln, discover.Config{PrivateKey: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(); db.Close() })
	return &badPeer{host: h, enr: ln.Node().String()}
}

// TestSentryBadPeers runs a peer that accepts req/resp streams and never
// answers and one that answers garbage next to a devnet: both are recorded
// as failures with their reason, and every devnet node is still handshaken.
func TestSentryBadPeers(t *testing.T) {
	d := startDevnet(t, 10, "0")
	n := loadNetwork(t, d)
	stalled := make(chan struct{})
	defer close(stalled)
	staller := startBadPeer(t, n, func(s network.Stream) {
		select {
		case <-stalled:
		case <-time.After(30 * time.Second):
		}
		s.Reset()
	})
	garbler := startBadPeer(t, n, func(s network.Stream) {
		junk := make([]byte, 512)
		rand.Read(junk)
		junk[0] = 0 // a success code, then nonsense where the length and frames go
		s.Write(junk)
		s.Close()
	})
	// The bad peers are bootnodes: the sentry discovers them first.
	nn := *n
	nn.Bootnodes = append([]string{staller.enr, garbler.enr}, n.Bootnodes...)

	rec := newRecorder()
	cfg := testConfig(t, &nn, t.TempDir())
	s, err := New(cfg, rec)
	if err != nil {
		t.Fatal(err)
	}
	runSentry(t, s)

	waitUntil(t, 30*time.Second, "failures of both bad peers and handshakes of every devnet node", func() bool {
		for _, bp := range []*badPeer{staller, garbler} {
			if p, ok := s.store.Get(bp.host.ID().String()); !ok || p.Failures == 0 {
				return false
			}
		}
		for _, node := range d.Nodes() {
			if _, ok := rec.latestMetadata(node.PeerID); !ok {
				return false
			}
		}
		return true
	})
	ps, _ := s.store.Get(staller.host.ID().String())
	if ps.LastFailure != ReasonTimeout || ps.NextDial.IsZero() {
		t.Fatalf("stalling peer recorded as %q (next dial %v), want %q with a backoff", ps.LastFailure, ps.NextDial, ReasonTimeout)
	}
	pg, _ := s.store.Get(garbler.host.ID().String())
	if pg.LastFailure != ReasonProtocol || pg.NextDial.IsZero() {
		t.Fatalf("garbage peer recorded as %q (next dial %v), want %q with a backoff", pg.LastFailure, pg.NextDial, ReasonProtocol)
	}
	for _, bp := range []*badPeer{staller, garbler} {
		if _, ok := rec.latestMetadata(bp.host.ID().String()); ok {
			t.Fatalf("a MetadataReceived was published for bad peer %s", bp.host.ID())
		}
	}
	st := s.Stats()
	if st.Failed[ReasonTimeout] == 0 || st.Failed[ReasonProtocol] == 0 {
		t.Fatalf("failure counters %v lack timeout or protocol", st.Failed)
	}
}
