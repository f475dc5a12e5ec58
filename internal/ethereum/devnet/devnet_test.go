package devnet

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/p2p/discover"
	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	quic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/valtrack/valtrack/internal/ethereum/network"
	"github.com/valtrack/valtrack/internal/ethereum/reqresp"
)

const testNodes = 30

func startTestDevnet(t *testing.T) *Devnet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := Start(ctx, Options{
		Nodes:         testNodes,
		Dir:           t.TempDir(),
		SlotDuration:  time.Second,
		SlotsPerEpoch: 8,
		Seed:          7,
		Validators:    "0:30%,1-4:30%,5-32:20%,60-120:20%",
		Log:           slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return d
}

// TestDevnet runs one devnet and checks it from the outside, the way the
// sentry sees it.
func TestDevnet(t *testing.T) {
	d := startTestDevnet(t)
	t.Run("WarmTablesHoldEveryNode", func(t *testing.T) { testWarmTables(t, d) })
	t.Run("Files", func(t *testing.T) { testFiles(t, d) })
	t.Run("StatusAndMetaData", func(t *testing.T) { testStatusAndMetaData(t, d) })
	t.Run("GossipSubscriptions", func(t *testing.T) { testGossipSubscriptions(t, d) })
	t.Run("AggregatorDutySubscribeUnsubscribe", func(t *testing.T) { testDutySubscribeUnsubscribe(t, d) })
	t.Run("DiscoveryFindsEveryNode", func(t *testing.T) { testDiscovery(t, d) })
}

func testFiles(t *testing.T, d *Devnet) {
	for _, f := range []string{network.ConfigFile, network.BootnodesFile, network.GenesisFile, TruthFile} {
		if _, err := os.Stat(filepath.Join(d.Dir(), f)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	n, err := network.Load(d.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if n.Name != DefaultName || n.Config.SlotsPerEpoch != 8 || n.Config.SecondsPerSlot != time.Second {
		t.Fatalf("loaded network %s: %d slots of %s", n.Name, n.Config.SlotsPerEpoch, n.Config.SecondsPerSlot)
	}
	if !n.GenesisTime.Equal(d.Network().GenesisTime) || n.GenesisValidatorsRoot != d.Network().GenesisValidatorsRoot {
		t.Fatal("genesis.json differs from the running devnet")
	}
	if len(n.Bootnodes) != 3 || !slices.Equal(n.Bootnodes, d.Bootnodes()) {
		t.Fatalf("bootnodes %v, want the devnet's 3", n.Bootnodes)
	}
	digest := n.ForkDigest(n.EpochAt(time.Now()))
	nodes := d.Nodes()
	for _, ni := range nodes {
		if ni.ForkDigest != "0x"+hex.EncodeToString(digest[:]) {
			t.Fatalf("node %s uses digest %s, network.Load says %x", ni.PeerID, ni.ForkDigest, digest)
		}
	}
	tr, err := ReadTruth(d.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Nodes) != testNodes || tr.Network != DefaultName || tr.Seed != 7 {
		t.Fatalf("truth: %d nodes, network %q, seed %d", len(tr.Nodes), tr.Network, tr.Seed)
	}
	var sum uint64
	for i, tn := range tr.Nodes {
		if tn.PeerID != nodes[i].PeerID || tn.NodeID != nodes[i].NodeID || tn.Validators != nodes[i].Validators || tn.Client != nodes[i].Client {
			t.Fatalf("truth node %d = %+v, devnet node = %+v", i, tn, nodes[i])
		}
		sum += uint64(tn.Validators)
	}
	if sum != tr.TotalValidators || sum != n.ActiveValidators {
		t.Fatalf("validators: sum %d, total %d, genesis active %d", sum, tr.TotalValidators, n.ActiveValidators)
	}
}

type subEvent struct {
	topic      string
	subscribed bool
	at         time.Time
}

// subTracer records the SUBSCRIBE/UNSUBSCRIBE announcements a test host
// receives; the host talks to one devnet node only, so every announcement
// is that node's.
type subTracer struct {
	mu     sync.Mutex
	events []subEvent
	state  map[string]bool
}

func (s *subTracer) RecvRPC(rpc *pubsub.RPC) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sub := range rpc.GetSubscriptions() {
		s.events = append(s.events, subEvent{sub.GetTopicid(), sub.GetSubscribe(), time.Now()})
		s.state[sub.GetTopicid()] = sub.GetSubscribe()
	}
}

func (s *subTracer) subnets(kind string) []uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	re := regexp.MustCompile(`^/eth2/[0-9a-f]{8}/` + kind + `_(\d+)/ssz_snappy$`)
	var out []uint64
	for topic, on := range s.state {
		if m := re.FindStringSubmatch(topic); on && m != nil {
			n, _ := strconv.ParseUint(m[1], 10, 64)
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

func (s *subTracer) AddPeer(peer.ID, protocol.ID)          {}
func (s *subTracer) RemovePeer(peer.ID)                    {}
func (s *subTracer) Join(string)                           {}
func (s *subTracer) Leave(string)                          {}
func (s *subTracer) Graft(peer.ID, string)                 {}
func (s *subTracer) Prune(peer.ID, string)                 {}
func (s *subTracer) ValidateMessage(*pubsub.Message)       {}
func (s *subTracer) DeliverMessage(*pubsub.Message)        {}
func (s *subTracer) RejectMessage(*pubsub.Message, string) {}
func (s *subTracer) DuplicateMessage(*pubsub.Message)      {}
func (s *subTracer) ThrottlePeer(peer.ID)                  {}
func (s *subTracer) SendRPC(*pubsub.RPC, peer.ID)          {}
func (s *subTracer) DropRPC(*pubsub.RPC, peer.ID)          {}
func (s *subTracer) UndeliverableMessage(*pubsub.Message)  {}

func newTestHost(t *testing.T) host.Host {
	t.Helper()
	h, err := libp2p.New(
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(quic.NewTransport),
		libp2p.DisableRelay(),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func connect(t *testing.T, h host.Host, ni NodeInfo, useQUIC bool) peer.ID {
	t.Helper()
	id, err := peer.Decode(ni.PeerID)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("/ip4/%s/tcp/%d", ni.IP, ni.TCPPort)
	if useQUIC {
		addr = fmt.Sprintf("/ip4/%s/udp/%d/quic-v1", ni.IP, ni.QUICPort)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Connect(ctx, peer.AddrInfo{ID: id, Addrs: []ma.Multiaddr{ma.StringCast(addr)}}); err != nil {
		t.Fatalf("connect to %s over %s: %v", ni.PeerID, addr, err)
	}
	return id
}

func testStatusAndMetaData(t *testing.T, d *Devnet) {
	nodes := d.Nodes()
	var tcpNode, quicNode = -1, -1
	for i, ni := range nodes {
		if ni.QUICPort != 0 && quicNode < 0 {
			quicNode = i
		}
		if ni.Validators > 0 && tcpNode < 0 {
			tcpNode = i
		}
	}
	if quicNode < 0 || tcpNode < 0 {
		t.Fatalf("no QUIC node (%d) or no node with validators (%d)", quicNode, tcpNode)
	}
	for _, c := range []struct {
		idx     int
		useQUIC bool
	}{{tcpNode, false}, {quicNode, true}} {
		h := newTestHost(t)
		id := connect(t, h, nodes[c.idx], c.useQUIC)
		cl := &reqresp.Client{Host: h, Opts: reqresp.Options{TTFBTimeout: 3 * time.Second, RespTimeout: 3 * time.Second}}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		st, _, err := cl.Status(ctx, id, reqresp.Status{ForkDigest: d.Network().ForkDigest(0)})
		if err != nil {
			cancel()
			t.Fatalf("status from node %d: %v", c.idx, err)
		}
		if want := d.Network().ForkDigest(d.Network().EpochAt(time.Now())); st.ForkDigest != want {
			t.Fatalf("status digest %x, want %x", st.ForkDigest, want)
		}
		if now := d.Network().SlotAt(time.Now()); st.HeadSlot+1 < now || st.HeadSlot > now {
			t.Fatalf("head slot %d, wall clock slot %d", st.HeadSlot, now)
		}
		// MetaData may change at an epoch boundary between the two reads;
		// a few tries rule that out.
		var md reqresp.MetaData
		var want reqresp.MetaData
		for try := 0; try < 3; try++ {
			md, _, err = cl.MetaData(ctx, id)
			if err != nil {
				cancel()
				t.Fatalf("metadata from node %d: %v", c.idx, err)
			}
			want = d.Nodes()[c.idx].MetaData
			if md == want {
				break
			}
		}
		cancel()
		if md != want {
			t.Fatalf("metadata %+v, NodeInfo says %+v", md, want)
		}
		if md.SeqNumber == 0 || md.CustodyGroupCount == 0 {
			t.Fatalf("metadata without seq or custody: %+v", md)
		}
		if ag, err := h.Peerstore().Get(id, "AgentVersion"); err != nil || ag != nodes[c.idx].Client {
			t.Fatalf("identify agent %v (%v), want %q", ag, err, nodes[c.idx].Client)
		}
	}
}

func watchNode(t *testing.T, ni NodeInfo) *subTracer {
	t.Helper()
	h := newTestHost(t)
	tr := &subTracer{state: map[string]bool{}}
	if _, err := pubsub.NewGossipSub(t.Context(), h, pubsub.WithRawTracer(tr)); err != nil {
		t.Fatal(err)
	}
	connect(t, h, ni, false)
	return tr
}

func testGossipSubscriptions(t *testing.T, d *Devnet) {
	// A node with validators and one large node: their announcements must
	// match what the devnet says they are subscribed to.
	nodes := d.Nodes()
	picked := []int{}
	for i, ni := range nodes {
		if ni.AllSubnets {
			picked = append(picked, i)
			break
		}
	}
	for i, ni := range nodes {
		if ni.Validators > 0 && !ni.AllSubnets {
			picked = append(picked, i)
			break
		}
	}
	for _, idx := range picked {
		tr := watchNode(t, nodes[idx])
		deadline := time.Now().Add(10 * time.Second)
		for {
			ni := d.Nodes()[idx]
			gotAtt, gotSync := tr.subnets("beacon_attestation"), tr.subnets("sync_committee")
			if slices.Equal(gotAtt, ni.SubscribedAttnets) && slices.Equal(gotSync, ni.SubscribedSyncnets) && len(gotAtt) > 0 {
				if ni.AllSubnets && len(gotAtt) != 64 {
					t.Fatalf("large node announces %d attestation subnets", len(gotAtt))
				}
				for _, s := range ni.LongLivedSubnets {
					if !slices.Contains(gotAtt, s) {
						t.Fatalf("long-lived subnet %d not announced: %v", s, gotAtt)
					}
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %d announces attnets %v syncnets %v, NodeInfo says %v %v", idx, gotAtt, gotSync, ni.SubscribedAttnets, ni.SubscribedSyncnets)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func testDutySubscribeUnsubscribe(t *testing.T, d *Devnet) {
	nodes := d.Nodes()
	best := -1
	for i, ni := range nodes {
		if !ni.AllSubnets && (best < 0 || ni.Validators > nodes[best].Validators) {
			best = i
		}
	}
	tr := watchNode(t, nodes[best])
	digest := d.Network().ForkDigest(0)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		ll := d.Nodes()[best].LongLivedSubnets
		tr.mu.Lock()
		events := slices.Clone(tr.events)
		tr.mu.Unlock()
		subscribedAt := map[string]time.Time{}
		for _, ev := range events {
			if ev.subscribed {
				subscribedAt[ev.topic] = ev.at
				continue
			}
			at, ok := subscribedAt[ev.topic]
			if !ok {
				continue
			}
			var subnet uint64
			if _, err := fmt.Sscanf(ev.topic, "/eth2/"+hex.EncodeToString(digest[:])+"/beacon_attestation_%d/ssz_snappy", &subnet); err != nil || slices.Contains(ll, subnet) {
				continue
			}
			// The devnet's own duty list must explain the subscription: a
			// duty on that subnet in the slot after it began, or, for the
			// snapshot gossipsub sends on connect, one already running
			// (or just ended, when we connected at a slot boundary).
			slot := d.Network().SlotAt(at)
			explained := false
			for s := max(slot, 1) - 1; s <= slot+1; s++ {
				for _, du := range d.AggregatorDuties(s / 8) {
					if du.Node == best && du.Subnet == subnet && du.Slot == s {
						explained = true
					}
				}
			}
			if !explained {
				t.Fatalf("subnet %d subscribed at slot %d with no duty of node %d there", subnet, slot, best)
			}
			return
		}
	}
	t.Fatalf("node %d (%d validators) never subscribed to and left a short-lived subnet", best, nodes[best].Validators)
}

func testDiscovery(t *testing.T, d *Devnet) {
	n, err := network.Load(d.Dir())
	if err != nil {
		t.Fatal(err)
	}
	var boot []*enode.Node
	for _, s := range n.Bootnodes {
		bn, err := enode.Parse(enode.ValidSchemes, s)
		if err != nil {
			t.Fatal(err)
		}
		boot = append(boot, bn)
	}
	key, err := gcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	disc := startTestDiscv5(t, key, boot)
	want := map[string]bool{}
	for _, ni := range d.Nodes() {
		want[ni.NodeID] = true
	}
	found := map[enode.ID]*enode.Node{}
	for _, b := range boot {
		found[b.ID()] = b
	}
	queried := map[enode.ID]bool{}
	deadline := time.Now().Add(25 * time.Second)
	for time.Now().Before(deadline) {
		progress := false
		for id, nd := range found {
			if queried[id] {
				continue
			}
			queried[id] = true
			progress = true
			for dist := uint(256); dist >= 245; dist-- {
				res, err := disc.Findnode(nd, []uint{dist})
				if err != nil {
					continue
				}
				for _, r := range res {
					found[r.ID()] = r
				}
			}
		}
		missing := 0
		for id := range want {
			var eid enode.ID
			copy(eid[:], mustHex(t, id))
			if found[eid] == nil {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if !progress {
			// Tables are still filling; ask everyone again.
			clear(queried)
			time.Sleep(500 * time.Millisecond)
		}
	}
	t.Fatalf("crawl from the bootnodes found %d records, not all %d nodes", len(found), testNodes)
}

func mustHex(t *testing.T, s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func startTestDiscv5(t *testing.T, key *ecdsa.PrivateKey, boot []*enode.Node) *discover.UDPv5 {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	db, err := enode.OpenDB("")
	if err != nil {
		t.Fatal(err)
	}
	ln := enode.NewLocalNode(db, key)
	ln.SetStaticIP(net.IPv4(127, 0, 0, 1))
	ln.SetFallbackUDP(conn.LocalAddr().(*net.UDPAddr).Port)
	disc, err := discover.ListenV5(conn, ln, discover.Config{PrivateKey: key, Bootnodes: boot})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { disc.Close(); db.Close() })
	return disc
}

// TestStartRefusesARunningDevnet: a second devnet on the directory of one
// that runs is refused before it writes anything (genesis.json,
// bootstrap_nodes.txt and truth.json stay the running one's); once the
// first stops, its files are stale and a new devnet replaces them.
func TestStartRefusesARunningDevnet(t *testing.T) {
	dir := t.TempDir()
	opts := func(seed int64) Options {
		return Options{Nodes: 4, Dir: dir, SlotDuration: time.Second, SlotsPerEpoch: 8, Seed: seed, Log: slog.New(slog.DiscardHandler)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	first, err := Start(ctx, opts(1))
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	files := []string{network.GenesisFile, network.BootnodesFile, network.ConfigFile, TruthFile}
	read := func() map[string]string {
		m := map[string]string{}
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			m[f] = string(b)
		}
		return m
	}
	before := read()
	second, err := Start(ctx, opts(2))
	if err == nil {
		second.Close()
		t.Fatal("a second devnet started on the directory of a running one")
	}
	for _, want := range []string{"a devnet is already running in " + dir, "stop it first, or give another directory"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	after := read()
	for _, f := range files {
		if before[f] != after[f] {
			t.Errorf("the refused start changed %s", f)
		}
	}

	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	third, err := Start(ctx, opts(3))
	if err != nil {
		t.Fatalf("start on a stopped devnet's directory: %v", err)
	}
	defer third.Close()
	if got := read()[network.BootnodesFile]; got == before[network.BootnodesFile] {
		t.Fatal("bootstrap_nodes.txt still names the stopped devnet's nodes")
	}
}
