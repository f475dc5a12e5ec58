package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/valtrack/valtrack/internal/ssv/events"
)

func noSecrets(t *testing.T, logs *syncBuf, extra ...string) {
	t.Helper()
	for _, s := range append([]string{"topsecret", "secretapikey"}, extra...) {
		if strings.Contains(logs.String(), s) {
			t.Fatalf("the logs hold a secret of the URL (%q)", s)
		}
	}
}

func TestFailover(t *testing.T) {
	faults := map[string]func(n *node){
		"http500": func(n *node) { n.fail.Store(true) },
		"timeout": func(n *node) { n.hang.Store(true) },
		"closed":  func(n *node) { n.srv.CloseClientConnections(); n.srv.Listener.Close() },
	}
	for name, fault := range faults {
		t.Run(name, func(t *testing.T) {
			c := newChain(400, spread(400, 3))
			a, b := newNode(t, c, 1337), newNode(t, c, 1337)
			pub, logs := &memPublisher{}, &syncBuf{}
			cfg := testConfig(t, pub, logs, a, b)
			cfg.InitialRange, cfg.MaxRange = 20, 20
			// The fault strikes when the sync reaches block 200 on a, not
			// when the test sees it past 100: on a busy machine the sync
			// could finish before the test looks.
			a.faultFrom.Store(200)
			a.onFault = func() { fault(a) }
			s, stop := start(t, cfg)
			waitFor(t, "caught up", caughtUp(s, c, 3))
			if a.count("eth_getLogs") < 10 {
				t.Fatalf("%d eth_getLogs on the first endpoint: want the ranges below 200 read from it", a.count("eth_getLogs"))
			}
			stop()
			got, _ := checkStream(t, pub.records())
			checkAll(t, c, got, 0, c.head()-3)
			if st := s.Stats(); st.Failovers == 0 || b.count("eth_getLogs") == 0 {
				t.Fatalf("no failover to the second endpoint: %+v", st)
			}
			noSecrets(t, logs)
			if !strings.Contains(logs.String(), strings.TrimPrefix(a.srv.URL, "http://")) {
				t.Fatal("the failing endpoint is not named host:port in the logs")
			}
		})
	}
}

// A standby endpoint that answered is reported healthy, not unhealthy
// for never having been the one in use.
func TestStandbyEndpointHealthy(t *testing.T) {
	c := newChain(60, spread(60, 5))
	a, b := newNode(t, c, 1337), newNode(t, c, 1337)
	pub, logs := &memPublisher{}, &syncBuf{}
	cfg := testConfig(t, pub, logs, a, b)
	cfg.StatusEvery = 10 * time.Millisecond
	s, stop := start(t, cfg)
	waitFor(t, "caught up", caughtUp(s, c, 3))
	waitFor(t, "a status after the catch-up", func() bool {
		rs := pub.statuses()
		if len(rs) == 0 {
			return false
		}
		var st events.SyncStatus
		return json.Unmarshal(rs[len(rs)-1].data, &st) == nil && st.Processed >= c.head()-3
	})
	stop()
	rs := pub.statuses()
	var st events.SyncStatus
	if err := json.Unmarshal(rs[len(rs)-1].data, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Endpoints) != 2 {
		t.Fatalf("status endpoints %+v", st.Endpoints)
	}
	for _, e := range st.Endpoints {
		if !e.Healthy || e.Error != "" || e.ChainID != 1337 {
			t.Errorf("endpoint %+v: want healthy on chain 1337", e)
		}
	}
}

func TestChainIDMismatchRefused(t *testing.T) {
	c := newChain(10, nil)
	a, b := newNode(t, c, 1), newNode(t, c, 5)
	pub, logs := &memPublisher{}, &syncBuf{}
	s, err := New(testConfig(t, pub, logs, a, b))
	if err != nil {
		t.Fatal(err)
	}
	err = s.Run(context.Background())
	if err == nil {
		t.Fatal("endpoints of two chains accepted")
	}
	for _, want := range []string{strings.TrimPrefix(a.srv.URL, "http://"), strings.TrimPrefix(b.srv.URL, "http://"), "chain id 1", "chain id 5"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "topsecret") || strings.Contains(err.Error(), "secretapikey") {
		t.Fatalf("error %q holds the URL's secrets", err)
	}
	if len(pub.records()) != 0 {
		t.Fatal("published before the chains were checked")
	}
	// Config.ChainID is the chain every endpoint must be on.
	cfg := testConfig(t, pub, logs, a)
	cfg.ChainID = 17000
	s, _ = New(cfg)
	if err := s.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "expected 17000") {
		t.Fatalf("wrong chain accepted: %v", err)
	}
}

func TestSkippedLogs(t *testing.T) {
	spec := spread(60, 5)
	spec[20] = logSpec{n: 4, unknown: map[int]bool{1: true}, truncated: map[int]bool{2: true}}
	c := newChain(60, spec)
	n := newNode(t, c, 1337)
	pub, logs := &memPublisher{}, &syncBuf{}
	cfg := testConfig(t, pub, logs, n)
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	s, stop := start(t, cfg)
	waitFor(t, "caught up", caughtUp(s, c, 3))
	stop()
	got, markers := checkStream(t, pub.records())
	checkAll(t, c, got, 0, c.head()-3)
	var m *events.Block
	for _, b := range markers {
		if b.Number == 20 {
			m = b
		}
	}
	if m == nil || m.Events != 2 || len(m.Skipped) != 2 {
		t.Fatalf("block 20 marker %+v: want 2 events and 2 skipped", m)
	}
	if m.Skipped[0].LogIndex != 1 || !strings.Contains(m.Skipped[0].Reason, "unknown event topic") || m.Skipped[0].Topic0 != topicUnknown.Hex() {
		t.Fatalf("skipped %+v", m.Skipped[0])
	}
	if sk := m.Skipped[1]; sk.Data != hexutil.Encode(c.contractLogs(20, 20)[2].Data) || sk.DataLen != 7 {
		t.Fatalf("skipped %+v: want its 7 bytes of data", sk)
	}
	if m.Skipped[1].LogIndex != 2 || !strings.Contains(m.Skipped[1].Reason, "malformed") {
		t.Fatalf("skipped %+v", m.Skipped[1])
	}
	if st := s.Stats(); st.Skipped != 2 {
		t.Fatalf("stats %+v: want 2 skipped", st)
	}
	if v := metricValue(t, reg, "valtrack_ssv_sentry_logs_skipped_total"); v != 2 {
		t.Fatalf("logs_skipped_total %v", v)
	}
}

// syncDetecting syncs c from the endpoints, of which one returns too few
// logs: every log must still be published, and the mismatch counted in
// the stats and the metric. It returns the sentry's logs.
func syncDetecting(t *testing.T, c *chain, eps ...*node) *syncBuf {
	t.Helper()
	pub, logs := &memPublisher{}, &syncBuf{}
	cfg := testConfig(t, pub, logs, eps...)
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	s, stop := start(t, cfg)
	waitFor(t, "caught up", caughtUp(s, c, 3))
	stop()
	got, _ := checkStream(t, pub.records())
	checkAll(t, c, got, 0, c.head()-3)
	if st := s.Stats(); st.Mismatches == 0 {
		t.Fatalf("the short answer was not detected: %+v", st)
	}
	if v := metricValue(t, reg, "valtrack_ssv_sentry_crosscheck_mismatches_total"); v == 0 {
		t.Fatal("no mismatch counted")
	}
	return logs
}

func TestTooFewLogsDetected(t *testing.T) {
	for _, name := range []string{"receipts", "no receipts: another endpoint's eth_getLogs"} {
		t.Run(name, func(t *testing.T) {
			spec := spread(100, 10)
			spec[50] = logSpec{n: 3}
			c := newChain(100, spec)
			liar, honest := newNode(t, c, 1337), newNode(t, c, 1337)
			// drop the second contract log of block 50 from the liar's eth_getLogs
			drop := c.contractLogs(50, 50)[1]
			liar.dropEvery.Store(int64(drop.Data[31]) | int64(drop.Data[30])<<8)
			if name != "receipts" {
				liar.noReceipts.Store(true)
			}
			logs := syncDetecting(t, c, liar, honest)
			if !strings.Contains(logs.String(), "2 contract logs in the answer, 3 in the") {
				t.Fatalf("the mismatch is not logged with its counts:\n%s", logs)
			}
		})
	}
}

// A node that returns no log at all for a block passes the per-block
// check, which only sees blocks with logs; in history the range is
// compared with another endpoint's, whichever of the two comes first.
func TestBlockWithoutLogsDetected(t *testing.T) {
	for _, liarFirst := range []bool{true, false} {
		t.Run(map[bool]string{true: "short endpoint first", false: "short endpoint second"}[liarFirst], func(t *testing.T) {
			spec := spread(100, 10)
			spec[55] = logSpec{n: 2}
			c := newChain(100, spec)
			liar, honest := newNode(t, c, 1337), newNode(t, c, 1337)
			liar.dropBlock.Store(55)
			eps := []*node{liar, honest}
			if !liarFirst {
				eps = []*node{honest, liar}
			}
			logs := syncDetecting(t, c, eps...)
			if liarFirst && !strings.Contains(logs.String(), "0 contract logs in the answer for blocks") {
				t.Fatalf("the mismatch is not logged with its counts:\n%s", logs)
			}
			if !liarFirst && !strings.Contains(logs.String(), "another endpoint returns too few logs") {
				t.Fatalf("the short other endpoint is not reported:\n%s", logs)
			}
		})
	}
}

func TestLiveAndReorg(t *testing.T) {
	spec := map[uint64]logSpec{5: {n: 1}, 30: {n: 2}, 36: {n: 1}}
	c := newChain(41, spec) // head 40
	n := newNode(t, c, 1337)
	pub, logs := &memPublisher{}, &syncBuf{}
	cfg := testConfig(t, pub, logs, n)
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	s, stop := start(t, cfg)
	waitFor(t, "caught up", caughtUp(s, c, 3))

	// Live: new heads, a marker for every block, never past head − 3.
	c.extend(5, map[uint64]logSpec{43: {n: 2}}, 0)
	waitFor(t, "live blocks", caughtUp(s, c, 3)) // head 45, processed 42
	if p := s.Stats().Processed; p != 42 {
		t.Fatalf("processed %d, want 42 (head 45 − follow distance 3)", p)
	}
	_, markers := checkStream(t, pub.records())
	live := map[uint64]bool{}
	for _, m := range markers {
		if m.Number > 42 {
			t.Fatalf("marker of block %d beyond head − follow distance", m.Number)
		}
		live[m.Number] = true
	}
	for b := uint64(38); b <= 42; b++ {
		if !live[b] {
			t.Fatalf("no marker of live block %d", b)
		}
	}
	old := map[string]bool{}
	for b := uint64(36); b <= c.head(); b++ {
		old[c.block(b).hash.Hex()] = true
	}
	before := len(pub.records())

	// A reorg 7 blocks deep (deeper than the follow distance): blocks 36..
	// are replaced, with other logs.
	c.reorg(36, 14, map[uint64]logSpec{37: {n: 1}, 40: {n: 2}}, 1) // head 49
	waitFor(t, "the new branch", func() bool { return caughtUp(s, c, 3)() && s.Stats().Reorgs == 1 })
	stop()
	recs := pub.records()
	got, _ := checkStream(t, recs)
	// The chain of markers goes on from the last marker before the fork:
	// the consumer's last block after its rollback.
	checkChain(t, recs)
	var reorgAt = -1
	for i, r := range recs[before:] {
		if strings.HasSuffix(r.subject, ".reorg") {
			if reorgAt >= 0 {
				t.Fatal("two reorgs published")
			}
			reorgAt = before + i
			e, _ := events.Decode(events.KindReorg, r.data)
			rg := e.(*events.Reorg)
			if rg.FromBlock != 36 || !old[rg.OldHash] || rg.NewHash != c.block(36).hash.Hex() {
				t.Fatalf("reorg %+v: want from block 36, old hash → new hash", rg)
			}
		}
	}
	if reorgAt < 0 {
		t.Fatal("no reorg published")
	}
	for _, r := range recs[reorgAt+1:] {
		for h := range old {
			if strings.Contains(string(r.data), h) {
				t.Fatalf("published after the reorg, of the old branch: %s", r.data)
			}
		}
	}
	seen := map[uint64]bool{}
	_, after := checkStream(t, recs[reorgAt+1:])
	for _, m := range after {
		seen[m.Number] = true
		if m.Hash != c.block(m.Number).hash.Hex() {
			t.Fatalf("marker of block %d is not the new branch's", m.Number)
		}
	}
	for b := uint64(36); b <= c.head()-3; b++ {
		if !seen[b] {
			t.Fatalf("new branch block %d has no marker after the reorg", b)
		}
	}
	checkAll(t, c, got, 36, c.head()-3)
	if v := metricValue(t, reg, "valtrack_ssv_sentry_reorgs_total"); v != 1 {
		t.Fatalf("reorgs_total %v", v)
	}
}

// TestRestartResumesFromCursor stops a sentry in the middle of its history
// sync and starts a new one over the same data directory: the new one reads
// the cursor, asks for the logs of cursor+1 first and never for a block the
// first one processed, and the two together publish every log once.
func TestRestartResumesFromCursor(t *testing.T) {
	c := newChain(300, spread(300, 4))
	n := newNode(t, c, 1337)
	// The node has not indexed the logs from block 150 yet: the first
	// sentry processes 0..149 and then only retries, so it is stopped with
	// a known cursor and no range half published.
	const stall = 150
	n.stallFrom.Store(stall)
	pub, logs := &memPublisher{}, &syncBuf{}
	cfg := testConfig(t, pub, logs, n)
	cfg.InitialRange, cfg.MaxRange = 20, 20
	s, stop := start(t, cfg)
	waitFor(t, "blocks before the stall processed", func() bool { return s.Stats().Processed == stall-1 })
	waitFor(t, "the stalled range retried", func() bool {
		calls := n.logsCalls()
		return len(calls) > 0 && calls[len(calls)-1].from == stall
	})
	stop()
	if p := s.Stats().Processed; p != stall-1 {
		t.Fatalf("the first sentry processed up to block %d, past the stall at %d", p, stall)
	}
	if m := s.Stats().Mode; m != ModeHistory {
		t.Fatalf("the first sentry stopped in mode %q, want history", m)
	}
	cur, err := newCursor(cfg.DataDir, cfg.Network).load(cfg.Network, cfg.Contract)
	if err != nil || cur == nil {
		t.Fatalf("cursor after the stop: %v, %v", cur, err)
	}
	if cur.Processed != stall-1 {
		t.Fatalf("the cursor says block %d was processed last, the sentry %d", cur.Processed, stall-1)
	}
	before := len(n.logsCalls())
	published := len(pub.records())

	n.stallFrom.Store(0)
	c.extend(100, spread(400, 4), 0)
	s2, stop2 := start(t, cfg)
	waitFor(t, "caught up after the restart", caughtUp(s2, c, 3))
	stop2()
	if !strings.Contains(logs.String(), "resumed=true") {
		t.Fatal("the second sentry did not log that it resumed from the cursor")
	}

	after := n.logsCalls()[before:]
	if len(after) == 0 {
		t.Fatal("no eth_getLogs after the restart")
	}
	if first := after[0]; first.byHash || first.from != uint64(cur.Processed)+1 {
		t.Fatalf("the first eth_getLogs after the restart is %+v, want a range from the cursor's block %d + 1", first, cur.Processed)
	}
	for _, call := range after {
		if call.from <= uint64(cur.Processed) {
			t.Fatalf("after the restart eth_getLogs read block %d again (%+v; cursor %d)", call.from, call, cur.Processed)
		}
	}
	// Nothing of a processed block is published again: no marker or event
	// of a block up to the cursor after the restart, and no id twice.
	for _, r := range pub.records()[published:] {
		kind := r.subject[strings.LastIndexByte(r.subject, '.')+1:]
		v, err := events.Decode(kind, r.data)
		if err != nil {
			t.Fatal(err)
		}
		var block uint64
		switch e := v.(type) {
		case *events.ContractEvent:
			block = e.Block
		case *events.Block:
			block = e.Number
		default:
			t.Fatalf("after the restart %s was published: %s", r.subject, r.data)
		}
		if int64(block) <= cur.Processed {
			t.Fatalf("after the restart %s of block %d was published again (cursor %d)", r.subject, block, cur.Processed)
		}
	}
	got, _ := checkStream(t, pub.records()) // fails on a message id published twice
	// The restarted sentry's first marker names the first one's last:
	// no gap for the consumer.
	checkChain(t, pub.records())
	checkAll(t, c, got, 0, c.head()-3)
	if len(got) != len(c.contractLogs(0, c.head()-3)) {
		t.Fatalf("%d events published, the chain has %d contract logs up to head − 3", len(got), len(c.contractLogs(0, c.head()-3)))
	}
}

func TestHealthyWhenBehind(t *testing.T) {
	c := newChain(50, spread(50, 5))
	n := newNode(t, c, 1337)
	pub, logs := &memPublisher{}, &syncBuf{}
	s, stop := start(t, testConfig(t, pub, logs, n))
	defer stop()
	waitFor(t, "caught up", caughtUp(s, c, 3))
	if err := s.Healthy(); err != nil {
		t.Fatalf("caught up but unhealthy: %v", err)
	}
	n.failLogs.Store(true) // heads still come, blocks cannot be read
	c.extend(20, nil, 0)
	waitFor(t, "the new head seen", func() bool { return s.Stats().Head == c.head() })
	err := s.Healthy()
	if err == nil || !strings.Contains(err.Error(), "behind") {
		t.Fatalf("Healthy() = %v, want behind", err)
	}
	var st *events.SyncStatus
	waitFor(t, "a sync status with the failing endpoint", func() bool {
		rs := pub.statuses()
		e, err := events.Decode(events.KindSyncStatus, rs[len(rs)-1].data)
		if err != nil {
			t.Fatal(err)
		}
		st = e.(*events.SyncStatus)
		return len(st.Endpoints) == 1 && !st.Endpoints[0].Healthy
	})
	if st.Mode != ModeLive || st.Head != c.head() || strings.Contains(st.Endpoints[0].Error, "topsecret") {
		t.Fatalf("sync status %+v", st)
	}
	n.failLogs.Store(false)
	waitFor(t, "caught up again", caughtUp(s, c, 3))
	if err := s.Healthy(); err != nil {
		t.Fatalf("caught up again but unhealthy: %v", err)
	}
}

func TestConfigRefused(t *testing.T) {
	base := func() Config {
		return Config{Network: "testnet", Contract: contract, RPCs: []string{"http://127.0.0.1:1"}, Decoder: testDecoder, Publisher: &memPublisher{}}
	}
	for name, mod := range map[string]func(*Config){
		"network":  func(c *Config) { c.Network = "a.b" },
		"contract": func(c *Config) { c.Contract = [20]byte{} },
		"no rpc":   func(c *Config) { c.RPCs = nil },
		"scheme":   func(c *Config) { c.RPCs = []string{"ftp://u:topsecret@127.0.0.1/x"} },
		"decoder":  func(c *Config) { c.Decoder = nil },
	} {
		c := base()
		mod(&c)
		_, err := New(c)
		if err == nil {
			t.Fatalf("%s: accepted", name)
		}
		if strings.Contains(err.Error(), "topsecret") {
			t.Fatalf("%s: %v holds a secret", name, err)
		}
	}
	if _, err := New(base()); err != nil {
		t.Fatal(err)
	}
	if tooLarge(errors.New("random")) || !tooLarge(errors.New("query returned more than 10000 results")) {
		t.Fatal("tooLarge")
	}
}

// TestLiveWebSocketNewHeads: live, new heads come from the newHeads
// subscription, not from polling (which would take longer than the test
// waits). A subscription that fails — a busy node; under load the
// subscribe call can also outlast the request timeout — is tried again
// after a short back-off, not left to polling for good.
func TestLiveWebSocketNewHeads(t *testing.T) {
	for _, fails := range []int64{0, 3} {
		t.Run(fmt.Sprintf("%d failed subscriptions", fails), func(t *testing.T) {
			c := newChain(30, spread(30, 4))
			n := newNode(t, c, 1337)
			n.subFail.Store(fails)
			pub, logs := &memPublisher{}, &syncBuf{}
			cfg := testConfig(t, pub, logs)
			cfg.RPCs = []string{n.wsURL()}
			cfg.PollEvery, cfg.NoHeadTimeout = time.Minute, time.Minute
			s, stop := start(t, cfg)
			waitFor(t, "caught up", caughtUp(s, c, 3))
			// Only a subscription moves it on from here.
			waitFor(t, "the subscription", func() bool { return n.count("eth_subscribe") > int(fails) })
			for range 3 {
				c.extend(2, nil, 0)
				waitFor(t, "the new heads processed", caughtUp(s, c, 3))
			}
			stop()
			if got := n.count("eth_subscribe"); got < int(fails)+1 {
				t.Fatalf("%d eth_subscribe calls, want %d failed and one that held", got, fails)
			}
			if fails > 0 && !strings.Contains(logs.String(), "subscribing again") {
				t.Fatalf("the failed subscription is not logged:\n%s", logs)
			}
			got, _ := checkStream(t, pub.records())
			checkAll(t, c, got, 0, c.head()-3)
			noSecrets(t, logs)
		})
	}
}

// TestSingleEndpointTooFewLogsInHistory: with one endpoint there is no
// second answer to compare a history range with. A node whose range
// answers lack logs (its log index missed them) is caught all the same:
// a block it returned no log of by the block's bloom, a block it returned
// part of, where it has no eth_getBlockReceipts, by its own eth_getLogs by
// block hash. The range is not accepted but read again after a back-off,
// the sentry's health and the endpoint's status say why, and once the node
// answers right every log is published.
func TestSingleEndpointTooFewLogsInHistory(t *testing.T) {
	for _, tc := range []struct {
		name, status string
		fault        func(n *node, c *chain)
	}{
		{"every log of a block: its bloom", "bloom holds the contract", func(n *node, c *chain) { n.dropBlock.Store(55) }},
		{"part of a block, no receipts: eth_getLogs by hash", "2 contract logs in the answer, 3 in the eth_getLogs by block hash", func(n *node, c *chain) {
			drop := c.contractLogs(55, 55)[1]
			n.dropEvery.Store(int64(drop.Data[31]) | int64(drop.Data[30])<<8)
			n.noReceipts.Store(true)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := spread(100, 10)
			spec[55] = logSpec{n: 3}
			c := newChain(100, spec)
			n := newNode(t, c, 1337)
			n.rangeOnly.Store(true)
			tc.fault(n, c)
			pub, logs := &memPublisher{}, &syncBuf{}
			cfg := testConfig(t, pub, logs, n)
			cfg.StatusEvery = 10 * time.Millisecond
			reg := prometheus.NewRegistry()
			cfg.Registerer = reg
			s, stop := start(t, cfg)
			waitFor(t, "the short answer failed three times", func() bool { return s.Stats().Mismatches >= 3 })
			if p := s.Stats().Processed; p >= 55 {
				t.Fatalf("processed %d: the range short of block 55's logs was accepted", p)
			}
			err := s.Healthy()
			if err == nil || !strings.Contains(err.Error(), "failed the sentry's checks") || !strings.Contains(err.Error(), "block 55") {
				t.Fatalf("Healthy() = %v: want the failed check of block 55", err)
			}
			waitFor(t, "a status showing the endpoint's failed check", func() bool {
				rs := pub.statuses()
				if len(rs) == 0 {
					return false
				}
				e, err := events.Decode(events.KindSyncStatus, rs[len(rs)-1].data)
				if err != nil {
					t.Fatal(err)
				}
				st := e.(*events.SyncStatus)
				return len(st.Endpoints) == 1 && !st.Endpoints[0].Healthy && strings.Contains(st.Endpoints[0].Error, tc.status)
			})
			if !strings.Contains(logs.String(), "every endpoint failed in a row, waiting") {
				t.Fatalf("the range is not read again after a back-off:\n%s", logs)
			}
			if v := metricValue(t, reg, "valtrack_ssv_sentry_crosscheck_mismatches_total"); v < 3 {
				t.Fatalf("crosscheck_mismatches_total %v, want at least 3", v)
			}

			n.dropBlock.Store(0) // the node is fixed
			n.dropEvery.Store(0)
			waitFor(t, "caught up", caughtUp(s, c, 3))
			stop()
			got, _ := checkStream(t, pub.records())
			checkAll(t, c, got, 0, c.head()-3)
			if len(got) != len(c.contractLogs(0, c.head()-3)) {
				t.Fatalf("%d events published, the chain has %d contract logs", len(got), len(c.contractLogs(0, c.head()-3)))
			}
			if err := s.Healthy(); err != nil {
				t.Fatalf("caught up but unhealthy: %v", err)
			}
			noSecrets(t, logs)
		})
	}
}

// TestNoBloomCheckTrustsTheRange: with the bloom check off (a single
// endpoint, --ssv-bloom-check=false) history reads no header of a block
// without logs and takes the range answer as it is — the trade the flag
// names: a block whose logs the node lost goes through.
func TestNoBloomCheckTrustsTheRange(t *testing.T) {
	spec := spread(100, 10)
	spec[55] = logSpec{n: 3}
	c := newChain(100, spec)
	n := newNode(t, c, 1337)
	n.rangeOnly.Store(true)
	n.dropBlock.Store(55)
	pub, logs := &memPublisher{}, &syncBuf{}
	cfg := testConfig(t, pub, logs, n)
	cfg.NoBloomCheck = true
	s, stop := start(t, cfg)
	waitFor(t, "caught up", caughtUp(s, c, 3))
	stop()
	if st := s.Stats(); st.BloomChecks != 0 || st.Mismatches != 0 {
		t.Fatalf("stats %+v: want no bloom check and no mismatch", st)
	}
	got, _ := checkStream(t, pub.records())
	if want := len(c.contractLogs(0, c.head()-3)) - 3; len(got) != want {
		t.Fatalf("%d events published, want %d (all but block 55's three)", len(got), want)
	}
	if !strings.Contains(logs.String(), "no bloom check") {
		t.Fatalf("no warning that the check is off:\n%s", logs)
	}
}

// With one endpoint, history reads the headers of blocks without logs in
// JSON-RPC batches; an endpoint with a smaller batch limit than ours gets
// the calls one by one, and the sync completes.
func TestHeaderBatchesOverTheEndpointsLimit(t *testing.T) {
	c := newChain(300, spread(300, 10))
	n := newNode(t, c, 1337)
	n.rpc.SetBatchLimits(5, 0)
	pub, logs := &memPublisher{}, &syncBuf{}
	cfg := testConfig(t, pub, logs, n)
	s, stop := start(t, cfg)
	waitFor(t, "caught up", caughtUp(s, c, 3))
	stop()
	got, _ := checkStream(t, pub.records())
	checkAll(t, c, got, 0, c.head()-3)
	// Every block of the history without logs had its header read, one by
	// one once the batches were refused.
	if h := n.count("eth_getBlockByNumber"); h < 250 {
		t.Fatalf("%d headers read, want every block's of the history", h)
	}
	if st := s.Stats(); st.Mismatches != 0 {
		t.Fatalf("stats %+v: a refused batch counted as a failed check", st)
	}
}

// dedupPublisher is the bus as the sentry sees it: a message id already
// stored is dropped (JetStream's duplicate window), and while failOn
// says so for a message it is refused.
type dedupPublisher struct {
	memPublisher
	seen   map[string]bool
	failOn atomic.Pointer[func(subject string, data []byte) bool]
}

func (p *dedupPublisher) Publish(ctx context.Context, subject, msgID string, data []byte) error {
	if f := p.failOn.Load(); f != nil && (*f)(subject, data) {
		return errors.New("nats: timeout")
	}
	p.mu.Lock()
	dup := p.seen[msgID]
	p.seen[msgID] = true
	p.mu.Unlock()
	if dup {
		return nil
	}
	return p.memPublisher.Publish(ctx, subject, msgID, data)
}

// TestPublishFailureKeepsTheBlock: a block whose marker cannot be
// published (the bus is down) is not processed — the cursor stays before
// it, in history and live — and once the bus is back it is read and
// published again, so no block is marked processed with its events or
// marker missing.
func TestPublishFailureKeepsTheBlock(t *testing.T) {
	spec := spread(100, 10)
	spec[50] = logSpec{n: 3}
	c := newChain(100, spec)
	n := newNode(t, c, 1337)
	pub := &dedupPublisher{seen: map[string]bool{}}
	logs := &syncBuf{}
	cfg := testConfig(t, &pub.memPublisher, logs, n)
	cfg.Publisher = pub
	failBlock := func(num uint64) {
		f := func(subject string, data []byte) bool {
			if !strings.HasSuffix(subject, ".block") {
				return false
			}
			var b events.Block
			return json.Unmarshal(data, &b) == nil && b.Number == num
		}
		pub.failOn.Store(&f)
	}
	failBlock(50)
	s, stop := start(t, cfg)
	waitFor(t, "block 50's marker refused", func() bool { return strings.Contains(logs.String(), "publish failed; retrying") })
	for range 20 {
		if p := s.Stats().Processed; p >= 50 {
			t.Fatalf("processed %d while block 50's marker is refused", p)
		}
		time.Sleep(5 * time.Millisecond)
	}
	pub.failOn.Store(nil)
	waitFor(t, "caught up", caughtUp(s, c, 3))
	// Live: a new block's marker refused.
	failBlock(c.head() - 2)
	c.extend(1, map[uint64]logSpec{100: {n: 2}}, 0)
	waitFor(t, "the live block's marker refused", func() bool { return strings.Count(logs.String(), "publish failed; retrying") >= 2 })
	if p := s.Stats().Processed; p >= int64(c.head()-3) {
		t.Fatalf("processed %d while block %d's marker is refused", p, c.head()-3)
	}
	pub.failOn.Store(nil)
	waitFor(t, "caught up live", caughtUp(s, c, 3))
	stop()
	got, markers := checkStream(t, pub.records())
	checkAll(t, c, got, 0, c.head()-3)
	// A range published again after a failure goes on from the same
	// previous marker.
	checkChain(t, pub.records())
	seen := map[uint64]bool{}
	for _, m := range markers {
		seen[m.Number] = true
	}
	if !seen[50] || !seen[c.head()-3] {
		t.Fatalf("the blocks whose markers were refused have no marker after all: %v", seen)
	}
}

// A block with more skipped logs than a marker can list within a bus
// message: the marker lists what fits MaxSkippedBytes and counts the rest.
func TestManySkippedLogsFitAMarker(t *testing.T) {
	const many = 1500
	unknown := map[int]bool{}
	for i := range many {
		unknown[i] = true
	}
	spec := spread(30, 5)
	spec[12] = logSpec{n: many, unknown: unknown}
	c := newChain(30, spec)
	n := newNode(t, c, 1337)
	pub, logs := &memPublisher{}, &syncBuf{}
	s, stop := start(t, testConfig(t, pub, logs, n))
	waitFor(t, "caught up", caughtUp(s, c, 3))
	stop()
	for _, r := range pub.records() {
		if !strings.HasSuffix(r.subject, ".block") {
			continue
		}
		v, err := events.Decode(events.KindBlock, r.data)
		if err != nil {
			t.Fatal(err)
		}
		m := v.(*events.Block)
		if m.Number != 12 {
			continue
		}
		if m.SkippedCount() != many || m.SkippedMore == 0 || len(m.Skipped) == 0 {
			t.Fatalf("block 12 marker: %d listed + %d more skipped, want %d in all, some listed", len(m.Skipped), m.SkippedMore, many)
		}
		if len(r.data) > events.MaxSkippedBytes+4096 {
			t.Fatalf("block 12 marker is %d bytes, over the skipped budget %d", len(r.data), events.MaxSkippedBytes)
		}
		if st := s.Stats(); st.Skipped != many {
			t.Fatalf("stats %+v: want %d skipped", st, many)
		}
		return
	}
	t.Fatal("no marker of block 12")
}
