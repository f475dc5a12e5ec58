// Command pipeline measures valtrack's end-to-end event rate — publish →
// JetStream file store → consumer → Parquet + state store — beside the raw
// JetStream publish rate measured in the same run on the same machine.
//
//	go run ./bench/pipeline -events 100000
//	go run ./bench/pipeline -events 100000 -db postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//
// -domain cosmos replays a recording of a real devnet (bench/pipeline/testdata,
// made with -record) at full speed, shifted in height as often as -events
// asks, then times the missed-vote analyzer over what was stored:
//
//	go run ./bench/pipeline -domain cosmos -events 200000
//	go run ./bench/pipeline -record bench/pipeline/testdata/cosmos-devnet.jsonl.gz -record-for 100s
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

	"github.com/valtrack/valtrack/bench/internal/benchkit"
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

// bench is one domain's workload and what the pipeline needs to store it.
type bench struct {
	stream     string // the bus domain (stream) the events go to
	work       []msg
	migrations store.Migrations
	// sink builds the domain's consumer sink on the opened store.
	sink func(db *store.DB, arch *archive.Writer) (consumer.Sink, error)
	// after runs once every event is stored, on the same store (an
	// analyzer timing) and returns a line for the report; nil: nothing.
	after func(ctx context.Context, db *store.DB) (string, error)
	// cleanup leaves nothing behind in a shared database (-db).
	cleanup func(ctx context.Context, db *store.DB) error
}

func ethereumBench(n, peers int) *bench {
	network := fmt.Sprintf("bench%d", time.Now().UnixNano()%1e9)
	var st state.Store
	return &bench{
		stream: events.Domain, work: workload(n, peers, network), migrations: state.Migrations(),
		sink: func(db *store.DB, arch *archive.Writer) (consumer.Sink, error) {
			st = state.New(db)
			return sink.New(sink.Config{State: st, Archive: arch})
		},
		cleanup: func(ctx context.Context, _ *store.DB) error {
			_, err := st.Prune(ctx, time.Now().Add(time.Hour))
			return err
		},
	}
}

func main() {
	domainName := flag.String("domain", "ethereum", "workload: ethereum (synthetic mix) | cosmos (replay of a recorded devnet)")
	n := flag.Int("events", 100000, "events to push through")
	peers := flag.Int("peers", 5000, "ethereum: distinct peers in the workload")
	recording := flag.String("recording", "bench/pipeline/testdata/cosmos-devnet.jsonl.gz", "cosmos: the recorded devnet events to replay")
	batch := flag.Int("batch", 1000, "consumer batch size")
	dsn := flag.String("db", "", "state store DSN (default: SQLite in a temp dir)")
	noArchive := flag.Bool("no-archive", false, "skip the Parquet archive")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the pipeline phase to this file")
	recordTo := flag.String("record", "", "record a cosmos devnet's events to this file (gzip JSON lines) instead of measuring")
	recordFor := flag.Duration("record-for", 90*time.Second, "with -record: how long to record")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx := context.Background()
	if *recordTo != "" {
		if err := record(ctx, *recordTo, *recordFor, log); err != nil {
			fail("record", err)
		}
		return
	}
	var b *bench
	var votes int
	switch *domainName {
	case "ethereum":
		b = ethereumBench(*n, *peers)
	case "cosmos":
		cb, err := newCosmosBench(*recording, *n, log)
		if err != nil {
			fail("cosmos", err)
		}
		b, votes = cb.bench(), cb.votes
	default:
		fail("domain", fmt.Errorf("%q: give ethereum or cosmos", *domainName))
	}
	work := b.work
	var bytes int
	for _, m := range work {
		bytes += len(m.data)
	}

	raw, err := rawRate(ctx, b.stream, work, log)
	if err != nil {
		fail("raw", err)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fail("cpuprofile", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fail("cpuprofile", err)
		}
		defer pprof.StopCPUProfile()
	}
	pipe, extra, err := pipelineRate(ctx, b, *batch, *dsn, !*noArchive, log)
	if err != nil {
		fail("pipeline", err)
	}
	backend := "SQLite"
	if *dsn != "" {
		backend = "PostgreSQL"
	}
	if votes == 0 {
		fmt.Printf("| measure | events/s |\n|---|---|\n")
		fmt.Printf("| raw JetStream async publish (file store, %d events, %d B avg) | %.0f |\n", len(work), bytes/len(work), raw)
		fmt.Printf("| end to end: publish → JetStream → consumer → Parquet + %s | %.0f |\n", backend, pipe)
		fmt.Printf("| ratio end-to-end / raw | %.2f |\n", pipe/raw)
		return
	}
	share := float64(votes) / float64(len(work))
	fmt.Printf("| measure | events/s | votes/s |\n|---|---|---|\n")
	fmt.Printf("| raw JetStream async publish (file store, %d events of which %d votes, %d B avg) | %.0f | %.0f |\n", len(work), votes, bytes/len(work), raw, raw*share)
	fmt.Printf("| end to end: publish → JetStream → consumer → Parquet + %s | %.0f | %.0f |\n", backend, pipe, pipe*share)
	fmt.Printf("| ratio end-to-end / raw | %.2f | %.2f |\n", pipe/raw, pipe/raw)
	if extra != "" {
		fmt.Println(extra)
	}
}

func rawRate(ctx context.Context, stream string, work []msg, log *slog.Logger) (float64, error) {
	dir := tempDir()
	defer os.RemoveAll(dir)
	b, err := benchkit.OpenBus(ctx, dir, stream, log)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	js, err := jetstream.New(b.Conn(), jetstream.WithPublishAsyncMaxPending(bus.DefaultMaxPending))
	if err != nil {
		return 0, err
	}
	start := time.Now()
	for _, m := range work {
		// A long stall wait: on a loaded machine the default 200 ms ends the
		// baseline run with "too many outstanding" instead of measuring it.
		if _, err := js.PublishAsync(m.subject, m.data, jetstream.WithMsgID(m.id), jetstream.WithStallWait(time.Minute)); err != nil {
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

func pipelineRate(ctx context.Context, bn *bench, batch int, dsn string, withArchive bool, log *slog.Logger) (float64, string, error) {
	work := bn.work
	dir := tempDir()
	defer os.RemoveAll(dir)
	b, err := benchkit.OpenBus(ctx, dir, bn.stream, log)
	if err != nil {
		return 0, "", err
	}
	defer b.Close()
	db, err := store.Open(ctx, dsn, dir, log, store.WithMigrations(bn.migrations))
	if err != nil {
		return 0, "", err
	}
	defer db.Close()
	var arch *archive.Writer
	if withArchive {
		if arch, err = archive.Open(archive.Options{Root: dir, Log: log}); err != nil {
			return 0, "", err
		}
		defer arch.Close()
	}
	sk, err := bn.sink(db, arch)
	if err != nil {
		return 0, "", err
	}
	c, err := consumer.New(consumer.Config{Bus: b, Domain: bn.stream, Sink: sk, Archive: arch, BatchSize: batch, MaxWait: 50 * time.Millisecond, Log: log})
	if err != nil {
		return 0, "", err
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(cctx) }()
	pub := b.NewPublisher(log)
	start := time.Now()
	for _, m := range work {
		if err := pub.Publish(ctx, m.subject, m.id, m.data); err != nil {
			return 0, "", err
		}
	}
	published := time.Since(start)
	deadline := time.Now().Add(10 * time.Minute)
	for c.Processed() < uint64(len(work)) {
		if time.Now().After(deadline) {
			return 0, "", fmt.Errorf("only %d of %d events stored after 10 minutes", c.Processed(), len(work))
		}
		select {
		case err := <-done:
			return 0, "", fmt.Errorf("consumer stopped: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	elapsed := time.Since(start)
	fmt.Fprintf(os.Stderr, "pipeline: published all in %s, stored all in %s\n", published.Round(time.Millisecond), elapsed.Round(time.Millisecond))
	if err := pub.Close(ctx); err != nil {
		return 0, "", err
	}
	cancel()
	<-done
	var extra string
	if bn.after != nil {
		if extra, err = bn.after(ctx, db); err != nil {
			return 0, "", err
		}
	}
	if dsn != "" && bn.cleanup != nil {
		// leave nothing behind in a shared database
		if err := bn.cleanup(ctx, db); err != nil {
			log.Warn("cleanup", "err", err)
		}
	}
	return float64(len(work)) / elapsed.Seconds(), extra, nil
}

var fail = benchkit.Fail

func tempDir() string { return benchkit.TempDir("valtrack-bench-") }
