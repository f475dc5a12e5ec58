// Command pipeline measures valtrack's end-to-end event rate — publish →
// JetStream file store → consumer → Parquet + state store — beside the raw
// JetStream publish rate measured in the same run on the same machine.
//
//	go run ./bench/pipeline -events 100000
//	go run ./bench/pipeline -events 100000 -db postgres://postgres@127.0.0.1:5432/test?sslmode=disable
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math/rand"
	"os"
	"runtime/pprof"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/valtrack/valtrack/internal/archive"
	"github.com/valtrack/valtrack/internal/bus"
	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/ethereum/events"
	"github.com/valtrack/valtrack/internal/ethereum/sink"
	"github.com/valtrack/valtrack/internal/ethereum/state"
	"github.com/valtrack/valtrack/internal/store"
)

type msg struct {
	subject, id string
	data        []byte
}

// workload is a realistic mix: per 20 events, 1 discovery, 9 metadata
// snapshots and 10 subscription changes, over a population of peers.
func workload(n, peers int, network string) []msg {
	rng := rand.New(rand.NewSource(1))
	out := make([]msg, 0, n)
	start := time.Now().Add(-time.Hour).UnixMilli()
	sentry := events.Sentry{ID: "bench", Location: "local"}
	for i := 0; i < n; i++ {
		p := rng.Intn(peers)
		peerID := fmt.Sprintf("16Uiu2HAm%040d", p)
		nodeID := fmt.Sprintf("%064x", p+1)
		ts := start + int64(i)
		var subject, id string
		var v any
		switch k := i % 20; {
		case k == 0:
			e := &events.PeerDiscovered{V: events.SchemaVersion, Network: network, ENR: "enr:-bench", ID: nodeID, PeerID: peerID, ENRSeq: uint64(i),
				IP: fmt.Sprintf("10.%d.%d.%d", p>>16&255, p>>8&255, p&255), Port: 9000, ForkDigest: "0x01020304", SameNetwork: true, Sentry: sentry, Timestamp: ts}
			subject, id, v = events.Subject(network, events.KindPeerDiscovered), e.MsgID(), e
		case k < 10:
			subs := []int64{int64(rng.Intn(64)), int64(rng.Intn(64)), int64(rng.Intn(64))}
			e := &events.MetadataReceived{V: events.SchemaVersion, Network: network, ENR: "enr:-bench", ID: nodeID, PeerID: peerID,
				Multiaddr: "/ip4/10.0.0.1/tcp/9000", IP: "10.0.0.1", Port: 9000, Direction: "outbound", Epoch: uint64(i / 1000), HeadSlot: uint64(i),
				ForkDigest: "0x01020304", MetaData: events.MetaData{SeqNumber: uint64(i), Attnets: "0x0300000000000000", Syncnets: "0x00", Version: 2},
				SubscribedSubnets: subs, ClientVersion: "Lighthouse/v7.0.1-e42406d/x86_64-linux", ClientName: "Lighthouse", ClientVersionNum: "v7.0.1",
				Sentry: sentry, Timestamp: ts}
			subject, id, v = events.Subject(network, events.KindMetadataReceived), e.MsgID(), e
		default:
			s := rng.Intn(64)
			e := &events.Subscription{V: events.SchemaVersion, Network: network, PeerID: peerID, ID: nodeID,
				Topic: fmt.Sprintf("/eth2/01020304/beacon_attestation_%d/ssz_snappy", s), Kind: "attestation", Subnet: s,
				Subscribed: rng.Intn(2) == 0, Epoch: uint64(i / 1000), Sentry: sentry, Timestamp: ts}
			subject, id, v = events.Subject(network, events.KindSubscription), e.MsgID(), e
		}
		data, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		out = append(out, msg{subject, id, data})
	}
	return out
}

func main() {
	n := flag.Int("events", 100000, "events to push through")
	peers := flag.Int("peers", 5000, "distinct peers in the workload")
	batch := flag.Int("batch", 1000, "consumer batch size")
	dsn := flag.String("db", "", "state store DSN (default: SQLite in a temp dir)")
	noArchive := flag.Bool("no-archive", false, "skip the Parquet archive")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the pipeline phase to this file")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx := context.Background()
	network := fmt.Sprintf("bench%d", time.Now().UnixNano()%1e9)
	work := workload(*n, *peers, network)
	var bytes int
	for _, m := range work {
		bytes += len(m.data)
	}

	raw, err := rawRate(ctx, work, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "raw:", err)
		os.Exit(1)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	pipe, err := pipelineRate(ctx, work, *batch, *dsn, !*noArchive, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pipeline:", err)
		os.Exit(1)
	}
	backend := "SQLite"
	if *dsn != "" {
		backend = "PostgreSQL"
	}
	fmt.Printf("| measure | events/s |\n|---|---|\n")
	fmt.Printf("| raw JetStream async publish (file store, %d events, %d B avg) | %.0f |\n", *n, bytes / *n, raw)
	fmt.Printf("| end to end: publish → JetStream → consumer → Parquet + %s | %.0f |\n", backend, pipe)
	fmt.Printf("| ratio end-to-end / raw | %.2f |\n", pipe/raw)
}

func tempDir() string {
	d, err := os.MkdirTemp("", "valtrack-bench-")
	if err != nil {
		panic(err)
	}
	return d
}

func rawRate(ctx context.Context, work []msg, log *slog.Logger) (float64, error) {
	dir := tempDir()
	defer os.RemoveAll(dir)
	b, err := bus.Open(ctx, bus.Config{DataDir: dir, MaxBytes: 4 << 30}, log)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	if err := b.EnsureStream(ctx, events.Domain); err != nil {
		return 0, err
	}
	js, err := jetstream.New(b.Conn(), jetstream.WithPublishAsyncMaxPending(bus.DefaultMaxPending))
	if err != nil {
		return 0, err
	}
	start := time.Now()
	for _, m := range work {
		if _, err := js.PublishAsync(m.subject, m.data, jetstream.WithMsgID(m.id)); err != nil {
			return 0, err
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(5 * time.Minute):
		return 0, fmt.Errorf("acks did not arrive")
	}
	return float64(len(work)) / time.Since(start).Seconds(), nil
}

func pipelineRate(ctx context.Context, work []msg, batch int, dsn string, withArchive bool, log *slog.Logger) (float64, error) {
	dir := tempDir()
	defer os.RemoveAll(dir)
	b, err := bus.Open(ctx, bus.Config{DataDir: dir, MaxBytes: 4 << 30}, log)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	if err := b.EnsureStream(ctx, events.Domain); err != nil {
		return 0, err
	}
	db, err := store.Open(ctx, dsn, dir, log, store.WithMigrations(state.Migrations()))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	st := state.New(db)
	var arch *archive.Writer
	if withArchive {
		if arch, err = archive.Open(archive.Options{Root: dir, Log: log}); err != nil {
			return 0, err
		}
		defer arch.Close()
	}
	sk, err := sink.New(sink.Config{State: st, Archive: arch})
	if err != nil {
		return 0, err
	}
	c, err := consumer.New(consumer.Config{Bus: b, Domain: events.Domain, Sink: sk, Archive: arch, BatchSize: batch, MaxWait: 50 * time.Millisecond, Log: log})
	if err != nil {
		return 0, err
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(cctx) }()
	pub := b.NewPublisher(log)
	start := time.Now()
	for _, m := range work {
		if err := pub.Publish(ctx, m.subject, m.id, m.data); err != nil {
			return 0, err
		}
	}
	published := time.Since(start)
	deadline := time.Now().Add(10 * time.Minute)
	for c.Processed() < uint64(len(work)) {
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("only %d of %d events stored after 10 minutes", c.Processed(), len(work))
		}
		select {
		case err := <-done:
			return 0, fmt.Errorf("consumer stopped: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	elapsed := time.Since(start)
	fmt.Fprintf(os.Stderr, "pipeline: published all in %s, stored all in %s\n", published.Round(time.Millisecond), elapsed.Round(time.Millisecond))
	if err := pub.Close(ctx); err != nil {
		return 0, err
	}
	if dsn != "" {
		// leave nothing behind in a shared database
		if _, err := st.Prune(ctx, time.Now().Add(time.Hour)); err != nil {
			log.Warn("prune", "err", err)
		}
	}
	return float64(len(work)) / elapsed.Seconds(), nil
}
