package devnet

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/ethereum/go-ethereum/p2p/enode"
)

// testWarmTables checks the state Start promises: every node sits in the
// discv5 tables of at least warmupHolders other nodes, so a crawler that
// asks every node for its table finds them all.
func testWarmTables(t *testing.T, d *Devnet) {
	if under := d.underHeld(warmupHolders); len(under) > 0 {
		t.Fatalf("%d of %d nodes are held by fewer than %d other tables after Start, e.g. node %d",
			len(under), len(d.nodes), warmupHolders, under[0].idx)
	}
}

// standaloneDevnet is a Devnet of n bare discv5 nodes with empty tables
// (no bootnodes, no libp2p): enough for the warm-up and heal logic.
func standaloneDevnet(t *testing.T, n int) *Devnet {
	d := &Devnet{o: Options{Log: slog.New(slog.DiscardHandler)}}
	for i := range n {
		key, err := deriveKey(11, i)
		if err != nil {
			t.Fatal(err)
		}
		disc := startTestDiscv5(t, key, nil)
		d.nodes = append(d.nodes, &node{idx: i, id: disc.Self().ID(), disc: disc, ln: disc.LocalNode()})
	}
	d.nb = neighbours{near: d.nearest(maxNeighbours), next: make([]int, n)}
	return d
}

// TestHealAddsUnderHeldNodes: nodes that no table holds (as after missed
// revalidation pings) are handed to their nearest neighbours.
func TestHealAddsUnderHeldNodes(t *testing.T) {
	d := standaloneDevnet(t, 6)
	if got := len(d.underHeld(1)); got != len(d.nodes) {
		t.Fatalf("%d nodes in no table before healing, want all %d", got, len(d.nodes))
	}
	if n := d.healOnce(warmupHolders); n != len(d.nodes) {
		t.Fatalf("heal round handled %d nodes, want %d", n, len(d.nodes))
	}
	if under := d.underHeld(warmupHolders); len(under) > 0 {
		t.Fatalf("%d nodes held by fewer than %d tables after healing", len(under), warmupHolders)
	}
	if n := d.healOnce(warmupHolders); n != 0 {
		t.Fatalf("second heal round handled %d nodes, want 0", n)
	}
}

// TestWarmupPutsEveryNodeInTables: pings alone (no lookups) make every
// node of an unconnected set held by warmupHolders tables.
func TestWarmupPutsEveryNodeInTables(t *testing.T) {
	d := standaloneDevnet(t, 10)
	d.warmup(context.Background())
	if under := d.underHeld(warmupHolders); len(under) > 0 {
		t.Fatalf("%d nodes held by fewer than %d tables after the warm-up", len(under), warmupHolders)
	}
}

func TestNearestOrdersByXORDistance(t *testing.T) {
	d := &Devnet{}
	for i := range 12 {
		key, err := deriveKey(3, i)
		if err != nil {
			t.Fatal(err)
		}
		d.nodes = append(d.nodes, &node{idx: i, id: enode.PubkeyToIDV4(&key.PublicKey)})
	}
	const k = 5
	near := d.nearest(k)
	for i, n := range d.nodes {
		got := near[i]
		if len(got) != k {
			t.Fatalf("node %d: %d neighbours, want %d", i, len(got), k)
		}
		xor := func(m *node) []byte {
			var x enode.ID
			for b := range x {
				x[b] = n.id[b] ^ m.id[b]
			}
			return x[:]
		}
		for j, m := range got {
			if m == n {
				t.Fatalf("node %d lists itself as a neighbour", i)
			}
			if j > 0 && bytes.Compare(xor(got[j-1]), xor(m)) >= 0 {
				t.Fatalf("node %d: neighbours not in increasing XOR distance at %d", i, j)
			}
		}
		// No node left out is closer than the farthest one listed.
		for _, m := range d.nodes {
			if m == n || containsNode(got, m) {
				continue
			}
			if bytes.Compare(xor(m), xor(got[k-1])) < 0 {
				t.Fatalf("node %d: node %d is closer than listed neighbour %d", i, m.idx, got[k-1].idx)
			}
		}
	}
}

func containsNode(list []*node, n *node) bool {
	for _, m := range list {
		if m == n {
			return true
		}
	}
	return false
}
