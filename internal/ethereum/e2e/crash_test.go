package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/ports"

	"github.com/valtrack/valtrack/internal/archive"
	"github.com/valtrack/valtrack/internal/bus"
	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/ethereum/events"
	"github.com/valtrack/valtrack/internal/ethereum/sink"
	"github.com/valtrack/valtrack/internal/ethereum/state"
	"github.com/valtrack/valtrack/internal/store"
)

// slowStore makes every batch spend time inside the consumer's handler, so
// a kill lands mid-batch: after the archive may have synced, before the
// store has committed and before the acknowledgement.
type slowStore struct {
	state.Store
	delay time.Duration
}

func (s slowStore) Apply(ctx context.Context, b state.Batch) error {

	time.Sleep(s.delay)
	return s.Store.Apply(ctx, b)
}

// TestCrashChild is the consumer process of TestConsumerCrash; it only runs
// when that test starts it.
func TestCrashChild(t *testing.T) {
	if os.Getenv("E2E_CRASH_CHILD") == "" {
		t.Skip("started by TestConsumerCrash")
	}
	ctx := context.Background()
	dir := os.Getenv("E2E_DATA_DIR")
	log := testLog()
	b, err := bus.Open(ctx, bus.Config{URL: os.Getenv("E2E_NATS_URL")}, log)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, "", dir, log, store.WithMigrations(state.Migrations()))
	if err != nil {
		t.Fatal(err)
	}
	st := state.New(db)
	arch, err := archive.Open(archive.Options{Root: dir, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	delay, _ := time.ParseDuration(os.Getenv("E2E_DELAY"))
	sk, err := sink.New(sink.Config{State: slowStore{st, delay}, Archive: arch})
	if err != nil {
		t.Fatal(err)
	}
	c, err := consumer.New(consumer.Config{Bus: b, Domain: events.Domain, Sink: sk, Archive: arch, BatchSize: 100,
		MaxWait: 50 * time.Millisecond, AckWait: 2 * time.Second, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Run(ctx) // until killed
}

func freePort(t *testing.T) int {
	t.Helper()
	p, err := ports.Run(1)
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	return p
}

// crashWorkload publishes n events of every kind and returns their ids by kind.
func crashWorkload(t *testing.T, b *bus.Bus, network string, n int) map[string][]string {
	ctx := context.Background()
	pub := b.NewPublisher(testLog())
	ids := map[string][]string{}
	base := time.Now().Add(-time.Minute).UnixMilli()
	s := events.Sentry{ID: "crash"}
	for i := 0; i < n; i++ {
		// each run of three events is about one peer, so its subscription
		// changes belong to a handshaken peer
		peerID := fmt.Sprintf("16Uiu2HAmCrash%06d", (i/3)%300)
		nodeID := fmt.Sprintf("%064x", (i/3)%300+1)
		var subject, id string
		var v any
		switch i % 3 {
		case 0:
			e := &events.PeerDiscovered{V: 1, Network: network, ID: nodeID, PeerID: peerID, ENRSeq: uint64(i), IP: "127.0.0.1", Port: 9000, SameNetwork: true, Sentry: s, Timestamp: base + int64(i)}
			subject, id, v = events.Subject(network, events.KindPeerDiscovered), e.MsgID(), e
		case 1:
			e := &events.MetadataReceived{V: 1, Network: network, ID: nodeID, PeerID: peerID, IP: "127.0.0.1", Port: 9000, Epoch: 1,
				MetaData:          events.MetaData{SeqNumber: uint64(i), Attnets: "0x0000000000000000", Syncnets: "0x00", Version: 2},
				SubscribedSubnets: []int64{int64(i % 64)}, ClientVersion: "Prysm/v6.0.4/abc", Sentry: s, Timestamp: base + int64(i)}
			subject, id, v = events.Subject(network, events.KindMetadataReceived), e.MsgID(), e
		default:
			e := &events.Subscription{V: 1, Network: network, PeerID: peerID, Topic: fmt.Sprintf("/eth2/00000000/beacon_attestation_%d/ssz_snappy", i%64),
				Kind: "attestation", Subnet: i % 64, Subscribed: i%2 == 0, Sentry: s, Timestamp: base + int64(i)}
			subject, id, v = events.Subject(network, events.KindSubscription), e.MsgID(), e
		}
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := pub.Publish(ctx, subject, id, data); err != nil {
			t.Fatal(err)
		}
		_, kind, _ := events.SplitSubject(subject)
		ids[kind] = append(ids[kind], id)
	}
	if err := pub.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestConsumerCrash kills a consumer process mid-batch (SIGKILL) and starts
// another: every event ends up stored exactly once, every Parquet file reads,
// and no event is archived twice.
func TestConsumerCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	ctx := context.Background()
	port := freePort(t)
	b, err := bus.Open(ctx, bus.Config{DataDir: t.TempDir(), ListenAddr: "127.0.0.1:" + strconv.Itoa(port)}, testLog())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.EnsureStream(ctx, events.Domain); err != nil {
		t.Fatal(err)
	}
	network := "crashnet"
	ids := crashWorkload(t, b, network, 3000)
	dataDir := t.TempDir()

	start := func(delay string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v")
		cmd.Env = append(os.Environ(), "E2E_CRASH_CHILD=1", "E2E_DATA_DIR="+dataDir, "E2E_DELAY="+delay,
			fmt.Sprintf("E2E_NATS_URL=nats://127.0.0.1:%d", port))
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	db, err := store.Open(ctx, "", dataDir, testLog(), store.WithMigrations(state.Migrations()))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := state.New(db)
	var all []string
	for _, v := range ids {
		all = append(all, v...)
	}
	applied := func() int {
		m, err := st.Applied(ctx, all)
		if err != nil {
			t.Fatal(err)
		}
		return len(m)
	}

	// First consumer: killed while it is inside a batch.
	first := start("150ms")
	deadline := time.Now().Add(60 * time.Second)
	for applied() < 300 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(75 * time.Millisecond) // half way into the next batch's store delay
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	got := applied()
	if got == 0 || got >= len(all) {
		t.Fatalf("the kill should land mid-stream: %d of %d events stored", got, len(all))
	}
	t.Logf("killed the first consumer with %d of %d events stored", got, len(all))
	// Files the killed process left must be readable as they are.
	archiveIDs(t, dataDir)

	// Second consumer: finishes the work, including the killed batch.
	second := start("0s")
	defer func() { _ = second.Process.Signal(syscall.SIGKILL); _ = second.Wait() }()
	deadline = time.Now().Add(90 * time.Second)
	for applied() < len(all) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := applied(); n != len(all) {
		t.Fatalf("after the restart %d of %d events are stored", n, len(all))
	}
	// Exactly once in the store: each history holds each event once.
	hs, err := st.Histories(ctx, network, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	obs, subs := 0, 0
	for _, h := range hs {
		obs += len(h.Observations)
		subs += len(h.Subscriptions)
	}
	if obs != len(ids[events.KindMetadataReceived]) || subs != len(ids[events.KindSubscription]) {
		t.Errorf("store holds %d observations and %d subscription changes, published %d and %d",
			obs, subs, len(ids[events.KindMetadataReceived]), len(ids[events.KindSubscription]))
	}
	// Exactly once in the archive, once the second consumer has synced it.
	time.Sleep(500 * time.Millisecond)
	arch := archiveIDs(t, dataDir)
	for _, k := range []struct{ table, kind string }{{sink.TableMetadata, events.KindMetadataReceived}, {sink.TableDiscovery, events.KindPeerDiscovered}} {
		for _, id := range ids[k.kind] {
			if c := arch[k.table][id]; c != 1 {
				t.Errorf("archive %s: event %s stored %d times", k.table, id, c)
			}
		}
		if len(arch[k.table]) != len(ids[k.kind]) {
			t.Errorf("archive %s: %d distinct events, published %d", k.table, len(arch[k.table]), len(ids[k.kind]))
		}
	}
}
