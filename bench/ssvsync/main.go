// Command ssvsync measures the SSV history sync from a devnet with a large
// history: the sentry alone (sync.New against the devnet's HTTP JSON-RPC,
// publishing to a counter) until it has published every log of the
// history, and the whole pipeline (sentry → embedded bus → consumer → sink
// with shares.Check → SQLite) until the registry holds every validator,
// beside the raw eth_getLogs of the whole history range in one call,
// measured in the same run against the same node.
//
//	go run ./bench/ssvsync -validators 10000
//	go run ./bench/ssvsync -validators 10000 -per-block 100 -follow 1,8
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/valtrack/valtrack/bench/internal/benchkit"
	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/domain"
	"github.com/valtrack/valtrack/internal/ssv/abi"
	"github.com/valtrack/valtrack/internal/ssv/devnet"
	ssvevents "github.com/valtrack/valtrack/internal/ssv/events"
	"github.com/valtrack/valtrack/internal/ssv/shares"
	"github.com/valtrack/valtrack/internal/ssv/sink"
	"github.com/valtrack/valtrack/internal/ssv/state"
	ssvsync "github.com/valtrack/valtrack/internal/ssv/sync"
	"github.com/valtrack/valtrack/internal/store"
)

func main() {
	validators := flag.Int("validators", 10000, "ValidatorAdded in the devnet's history beyond its script (devnet.Options.HistoryValidators)")
	perBlock := flag.Int("per-block", devnet.DefaultHistoryPerBlock, "history validators per block")
	follow := flag.String("follow", "1,8", "sentry follow distances to time, comma-separated (1..)")
	batch := flag.Int("batch", 1000, "consumer batch size")
	noCheck := flag.Bool("no-check-row", false, "skip the pipeline row without shares.Check")
	two := flag.Bool("two-endpoints", true, "also time the sentry (follow distance 8) with a second endpoint, the devnet's WebSocket URL, whose answer every history range is compared with")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	ctx := context.Background()

	dir := tempDir()
	defer os.RemoveAll(dir)
	began := time.Now()
	// 50 ms blocks after the history, and no new events: the follow
	// distance costs a few blocks' time, and the history is all there is.
	d, err := devnet.Start(ctx, devnet.Options{Dir: dir, BlockInterval: devnet.MinBlockInterval, EventEvery: 1 << 30,
		HistoryValidators: *validators, HistoryPerBlock: *perBlock, Log: log})
	if err != nil {
		fail("devnet", err)
	}
	defer d.Close()
	info, truth := d.Info(), d.Truth()
	fmt.Fprintf(os.Stderr, "devnet: %d logs in blocks %d..%d, %d validators, started in %s\n",
		truth.Logs, info.FromBlock, truth.Block, len(truth.Validators), time.Since(began).Round(time.Millisecond))

	raw, rawBytes, err := rawGetLogs(ctx, info, truth)
	if err != nil {
		fail("raw eth_getLogs", err)
	}
	fmt.Printf("history: %d logs (%d ValidatorAdded) in %d blocks, %d validators, %.1f MB of eth_getLogs JSON\n\n",
		truth.Logs, truth.Events["ValidatorAdded"], truth.Block-info.FromBlock+1, len(truth.Validators), float64(rawBytes)/1e6)
	fmt.Printf("| measure | time | logs/s | ratio to raw eth_getLogs | eth_getLogs ranges (last size) |\n|---|---|---|---|---|\n")
	fmt.Printf("| raw eth_getLogs, blocks %d..%d in one call (ethclient) | %s | %.0f | 1.00 | 1 |\n",
		info.FromBlock, truth.Block, raw.Round(time.Millisecond), rate(truth.Logs, raw))
	for _, f := range strings.Split(*follow, ",") {
		fd, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil || fd == 0 {
			fail("follow", fmt.Errorf("%q: give distances of 1 or more", f))
		}
		t, st, err := sentryOnly(ctx, info, truth, fd, []string{info.RPCHTTP}, log)
		if err != nil {
			fail("sentry", err)
		}
		fmt.Printf("| sentry, follow distance %d: start → every log published | %s | %.0f | %.2f | %d (%d) |\n",
			fd, t.Round(time.Millisecond), rate(truth.Logs, t), raw.Seconds()/t.Seconds(), st.Ranges, st.RangeSize)
	}
	if *two {
		t, st, err := sentryOnly(ctx, info, truth, ssvsync.DefaultFollowDistance, []string{info.RPCHTTP, info.RPCWS}, log)
		if err != nil {
			fail("sentry, two endpoints", err)
		}
		fmt.Printf("| sentry, follow distance %d, two endpoints (each range compared with the second's answer) | %s | %.0f | %.2f | %d (%d) |\n",
			ssvsync.DefaultFollowDistance, t.Round(time.Millisecond), rate(truth.Logs, t), raw.Seconds()/t.Seconds(), st.Ranges, st.RangeSize)
	}
	checks := []bool{true}
	if !*noCheck {
		checks = append(checks, false)
	}
	for _, check := range checks {
		t, err := pipeline(ctx, info, truth, check, *batch, log)
		if err != nil {
			fail("pipeline", err)
		}
		what := "with shares.Check"
		if !check {
			what = "without shares.Check"
		}
		fmt.Printf("| whole pipeline %s, follow distance 8: start → registry has every validator | %s | %.0f | %.2f | |\n",
			what, t.Round(time.Millisecond), rate(truth.Logs, t), raw.Seconds()/t.Seconds())
	}
}

func rate(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }

// rawGetLogs is the baseline: the history's whole range in one
// eth_getLogs over HTTP, decoded by ethclient, nothing else.
func rawGetLogs(ctx context.Context, info devnet.Info, truth devnet.Truth) (time.Duration, int, error) {
	c, err := ethclient.DialContext(ctx, info.RPCHTTP)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	start := time.Now()
	logs, err := c.FilterLogs(ctx, ethereum.FilterQuery{
		Addresses: []common.Address{common.HexToAddress(info.Contract)},
		FromBlock: new(big.Int).SetUint64(info.FromBlock), ToBlock: new(big.Int).SetUint64(truth.Block),
	})
	t := time.Since(start)
	if err != nil {
		return 0, 0, err
	}
	if len(logs) != truth.Logs {
		return 0, 0, fmt.Errorf("%d logs, truth.json has %d", len(logs), truth.Logs)
	}
	size := 0
	for _, l := range logs {
		b, _ := l.MarshalJSON()
		size += len(b)
	}
	return t, size, nil
}

// counter is a publisher that only counts.
type counter struct{ n atomic.Uint64 }

func (c *counter) Publish(context.Context, string, string, []byte) error { c.n.Add(1); return nil }

func newSentry(info devnet.Info, fd uint64, rpcs []string, pub domain.Publisher, log *slog.Logger) (*ssvsync.Sentry, error) {
	return ssvsync.New(ssvsync.Config{Network: info.Network, Contract: common.HexToAddress(info.Contract), ChainID: info.ChainID,
		FromBlock: info.FromBlock, RPCs: rpcs, FollowDistance: fd, Decoder: abi.Decode, Publisher: pub,
		SentryID: "bench", Log: log, PollEvery: 50 * time.Millisecond})
}

// until polls done every 5 ms for up to 10 minutes, failing early when run
// (the sentry or consumer) stops.
func until(done func() (bool, error), stopped <-chan error) error {
	deadline := time.Now().Add(10 * time.Minute)
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not done after 10 minutes")
		}
		select {
		case err := <-stopped:
			return fmt.Errorf("stopped: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func sentryOnly(ctx context.Context, info devnet.Info, truth devnet.Truth, fd uint64, rpcs []string, log *slog.Logger) (time.Duration, ssvsync.Stats, error) {
	s, err := newSentry(info, fd, rpcs, &counter{}, log)
	if err != nil {
		return 0, ssvsync.Stats{}, err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopped := make(chan error, 1)
	start := time.Now()
	go func() { stopped <- s.Run(sctx) }()
	err = until(func() (bool, error) { return s.Stats().Logs >= uint64(truth.Logs), nil }, stopped)
	t := time.Since(start)
	st := s.Stats()
	cancel()
	if err != nil {
		return 0, st, err
	}
	return t, st, nil
}

func pipeline(ctx context.Context, info devnet.Info, truth devnet.Truth, check bool, batch int, log *slog.Logger) (time.Duration, error) {
	dir := tempDir()
	defer os.RemoveAll(dir)
	b, err := benchkit.OpenBus(ctx, dir, ssvevents.Domain, log)
	if err != nil {
		return 0, err
	}
	defer b.Close()
	db, err := store.Open(ctx, "", dir, log, store.WithMigrations(state.Migrations()))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	cfg := sink.Config{DB: db, Log: log}
	if check {
		cfg.Check = shares.Check
	}
	sk, err := sink.New(cfg)
	if err != nil {
		return 0, err
	}
	c, err := consumer.New(consumer.Config{Bus: b, Domain: ssvevents.Domain, Sink: sk, BatchSize: batch, MaxWait: 50 * time.Millisecond, Log: log})
	if err != nil {
		return 0, err
	}
	pub := b.NewPublisher(log)
	s, err := newSentry(info, ssvsync.DefaultFollowDistance, []string{info.RPCHTTP}, pub, log)
	if err != nil {
		return 0, err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopped := make(chan error, 2)
	st := state.New(db)
	start := time.Now()
	go func() { stopped <- c.Run(rctx) }()
	go func() { stopped <- s.Run(rctx) }()
	err = until(func() (bool, error) {
		n, err := st.Counts(ctx, info.Network)
		// Without the check the registration signed for a stale nonce
		// is a validator: count registrations.
		return n.Validators+n.Invalid >= len(truth.Validators)+len(truth.Invalid), err
	}, stopped)
	t := time.Since(start)
	if err != nil {
		return 0, err
	}
	n, _ := st.Counts(ctx, info.Network)
	if check && (n.Validators != len(truth.Validators) || n.Invalid != len(truth.Invalid)) {
		return 0, fmt.Errorf("registry: %d validators, %d invalid; truth.json: %d, %d", n.Validators, n.Invalid, len(truth.Validators), len(truth.Invalid))
	}
	cancel()
	_ = pub.Close(ctx)
	return t, nil
}

var fail = benchkit.Fail

func tempDir() string { return benchkit.TempDir("valtrack-ssvsync-") }
