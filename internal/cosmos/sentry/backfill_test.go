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
