package crawl

import (
	"context"
	"crypto/ecdsa"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/p2p/discover"
	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/ethereum/go-ethereum/p2p/enr"
)

type testNode struct {
	disc *discover.UDPv5
	ln   *enode.LocalNode
	db   *enode.DB
}

func startNode(t *testing.T, entries ...enr.Entry) *testNode {
	t.Helper()
	return startNodeWithKey(t, newKey(t), entries...)
}

func startNodeWithKey(t *testing.T, key *ecdsa.PrivateKey, entries ...enr.Entry) *testNode {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	db, _ := enode.OpenDB("")
	ln := enode.NewLocalNode(db, key)
	ln.SetStaticIP(net.IPv4(127, 0, 0, 1))
	ln.SetFallbackUDP(conn.LocalAddr().(*net.UDPAddr).Port)
	for _, e := range entries {
		ln.Set(e)
	}
	// Liveness checks are off so the hand-built tables below answer at once.
	d, err := discover.ListenV5(conn, ln, discover.Config{PrivateKey: key, NoFindnodeLivenessCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	n := &testNode{disc: d, ln: ln, db: db}
	t.Cleanup(func() { d.Close(); db.Close() })
	return n
}

type sightings struct {
	mu      sync.Mutex
	changed map[enode.ID]uint64
}

func (s *sightings) on(n *enode.Node, changed bool) {
	if !changed {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changed[n.ID()] = n.Seq()
}

func (s *sightings) seq(id enode.ID) (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.changed[id]
	return v, ok
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCrawlerReachesEveryNodeOfAChain builds a network where node i only
// knows node i+1: a random sample would miss most of it, a table sweep
// reaches the end of the chain from the first node.
func TestCrawlerReachesEveryNodeOfAChain(t *testing.T) {
	const n = 20
	nodes := make([]*testNode, n)
	for i := range nodes {
		nodes[i] = startNode(t)
	}
	for i := 0; i+1 < n; i++ {
		nodes[i].disc.AddKnownNode(nodes[i+1].ln.Node())
	}
	seen := &sightings{changed: map[enode.ID]uint64{}}
	c, err := New(Config{
		PrivateKey: newKey(t),
		ListenAddr: "127.0.0.1:0",
		Bootnodes:  []*enode.Node{nodes[0].ln.Node()},
		EmptyStop:  bottomDistance, // sweep every bucket: the single neighbour may sit anywhere
		Requery:    time.Hour,
		OnNode:     seen.on,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	waitFor(t, 20*time.Second, "every node of the chain", func() bool {
		for _, tn := range nodes {
			if _, ok := seen.seq(tn.ln.ID()); !ok {
				return false
			}
		}
		return true
	})
	if st := c.Stats(); st.Known < n || st.Swept == 0 || st.Queries == 0 {
		t.Fatalf("stats %+v: want known >= %d and sweeps/queries counted", st, n)
	}
}

// TestCrawlerReportsNewerENR checks that a grown ENR seq is reported again,
// found on the requery of a known node.
func TestCrawlerReportsNewerENR(t *testing.T) {
	a := startNode(t)
	seen := &sightings{changed: map[enode.ID]uint64{}}
	c, err := New(Config{
		PrivateKey: newKey(t),
		ListenAddr: "127.0.0.1:0",
		Bootnodes:  []*enode.Node{a.ln.Node()},
		Requery:    100 * time.Millisecond,
		OnNode:     seen.on,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	first := a.ln.Node().Seq()
	waitFor(t, 10*time.Second, "first sighting", func() bool { _, ok := seen.seq(a.ln.ID()); return ok })
	a.ln.Set(enr.WithEntry("attnets", []byte{1, 2, 3, 4, 5, 6, 7, 8}))
	grown := a.ln.Node().Seq()
	if grown <= first {
		t.Fatalf("seq did not grow: %d -> %d", first, grown)
	}
	waitFor(t, 10*time.Second, "newer ENR", func() bool { s, _ := seen.seq(a.ln.ID()); return s == grown })
}

// TestCrawlerFollowFilter checks that a node refused by Follow is reported
// but its table is not crawled.
func TestCrawlerFollowFilter(t *testing.T) {
	foreign := startNode(t, enr.WithEntry("eth2", []byte{9, 9, 9, 9}))
	hidden := startNode(t)
	foreign.disc.AddKnownNode(hidden.ln.Node())
	seen := &sightings{changed: map[enode.ID]uint64{}}
	c, err := New(Config{
		PrivateKey: newKey(t),
		ListenAddr: "127.0.0.1:0",
		Bootnodes:  []*enode.Node{foreign.ln.Node()},
		EmptyStop:  bottomDistance,
		Requery:    time.Hour,
		NoWalk:     true,
		Follow: func(n *enode.Node) bool {
			var raw []byte
			return n.Load(enr.WithEntry("eth2", &raw)) != nil // follow nodes without eth2 9999
		},
		OnNode: seen.on,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	waitFor(t, 10*time.Second, "foreign node reported", func() bool { _, ok := seen.seq(foreign.ln.ID()); return ok })
	time.Sleep(300 * time.Millisecond) // give a wrongful sweep the time to happen
	cancel()
	<-done
	if _, ok := seen.seq(hidden.ln.ID()); ok {
		t.Fatal("the table of a node refused by Follow was crawled")
	}
	if st := c.Stats(); st.Swept != 0 {
		t.Fatalf("swept %d nodes, want 0", st.Swept)
	}
}

// keyAtDistance draws keys until one's node id lies at log distance dist
// from target (about 2^(257-dist) draws).
func keyAtDistance(t *testing.T, target enode.ID, dist int) *ecdsa.PrivateKey {
	t.Helper()
	for range 1 << 16 {
		k := newKey(t)
		if enode.LogDist(target, enode.PubkeyToIDV4(&k.PublicKey)) == dist {
			return k
		}
	}
	t.Fatalf("no key at distance %d found", dist)
	return nil
}

// TestCrawlerSweepsCutMergedAnswerBucketByBucket gives the only followed
// node a sparse bucket above a full one: the merged request for the deep
// buckets comes back at the 16-node limit, and the sweep must then ask
// bucket by bucket to get every node.
func TestCrawlerSweepsCutMergedAnswerBucketByBucket(t *testing.T) {
	hubKey := newKey(t)
	hub := startNodeWithKey(t, hubKey)
	layout := map[int]int{252: 2, 250: 16, 249: 4} // distance -> nodes
	var want []*testNode
	for dist, count := range layout {
		for range count {
			tn := startNodeWithKey(t, keyAtDistance(t, hub.ln.ID(), dist))
			if !hub.disc.AddKnownNode(tn.ln.Node()) {
				t.Fatalf("hub refused a node at distance %d", dist)
			}
			want = append(want, tn)
		}
	}
	seen := &sightings{changed: map[enode.ID]uint64{}}
	c, err := New(Config{
		PrivateKey: newKey(t),
		ListenAddr: "127.0.0.1:0",
		Bootnodes:  []*enode.Node{hub.ln.Node()},
		Requery:    time.Hour,
		NoWalk:     true,
		Follow:     func(n *enode.Node) bool { return n.ID() == hub.ln.ID() },
		OnNode:     seen.on,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, 10*time.Second, "every node of the hub's table", func() bool {
		for _, tn := range want {
			if _, ok := seen.seq(tn.ln.ID()); !ok {
				return false
			}
		}
		return true
	})
}

func TestSweepDistances(t *testing.T) {
	for _, tc := range []struct {
		hi, lo int
		want   []uint
	}{
		{256, 256, []uint{256}},
		{243, 241, []uint{243, 242, 241}},
		// The bottom request reaches below go-ethereum's merged bucket.
		{241, 240, []uint{241, 240, 239, 238, 237}},
		{240, 240, []uint{240, 239, 238, 237}},
	} {
		if got := sweepDistances(tc.hi, tc.lo); !slices.Equal(got, tc.want) {
			t.Errorf("sweepDistances(%d, %d) = %v, want %v", tc.hi, tc.lo, got, tc.want)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	if _, err := New(Config{ListenAddr: "127.0.0.1:0"}); err == nil {
		t.Fatal("missing key accepted")
	}
	if _, err := New(Config{PrivateKey: newKey(t)}); err == nil {
		t.Fatal("missing listen address accepted")
	}
	if _, err := New(Config{PrivateKey: newKey(t), ListenAddr: "127.0.0.1:0", Concurrency: -1}); err == nil {
		t.Fatal("negative concurrency accepted")
	}
}
