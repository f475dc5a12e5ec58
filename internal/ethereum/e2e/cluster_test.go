package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/valtrack/valtrack/internal/archive"
	"github.com/valtrack/valtrack/internal/bus"
	"github.com/valtrack/valtrack/internal/bus/bustest"
	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/ethereum/events"
	"github.com/valtrack/valtrack/internal/ethereum/sink"
	"github.com/valtrack/valtrack/internal/ethereum/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

// The deployment under test: names shared by the parent and its children.
const (
	clusterDurable  = "valtrack-cluster"
	clusterNetwork  = "clusternet"
	clusterEvents   = 3000 // PeerDiscovered, MetadataReceived, Subscription in turn
	clusterReplicas = 3
	// clusterAckWait is the consumers' AckWait: a batch whose acknowledgement
	// died with a NATS node is redelivered after it. Short, so the test does
	// not wait long for those; far above a batch's write time, so a batch is
	// never redelivered while its first delivery is still being written.
	clusterAckWait = 5 * time.Second
	// clusterMaxBytes bounds the stream to fit the nodes' JetStream store
	// limit (bustest.Cluster); every process must configure the same.
	clusterMaxBytes = 256 << 20
)

// TestClusterChild is a process of TestClusterNodeFailure: a NATS node
// (E2E_CLUSTER_CHILD=nats) or a consumer (=consumer). It runs until its
// stdin closes (the parent ended), SIGTERM (a consumer's orderly stop) or
// SIGKILL (the fault).
func TestClusterChild(t *testing.T) {
	role := os.Getenv("E2E_CLUSTER_CHILD")
	if role == "" {
		t.Skip("started by TestClusterNodeFailure")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	var c bustest.Cluster
	if err := json.Unmarshal([]byte(os.Getenv("E2E_CLUSTER")), &c); err != nil {
		t.Fatalf("E2E_CLUSTER: %v", err)
	}
	switch role {
	case "nats":
		i, err := strconv.Atoi(os.Getenv("E2E_NODE"))
		if err != nil {
			t.Fatalf("E2E_NODE: %v", err)
		}
		s, err := server.NewServer(c.Options(i))
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		if !s.ReadyForConnections(10 * time.Second) {
			t.Fatalf("node %s not ready", c.Nodes[i].Name)
		}
		<-ctx.Done()
		s.Shutdown()
		s.WaitForShutdown()
	case "consumer":
		runClusterConsumer(t, ctx, &c)
	default:
		t.Fatalf("unknown role %q", role)
	}
}

// runClusterConsumer is `valtrack consumer --nats-url <every node>
// --bus-replicas 3 --durable valtrack-cluster --db postgres://…`.
func runClusterConsumer(t *testing.T, ctx context.Context, c *bustest.Cluster) {
	log := testLog()
	dir := os.Getenv("E2E_DATA_DIR")
	b, err := bus.Open(ctx, bus.Config{URL: c.URLs(), Replicas: clusterReplicas, MaxBytes: clusterMaxBytes,
		ReconnectWait: 50 * time.Millisecond, Name: "consumer-" + filepath.Base(dir)}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	db, err := store.Open(ctx, os.Getenv("E2E_DB"), dir, log, store.WithMigrations(state.Migrations()))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	arch, err := archive.Open(archive.Options{Root: dir, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	sk, err := sink.New(sink.Config{State: state.New(db), Archive: arch})
	if err != nil {
		t.Fatal(err)
	}
	cons, err := consumer.New(consumer.Config{Bus: b, Domain: events.Domain, Sink: sk, Archive: arch, Durable: clusterDurable, BatchSize: 100,
		MaxWait: 100 * time.Millisecond, AckWait: clusterAckWait, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := cons.Run(ctx); err != nil {
		t.Errorf("consumer: %v", err)
	}
	if err := arch.Close(); err != nil {
		t.Errorf("close archive: %v", err)
	}
}

// clusterEvent is event i of the workload: every run of three is about one
// of 300 peers (discovered, handshaken, a subscription change), as a sentry
// reports them.
func clusterEvent(t *testing.T, i int, base int64) (subject, id string, data []byte) {
	s := events.Sentry{ID: "cluster"}
	peerID := fmt.Sprintf("16Uiu2HAmClust%06d", (i/3)%300)
	nodeID := fmt.Sprintf("%064x", (i/3)%300+1)
	var v any
	switch i % 3 {
	case 0:
		e := &events.PeerDiscovered{V: 1, Network: clusterNetwork, ID: nodeID, PeerID: peerID, ENRSeq: uint64(i), IP: "127.0.0.1", Port: 9000, SameNetwork: true, Sentry: s, Timestamp: base + int64(i)}
		subject, id, v = events.Subject(clusterNetwork, events.KindPeerDiscovered), e.MsgID(), e
	case 1:
		e := &events.MetadataReceived{V: 1, Network: clusterNetwork, ID: nodeID, PeerID: peerID, IP: "127.0.0.1", Port: 9000, Epoch: 1,
			MetaData:          events.MetaData{SeqNumber: uint64(i), Attnets: "0x0000000000000000", Syncnets: "0x00", Version: 2},
			SubscribedSubnets: []int64{int64(i % 64)}, ClientVersion: "Lighthouse/v7.0.0/x86_64-linux", Sentry: s, Timestamp: base + int64(i)}
		subject, id, v = events.Subject(clusterNetwork, events.KindMetadataReceived), e.MsgID(), e
	default:
		e := &events.Subscription{V: 1, Network: clusterNetwork, PeerID: peerID, Topic: fmt.Sprintf("/eth2/00000000/beacon_attestation_%d/ssz_snappy", i%64),
			Kind: "attestation", Subnet: i % 64, Subscribed: i%2 == 0, Sentry: s, Timestamp: base + int64(i)}
		subject, id, v = events.Subject(clusterNetwork, events.KindSubscription), e.MsgID(), e
	}
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return subject, id, data
}

// child is a running child process; exited is closed when it ends.
type child struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	exited chan struct{}
	err    error // valid after exited
}

func startChild(t *testing.T, name string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestClusterChild$", "-test.v")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	c := &child{name: name, cmd: cmd, stdin: stdin, exited: make(chan struct{})}
	go func() { c.err = cmd.Wait(); close(c.exited) }()
	t.Cleanup(func() { c.kill() })
	return c
}

func (c *child) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exited
}

func (c *child) running() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// until polls cond every 50ms until it holds, failing the test with what after
// the deadline.
func until(t *testing.T, deadline time.Time, what string, cond func() bool, state ...*string) {
	t.Helper()
	for !cond() {
		if time.Now().After(deadline) {
			for _, s := range state {
				t.Logf("last state: %s", *s)
			}
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestClusterNodeFailure is the scale-out deployment of docs/operations.md
// on loopback: a 3-node NATS JetStream cluster, the ETHEREUM stream with 3
// replicas, a publisher, and two consumer processes sharing one durable on
// PostgreSQL. Mid-run the stream leader's node is SIGKILLed and, while
// events keep flowing through the other two, restarted on its ports and
// store directory. Every event ends up in the store once and in the
// archives once, and the durable has nothing left.
//
// The publisher is the bus publisher with a known set of sentry events
// rather than a sentry on a devnet: the fault must land while events are
// being published, and the exactly-once checks need the exact set; the
// sentry's own path to the bus is the same Publisher (TestEndToEnd*).
func TestClusterNodeFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a NATS cluster and consumer processes")
	}
	dsn := storetest.PostgresDSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	deadline, _ := ctx.Deadline()
	log := testLog()
	// Migrated once here, so the consumers start on a ready schema.
	db, err := store.Open(ctx, dsn, "", log, store.WithMigrations(state.Migrations()))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := state.New(db)

	cluster := bustest.NewCluster(t, 3)
	clusterJSON, err := json.Marshal(cluster)
	if err != nil {
		t.Fatal(err)
	}
	startNode := func(i int) *child {
		return startChild(t, cluster.Nodes[i].Name, "E2E_CLUSTER_CHILD=nats", "E2E_CLUSTER="+string(clusterJSON), "E2E_NODE="+strconv.Itoa(i))
	}
	nodes := []*child{startNode(0), startNode(1), startNode(2)}
	cluster.WaitJetStream(t, ctx)

	b, err := bus.Open(ctx, bus.Config{URL: cluster.URLs(), Replicas: clusterReplicas, MaxBytes: clusterMaxBytes, ReconnectWait: 50 * time.Millisecond,
		PublishAckTimeout: 2 * time.Second, RetryMaxBackoff: 500 * time.Millisecond, Name: "publisher"}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var streamErr error
	until(t, deadline, "the replicated stream", func() bool {
		streamErr = b.EnsureStream(ctx, events.Domain)
		if streamErr != nil {
			t.Logf("ensure stream: %v", streamErr)
		}
		return streamErr == nil
	})
	streamName := b.StreamName(events.Domain)
	stream, err := b.JetStream().Stream(ctx, streamName)
	if err != nil {
		t.Fatal(err)
	}

	dirs := []string{t.TempDir(), t.TempDir()}
	var consumers []*child
	for i, dir := range dirs {
		consumers = append(consumers, startChild(t, fmt.Sprintf("consumer-%d", i+1), "E2E_CLUSTER_CHILD=consumer",
			"E2E_CLUSTER="+string(clusterJSON), "E2E_DATA_DIR="+dir, "E2E_DB="+dsn))
	}

	// The publisher: paced, so that publishing spans the fault, and held
	// half way until the node is down, so that part of the events certainly
	// go in while it is.
	ids := make([]string, clusterEvents)
	byKind := map[string]int{}
	var enqueued atomic.Int64
	killed := make(chan struct{})
	pubDone := make(chan error, 1)
	pub := b.NewPublisher(log)
	base := time.Now().Add(-time.Minute).UnixMilli()
	for i := range ids {
		subject, id, _ := clusterEvent(t, i, base)
		ids[i] = id
		_, kind, _ := events.SplitSubject(subject)
		byKind[kind]++
	}
	go func() {
		for i := range clusterEvents {
			if i == clusterEvents/2 {
				select {
				case <-killed:
				case <-ctx.Done():
				}
			}
			subject, id, data := clusterEvent(t, i, base)
			if err := pub.Publish(ctx, subject, id, data); err != nil {
				pubDone <- err
				return
			}
			enqueued.Add(1)
			if i%10 == 9 {
				time.Sleep(5 * time.Millisecond)
			}
		}
		pubDone <- pub.Close(ctx)
	}()

	applied := func() int {
		m, err := st.Applied(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		return len(m)
	}
	// JetStream API requests get a short timeout of their own: one sent to
	// the node just killed would otherwise wait for the test's deadline.
	streamInfo := func() *jetstreamInfo {
		ictx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		info, err := stream.Info(ictx)
		if err != nil || info.Cluster == nil {
			return nil
		}
		return &jetstreamInfo{msgs: info.State.Msgs, leader: info.Cluster.Leader, replicas: info.Cluster.Replicas}
	}
	durableInfo := func() *jetstream.ConsumerInfo {
		ictx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		c, err := stream.Consumer(ictx, clusterDurable)
		if err != nil {
			return nil
		}
		ci, err := c.Info(ictx)
		if err != nil {
			return nil
		}
		return ci
	}

	// The fault: once events flow end to end, SIGKILL the node leading the
	// stream.
	until(t, deadline, "events stored before the fault", func() bool { return enqueued.Load() >= clusterEvents/4 && applied() >= 100 })
	var before *jetstreamInfo
	until(t, deadline, "the stream leader", func() bool { before = streamInfo(); return before != nil && before.leader != "" })
	victim := -1
	for i, n := range cluster.Nodes {
		if n.Name == before.leader {
			victim = i
		}
	}
	if victim < 0 {
		t.Fatalf("stream leader %q is not a node of the cluster", before.leader)
	}
	durableLeader := ""
	if ci := durableInfo(); ci != nil && ci.Cluster != nil {
		durableLeader = ci.Cluster.Leader
	}
	appliedAtKill := applied()
	nodes[victim].kill()
	close(killed)
	t.Logf("killed %s (stream leader; durable leader %s) with %d events enqueued, %d in the stream, %d stored",
		before.leader, durableLeader, enqueued.Load(), before.msgs, appliedAtKill)

	// With one node down the other two are a quorum: a new leader is
	// elected, and publishing and consuming carry on.
	var during *jetstreamInfo
	var state string
	until(t, deadline, "events stored and published while a node is down", func() bool {
		during = streamInfo()
		n := applied()
		state = fmt.Sprintf("stream %+v, %d enqueued, %d stored", during, enqueued.Load(), n)
		return during != nil && during.leader != "" && during.leader != before.leader &&
			during.msgs >= before.msgs+500 && n >= appliedAtKill+500
	}, &state)
	t.Logf("while %s was down: new stream leader %s, %d events in the stream, %d stored", before.leader, during.leader, during.msgs, applied())
	nodes[victim] = startNode(victim)

	select {
	case err := <-pubDone:
		if err != nil {
			t.Fatalf("publisher: %v", err)
		}
	case <-ctx.Done():
		t.Fatalf("publisher did not finish: %d of %d enqueued, %d pending", enqueued.Load(), clusterEvents, pub.Pending())
	}
	until(t, deadline, "every event stored", func() bool { return applied() == clusterEvents })
	until(t, deadline, "the durable to have nothing pending", func() bool {
		ci := durableInfo()
		return ci != nil && ci.NumPending == 0 && ci.NumAckPending == 0
	})
	// The restarted node caught up: every replica is current again.
	until(t, deadline, "the restarted node to be a current replica", func() bool {
		info := streamInfo()
		if info == nil || len(info.replicas) != clusterReplicas-1 {
			return false
		}
		for _, r := range info.replicas {
			if !r.Current || r.Offline {
				return false
			}
		}
		return true
	})
	if info := streamInfo(); info == nil || info.msgs != clusterEvents {
		t.Errorf("stream holds %v messages, want %d (each event once)", info, clusterEvents)
	}

	// The consumers ran through the fault; now stop them in order, so their
	// archives are closed.
	for _, c := range consumers {
		if !c.running() {
			t.Fatalf("%s exited during the run: %v", c.name, c.err)
		}
	}
	for _, c := range consumers {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, c := range consumers {
		select {
		case <-c.exited:
			if c.err != nil {
				t.Errorf("%s: %v", c.name, c.err)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s did not stop on SIGTERM", c.name)
		}
	}

	// Exactly once in the store.
	if n := applied(); n != clusterEvents {
		t.Errorf("store holds %d of %d events", n, clusterEvents)
	}
	hs, err := st.Histories(ctx, clusterNetwork, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	obs, subs := 0, 0
	for _, h := range hs {
		obs += len(h.Observations)
		subs += len(h.Subscriptions)
	}
	if obs != byKind[events.KindMetadataReceived] || subs != byKind[events.KindSubscription] {
		t.Errorf("store holds %d observations and %d subscription changes, published %d and %d",
			obs, subs, byKind[events.KindMetadataReceived], byKind[events.KindSubscription])
	}

	// Exactly once in the archive: the two consumers' archives together
	// hold every archived event once; both consumers did part of the work.
	total := map[string]map[string]int{}
	for i, dir := range dirs {
		rows := 0
		for table, m := range archiveIDs(t, dir) {
			if total[table] == nil {
				total[table] = map[string]int{}
			}
			for id, c := range m {
				total[table][id] += c
				rows += c
			}
		}
		if rows == 0 {
			t.Errorf("consumer-%d archived nothing: the durable was not shared", i+1)
		}
		t.Logf("consumer-%d archived %d rows", i+1, rows)
	}
	want := map[string]string{sink.TableDiscovery: events.KindPeerDiscovered, sink.TableMetadata: events.KindMetadataReceived}
	for i, id := range ids {
		subject, _, _ := clusterEvent(t, i, base)
		_, kind, _ := events.SplitSubject(subject)
		for table, k := range want {
			if k == kind {
				if c := total[table][id]; c != 1 {
					t.Errorf("archive %s: event %s stored %d times", table, id, c)
				}
			}
		}
	}
	for table, k := range want {
		if len(total[table]) != byKind[k] {
			t.Errorf("archive %s: %d distinct events, published %d", table, len(total[table]), byKind[k])
		}
	}
}

// jetstreamInfo is what the test reads of the stream's state.
type jetstreamInfo struct {
	msgs     uint64
	leader   string
	replicas []*jetstream.PeerInfo
}
