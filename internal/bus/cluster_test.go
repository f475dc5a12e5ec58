package bus_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/valtrack/valtrack/internal/bus"
	"github.com/valtrack/valtrack/internal/bus/bustest"
)

// openCluster connects to every node of c with a 3-replica stream of
// domain, waiting for the cluster to elect its JetStream meta leader (the
// stream cannot be created before).
func openCluster(t *testing.T, ctx context.Context, c *bustest.Cluster, domain string) *bus.Bus {
	t.Helper()
	c.WaitJetStream(t, ctx)
	b, err := bus.Open(ctx, bus.Config{
		URL:               c.URLs(),
		Replicas:          3,
		ReconnectWait:     50 * time.Millisecond,
		PublishAckTimeout: time.Second,
		RetryMaxBackoff:   200 * time.Millisecond,
		MaxBytes:          64 << 20,
	}, bustest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	for {
		err := b.EnsureStream(ctx, domain)
		if err == nil {
			return b
		}
		if ctx.Err() != nil {
			t.Fatalf("create the replicated stream: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPublishSurvivesLostQuorum: a 3-replica stream loses two of its three
// nodes, so it has no leader and cannot acknowledge anything; messages
// published then are re-sent by the publisher until the nodes are back and
// a leader is elected, and each is stored exactly once.
func TestPublishSurvivesLostQuorum(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 3-node cluster")
	}
	c := bustest.NewCluster(t, 3)
	srvs := []*server.Server{c.Start(t, 0), c.Start(t, 1), c.Start(t, 2)}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	b := openCluster(t, ctx, c, "cosmos")

	stream, err := b.JetStream().Stream(ctx, b.StreamName("cosmos"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Replicas != 3 || info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
		t.Fatalf("stream has %d replicas configured and cluster info %+v; want 3 (a leader and 2 followers)", info.Config.Replicas, info.Cluster)
	}

	p := b.NewPublisher(nil)
	publish := func(from, to int) {
		for i := from; i < to; i++ {
			if err := p.Publish(ctx, "cosmos.test-1.vote", fmt.Sprintf("v-%d", i), []byte("vote")); err != nil {
				t.Fatalf("publish v-%d: %v", i, err)
			}
		}
	}
	publish(0, 100)
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	retriesBefore := metricValue(t, b.Metrics().PublishRetries)

	// Two of three nodes down, not the one the client is connected to: the
	// connection stays up, but with no quorum no leader can store a
	// message, so every failure seen now is the stream's, not a disconnect.
	var down []int
	for i, n := range c.Nodes {
		if n.Name != b.Conn().ConnectedServerName() {
			down = append(down, i)
		}
	}
	if len(down) != 2 {
		t.Fatalf("client connected to %q, not to one of the nodes", b.Conn().ConnectedServerName())
	}
	for _, i := range down {
		srvs[i].Shutdown()
		srvs[i].WaitForShutdown()
	}
	publish(100, 200)
	for metricValue(t, b.Metrics().PublishRetries) == retriesBefore {
		if ctx.Err() != nil {
			t.Fatal("no publish was retried while the stream had no quorum")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if p.Pending() == 0 {
		t.Fatal("messages were reported acknowledged while the stream had no quorum")
	}
	if !b.Conn().IsConnected() {
		t.Fatal("the client lost its connection to the surviving node")
	}

	// Back on the same ports and store directories: a leader is elected
	// and the held messages go in.
	for _, i := range down {
		srvs[i] = c.Start(t, i)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("flush after the quorum came back: %v", err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}

	info, err = stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 200 {
		t.Fatalf("stream holds %d messages, want exactly 200", info.State.Msgs)
	}
	seen := map[string]bool{}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := stream.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatalf("get message %d: %v", seq, err)
		}
		id := m.Header.Get(jetstream.MsgIDHeader)
		if seen[id] {
			t.Fatalf("message %s stored twice", id)
		}
		seen[id] = true
	}
	for i := range 200 {
		if !seen[fmt.Sprintf("v-%d", i)] {
			t.Fatalf("message v-%d lost while the stream had no quorum", i)
		}
	}
}

// TestClusterConsumeDeliversBatches: a durable on a 3-replica stream, read
// with the default batch limits, receives every message (a byte-limited
// pull on a cluster used to end empty; see fetch).
func TestClusterConsumeDeliversBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 3-node cluster")
	}
	c := bustest.NewCluster(t, 3)
	for i := range c.Nodes {
		c.Start(t, i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := openCluster(t, ctx, c, "cosmos")
	publishN(t, b, "cosmos", "m", 0, 500)
	col := consumeAll(t, b, bus.ConsumeConfig{Domain: "cosmos", Durable: "d", BatchSize: 100, MaxWait: 100 * time.Millisecond}, 500)
	for id, n := range col.seen {
		if n != 1 {
			t.Errorf("message %s delivered %d times, want once", id, n)
		}
	}
	info := consumerInfo(t, b, "cosmos", "d")
	if info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
		t.Errorf("durable cluster info %+v, want a leader and 2 replicas like its stream", info.Cluster)
	}
}
