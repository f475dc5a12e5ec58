package sentry

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/ethereum/devnet"
	"github.com/valtrack/valtrack/internal/ethereum/events"
)

// TestSentryDevnet crawls and handshakes every node of a 50-node devnet and
// checks what it published against the nodes' own state. The devnet runs
// without validators, so subscriptions are the long-lived ones (or all, for
// the large nodes) and stay put while they are compared.
func TestSentryDevnet(t *testing.T) {
	d := startDevnet(t, 50, "0")
	rec := newRecorder()
	cfg := testConfig(t, loadNetwork(t, d), t.TempDir())
	// 50 nodes and the sentry share two cores (and -race): slow answers are
	// not what this test is about.
	cfg.ReqResp.TTFBTimeout, cfg.ReqResp.RespTimeout = 5*time.Second, 5*time.Second
	s, err := New(cfg, rec)
	if err != nil {
		t.Fatal(err)
	}
	runSentry(t, s)
	nodes := d.Nodes()

	waitUntil(t, 40*time.Second, "every node discovered and handshaken", func() bool {
		for _, n := range nodes {
			if !rec.hasDiscovered(n.NodeID) {
				return false
			}
			if _, ok := rec.latestMetadata(n.PeerID); !ok {
				return false
			}
		}
		return true
	})

	// Duties are off, but a long-lived subnet may rotate: compare again on
	// later events (one per epoch per peer) until every node matches.
	var mismatch string
	waitUntil(t, 20*time.Second, "published metadata to match every node", func() bool {
		mismatch = ""
		for _, n := range d.Nodes() {
			ev, _ := rec.latestMetadata(n.PeerID)
			if why := compareMetadata(ev, n); why != "" {
				mismatch = fmt.Sprintf("node %s: %s", n.PeerID, why)
				t.Log(mismatch)
				return false
			}
		}
		return true
	})
	if mismatch != "" {
		t.Fatal(mismatch)
	}

	for _, n := range nodes {
		rec.mu.Lock()
		pd := rec.discovered[n.NodeID]
		rec.mu.Unlock()
		if pd.PeerID != n.PeerID || !pd.SameNetwork || pd.ForkDigest != n.ForkDigest || pd.ENR == "" || pd.IP != "127.0.0.1" || pd.Port != n.TCPPort {
			t.Fatalf("discovery event of %s does not describe it: %s", n.PeerID, dump(pd))
		}
		if pd.Sentry.ID != "test-sentry" || pd.V != events.SchemaVersion {
			t.Fatalf("discovery event lacks sentry id or version: %s", dump(pd))
		}
	}
	st := s.Stats()
	if st.Discovered < len(nodes) || st.SameNetwork < len(nodes) || st.Handshaken < len(nodes) || st.Published == 0 || st.Connected < len(nodes) {
		t.Fatalf("stats %+v do not account for %d nodes", st, len(nodes))
	}
}

func compareMetadata(ev events.MetadataReceived, n devnet.NodeInfo) string {
	switch {
	case ev.MetaData.SeqNumber != n.MetaData.SeqNumber:
		return fmt.Sprintf("seq %d, node has %d", ev.MetaData.SeqNumber, n.MetaData.SeqNumber)
	case ev.MetaData.Attnets != hexBytes(n.MetaData.Attnets[:]):
		return fmt.Sprintf("attnets %s, node has %x", ev.MetaData.Attnets, n.MetaData.Attnets)
	case ev.MetaData.Syncnets != hexBytes([]byte{n.MetaData.Syncnets}):
		return fmt.Sprintf("syncnets %s, node has %x", ev.MetaData.Syncnets, n.MetaData.Syncnets)
	case ev.ForkDigest != n.ForkDigest:
		return fmt.Sprintf("fork digest %s, node has %s", ev.ForkDigest, n.ForkDigest)
	case ev.ClientVersion != n.Client:
		return fmt.Sprintf("client %q, node has %q", ev.ClientVersion, n.Client)
	case ev.ClientName == "":
		return "no client name"
	case !slices.Equal(ev.SubscribedSubnets, int64s(n.SubscribedAttnets)):
		return fmt.Sprintf("subscribed subnets %v, node has %v", ev.SubscribedSubnets, n.SubscribedAttnets)
	case !slices.Equal(ev.SubscribedSyncnets, int64s(n.SubscribedSyncnets)):
		return fmt.Sprintf("subscribed syncnets %v, node has %v", ev.SubscribedSyncnets, n.SubscribedSyncnets)
	case ev.ID != n.NodeID:
		return fmt.Sprintf("node id %s, node has %s", ev.ID, n.NodeID)
	case ev.Direction != "outbound" || ev.IP != "127.0.0.1" || ev.Port == 0:
		return fmt.Sprintf("connection fields direction=%s ip=%s port=%d", ev.Direction, ev.IP, ev.Port)
	}
	return ""
}
