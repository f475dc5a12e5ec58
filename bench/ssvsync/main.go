// Command ssvsync measures the SSV history sync from a devnet with a large
// history: the sentry alone (sync.New publishing to a counter) until it
// has published every log of the history, with one endpoint (whose
// history ranges the sentry checks against the blocks' blooms) and with
// two (each range compared with the second's answer), and the whole
// pipeline (sentry → embedded bus → consumer → sink with shares.Check →
// SQLite) until the registry holds every validator, beside the raw
// eth_getLogs of the whole history range in one call, measured in the same
// rounds against the same node. Every endpoint is a proxy on 127.0.0.1 in
// front of the devnet's HTTP JSON-RPC that counts the calls by method.
//
//	go run ./bench/ssvsync -validators 10000
//	go run ./bench/ssvsync -validators 10000 -per-block 100 -follow 1,8 -runs 3 -pipeline=false
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

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
	two := flag.Bool("two-endpoints", true, "also time the sentry (follow distance 8) with a second endpoint (a second proxy to the same node) whose answer every history range is compared with")
	runs := flag.Int("runs", 3, "rounds of the raw reads and sentry measures, each round every measure in turn")
	settle := flag.Bool("settle", true, "before measuring, wait until the chain is past the sentry's first range (about 50 s of 50 ms blocks), so that every run reads the same blocks")
	pipelines := flag.Bool("pipeline", true, "also time the whole pipeline, once (with and without shares.Check)")
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

	// Every endpoint is a counting proxy on 127.0.0.1 in front of the
	// devnet's HTTP JSON-RPC; the baselines read through the first.
	var proxies []*proxy
	for range 2 {
		p, err := newProxy(info.RPCHTTP)
		if err != nil {
			fail("proxy", err)
		}
		defer p.Close()
		proxies = append(proxies, p)
	}
	var fds []uint64
	for _, f := range strings.Split(*follow, ",") {
		fd, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
		if err != nil || fd == 0 {
			fail("follow", fmt.Errorf("%q: give distances of 1 or more", f))
		}
		fds = append(fds, fd)
	}
	// The sentry's first history range is FromBlock..FromBlock+999: once
	// the chain is past it (and the largest follow distance), every run
	// reads exactly those blocks, the history and the log-less blocks
	// after it.
	first := info.FromBlock + ssvsync.DefaultInitialRange - 1
	if *settle {
		if err := waitHead(ctx, info, first+slices.Max(fds)); err != nil {
			fail("settle", err)
		}
	}
	if *runs < 1 {
		fail("runs", fmt.Errorf("%d: give 1 or more", *runs))
	}
	type measure struct {
		name   string
		noRate bool // not a read of the logs: no logs/s
		run    func() (time.Duration, string, error)
		times  []time.Duration
		notes  []string
	}
	var rawBytes int
	var withLogs map[uint64]bool
	ms := []*measure{{name: fmt.Sprintf("raw eth_getLogs, blocks %d..%d in one call (ethclient)", info.FromBlock, truth.Block), run: func() (time.Duration, string, error) {
		t, size, blocks, err := rawGetLogs(ctx, proxies[0].url, info, truth)
		rawBytes, withLogs = size, blocks
		return t, proxies[0].take().String(), err
	}}}
	if *settle {
		header := func(n uint64, h *blockHead) rpc.BatchElem {
			return rpc.BatchElem{Method: "eth_getBlockByNumber", Args: []any{hexutil.EncodeUint64(n), false}, Result: h}
		}
		ms = append(ms, &measure{name: fmt.Sprintf("raw headers of the log-less blocks of %d..%d, batches of 100 (what the bloom check reads of each)", info.FromBlock, first), noRate: true, run: func() (time.Duration, string, error) {
			t, err := rawBatch(ctx, proxies[0].url, info.FromBlock, first, withLogs, header, nil)
			return t, proxies[0].take().String(), err
		}}, &measure{name: "raw headers and then eth_getLogs by block hash of the same blocks, batches of 100 (the bloom check were every block a hit)", noRate: true, run: func() (time.Duration, string, error) {
			contract := common.HexToAddress(info.Contract)
			t, err := rawBatch(ctx, proxies[0].url, info.FromBlock, first, withLogs, header, func(h *blockHead) rpc.BatchElem {
				return rpc.BatchElem{Method: "eth_getLogs", Args: []any{map[string]any{"address": contract, "blockHash": h.Hash}}, Result: new([]json.RawMessage)}
			})
			return t, proxies[0].take().String(), err
		}})
	}
	sentry := func(fd uint64, n int) func() (time.Duration, string, error) {
		return func() (time.Duration, string, error) {
			var urls []string
			for _, p := range proxies[:n] {
				urls = append(urls, p.url)
			}
			var tr []traffic
			t, st, err := sentryOnly(ctx, info, truth, fd, urls, log, func() {
				for _, p := range proxies[:n] {
					tr = append(tr, p.take())
				}
			})
			for _, p := range proxies {
				p.take() // what came after
			}
			note := ""
			for i, x := range tr {
				note += fmt.Sprintf("endpoint %d: %s; ", i+1, x)
			}
			note = strings.TrimSuffix(note, "; ")
			note += fmt.Sprintf("; %d ranges (last size %d), %d bloom hits read by hash, %d mismatches, %d failovers", st.Ranges, st.RangeSize, st.BloomChecks, st.Mismatches, st.Failovers)
			return t, note, err
		}
	}
	for _, fd := range fds {
		ms = append(ms, &measure{name: fmt.Sprintf("sentry, one endpoint (bloom check), follow distance %d: start → every log published", fd), run: sentry(fd, 1)})
	}
	if *two {
		ms = append(ms, &measure{name: fmt.Sprintf("sentry, two endpoints (each range compared with the second's answer), follow distance %d", ssvsync.DefaultFollowDistance), run: sentry(ssvsync.DefaultFollowDistance, 2)})
	}
	// Rounds of every measure in turn, so that each round's measures
	// share the machine's load of the moment.
	for r := range *runs {
		for _, m := range ms {
			t, note, err := m.run()
			if err != nil {
				fail(m.name, err)
			}
			m.times, m.notes = append(m.times, t), append(m.notes, note)
			fmt.Fprintf(os.Stderr, "run %d: %s: %s; %s\n", r+1, m.name, t.Round(time.Millisecond), note)
		}
	}
	fmt.Printf("history: %d logs (%d ValidatorAdded) in %d blocks (%d with logs), %d validators, %.1f MB of eth_getLogs JSON\n",
		truth.Logs, truth.Events["ValidatorAdded"], truth.Block-info.FromBlock+1, len(withLogs), len(truth.Validators), float64(rawBytes)/1e6)
	if *settle {
		fmt.Printf("the sentry's first range: blocks %d..%d, %d of them without logs\n", info.FromBlock, first, int(first-info.FromBlock+1)-len(withLogs))
	}
	fmt.Printf("\n| measure |")
	for r := range *runs {
		fmt.Printf(" run %d |", r+1)
	}
	fmt.Printf(" min / median / max | ratio to raw eth_getLogs, min / median / max |\n|---|")
	for range *runs + 2 {
		fmt.Printf("---|")
	}
	fmt.Println()
	raw := ms[0].times
	for _, m := range ms {
		fmt.Printf("| %s |", m.name)
		ratios := make([]float64, len(m.times))
		for i, t := range m.times {
			ratios[i] = t.Seconds() / raw[i].Seconds()
			if m.noRate {
				fmt.Printf(" %s (%.2f×) |", t.Round(time.Millisecond), ratios[i])
				continue
			}
			fmt.Printf(" %s, %.0f logs/s (%.2f×) |", t.Round(time.Millisecond), rate(truth.Logs, t), ratios[i])
		}
		secs := make([]float64, len(m.times))
		for i, t := range m.times {
			secs[i] = t.Seconds()
		}
		lo, med, hi := spread(secs)
		rlo, rmed, rhi := spread(ratios)
		fmt.Printf(" %.2f / %.2f / %.2f s | %.2f / %.2f / %.2f× |\n", lo, med, hi, rlo, rmed, rhi)
	}
	fmt.Printf("\nRPC traffic of the last run:\n")
	for _, m := range ms {
		fmt.Printf("- %s: %s\n", m.name, m.notes[len(m.notes)-1])
	}
	if !*pipelines {
		return
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
		fmt.Printf("| whole pipeline %s, follow distance 8: start → registry has every validator | %s | %.0f | %.2f× |\n",
			what, t.Round(time.Millisecond), rate(truth.Logs, t), t.Seconds()/raw[0].Seconds())
	}
}

func rate(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }

// rawGetLogs is the baseline: the history's whole range in one
// eth_getLogs over HTTP (url), decoded by ethclient, nothing else. It
// returns the time, the logs' JSON size and the blocks with logs.
func rawGetLogs(ctx context.Context, url string, info devnet.Info, truth devnet.Truth) (time.Duration, int, map[uint64]bool, error) {
	c, err := ethclient.DialContext(ctx, url)
	if err != nil {
		return 0, 0, nil, err
	}
	defer c.Close()
	start := time.Now()
	logs, err := c.FilterLogs(ctx, ethereum.FilterQuery{
		Addresses: []common.Address{common.HexToAddress(info.Contract)},
		FromBlock: new(big.Int).SetUint64(info.FromBlock), ToBlock: new(big.Int).SetUint64(truth.Block),
	})
	t := time.Since(start)
	if err != nil {
		return 0, 0, nil, err
	}
	if len(logs) != truth.Logs {
		return 0, 0, nil, fmt.Errorf("%d logs, truth.json has %d", len(logs), truth.Logs)
	}
	size := 0
	blocks := map[uint64]bool{}
	for _, l := range logs {
		b, _ := l.MarshalJSON()
		size += len(b)
		blocks[l.BlockNumber] = true
	}
	return t, size, blocks, nil
}

// blockHead is the part of a header a raw batch reads on.
type blockHead struct {
	Hash common.Hash `json:"hash"`
}

// rawBatch is a read of the bloom check on its own: a call of head for
// each of the blocks from..to without logs, in batches of 100 as the
// sentry sends them, and then, when then is not nil, a call of then on
// each header read, batched alike.
func rawBatch(ctx context.Context, url string, from, to uint64, withLogs map[uint64]bool, head func(uint64, *blockHead) rpc.BatchElem, then func(*blockHead) rpc.BatchElem) (time.Duration, error) {
	c, err := rpc.DialContext(ctx, url)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	var heads []*blockHead
	var elems []rpc.BatchElem
	for n := from; n <= to; n++ {
		if !withLogs[n] {
			h := new(blockHead)
			heads = append(heads, h)
			elems = append(elems, head(n, h))
		}
	}
	start := time.Now()
	if err := batches(ctx, c, elems); err != nil {
		return 0, err
	}
	if then != nil {
		elems = elems[:0]
		for _, h := range heads {
			elems = append(elems, then(h))
		}
		if err := batches(ctx, c, elems); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

func batches(ctx context.Context, c *rpc.Client, elems []rpc.BatchElem) error {
	for i := 0; i < len(elems); i += 100 {
		chunk := elems[i:min(i+100, len(elems))]
		if err := c.BatchCallContext(ctx, chunk); err != nil {
			return err
		}
		for _, e := range chunk {
			if e.Error != nil {
				return e.Error
			}
		}
	}
	return nil
}

// waitHead waits until the devnet's head is at least n.
func waitHead(ctx context.Context, info devnet.Info, n uint64) error {
	c, err := ethclient.DialContext(ctx, info.RPCHTTP)
	if err != nil {
		return err
	}
	defer c.Close()
	began := time.Now()
	for {
		h, err := c.BlockNumber(ctx)
		if err != nil {
			return err
		}
		if h >= n {
			fmt.Fprintf(os.Stderr, "head %d after waiting %s\n", h, time.Since(began).Round(time.Second))
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// spread is the minimum, median and maximum of xs.
func spread(xs []float64) (lo, med, hi float64) {
	s := slices.Sorted(slices.Values(xs))
	med = s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + med) / 2
	}
	return s[0], med, s[len(s)-1]
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

// sentryOnly times a sentry from Run until it has published every log of
// the history, and calls done (when not nil) at that moment.
func sentryOnly(ctx context.Context, info devnet.Info, truth devnet.Truth, fd uint64, rpcs []string, log *slog.Logger, done func()) (time.Duration, ssvsync.Stats, error) {
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
	if err == nil && done != nil {
		done()
	}
	st := s.Stats()
	cancel()
	if err != nil {
		return 0, st, err
	}
	// Stopped before the next measure, whose traffic the proxies count.
	<-stopped
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
