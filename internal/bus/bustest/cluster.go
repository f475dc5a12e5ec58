package bustest

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/ports"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Cluster is the layout of a NATS JetStream cluster on 127.0.0.1 for tests:
// fixed ports and a store directory per node, so that a node stopped or
// killed can be started again as the same member with its data. It holds no
// servers; Start runs a node in-process, and a test that needs to SIGKILL a
// node runs Options(i) in a child process instead.
type Cluster struct {
	Name  string
	Nodes []ClusterNode
}

// ClusterNode is one member of a Cluster.
type ClusterNode struct {
	Name        string
	ClientPort  int
	ClusterPort int
	StoreDir    string
}

// NewCluster lays out n nodes with free ports and store directories in
// t.TempDir().
func NewCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	c := &Cluster{Name: "valtrack-test-" + Unique()}
	for i := range n {
		c.Nodes = append(c.Nodes, ClusterNode{
			Name:        fmt.Sprintf("n%d", i+1),
			ClientPort:  freePort(t),
			ClusterPort: freePort(t),
			StoreDir:    filepath.Join(t.TempDir(), fmt.Sprintf("n%d", i+1)),
		})
	}
	return c
}

// URLs is the comma-separated client URL list of every node, as a client
// configured for the whole cluster gets it (--nats-url).
func (c *Cluster) URLs() string {
	urls := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		urls[i] = fmt.Sprintf("nats://127.0.0.1:%d", n.ClientPort)
	}
	return strings.Join(urls, ",")
}

// Options are the server options of node i: JetStream on its store
// directory, client and cluster listeners on 127.0.0.1, routes to every
// member. The same options on a restart make it rejoin as the same peer
// (the server name and store directory identify it).
func (c *Cluster) Options(i int) *server.Options {
	n := c.Nodes[i]
	var routes []string
	for _, m := range c.Nodes {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", m.ClusterPort))
	}
	return &server.Options{
		ServerName: n.Name,
		Host:       "127.0.0.1",
		Port:       n.ClientPort,
		JetStream:  true,
		StoreDir:   n.StoreDir,
		// Bounded, so that the server's default (a share of the disk and
		// memory) does not depend on the machine the test runs on.
		JetStreamMaxMemory: 64 << 20,
		JetStreamMaxStore:  1 << 30,
		Cluster: server.ClusterOpts{
			Name: c.Name,
			Host: "127.0.0.1",
			Port: n.ClusterPort,
		},
		Routes: server.RoutesFromStr(strings.Join(routes, ",")),
		NoSigs: true,
		NoLog:  true,
	}
}

// Start runs node i in-process and waits until it accepts clients. The
// caller shuts it down (Shutdown, WaitForShutdown); a node still running
// at cleanup is shut down then.
func (c *Cluster) Start(t testing.TB, i int) *server.Server {
	t.Helper()
	s, err := server.NewServer(c.Options(i))
	if err != nil {
		t.Fatalf("create nats-server %s: %v", c.Nodes[i].Name, err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		t.Fatalf("nats-server %s on port %d not ready", c.Nodes[i].Name, c.Nodes[i].ClientPort)
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s
}

// WaitJetStream waits until the cluster answers JetStream requests: its
// nodes found each other and elected a meta leader. Streams cannot be
// created before, and bus.Open refuses a server without JetStream.
func (c *Cluster) WaitJetStream(t testing.TB, ctx context.Context) {
	t.Helper()
	nc, err := nats.Connect(c.URLs(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond), nats.RetryOnFailedConnect(true))
	if err != nil {
		t.Fatalf("connect to the cluster: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for {
		actx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := js.AccountInfo(actx)
		cancel()
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("JetStream cluster %s not ready: %v", c.Name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	p, err := ports.Run(1)
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	return p
}
