package ssv_test

import (
	"context"
	"fmt"
	"math/big"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/valtrack/valtrack/internal/ssv/abi"
	"github.com/valtrack/valtrack/internal/ssv/events"
	ssvsync "github.com/valtrack/valtrack/internal/ssv/sync"
)

// losingPublisher loses the first contract event published while armed,
// as a bus that dropped it would.
type losingPublisher struct {
	*sinkPublisher
	mu    gosync.Mutex
	armed bool
	lost  string // the subject of the event it lost
}

func (p *losingPublisher) Publish(ctx context.Context, subject, msgID string, data []byte) error {
	kind := subject[strings.LastIndex(subject, ".")+1:]
	p.mu.Lock()
	lose := p.armed && kind != events.KindBlock && kind != events.KindReorg && kind != events.KindSyncStatus
	if lose {
		p.armed, p.lost = false, subject
	}
	p.mu.Unlock()
	if lose {
		return nil
	}
	return p.sinkPublisher.Publish(ctx, subject, msgID, data)
}

// TestReplayFillsAHeldBlock: an event lost on the way leaves its block
// held (and every block after it); a sentry started with ReplayFrom
// (--ssv-replay-from) before it publishes the processed blocks again, the
// held blocks apply, and what was applied already is taken as the
// redelivery it is — the sink refuses nothing.
func TestReplayFillsAHeldBlock(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	env := newSimEnv(t, ctx)
	lp := &losingPublisher{sinkPublisher: env.pub}
	sentry, stop := env.start(func(c *ssvsync.Config) { c.Publisher = lp })

	owner := common.HexToAddress("0x000000000000000000000000000000000000a11c")
	opAdded := func(id uint64) []byte {
		return event(t, "OperatorAdded", map[string]any{"operatorId": id, "owner": owner,
			"publicKey": fmt.Sprintf("LS0tLS1CRUdJTiBSU0EgUFVCTElDIEtFWS0tLS0t%d", id), "fee": big.NewInt(1000)})
	}
	hA, _ := env.c.block(opAdded(1))
	h, _ := env.c.block()
	env.c.block()
	waitProcessed(t, env.pub, sentry, env.reg, h.Number.Uint64(), h.Hash())

	lp.mu.Lock()
	lp.armed = true
	lp.mu.Unlock()
	hB, _ := env.c.block(opAdded(2))
	env.c.block(opAdded(3))
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
	if lp.lost == "" {
		t.Fatal("no event was lost: the test proves nothing")
	}
	sy, err := env.reg.Sync(ctx, reorgNet)
	if err != nil {
		t.Fatal(err)
	}
	if sy == nil || sy.Held == nil || sy.Held.Block != hB.Number.Uint64() {
		t.Fatalf("sync %+v: want block %d held after losing %s", sy, hB.Number, lp.lost)
	}
	if ops, err := env.reg.Operators(ctx, reorgNet, 0, 0, 0); err != nil || len(ops) != 1 {
		t.Fatalf("operators %+v, %v: want only 1 before the replay", ops, err)
	}

	// Replay from a block before the held one: block A again too.
	from := hA.Number.Uint64()
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

// TestReplayBelowTheStartRefused: a replay block before the contract's
// start block is refused with what to give.
func TestReplayBelowTheStartRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env := newSimEnv(t, ctx)
	from := env.deployBlock - 1
	s, err := ssvsync.New(ssvsync.Config{Network: reorgNet, Contract: env.c.contract, FromBlock: env.deployBlock,
		RPCs: []string{env.url}, Decoder: abi.Decode, Publisher: env.pub, DataDir: t.TempDir(), ReplayFrom: &from})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "below the contract's start block") {
		t.Fatalf("Run: %v, want the replay block refused", err)
	}
}
