package devnet

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	gcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/p2p/discover"
	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/ethereum/go-ethereum/p2p/enr"
	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	p2pcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	p2pnet "github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/valtrack/valtrack/internal/ethereum/reqresp"
)

// Per-node resource settings. A devnet of 500 nodes lives in one process on
// two cores, so every node keeps its connection and gossip work small.
const (
	connLow          = 8
	connHigh         = 32
	gossipHeartbeat  = 2 * time.Second
	discPingInterval = 10 * time.Second
	// discRespTimeout is go-ethereum's 700ms raised: hundreds of nodes share
	// two cores here, and a node whose revalidation ping is answered late is
	// dropped from the pinger's table.
	discRespTimeout = 2 * time.Second
	// discRefreshInterval: a table refresh is a self-lookup and three random
	// lookups. go-ethereum's default of 30 minutes suits a long-lived node;
	// a devnet lives minutes, and a node dropped from its neighbours' tables
	// (a ping lost under load) is found again only through a refresh.
	discRefreshInterval = 10 * time.Minute
	maxKeyDerivations   = 16
	syncnetsBitvectorN  = 4
)

// node is one devnet beacon peer. Devnet nodes do not dial each other over
// libp2p: only discv5 links them. An observer sees everything it needs from
// its own connection to each node, and 500 meshed hosts would not fit in
// one process on a small machine.
type node struct {
	idx        int
	key        *ecdsa.PrivateKey
	id         enode.ID
	peerID     peer.ID
	client     string
	validators int
	large      bool
	quic       bool
	ip         net.IP
	tcpPort    int
	udpPort    int
	quicPort   int

	ln   *enode.LocalNode
	disc *discover.UDPv5
	host host.Host
	ps   *pubsub.PubSub
	d    *Devnet

	mu        sync.Mutex
	longLived []uint64
	meta      reqresp.MetaData
	digest    [4]byte
	topics    map[string]*pubsub.Topic
	subs      map[string]*pubsub.Subscription
	attSubs   map[uint64]bool
	syncSubs  map[uint64]bool
}

// deriveKey makes node keys reproducible from the devnet seed.
func deriveKey(seed int64, idx int) (*ecdsa.PrivateKey, error) {
	for n := 0; n < maxKeyDerivations; n++ {
		var b [24]byte
		binary.LittleEndian.PutUint64(b[:8], uint64(seed))
		binary.LittleEndian.PutUint64(b[8:16], uint64(idx))
		binary.LittleEndian.PutUint64(b[16:], uint64(n))
		h := sha256.Sum256(append([]byte("valtrack-devnet-key"), b[:]...))
		if k, err := gcrypto.ToECDSA(h[:]); err == nil {
			return k, nil
		}
	}
	return nil, fmt.Errorf("derive key of node %d: no valid secp256k1 scalar; try another seed", idx)
}

// startHost starts the node's libp2p host, gossipsub router and Req/Resp
// handlers.
func (n *node) startHost(ctx context.Context, bindIP string) error {
	sk, err := p2pcrypto.UnmarshalSecp256k1PrivateKey(gcrypto.FromECDSA(n.key))
	if err != nil {
		return fmt.Errorf("node %d: convert key for libp2p: %w", n.idx, err)
	}
	cm, err := connmgr.NewConnManager(connLow, connHigh, connmgr.WithGracePeriod(time.Minute))
	if err != nil {
		return fmt.Errorf("node %d: connection manager: %w", n.idx, err)
	}
	listen := []string{"/ip4/" + bindIP + "/tcp/0"}
	opts := []libp2p.Option{
		libp2p.Identity(sk),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		// mplex is no longer part of go-libp2p; yamux is the muxer every
		// consensus client offers anyway.
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.UserAgent(n.client),
		libp2p.ConnectionManager(cm),
		libp2p.ResourceManager(&p2pnet.NullResourceManager{}),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
	}
	if n.quic {
		listen = append(listen, "/ip4/"+bindIP+"/udp/0/quic-v1")
		opts = append(opts, libp2p.Transport(quic.NewTransport))
	}
	opts = append(opts, libp2p.ListenAddrStrings(listen...))
	h, err := libp2p.New(opts...)
	if err != nil {
		return fmt.Errorf("node %d: start libp2p host on %s: %w", n.idx, bindIP, err)
	}
	n.host = h
	n.peerID = h.ID()
	for _, a := range h.Addrs() {
		if p, err := a.ValueForProtocol(ma.P_TCP); err == nil {
			n.tcpPort, _ = strconv.Atoi(p)
		}
		if _, err := a.ValueForProtocol(ma.P_QUIC_V1); err == nil {
			if p, err := a.ValueForProtocol(ma.P_UDP); err == nil {
				n.quicPort, _ = strconv.Atoi(p)
			}
		}
	}
	if n.tcpPort == 0 || (n.quic && n.quicPort == 0) {
		h.Close()
		return fmt.Errorf("node %d: libp2p host listens on %v, missing a TCP or QUIC port", n.idx, h.Addrs())
	}

	params := pubsub.DefaultGossipSubParams()
	params.D, params.Dlo, params.Dhi, params.Dscore, params.Dout, params.Dlazy = 4, 2, 6, 2, 1, 4
	params.HeartbeatInterval = gossipHeartbeat
	ps, err := pubsub.NewGossipSub(ctx, h,
		pubsub.WithGossipSubParams(params),
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		pubsub.WithPeerExchange(false),
	)
	if err != nil {
		h.Close()
		return fmt.Errorf("node %d: start gossipsub: %w", n.idx, err)
	}
	n.ps = ps
	reqresp.Register(h, n, reqresp.Options{Logger: n.d.o.Log})
	return nil
}

// startDiscovery opens the node's discv5 socket with an ENR carrying every
// eth2 entry.
func (n *node) startDiscovery(db *enode.DB, bootnodes []*enode.Node) error {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: n.ip})
	if err != nil {
		return fmt.Errorf("node %d: open discv5 UDP socket on %s: %w", n.idx, n.ip, err)
	}
	n.udpPort = conn.LocalAddr().(*net.UDPAddr).Port
	ln := enode.NewLocalNode(db, n.key)
	ln.SetStaticIP(n.ip)
	ln.SetFallbackUDP(n.udpPort)
	ln.Set(enr.UDP(n.udpPort))
	ln.Set(enr.TCP(n.tcpPort))
	if n.quic {
		ln.Set(enr.QUIC(n.quicPort))
	}
	n.ln = ln
	n.mu.Lock()
	n.setENRLocked()
	n.mu.Unlock()
	disc, err := discover.ListenV5(conn, ln, discover.Config{
		PrivateKey: n.key,
		Bootnodes:  bootnodes,
		// Beacon clients (sigp/discv5) answer FINDNODE with every table
		// entry; go-ethereum by default only with revalidated ones.
		NoFindnodeLivenessCheck: true,
		PingInterval:            discPingInterval,
		RefreshInterval:         discRefreshInterval,
		V5RespTimeout:           discRespTimeout,
	})
	if err != nil {
		conn.Close()
		return fmt.Errorf("node %d: start discv5: %w", n.idx, err)
	}
	n.disc = disc
	return nil
}

// setENRLocked writes the eth2 entries from the node's current state; the
// LocalNode bumps the record's seq when they change.
func (n *node) setENRLocked() {
	if n.ln == nil {
		return
	}
	digest, nextV, nextE := n.d.net.ENRForkID(n.d.epochNow())
	n.ln.Set(eth2Entry(digest, nextV, nextE))
	n.ln.Set(attnetsEntry(n.meta.Attnets))
	n.ln.Set(syncnetsEntry(n.meta.Syncnets))
	n.ln.Set(cgcEntry(n.meta.CustodyGroupCount))
	n.ln.Set(nfdEntry(n.d.net.NextForkDigest(n.d.epochNow())))
}

// setAdvertised updates attnets and syncnets in MetaData and ENR, bumping
// the MetaData seq_number when they change.
func (n *node) setAdvertised(attnets [8]byte, syncnets byte, longLived []uint64) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.longLived = longLived
	if n.meta.Attnets == attnets && n.meta.Syncnets == syncnets {
		return false
	}
	n.meta.Attnets, n.meta.Syncnets = attnets, syncnets
	n.meta.SeqNumber++
	n.setENRLocked()
	return true
}

func attTopic(digest [4]byte, subnet uint64) string {
	return fmt.Sprintf("/eth2/%s/beacon_attestation_%d/ssz_snappy", hex.EncodeToString(digest[:]), subnet)
}

func syncTopic(digest [4]byte, subnet uint64) string {
	return fmt.Sprintf("/eth2/%s/sync_committee_%d/ssz_snappy", hex.EncodeToString(digest[:]), subnet)
}

// applySubscriptions joins the wanted gossipsub topics and leaves the
// others; gossipsub announces each change to every connected peer.
func (n *node) applySubscriptions(digest [4]byte, att, sync map[uint64]bool) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	want := make(map[string]bool, len(att)+len(sync))
	for s := range att {
		want[attTopic(digest, s)] = true
	}
	for s := range sync {
		want[syncTopic(digest, s)] = true
	}
	for name, sub := range n.subs {
		if !want[name] {
			sub.Cancel()
			delete(n.subs, name)
		}
	}
	var firstErr error
	for name := range want {
		if _, ok := n.subs[name]; ok {
			continue
		}
		t, ok := n.topics[name]
		if !ok {
			var err error
			if t, err = n.ps.Join(name); err != nil {
				firstErr = cmpErr(firstErr, fmt.Errorf("node %d: join %s: %w", n.idx, name, err))
				continue
			}
			n.topics[name] = t
		}
		// Nothing publishes on a devnet; a one-message buffer is enough and
		// the subscription is never read.
		sub, err := t.Subscribe(pubsub.WithBufferSize(1))
		if err != nil {
			firstErr = cmpErr(firstErr, fmt.Errorf("node %d: subscribe %s: %w", n.idx, name, err))
			continue
		}
		n.subs[name] = sub
	}
	n.digest = digest
	n.attSubs, n.syncSubs = att, sync
	return firstErr
}

func cmpErr(first, next error) error {
	if first != nil {
		return first
	}
	return next
}

func sortedKeys(m map[uint64]bool) []uint64 {
	out := make([]uint64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (n *node) info() NodeInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	ni := NodeInfo{
		PeerID:             n.peerID.String(),
		NodeID:             hex.EncodeToString(n.id[:]),
		Validators:         n.validators,
		LongLivedSubnets:   slices.Clone(n.longLived),
		AllSubnets:         n.large,
		Client:             n.client,
		MetaData:           n.meta,
		SubscribedAttnets:  sortedKeys(n.attSubs),
		SubscribedSyncnets: sortedKeys(n.syncSubs),
		ForkDigest:         "0x" + hex.EncodeToString(n.digest[:]),
		IP:                 n.ip.String(),
		TCPPort:            n.tcpPort,
		UDPPort:            n.udpPort,
		QUICPort:           n.quicPort,
	}
	if n.ln != nil {
		ni.ENR = n.ln.Node().String()
	}
	return ni
}

// LocalStatus answers Status with the current digest and a head that
// follows the wall clock; roots are stand-ins derived from the slot.
func (n *node) LocalStatus() reqresp.Status {
	now := time.Now()
	slot := n.d.net.SlotAt(now)
	epoch := slot / n.d.net.Config.SlotsPerEpoch
	fin := uint64(0)
	if epoch >= 2 {
		fin = epoch - 2
	}
	return reqresp.Status{
		ForkDigest:     n.d.net.ForkDigest(epoch),
		FinalizedRoot:  n.d.sched.hashSeed("valtrack-devnet-finalized", fin),
		FinalizedEpoch: fin,
		HeadRoot:       n.d.sched.hashSeed("valtrack-devnet-head", slot),
		HeadSlot:       slot,
	}
}

// LocalMetaData answers MetaData.
func (n *node) LocalMetaData() reqresp.MetaData {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.meta
}

// OnStatus, OnPing and OnGoodbye: a devnet node has nothing to do with
// what peers tell it.
func (n *node) OnStatus(peer.ID, reqresp.Status, int) {}
func (n *node) OnPing(peer.ID, uint64)                {}
func (n *node) OnGoodbye(peer.ID, uint64)             {}

func (n *node) close() error {
	if n.disc != nil {
		n.disc.Close()
	}
	if n.host != nil {
		if err := n.host.Close(); err != nil {
			return fmt.Errorf("close node %d libp2p host: %w", n.idx, err)
		}
	}
	return nil
}
