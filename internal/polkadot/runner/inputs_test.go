package runner

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/polkadot/program"
	"github.com/valtrack/valtrack/internal/polkadot/state"
)

// A due round whose nominator's balance was never read does not start
// (TargetCount would size it at one target for the whole era period): the
// pass says why, the store keeps it for the API, it is logged once, and
// the round starts — sized on the balance — once the sentry has read it.
func TestRoundWaitsForAnUnreadBalance(t *testing.T) {
	st, cfg := fixture(t, 0)
	cfg.Nomination.Nominators = []program.NominatorConfig{{Account: "unread"}}
	fc := goodChain()
	logs := &logCount{}
	r := newRunner(t, st, cfg, fc, false)
	r.log = slog.New(logs)
	ctx := context.Background()
	for range 2 {
		p, err := r.Pass(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if p.Round != nil || !strings.Contains(p.Waiting, "the balance of unread has not been read yet") {
			t.Fatalf("pass %+v: want no round, waiting for the balance", p)
		}
	}
	if rs, _ := st.Rounds(ctx, chain, 10); len(rs) != 0 {
		t.Fatalf("rounds %+v: none may start", rs)
	}
	meta, err := st.Meta(ctx, chain)
	if err != nil || !strings.Contains(meta.RoundWait, "the balance of unread") {
		t.Fatalf("meta %+v, %v: want why the round waits", meta, err)
	}
	if n := logs.count("nomination round not started"); n != 1 {
		t.Errorf("logged %d times: want once", n)
	}
	putNominator(t, st, "unread")
	p, err := r.Pass(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Round == nil || p.Waiting != "" || len(p.Round.Assignments) != 1 || p.Round.Assignments[0].Count < 2 {
		t.Fatalf("pass %+v: want the round, sized on the balance (more than one target)", p)
	}
	if meta, _ = st.Meta(ctx, chain); meta.RoundWait != "" {
		t.Errorf("round wait %q after the round started: want it cleared", meta.RoundWait)
	}
}

// No elected stakes in the chain record: the round waits likewise.
func TestRoundWaitsForTheElectedStakes(t *testing.T) {
	st, cfg := fixture(t, 0)
	ctx := context.Background()
	err := st.InTx(ctx, "no stakes", func(tx *state.Tx) error {
		return tx.PutChain(&events.Chain{V: 1, Chain: chain, Block: 100, BlockHash: "0x100", ActiveEra: 3, Session: 18, Decimals: 12, Token: "WND",
			MaxNominations: 16, SS58Prefix: 42})
	})
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, st, cfg, nil, false)
	p, err := r.Pass(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Round != nil || !strings.Contains(p.Waiting, "elected validators' stakes of era 3 are not known") {
		t.Fatalf("pass %+v: want no round, waiting for the elected stakes", p)
	}
}
