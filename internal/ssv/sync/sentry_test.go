package sync

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/valtrack/valtrack/internal/ssv/events"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testConfig(t *testing.T, pub *memPublisher, logs *syncBuf, nodes ...*node) Config {
	var urls []string
	for _, n := range nodes {
		urls = append(urls, n.url())
	}
	return Config{Network: "testnet", Contract: contract, RPCs: urls, FollowDistance: 3, Decoder: testDecoder,
		Publisher: pub, SentryID: "test", DataDir: t.TempDir(),
		Log:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		PollEvery: 10 * time.Millisecond, RetryMin: 5 * time.Millisecond, RetryMax: 50 * time.Millisecond,
		RequestTimeout: 300 * time.Millisecond, StatusEvery: time.Second}
}

// start runs a Sentry; stop ends it and checks Run returned nil.
func start(t *testing.T, cfg Config) (*Sentry, func()) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("Run did not return after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	return s, stop
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func caughtUp(s *Sentry, c *chain, fd uint64) func() bool {
	return func() bool { return s.Stats().Processed == int64(c.head()-fd) }
}

type logKey struct {
	hash  string
	index uint
}

// checkStream checks the published stream: each block's contract events
// come before its marker, in log-index order, as many as the marker says;
// no message id twice. It returns the contract events by (block hash, index).
func checkStream(t *testing.T, recs []record) (map[logKey]*events.ContractEvent, []*events.Block) {
	t.Helper()
	ids := map[string]bool{}
	got := map[logKey]*events.ContractEvent{}
	var pending []*events.ContractEvent
	var markers []*events.Block
	for _, r := range recs {
		if ids[r.msgID] {
			t.Fatalf("message id %s published twice (%s)", r.msgID, r.subject)
		}
		ids[r.msgID] = true
		kind := r.subject[strings.LastIndexByte(r.subject, '.')+1:]
		v, err := events.Decode(kind, r.data)
		if err != nil {
			t.Fatalf("published %s the consumer refuses: %v", r.data, err)
		}
		switch e := v.(type) {
		case *events.ContractEvent:
			if e.MsgID() != r.msgID || r.subject != events.Subject("testnet", events.Kind(e.Name)) {
				t.Fatalf("event %s on %s with id %s", r.data, r.subject, r.msgID)
			}
			pending = append(pending, e)
			got[logKey{e.BlockHash, e.LogIndex}] = e
		case *events.Block:
			if e.MsgID() != r.msgID {
				t.Fatalf("marker id %s, want %s", r.msgID, e.MsgID())
			}
			if len(pending) != e.Events {
				t.Fatalf("block %d marker says %d events, %d published before it", e.Number, e.Events, len(pending))
			}
			for i, p := range pending {
				if p.Block != e.Number || p.BlockHash != e.Hash {
					t.Fatalf("event of block %d %s before the marker of block %d %s", p.Block, p.BlockHash, e.Number, e.Hash)
				}
				if i > 0 && p.LogIndex <= pending[i-1].LogIndex {
					t.Fatalf("block %d: log %d after log %d", e.Number, p.LogIndex, pending[i-1].LogIndex)
				}
			}
			pending = nil
			markers = append(markers, e)
		case *events.Reorg:
			if len(pending) != 0 {
				t.Fatalf("reorg with %d events of an unfinished block before it", len(pending))
			}
		}
	}
	if len(pending) != 0 {
		t.Fatalf("%d events without their block marker", len(pending))
	}
	return got, markers
}

// checkAll: every decodable canonical contract log of from..to was published.
func checkAll(t *testing.T, c *chain, got map[logKey]*events.ContractEvent, from, to uint64) {
	t.Helper()
	want := 0
	for _, l := range c.contractLogs(from, to) {
		if _, _, err := testDecoder(l); err != nil {
			continue
		}
		want++
		if _, ok := got[logKey{l.BlockHash.Hex(), l.Index}]; !ok {
			t.Fatalf("log %d of block %d not published", l.Index, l.BlockNumber)
		}
	}
	if want == 0 {
		t.Fatal("the test chain has no logs")
	}
}

func spread(n int, every uint64) map[uint64]logSpec {
	spec := map[uint64]logSpec{}
	for b := uint64(1); b < uint64(n); b++ {
		if b%every == 0 {
			spec[b] = logSpec{n: int(b%3) + 1, foreign: int(b % 2)}
		}
	}
	return spec
}

func TestHistoryAdaptiveRanges(t *testing.T) {
	c := newChain(600, spread(600, 7))
	n := newNode(t, c, 1337)
	n.maxRange.Store(10)
	pub, logs := &memPublisher{}, &syncBuf{}
	cfg := testConfig(t, pub, logs, n)
	cfg.InitialRange, cfg.GrowAfter = 64, 2
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	s, stop := start(t, cfg)
	waitFor(t, "history caught up", caughtUp(s, c, 3))
	stop()

	got, markers := checkStream(t, pub.records())
	checkChain(t, pub.records())
	checkAll(t, c, got, 0, c.head()-3)
	if len(got) != len(c.contractLogs(0, c.head()-3)) {
		t.Fatalf("%d events published, the chain has %d contract logs", len(got), len(c.contractLogs(0, c.head()-3)))
	}
	// Markers of the blocks with logs, and of each range's end (so the
	// registry's last block follows the sentry), none other.
	rs := n.logRanges()
	ends := map[uint64]bool{}
	for _, r := range rs {
		if r[2] == 1 {
			ends[r[1]] = true
		}
	}
	for _, m := range markers {
		if m.Events == 0 && !ends[m.Number] {
			t.Fatalf("history published a marker of block %d, without logs and not a range's end", m.Number)
		}
	}
	// Halved from 64 to 8 (refused 64, 32, 16), then grown back to 16
	// after successes, refused again, and so on; never skipping a block.
	if rs[0] != [3]uint64{0, 63, 0} || rs[1] != [3]uint64{0, 31, 0} || rs[2] != [3]uint64{0, 15, 0} || rs[3] != [3]uint64{0, 7, 1} {
		t.Fatalf("first ranges %v, want 0..63, 0..31, 0..15 refused, then 0..7", rs[:4])
	}
	grew, next := false, uint64(0)
	for i, r := range rs {
		if r[2] == 1 {
			if r[0] != next {
				t.Fatalf("range %v does not start after the previous one (%d)", r, next)
			}
			next = r[1] + 1
		}
		if i > 0 && r[2] == 0 && r[1]-r[0]+1 == 16 && rs[i-1][2] == 1 {
			grew = true
		}
	}
	if !grew {
		t.Fatalf("the range never grew again after successes: %v", rs)
	}
	if st := s.Stats(); st.Halvings == 0 || st.Mode != ModeLive {
		t.Fatalf("stats %+v: want halvings and live mode", st)
	}
	if h := metricValue(t, reg, "valtrack_ssv_sentry_getlogs_halvings_total"); h == 0 {
		t.Fatal("no halvings counted")
	}
	if p := metricValue(t, reg, "valtrack_ssv_sentry_logs_published_total"); int(p) != len(got) {
		t.Fatalf("logs_published_total %v, published %d", p, len(got))
	}
}

// metricValue sums a metric family's samples.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.Counter != nil {
				sum += m.Counter.GetValue()
			}
			if m.Gauge != nil {
				sum += m.Gauge.GetValue()
			}
		}
	}
	return sum
}

// checkChain checks the chain of markers as a consumer applying the
// records in order sees it: each marker's PrevMarker is the last marker
// applied — after a reorg, the last one below its FromBlock — and absent
// only when none is (the first from the start block, the first after a
// resync).
func checkChain(t *testing.T, recs []record) {
	t.Helper()
	var applied []uint64 // ascending
	for _, r := range recs {
		kind := r.subject[strings.LastIndexByte(r.subject, '.')+1:]
		v, err := events.Decode(kind, r.data)
		if err != nil {
			t.Fatalf("published %s the consumer refuses: %v", r.data, err)
		}
		switch e := v.(type) {
		case *events.Block:
			switch {
			case len(applied) == 0 && e.PrevMarker != nil:
				t.Fatalf("marker of block %d names previous marker %d, and none was published before it", e.Number, *e.PrevMarker)
			case len(applied) > 0 && (e.PrevMarker == nil || *e.PrevMarker != applied[len(applied)-1]):
				t.Fatalf("marker of block %d names previous marker %v, want %d (the last one applied)", e.Number, fmtPrev(e.PrevMarker), applied[len(applied)-1])
			}
			applied = append(applied, e.Number)
		case *events.Reorg:
			for len(applied) > 0 && applied[len(applied)-1] >= e.FromBlock {
				applied = applied[:len(applied)-1]
			}
		}
	}
	if len(applied) == 0 {
		t.Fatal("no marker published: the chain proves nothing")
	}
}

func fmtPrev(p *uint64) string {
	if p == nil {
		return "none"
	}
	return strconv.FormatUint(*p, 10)
}
