package sentry

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/cosmos/rpc"
)

// failingPublisher refuses the first `fail` publications of the
// backfilled block of height 6 and of the backfilled commit of height 7,
// as a bus without an ack would.
type failingPublisher struct {
	memPublisher
	mu                     sync.Mutex
	fail                   int
	refusedB6, refusedC7   int
	attemptsB6, attemptsC7 int
}

func (p *failingPublisher) Publish(ctx context.Context, subject, msgID string, data []byte) error {
	var e struct {
		Height int64  `json:"height"`
		Source string `json:"source"`
	}
	_ = json.Unmarshal(data, &e)
	p.mu.Lock()
	refuse := false
	switch {
	case strings.HasSuffix(subject, ".block") && e.Height == 6 && e.Source == "backfill":
		p.attemptsB6++
		if p.refusedB6 < p.fail {
			p.refusedB6++
			refuse = true
		}
	case strings.HasSuffix(subject, ".commit") && e.Height == 7 && e.Source == "backfill":
		p.attemptsC7++
		if p.refusedC7 < p.fail {
			p.refusedC7++
			refuse = true
		}
	}
	p.mu.Unlock()
	if refuse {
		return errors.New("no ack")
	}
	return p.memPublisher.Publish(ctx, subject, msgID, data)
}

// A backfilled height whose block or commit the bus refused is published
// again (with backoff) until it is: the cursor then moves past it. It used
// to stay unpublished for good, the cursor below it, every restart
// backfilling everything since.
func TestBackfillPublishRetried(t *testing.T) {
	n := node(t, 4)
	pub := &failingPublisher{fail: 3}
	cfg := testConfig(&pub.memPublisher, n.URL())
	cfg.Publisher = pub
	cfg.DataDir = t.TempDir()
	s, _ := run(t, cfg)
	waitFor(t, "subscriptions", func() bool { return n.Subscribed() == 1 })
	n.Produce(3)
	waitFor(t, "block 3", func() bool { return len(blocks(t, &pub.memPublisher)[3]) == 1 })
	n.SetBroadcast(false)
	n.DropConnections()
	n.Produce(5) // 4..8, not delivered live: backfilled
	n.SetBroadcast(true)
	waitFor(t, "resubscribed", func() bool { return n.Subscribed() == 1 && s.eps[0].sub.Stats().Sessions >= 2 })
	n.Produce(5) // 9..13
	cursor := filepath.Join(cfg.DataDir, "cosmos-test-1.cursor")
	waitFor(t, "the cursor past the refused heights (12)", func() bool {
		b, _ := os.ReadFile(cursor)
		return string(b) == `{"chain":"test-1","height":12}`
	})
	pub.mu.Lock()
	defer pub.mu.Unlock()
	if pub.attemptsB6 != 4 || pub.attemptsC7 != 4 {
		t.Errorf("block 6 published %d times, commit 7 %d times; want 4 each (3 refused, then taken)", pub.attemptsB6, pub.attemptsC7)
	}
	checkHeights(t, &pub.memPublisher, 1, 13)
}

// A backfilled height whose commit the consumers' decoder refuses (a
// block hash that is not hex) is given up rather than retried for ever:
// publishing it again would be refused again, and the cursor would stay
// below it for good. Its block is published; the cursor passes it.
func TestBackfillRefusedHeightGivenUp(t *testing.T) {
	pub := &memPublisher{}
	s, err := New(testConfig(pub, "http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	m := newMerger(s, 5)
	hash := strings.Repeat("AB", 32)
	c := &rpc.Commit{ChainID: "test-1", Canonical: true,
		Block:  events.Block{V: events.SchemaVersion, Height: 6, Time: 1, Hash: hash, ProposerAddress: strings.Repeat("CD", 20), ValidatorsHash: hash},
		Commit: events.Commit{V: events.SchemaVersion, Height: 6, BlockHash: "not hex"}}
	m.inflight[6] = true
	m.result(context.Background(), backfillResult{height: 6, commit: c, ep: s.eps[0].name, at: time.Now()})
	if m.c != 6 || len(m.retries) != 0 {
		t.Errorf("complete through %d with %d retries; want 6 and none (the refused height given up)", m.c, len(m.retries))
	}
	if bs := blocks(t, pub); len(bs[6]) != 1 {
		t.Errorf("block 6 published %d times, want once", len(bs[6]))
	}
	if cs := commits(t, pub); len(cs[6]) != 0 {
		t.Errorf("the refused commit published")
	}
}
