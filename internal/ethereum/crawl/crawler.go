package crawl

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/p2p/discover"
	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/ethereum/go-ethereum/p2p/enr"
)

// Stats are the crawler's counters.
type Stats struct {
	Known         int    // nodes tracked
	Changed       uint64 // sightings that were new nodes or newer ENRs
	Queries       uint64 // FINDNODE requests sent
	QueryFailures uint64 // requests that failed (timeout, bad response)
	Swept         uint64 // nodes whose table was swept at least once
	Dropped       uint64 // nodes not tracked because MaxNodes was reached
}

type nodeState struct {
	node     *enode.Node
	lastSeen time.Time
	next     time.Time // next sweep; zero while queued or not followed
	queued   bool
	swept    bool
	sweeps   int // successful sweeps, for the growing requery delay
	failures int
}

// Crawler crawls one discv5 network.
type Crawler struct {
	cfg  Config
	conn *net.UDPConn
	ln   *enode.LocalNode
	db   *enode.DB
	disc *discover.UDPv5

	mu    sync.Mutex
	nodes map[enode.ID]*nodeState
	queue []enode.ID
	wake  chan struct{}

	changed, queries, failures, swept, dropped atomic.Uint64
	closeOnce                                  sync.Once
}

// New binds the UDP socket and starts the discv5 protocol; crawling starts
// with Run.
func New(cfg Config) (*Crawler, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	addr, err := net.ResolveUDPAddr("udp", cfg.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("crawl: resolve listen address %q: %w (use ip:port)", cfg.ListenAddr, err)
	}
	conn, err := net.ListenUDP("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("crawl: listen udp %s: %w (is the port in use?)", cfg.ListenAddr, err)
	}
	db, err := enode.OpenDB("")
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("crawl: open node database: %w", err)
	}
	ln := enode.NewLocalNode(db, cfg.PrivateKey)
	local := conn.LocalAddr().(*net.UDPAddr)
	ip := net.ParseIP(cfg.AnnounceIP)
	if ip == nil {
		ip = local.IP
	}
	if ip == nil || ip.IsUnspecified() {
		ln.SetFallbackIP(net.IPv4(127, 0, 0, 1))
	} else {
		ln.SetStaticIP(ip)
	}
	ln.SetFallbackUDP(local.Port)
	for _, e := range cfg.Entries {
		ln.Set(e)
	}
	disc, err := discover.ListenV5(conn, ln, discover.Config{
		PrivateKey:    cfg.PrivateKey,
		Bootnodes:     cfg.Bootnodes,
		V5RespTimeout: cfg.RespTimeout,
	})
	if err != nil {
		conn.Close()
		db.Close()
		return nil, fmt.Errorf("crawl: start discv5: %w", err)
	}
	return &Crawler{
		cfg:   cfg,
		conn:  conn,
		ln:    ln,
		db:    db,
		disc:  disc,
		nodes: make(map[enode.ID]*nodeState),
		wake:  make(chan struct{}, 1),
	}, nil
}

// Self is our current signed node record.
func (c *Crawler) Self() *enode.Node { return c.ln.Node() }

// LocalNode is our local node, whose entries may be changed (fork boundaries).
func (c *Crawler) LocalNode() *enode.LocalNode { return c.ln }

// SetEntry sets (or replaces) an entry of our ENR; the sequence number grows.
func (c *Crawler) SetEntry(e enr.Entry) { c.ln.Set(e) }

// Add seeds a known node (for instance from the peerstore after a restart).
func (c *Crawler) Add(n *enode.Node) { c.observe(n) }

// Stats returns the counters.
func (c *Crawler) Stats() Stats {
	c.mu.Lock()
	known := len(c.nodes)
	c.mu.Unlock()
	return Stats{
		Known:         known,
		Changed:       c.changed.Load(),
		Queries:       c.queries.Load(),
		QueryFailures: c.failures.Load(),
		Swept:         c.swept.Load(),
		Dropped:       c.dropped.Load(),
	}
}

// Nodes returns the newest record of every tracked node.
func (c *Crawler) Nodes() []*enode.Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*enode.Node, 0, len(c.nodes))
	for _, st := range c.nodes {
		out = append(out, st.node)
	}
	return out
}

// Run crawls until ctx is done, then closes the socket.
func (c *Crawler) Run(ctx context.Context) error {
	defer c.Close()
	for _, n := range c.cfg.Bootnodes {
		c.observe(n)
	}
	var wg sync.WaitGroup
	for range c.cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.worker(ctx)
		}()
	}
	if !c.cfg.NoWalk {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.walk(ctx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.schedule(ctx)
	}()
	<-ctx.Done()
	c.Close() // unblocks requests in flight
	wg.Wait()
	return nil
}

// Close stops discv5 and releases the socket; safe to call twice.
func (c *Crawler) Close() {
	c.closeOnce.Do(func() {
		c.disc.Close()
		c.db.Close()
	})
}

// observe records a sighting and queues the node's table for a sweep when
// the node is new.
func (c *Crawler) observe(n *enode.Node) {
	if n == nil || n.ID() == c.ln.ID() {
		return
	}
	follow := c.cfg.Follow == nil || c.cfg.Follow(n)
	now := time.Now()
	c.mu.Lock()
	st, ok := c.nodes[n.ID()]
	changed := false
	switch {
	case !ok:
		if len(c.nodes) >= c.cfg.MaxNodes {
			c.mu.Unlock()
			c.dropped.Add(1)
			return
		}
		st = &nodeState{node: n}
		c.nodes[n.ID()] = st
		changed = true
	case n.Seq() > st.node.Seq():
		st.node = n
		changed = true
	}
	st.lastSeen = now
	latest := st.node
	if follow && !st.queued && !st.swept && st.next.IsZero() {
		c.enqueueLocked(st)
	}
	c.mu.Unlock()
	if changed {
		c.changed.Add(1)
	}
	if c.cfg.OnNode != nil {
		c.cfg.OnNode(latest, changed)
	}
}

func (c *Crawler) enqueueLocked(st *nodeState) {
	st.queued = true
	st.next = time.Time{}
	c.queue = append(c.queue, st.node.ID())
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *Crawler) dequeue() (*nodeState, *enode.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.queue) > 0 {
		id := c.queue[0]
		c.queue[0] = enode.ID{}
		c.queue = c.queue[1:]
		if st, ok := c.nodes[id]; ok {
			return st, st.node
		}
	}
	return nil, nil
}

func (c *Crawler) worker(ctx context.Context) {
	for ctx.Err() == nil {
		st, n := c.dequeue()
		if st == nil {
			select {
			case <-ctx.Done():
				return
			case <-c.wake:
			case <-time.After(time.Second):
			}
			continue
		}
		// Keep other idle workers awake while the queue is not empty.
		select {
		case c.wake <- struct{}{}:
		default:
		}
		err := c.sweep(ctx, st, n)
		c.mu.Lock()
		st.queued = false
		var delay time.Duration
		if err != nil {
			st.failures++
			// A timeout is often load, not death: retry soon, then back off
			// exponentially (capped) so a dead node costs little.
			delay = min(c.cfg.FirstRequery<<min(st.failures-1, 20), c.cfg.Requery*maxBackoffFactor)
		} else {
			st.failures = 0
			if !st.swept {
				c.swept.Add(1)
			}
			st.swept = true
			// Tables fill (and their entries get validated) while a network
			// forms or we join it: sweep again soon, then less and less often.
			delay = min(c.cfg.FirstRequery<<min(st.sweeps, 20), c.cfg.Requery)
			st.sweeps++
		}
		st.next = time.Now().Add(delay)
		c.mu.Unlock()
	}
}

// sweep refreshes the node's record and asks for its table, bucket by bucket.
func (c *Crawler) sweep(ctx context.Context, st *nodeState, n *enode.Node) error {
	if _, ok := n.UDPEndpoint(); !ok {
		return fmt.Errorf("node %s has no UDP endpoint", n.ID().TerminalString())
	}
	c.mu.Lock()
	again := st.swept
	c.mu.Unlock()
	if again {
		c.queries.Add(1)
		fresh, err := c.disc.RequestENR(n)
		if err != nil {
			c.failures.Add(1)
			return err
		}
		c.observe(fresh)
		if fresh.Seq() > n.Seq() {
			n = fresh
		}
	}
	// Buckets are asked one by one from the top while they are well filled;
	// once one holds few nodes the deeper ones together hold about as many,
	// so they are asked in one request (half the round trips of a sweep).
	// A merged answer near the response limit may be cut short: then the
	// rest is asked bucket by bucket after all.
	empties, sparse, merge := 0, false, true
	for d := topDistance; d >= bottomDistance && empties < c.cfg.EmptyStop; {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		lo := d
		if merge && sparse {
			lo = bottomDistance
		}
		found, err := c.findnode(n, sweepDistances(d, lo))
		if err != nil {
			// What this node's deeper buckets hold is unknown: the sweep
			// failed and is retried soon (found nodes are kept).
			return fmt.Errorf("findnode distances %d-%d at %s: %w", d, lo, n.ID().TerminalString(), err)
		}
		for _, m := range found {
			c.observe(m)
		}
		if lo < d {
			if len(found) < mergedFullAt {
				return nil
			}
			merge = false
			continue
		}
		sparse = len(found) < sparseBucket
		if len(found) == 0 {
			empties++
		} else {
			empties = 0
		}
		d--
	}
	return nil
}

// sweepDistances is the FINDNODE distance list for the buckets hi down to lo.
// go-ethereum keeps one bucket for every distance up to bottomDistance and
// answers any of them with all of it, but its client drops a returned node
// whose distance was not asked for: a request reaching the bottom also names
// the distances just below, so their (rare) nodes are kept.
func sweepDistances(hi, lo int) []uint {
	if lo == bottomDistance {
		lo -= deepDistances - 1
	}
	out := make([]uint, 0, hi-lo+1)
	for d := hi; d >= lo; d-- {
		out = append(out, uint(d))
	}
	return out
}

// findnode asks one bucket, trying again once after a failure: under load a
// single lost packet or late answer is common, and giving up would skip the
// rest of the node's table until its next sweep.
func (c *Crawler) findnode(n *enode.Node, dists []uint) ([]*enode.Node, error) {
	var err error
	for range findnodeAttempts {
		c.queries.Add(1)
		var found []*enode.Node
		if found, err = c.disc.Findnode(n, dists); err == nil {
			return found, nil
		}
		c.failures.Add(1)
	}
	return nil, err
}

// walk runs random lookups; they find nodes through the lookup path and keep
// our own table (which answers peers' FINDNODE) fresh.
func (c *Crawler) walk(ctx context.Context) {
	it := c.disc.RandomNodes()
	go func() {
		<-ctx.Done()
		it.Close()
	}()
	for it.Next() {
		c.observe(it.Node())
		select {
		case <-ctx.Done():
			return
		case <-time.After(c.cfg.WalkPause):
		}
	}
}

// schedule re-queues nodes whose requery time has come.
func (c *Crawler) schedule(ctx context.Context) {
	tick := min(max(c.cfg.Requery/10, 50*time.Millisecond), time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			// Nodes that contacted us (their lookups) land in our table.
			for _, n := range c.disc.AllNodes() {
				c.observe(n)
			}
			c.mu.Lock()
			for _, st := range c.nodes {
				if !st.queued && !st.next.IsZero() && now.After(st.next) {
					c.enqueueLocked(st)
				}
			}
			c.mu.Unlock()
		}
	}
}
