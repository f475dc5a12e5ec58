package ssv_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/valtrack/valtrack/internal/ssv/events"
	ssvsync "github.com/valtrack/valtrack/internal/ssv/sync"
)

// blockLosingPublisher loses, while armed, the whole of the next block
// with contract events — its events and its marker — as a stream that
// discarded them (limits, a deleted message) would.
type blockLosingPublisher struct {
	*sinkPublisher
	mu    gosync.Mutex
	armed bool
	block uint64 // the block being lost, 0 before
	lost  int    // messages lost
}

func (p *blockLosingPublisher) Publish(ctx context.Context, subject, msgID string, data []byte) error {
	kind := subject[strings.LastIndex(subject, ".")+1:]
	var v struct {
		Block  uint64 `json:"block"`
		Number uint64 `json:"number"`
	}
	_ = json.Unmarshal(data, &v)
	p.mu.Lock()
	lose := false
	switch {
	case kind == events.KindReorg || kind == events.KindSyncStatus:
	case kind == events.KindBlock:
		lose = p.block != 0 && v.Number == p.block
		if lose {
			p.armed = false
		}
	case p.armed:
		p.block, lose = v.Block, true
	}
	if lose {
		p.lost++
	}
	p.mu.Unlock()
	if lose {
		return nil
	}
	return p.sinkPublisher.Publish(ctx, subject, msgID, data)
}

// TestGapHeldThenReplayed: a whole block lost between two applied ones —
// its event and its marker — leaves the next block held with the gap
// (/sync names the blocks never received, health fails), not applied with
// the registry silently short of an operator; the sentry started once
// with --ssv-replay-from the gap's first block publishes it again, and the
// held blocks apply.
func TestGapHeldThenReplayed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	env := newSimEnv(t, ctx)
	lp := &blockLosingPublisher{sinkPublisher: env.pub}
	sentry, stop := env.start(func(c *ssvsync.Config) { c.Publisher = lp })

	env.c.block(opAddedBy(t, 1))
	h, _ := env.c.block()
	env.c.block()
	waitProcessed(t, env.pub, sentry, env.reg, h.Number.Uint64(), h.Hash())

	lp.mu.Lock()
	lp.armed = true
	lp.mu.Unlock()
	hB, _ := env.c.block(opAddedBy(t, 2))
	hC, _ := env.c.block(opAddedBy(t, 3))
	hLast, _ := env.c.block()
	env.c.block()
	deadline := time.Now().Add(waitTimeout)
	for sentry.Stats().Processed < int64(hLast.Number.Uint64()) {
		if time.Now().After(deadline) {
			t.Fatalf("the sentry did not reach block %d", hLast.Number)
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	if lp.block != hB.Number.Uint64() || lp.lost != 2 {
		t.Fatalf("lost %d messages of block %d: want block %d's event and marker", lp.lost, lp.block, hB.Number)
	}
	if err := env.pub.failed(); err != nil {
		t.Fatalf("the sink refused a message: %v", err)
	}
	sy, err := env.reg.Sync(ctx, reorgNet)
	if err != nil {
		t.Fatal(err)
	}
	if sy == nil || sy.Held == nil || sy.Held.Gap == nil {
		t.Fatalf("sync %+v: want block %d held for a gap", sy, hC.Number)
	}
	if g := sy.Held.Gap; sy.Held.Block != hC.Number.Uint64() || g.To != hB.Number.Uint64() || g.From != sy.LastBlock+1 || g.From > g.To {
		t.Fatalf("held %+v, gap %+v, last block %d: want block %d held for the gap up to block %d", sy.Held, g, sy.LastBlock, hC.Number, hB.Number)
	}
	if ops, err := env.reg.Operators(ctx, reorgNet, 0, 0, 0); err != nil || len(ops) != 1 {
		t.Fatalf("operators %+v, %v: want only operator 1 while the gap is open", ops, err)
	}

	// The remedy /sync names: replay from the gap's first block.
	from := sy.Held.Gap.From
	sentry, _ = env.start(func(c *ssvsync.Config) { c.ReplayFrom = &from })
	waitProcessed(t, env.pub, sentry, env.reg, hLast.Number.Uint64(), hLast.Hash())
	if err := env.pub.failed(); err != nil {
		t.Fatalf("the sink refused part of the replay: %v", err)
	}
	ops, err := env.reg.Operators(ctx, reorgNet, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 3 || ops[0].ID != 1 || ops[1].ID != 2 || ops[2].ID != 3 {
		t.Fatalf("operators after the replay %+v: want 1, 2 and 3", ops)
	}
	if sy, err = env.reg.Sync(ctx, reorgNet); err != nil || sy.Held != nil {
		t.Fatalf("sync after the replay %+v, %v: want nothing held", sy, err)
	}
}

// TestRestartNoFalseGap: a sentry stopped and started again from its
// cursor goes on with its chain of markers — what it publishes next names
// the last marker before the stop — so the consumer holds nothing.
func TestRestartNoFalseGap(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	env := newSimEnv(t, ctx)
	cp := &chainedPublisher{sinkPublisher: env.pub}
	sentry, stop := env.start(func(c *ssvsync.Config) { c.Publisher = cp })
	env.c.block(opAddedBy(t, 1))
	h, _ := env.c.block()
	env.c.block()
	waitProcessed(t, env.pub, sentry, env.reg, h.Number.Uint64(), h.Hash())
	stop()
	before := cp.count()

	env.c.block(opAddedBy(t, 2))
	env.c.block()
	hLast, _ := env.c.block()
	env.c.block()
	sentry, _ = env.start(func(c *ssvsync.Config) { c.Publisher = cp })
	waitProcessed(t, env.pub, sentry, env.reg, hLast.Number.Uint64(), hLast.Hash())
	if cp.count() == before {
		t.Fatal("no marker after the restart names a previous one: the check was never made")
	}
	if sy, err := env.reg.Sync(ctx, reorgNet); err != nil || sy.Held != nil {
		t.Fatalf("sync after the restart %+v, %v: want nothing held", sy, err)
	}
	if ops, err := env.reg.Operators(ctx, reorgNet, 0, 0, 0); err != nil || len(ops) != 2 {
		t.Fatalf("operators %+v, %v: want 1 and 2", ops, err)
	}
}

// chainedPublisher counts the markers that name a previous marker.
type chainedPublisher struct {
	*sinkPublisher
	mu      gosync.Mutex
	chained int
}

func (p *chainedPublisher) Publish(ctx context.Context, subject, msgID string, data []byte) error {
	if strings.HasSuffix(subject, "."+events.KindBlock) {
		var m events.Block
		if json.Unmarshal(data, &m) == nil && m.PrevMarker != nil {
			p.mu.Lock()
			p.chained++
			p.mu.Unlock()
		}
	}
	return p.sinkPublisher.Publish(ctx, subject, msgID, data)
}

func (p *chainedPublisher) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.chained
}

// opAddedBy is the log data of an OperatorAdded of operator id.
func opAddedBy(t *testing.T, id uint64) []byte {
	owner := common.HexToAddress("0x000000000000000000000000000000000000a11c")
	return event(t, "OperatorAdded", map[string]any{"operatorId": id, "owner": owner,
		"publicKey": fmt.Sprintf("LS0tLS1CRUdJTiBSU0EgUFVCTElDIEtFWS0tLS0t%d", id), "fee": big.NewInt(1000)})
}
