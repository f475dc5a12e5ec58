package devnet

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/p2p/enode"
)

// Warm-up limits. Nodes start one after another and look the network up
// while it is still forming, so a late node is known at first only to the
// few nodes its own start-up lookups reached, often as a replacement in a
// full bucket. A crawler can only find a node that sits in some node's
// table; in a network that has run for a while that holds because every
// node's self-lookups have reached its nearest neighbours, whose buckets at
// that distance are sparse and take it. The warm-up brings the devnet to
// that state before Start returns.
//
// Later a node can fall out of every table: a holder that misses its
// revalidation ping (the machine stalls) drops it, and discv5 adds a node
// only when it completes a handshake, which it never repeats with a peer it
// already has a session with. Real networks heal through churn (restarts
// make new sessions and lookups spread the records again); the devnet
// stands in for that by checking every healInterval and handing each
// under-held node's record to its nearest neighbours.
const (
	// warmupNeighbours is how many of its nearest nodes (by XOR distance)
	// a node pings in one round; a discv5 node adds a node that completes
	// a handshake with it to its table.
	warmupNeighbours = 6
	// maxNeighbours bounds the neighbour list kept per node: the nodes it
	// may ping during the warm-up, and that may take it in when healed.
	maxNeighbours = 4 * warmupNeighbours
	// warmupHolders is how many other nodes' tables must hold each node
	// before the warm-up ends: one holder may drop it after a missed ping.
	warmupHolders = 2
	// warmupWorkers bounds the pings in flight: enough to hide the round
	// trips, few enough that a 500-node devnet on two cores answers in time.
	warmupWorkers = 16
	// warmupWait bounds the whole warm-up; a devnet that is not fully
	// connected by then still starts (and says so in the log).
	warmupWait = 60 * time.Second
	// healInterval is how often the running devnet checks that every node
	// is still held by warmupHolders tables.
	healInterval = 10 * time.Second
)

// neighbours is each node's nearest-first neighbour list and how far down
// it the node has pinged. The warm-up writes it; afterwards near is only read.
type neighbours struct {
	near [][]*node
	next []int
}

// warmup makes every node known to at least warmupHolders other nodes'
// tables: each node pings its nearest nodes, then nodes still held by too
// few ping their next nearest, until all are held, the lists are used up or
// warmupWait is over; a heal round places what is left.
func (d *Devnet) warmup(parent context.Context) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(parent, warmupWait)
	defer cancel()
	d.nb = neighbours{near: d.nearest(maxNeighbours), next: make([]int, len(d.nodes))}
	todo := d.nodes
	rounds, healed := 0, 0
	for len(todo) > 0 && ctx.Err() == nil {
		rounds++
		if !d.pingNeighbours(ctx, todo) {
			break
		}
		todo = d.underHeld(warmupHolders)
	}
	if len(todo) > 0 && ctx.Err() == nil {
		// Pings cannot place the rest: a node adds a peer only when that
		// peer opens their session, so of two nodes that are each other's
		// nearest, the one that pinged second is not taken in.
		healed = d.healOnce(warmupHolders)
		todo = d.underHeld(warmupHolders)
	}
	if parent.Err() != nil {
		// The start was given up (Ctrl-C, another domain failing): the
		// nodes are about to close, so how well they were held says nothing.
		d.o.Log.Debug("devnet warm-up stopped: the start was cancelled", "took", time.Since(start))
		return
	}
	if len(todo) > 0 {
		d.o.Log.Warn("devnet warm-up ended with nodes few discv5 tables hold; the heal loop keeps trying",
			"nodes", len(todo), "ping_rounds", rounds, "healed", healed, "took", time.Since(start))
		return
	}
	d.o.Log.Debug("devnet warm-up done", "ping_rounds", rounds, "healed", healed, "took", time.Since(start))
}

// heal re-introduces, every healInterval, the nodes that fewer than
// warmupHolders tables hold.
func (d *Devnet) heal(ctx context.Context) {
	defer d.loopWG.Done()
	t := time.NewTicker(healInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n := d.healOnce(warmupHolders); n > 0 {
			d.o.Log.Debug("devnet re-introduced nodes few discv5 tables held", "nodes", n)
		}
	}
}

// healOnce adds each node that fewer than minHolders tables hold to the
// tables of its nearest neighbours (those with room in that bucket) until
// warmupHolders more took it, and returns how many nodes needed it. go-ethereum offers AddKnownNode for
// tests; a devnet is a test network.
func (d *Devnet) healOnce(minHolders int) int {
	todo := d.underHeld(minHolders)
	for _, n := range todo {
		rec := n.ln.Node()
		added := 0
		for _, m := range d.nb.near[n.idx] {
			if added >= warmupHolders {
				break
			}
			if m.disc.AddKnownNode(rec) {
				added++
			}
		}
	}
	return len(todo)
}

// pingNeighbours has each node of todo ping its next warmupNeighbours
// nearest nodes. It reports false when none of them had any left.
func (d *Devnet) pingNeighbours(ctx context.Context, todo []*node) bool {
	var jobs [][2]*node
	// Two nodes pinging each other at once cross their handshakes and one
	// ping times out; after either ping they share a session, so the other
	// would add nothing anyway.
	paired := map[[2]int]bool{}
	for _, n := range todo {
		lo := d.nb.next[n.idx]
		hi := min(lo+warmupNeighbours, len(d.nb.near[n.idx]))
		for _, m := range d.nb.near[n.idx][lo:hi] {
			if paired[[2]int{m.idx, n.idx}] {
				continue
			}
			paired[[2]int{n.idx, m.idx}] = true
			jobs = append(jobs, [2]*node{n, m})
		}
		d.nb.next[n.idx] = hi
	}
	if len(jobs) == 0 {
		return false
	}
	start := time.Now()
	var failed atomic.Int64
	runPool(ctx, warmupWorkers, jobs, func(j [2]*node) {
		// A failed ping (timeout under load) leaves the node under-held;
		// the next round pings further neighbours.
		if _, err := j[0].disc.Ping(j[1].ln.Node()); err != nil {
			failed.Add(1)
		}
	})
	d.o.Log.Debug("devnet discv5 neighbour pings", "nodes", len(todo), "pings", len(jobs), "failed", failed.Load(), "took", time.Since(start))
	return true
}

// nearest lists, for each node, up to k other nodes by increasing XOR
// distance of their node ids, the order in which Kademlia lookups converge.
func (d *Devnet) nearest(k int) [][]*node {
	out := make([][]*node, len(d.nodes))
	type cand struct {
		dist enode.ID
		n    *node
	}
	cands := make([]cand, 0, len(d.nodes))
	for i, n := range d.nodes {
		cands = cands[:0]
		for _, m := range d.nodes {
			if m == n {
				continue
			}
			var x enode.ID
			for b := range x {
				x[b] = n.id[b] ^ m.id[b]
			}
			cands = append(cands, cand{x, m})
		}
		slices.SortFunc(cands, func(a, b cand) int { return bytes.Compare(a.dist[:], b.dist[:]) })
		for _, c := range cands[:min(k, len(cands))] {
			out[i] = append(out[i], c.n)
		}
	}
	return out
}

// underHeld returns the nodes that fewer than min other nodes' tables hold.
func (d *Devnet) underHeld(minHolders int) []*node {
	held := holders(d)
	var out []*node
	for _, n := range d.nodes {
		if held[n.id] < minHolders {
			out = append(out, n)
		}
	}
	return out
}

// holders counts, for every node id, the devnet tables that hold it.
func holders(d *Devnet) map[enode.ID]int {
	held := make(map[enode.ID]int, len(d.nodes))
	for _, n := range d.nodes {
		for _, m := range n.disc.AllNodes() {
			held[m.ID()]++
		}
	}
	return held
}

// runPool runs f over jobs with at most workers at once, stopping early
// when ctx ends.
func runPool[T any](ctx context.Context, workers int, jobs []T, f func(T)) {
	ch := make(chan T)
	var wg sync.WaitGroup
	for range min(workers, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				f(j)
			}
		}()
	}
	defer wg.Wait()
	defer close(ch)
	for _, j := range jobs {
		select {
		case ch <- j:
		case <-ctx.Done():
			return
		}
	}
}
