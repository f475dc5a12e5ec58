package sentry

import (
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/valtrack/valtrack/internal/ethereum/events"
)

// TestSentryObservesDutySubscriptions runs a devnet whose validators take
// aggregation duties, so nodes subscribe to and leave short-lived subnets
// while connected: the sentry publishes both, and its view of every node's
// subscriptions matches the node's own.
func TestSentryObservesDutySubscriptions(t *testing.T) {
	d := startDevnet(t, 6, "256")
	n := loadNetwork(t, d)
	rec := newRecorder()
	s, err := New(testConfig(t, n, t.TempDir()), rec)
	if err != nil {
		t.Fatal(err)
	}
	runSentry(t, s)
	peers := map[string]bool{}
	for _, node := range d.Nodes() {
		peers[node.PeerID] = true
	}
	digest := n.ForkDigest(n.EpochAt(time.Now()))

	// A SUBSCRIBE then an UNSUBSCRIBE of the same topic by the same peer:
	// both happened while connected, so both are duty changes we observed.
	waitUntil(t, 30*time.Second, "a subscribe followed by an unsubscribe", func() bool {
		subscribed := map[[2]string]bool{}
		for _, ev := range rec.subscriptions() {
			if !peers[ev.PeerID] || ev.Kind != KindAttestation {
				continue
			}
			k := [2]string{ev.PeerID, ev.Topic}
			if ev.Subscribed {
				subscribed[k] = true
			} else if subscribed[k] {
				return true
			}
		}
		return false
	})
	for _, ev := range rec.subscriptions() {
		tp, ok := parseTopic(ev.Topic)
		if !ok || tp.Digest != digest || tp.Subnet != ev.Subnet || ev.V != events.SchemaVersion || ev.ID == "" {
			t.Fatalf("subscription event does not describe its topic: %s", dump(ev))
		}
	}

	// The sentry's current view equals each node's subscriptions, checked
	// per node until a poll falls between two duty changes.
	for _, node := range d.Nodes() {
		p, err := peer.Decode(node.PeerID)
		if err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 10*time.Second, "sentry view of "+node.PeerID+" to match the node", func() bool {
			want := d.Nodes()
			var cur []uint64
			for _, w := range want {
				if w.PeerID == node.PeerID {
					cur = w.SubscribedAttnets
				}
			}
			atts, _ := s.subscribed(p)
			return slices.Equal(atts, int64s(cur))
		})
	}
}
