package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/valtrack/valtrack/internal/ssv/devnet"
	"github.com/valtrack/valtrack/internal/ssv/events"
	ssvregistry "github.com/valtrack/valtrack/internal/ssv/registry"
)

// getLogsCall is one eth_getLogs the sentry sent through the proxy: a
// block range, or one block by its hash.
type getLogsCall struct {
	run       int // 1: before the restart, 2: after
	from, to  uint64
	blockHash *common.Hash
}

// rpcRecorder is a reverse proxy in front of the devnet's HTTP JSON-RPC
// that records every eth_getLogs (batches included), so that the test sees
// what the sentry reads, not what it says it reads.
type rpcRecorder struct {
	t     *testing.T
	srv   *httptest.Server
	mu    sync.Mutex
	run   int
	calls []getLogsCall
}

func newRPCRecorder(t *testing.T, target string) *rpcRecorder {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rec := &rpcRecorder{t: t, run: 1}
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(u) }}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rec.record(body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

type rpcRequest struct {
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
}

// record notes the eth_getLogs calls of one JSON-RPC body (a call or a
// batch). A call it cannot read fails the test: an unrecorded read could
// hide one below the cursor.
func (rec *rpcRecorder) record(body []byte) {
	var reqs []rpcRequest
	if b := bytes.TrimSpace(body); len(b) > 0 && b[0] == '[' {
		if err := json.Unmarshal(b, &reqs); err != nil {
			rec.t.Errorf("proxy: batch %.200s: %v", b, err)
			return
		}
	} else {
		var one rpcRequest
		if err := json.Unmarshal(b, &one); err != nil {
			rec.t.Errorf("proxy: call %.200s: %v", b, err)
			return
		}
		reqs = []rpcRequest{one}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, q := range reqs {
		if q.Method != "eth_getLogs" {
			continue
		}
		var f struct {
			FromBlock string       `json:"fromBlock"`
			ToBlock   string       `json:"toBlock"`
			BlockHash *common.Hash `json:"blockHash"`
		}
		if len(q.Params) != 1 || json.Unmarshal(q.Params[0], &f) != nil {
			rec.t.Errorf("proxy: eth_getLogs with params %s", q.Params)
			continue
		}
		c := getLogsCall{run: rec.run, blockHash: f.BlockHash}
		if f.BlockHash == nil {
			from, err1 := hexutil.DecodeUint64(f.FromBlock)
			to, err2 := hexutil.DecodeUint64(f.ToBlock)
			if err1 != nil || err2 != nil {
				rec.t.Errorf("proxy: eth_getLogs range %q..%q is not two block numbers", f.FromBlock, f.ToBlock)
				continue
			}
			c.from, c.to = from, to
		}
		rec.calls = append(rec.calls, c)
	}
}

func (rec *rpcRecorder) setRun(n int) {
	rec.mu.Lock()
	rec.run = n
	rec.mu.Unlock()
}

func (rec *rpcRecorder) callsOf(run int) []getLogsCall {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []getLogsCall
	for _, c := range rec.calls {
		if c.run == run {
			out = append(out, c)
		}
	}
	return out
}

// storedMsg is a message of the SSV stream: its id and the block it is of.
type storedMsg struct {
	id, subject string
	block       uint64
}

// readSSVStream reads every message of the SSV stream through a NATS
// client on the bus listener, sync statuses left out (their ids are their
// times: never repeated).
func readSSVStream(t *testing.T, busAddr string) []storedMsg {
	t.Helper()
	nc, err := nats.Connect("nats://"+busAddr, nats.Timeout(10*time.Second))
	if err != nil {
		t.Fatalf("connect to the bus listener %s: %v", busAddr, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, "SSV")
	if err != nil {
		t.Fatalf("stream SSV: %v", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last := info.State.LastSeq
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		t.Fatal(err)
	}
	var out []storedMsg
	for seq := uint64(0); seq < last; {
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatalf("read stream SSV at %d of %d: %v", seq, last, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			md, err := m.Metadata()
			if err != nil {
				t.Fatal(err)
			}
			seq = md.Sequence.Stream
			if seq > last {
				break
			}
			kind := m.Subject()[strings.LastIndexByte(m.Subject(), '.')+1:]
			if kind == events.KindSyncStatus {
				continue
			}
			v, err := events.Decode(kind, m.Data())
			if err != nil {
				t.Fatalf("stream message %d on %s: %v", seq, m.Subject(), err)
			}
			sm := storedMsg{id: m.Headers().Get(jetstream.MsgIDHeader), subject: m.Subject()}
			switch e := v.(type) {
			case *events.ContractEvent:
				sm.block = e.Block
			case *events.Block:
				sm.block = e.Number
			default:
				// A reorg on a devnet that does not fork is a finding.
				t.Fatalf("stream message %d on %s: %T", seq, m.Subject(), v)
			}
			if sm.id == "" {
				t.Fatalf("stream message %d on %s has no Nats-Msg-Id", seq, m.Subject())
			}
			out = append(out, sm)
		}
		if err := batch.Error(); err != nil {
			t.Fatalf("read stream SSV at %d of %d: %v", seq, last, err)
		}
		if n == 0 {
			t.Fatalf("stream SSV: nothing delivered after %d of %d", seq, last)
		}
	}
	return out
}

// waitLive waits until /sync shows the registry at block or past it with
// the sentry following the head (live): a stop then interrupts at most the
// one block it is processing, not a history range of many.
func waitLive(t *testing.T, c *child, addr string, block uint64, within time.Duration) {
	t.Helper()
	waitSyncMode(t, c, addr, block, "live", within)
}

// truthLog keeps every truth.json the devnet wrote, by block: the served
// registry is compared with the truth of the very block it is at, since it
// may be a block or two past the latest truth read before (an operator's
// validator count moves with no update block of its own to tell).
type truthLog struct {
	mu sync.Mutex
	by map[uint64]devnet.Truth
}

// watchTruth records the devnet's truth until ctx ends. Blocks are
// BlockInterval (500 ms) apart; a 10 ms poll sees each one.
func watchTruth(ctx context.Context, dn *devnet.Devnet) *truthLog {
	l := &truthLog{by: map[uint64]devnet.Truth{}}
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			tr := dn.Truth()
			l.mu.Lock()
			if _, ok := l.by[tr.Block]; !ok {
				l.by[tr.Block] = tr
			}
			l.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return l
}

func (l *truthLog) at(block uint64) (devnet.Truth, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	tr, ok := l.by[block]
	return tr, ok
}

// softT collects compareRegistry's failures instead of failing the test,
// so that a comparison the registry moved on during can be done again.
type softT struct {
	testing.TB
	errs []string
}

type softFatal struct{}

func (s *softT) Helper() {}
func (s *softT) Errorf(format string, args ...any) {
	s.errs = append(s.errs, fmt.Sprintf(format, args...))
}
func (s *softT) Fatal(args ...any) {
	s.errs = append(s.errs, fmt.Sprint(args...))
	panic(softFatal{})
}

func servedBlock(t *testing.T, addr string) (uint64, bool) {
	var s ssvregistry.Sync
	ok := getAPI(t, addr, "/api/v1/ssv/devnet/sync", &s)
	return s.LastBlock, ok
}

// compareAtServedBlock compares the served registry with the truth of the
// block it is at, the block read before and after the comparison: the
// registry applies a block in one transaction, so the same block on both
// sides means every answer was of that block. A comparison the registry
// moved on during is done again.
func compareAtServedBlock(t *testing.T, addr string, truths *truthLog, within time.Duration) {
	t.Helper()
	var last []string
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		b1, ok := servedBlock(t, addr)
		if !ok {
			continue
		}
		tr, ok := truths.at(b1)
		if !ok {
			continue
		}
		st := &softT{TB: t}
		func() {
			defer func() {
				if r := recover(); r != nil {
					if _, ok := r.(softFatal); !ok {
						panic(r)
					}
				}
			}()
			compareRegistry(st, addr, tr)
		}()
		if b2, ok := servedBlock(t, addr); ok && b2 == b1 {
			for _, e := range st.errs {
				t.Error(e)
			}
			return
		}
		last = st.errs
	}
	t.Fatalf("the registry never stayed at one block through a comparison within %s; the last one found: %v", within, last)
}

// TestSSVDevnetRestartResumes is issue 8's "a restart resumes without
// re-reading from the start block and without duplicates", end to end:
// valtrack polls the devnet over HTTP through a recording proxy, is
// stopped, and started again over the same data directory. After the
// restart no eth_getLogs reaches below the persisted cursor + 1, the
// stream holds each event and block marker once (the one block after the
// cursor aside, which the design may publish again with the same ids), and
// the registry equals truth.json.
func TestSSVDevnetRestartResumes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dn := startSSVDevnet(ctx, t)
	info := dn.Info()
	rec := newRPCRecorder(t, info.RPCHTTP)
	truths := watchTruth(ctx, dn)

	// The devnet as valtrack sees it: HTTP through the proxy, no WebSocket
	// (the sentry polls), the devnet's contract, start block and chain id.
	seen := info
	seen.RPCHTTP, seen.RPCWS = rec.srv.URL, ""
	dir := t.TempDir()
	b, err := json.Marshal(seen)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, devnet.InfoFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	// A duplicate window shorter than the restart: the stream then keeps
	// a message the restarted sentry publishes again instead of dropping
	// it, so reading the stream shows every re-publication.
	const dupWindow = time.Second
	data, addr, busAddr := t.TempDir(), freeAddr(t), freeAddr(t)
	args := []string{"run", "--ssv-dir", dir, "--data-dir", data, "--http", addr, "--progress-every", "0", "--ssv-follow-distance", "2",
		"--bus-listen", busAddr, "--bus-duplicates", dupWindow.String()}

	c := startChild(t, args...)
	truth := dn.Truth()
	waitLive(t, c, addr, truth.Block, time.Minute)
	if err := c.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := c.waitExit(t, time.Minute); code != 0 && code != 130 {
		t.Fatalf("valtrack exited %d:\n%s", code, c.output())
	}
	stopped := time.Now()
	first := rec.callsOf(1)
	if len(first) == 0 || first[0].blockHash != nil || first[0].from != info.FromBlock {
		t.Fatalf("the first run's first eth_getLogs through the proxy: %+v, want a range from the start block %d", first[:min(len(first), 1)], info.FromBlock)
	}

	// The cursor the restart resumes from.
	cb, err := os.ReadFile(filepath.Join(data, "ssv", "ssv-devnet.cursor"))
	if err != nil {
		t.Fatal(err)
	}
	var cursor struct {
		Processed int64 `json:"processed"`
	}
	if err := json.Unmarshal(cb, &cursor); err != nil || cursor.Processed < int64(truth.Block) {
		t.Fatalf("cursor %s (%v): want the last processed block, at least %d", cb, err, truth.Block)
	}
	resume := uint64(cursor.Processed) + 1

	// Past the duplicate window before anything is published again.
	time.Sleep(time.Until(stopped.Add(dupWindow + 500*time.Millisecond)))
	rec.setRun(2)
	c2 := startChild(t, args...)
	c2.waitOutput(t, "resumed=true", 30*time.Second)
	truth = dn.Truth()
	if truth.Block <= resume {
		t.Fatalf("truth.json at block %d: the devnet did not move past the cursor %d", truth.Block, cursor.Processed)
	}
	waitLive(t, c2, addr, truth.Block, time.Minute)

	// (c) the registry equals truth.json, as of the block it is at.
	compareAtServedBlock(t, addr, truths, time.Minute)

	// (a) nothing read again: the restarted sentry's first eth_getLogs
	// starts right after the cursor, and none reaches below it.
	second := rec.callsOf(2)
	if len(second) == 0 {
		t.Fatal("no eth_getLogs through the proxy after the restart")
	}
	eth, err := ethclient.Dial(info.RPCHTTP)
	if err != nil {
		t.Fatal(err)
	}
	defer eth.Close()
	for i, call := range second {
		from := call.from
		if call.blockHash != nil {
			h, err := eth.HeaderByHash(ctx, *call.blockHash)
			if err != nil {
				t.Fatalf("block %s the sentry read by hash: %v", call.blockHash, err)
			}
			from = h.Number.Uint64()
		}
		if from < resume {
			t.Errorf("after the restart eth_getLogs #%d reads block %d (%+v): below the cursor %d + 1", i, from, call, cursor.Processed)
		}
		if i == 0 && call.blockHash == nil && from != resume {
			t.Errorf("the first eth_getLogs after the restart starts at %d, not at the cursor %d + 1", from, cursor.Processed)
		}
	}

	// (b) each message once. A stop interrupts the live sentry between
	// the events of block cursor+1 and its marker at most (the cursor is
	// written once the marker is out): those events, and only those, may
	// be stored twice, with the same ids.
	msgs := readSSVStream(t, busAddr)
	count := map[string]int{}
	blockOf := map[string]uint64{}
	for _, m := range msgs {
		count[m.id]++
		blockOf[m.id] = m.block
	}
	var beforeCursor, afterCursor int
	for _, m := range msgs {
		if m.block < resume {
			beforeCursor++
		} else {
			afterCursor++
		}
	}
	if beforeCursor == 0 || afterCursor == 0 {
		t.Fatalf("the stream holds %d messages of blocks up to the cursor %d and %d after it: want both runs' messages", beforeCursor, cursor.Processed, afterCursor)
	}
	ids := slices.SortedFunc(maps.Keys(count), func(a, b string) int { return cmp.Compare(blockOf[a], blockOf[b]) })
	for _, id := range ids {
		switch n := count[id]; {
		case n == 1:
		case n == 2 && blockOf[id] == resume:
			t.Logf("message %s of block %d (the one after the cursor) stored twice: published again after the restart", id, resume)
		default:
			t.Errorf("message %s of block %d stored %d times (cursor %d)", id, blockOf[id], n, cursor.Processed)
		}
	}
	t.Logf("cursor %d; %d eth_getLogs before the restart, %d after, the first after %s; %d messages in the stream",
		cursor.Processed, len(first), len(second), describeCall(second[0]), len(msgs))
}

func describeCall(c getLogsCall) string {
	if c.blockHash != nil {
		return "by hash " + c.blockHash.Hex()
	}
	return strconv.FormatUint(c.from, 10) + ".." + strconv.FormatUint(c.to, 10)
}
