package sentry

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/ethereum/peerstore"
)

// TestSentryRestart stops a sentry that handshook a devnet and starts it
// again on the same data directory with no bootnodes: its identity and
// peerstore survived, and it handshakes every node again from the
// peerstore alone.
func TestSentryRestart(t *testing.T) {
	d := startDevnet(t, 10, "0")
	n := loadNetwork(t, d)
	dir := t.TempDir()

	rec1 := newRecorder()
	s1, err := New(testConfig(t, n, dir), rec1)
	if err != nil {
		t.Fatal(err)
	}
	stop1 := runSentry(t, s1)
	nodes := d.Nodes()
	waitUntil(t, 30*time.Second, "first run to handshake every node", func() bool {
		for _, node := range nodes {
			if _, ok := rec1.latestMetadata(node.PeerID); !ok {
				return false
			}
		}
		return true
	})
	firstID := s1.PeerID()
	if err := stop1(); err != nil {
		t.Fatalf("first run: %v", err)
	}

	store, err := peerstore.Open(filepath.Join(dir, peerstore.FileName), peerstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, node := range nodes {
		p, ok := store.Get(node.PeerID)
		if !ok || p.LastHandshake.IsZero() || p.ENR == "" || len(p.Addrs) == 0 || p.MetaData == nil {
			t.Fatalf("peerstore after stop lacks node %s: %+v", node.PeerID, p)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, keyFile)); err != nil {
		t.Fatalf("node key not persisted: %v", err)
	}

	noBoot := *n
	noBoot.Bootnodes = nil
	rec2 := newRecorder()
	s2, err := New(testConfig(t, &noBoot, dir), rec2)
	if err != nil {
		t.Fatal(err)
	}
	if s2.PeerID() != firstID {
		t.Fatalf("peer id changed across restart: %s -> %s", firstID, s2.PeerID())
	}
	runSentry(t, s2)
	waitUntil(t, 30*time.Second, "restarted sentry to handshake every node from its peerstore", func() bool {
		for _, node := range nodes {
			if _, ok := rec2.latestMetadata(node.PeerID); !ok {
				return false
			}
		}
		return true
	})
}
