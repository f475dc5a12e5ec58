package exporter

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/ssv/registry"
	"github.com/valtrack/valtrack/internal/ssv/registry/registrytest"
)

func keyCacheFixture(t *testing.T) *registrytest.Fake {
	t.Helper()
	f := registrytest.New()
	for id := uint64(1); id <= 4; id++ {
		f.PutOperator("net", registry.Operator{ID: id, Owner: "0x1111111111111111111111111111111111111111", PublicKey: fmt.Sprintf("key-%d", id), Fee: "1"})
	}
	for i := uint64(1); i <= 2; i++ {
		f.PutValidator("net", registry.Validator{Index: i, PublicKey: fmt.Sprintf("0x%096x", i), Owner: "0x1111111111111111111111111111111111111111",
			OperatorIDs: []uint64{1, 2, 3, 4}, Status: registry.StatusActive})
	}
	return f
}

// countingReader counts Operator reads.
type countingReader struct {
	registry.Reader
	reads int
}

func (c *countingReader) Operator(ctx context.Context, network string, id uint64) (*registry.Operator, error) {
	c.reads++
	return c.Reader.Operator(ctx, network, id)
}

// A reply reads each operator once; a KeyCache keeps the keys for the next
// replies, and only for its lifetime.
func TestKeyCacheSharesKeysBetweenReplies(t *testing.T) {
	r := &countingReader{Reader: keyCacheFixture(t)}
	now := time.Unix(1000, 0)
	q := &Querier{R: r, Keys: &KeyCache{now: func() time.Time { return now }}}
	frame := []byte(`{"type":"validator","filter":{"from":1,"to":2}}`)
	for i := 0; i < 2; i++ {
		if _, err := q.Reply(context.Background(), "net", frame); err != nil {
			t.Fatal(err)
		}
	}
	if r.reads != 4 {
		t.Errorf("two replies over validators of operators 1..4: %d operator reads, want 4 (once each)", r.reads)
	}
	now = now.Add(keyCacheTTL + time.Second)
	if _, err := q.Reply(context.Background(), "net", frame); err != nil {
		t.Fatal(err)
	}
	if r.reads != 8 {
		t.Errorf("after the cache's lifetime: %d operator reads, want 8", r.reads)
	}
}
