package runner

import (
	"context"
	"testing"

	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/polkadot/state"
)

// storeEras stores eras from..to with every candidate in the set, and the
// chain at active era to.
func storeEras(t *testing.T, st *state.Store, from, to uint32, without map[uint32]string) {
	t.Helper()
	ctx := context.Background()
	err := st.InTx(ctx, "eras", func(tx *state.Tx) error {
		for e := from; e <= to; e++ {
			era := &events.Era{V: 1, Chain: chain, Era: e, Points: map[string]uint32{}, Complete: e < to, Block: 100}
			for _, n := range names {
				if without[e] == "stash-"+n {
					continue
				}
				era.Validators = append(era.Validators, "stash-"+n)
				era.Points["stash-"+n] = 20
			}
			if err := tx.PutEra(era); err != nil {
				return err
			}
		}
		ch, err := st.Chain(ctx, chain)
		if err != nil {
			return err
		}
		ch.ActiveEra, ch.HistoryDepth = to, 84
		return tx.PutChain(ch)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Rank grows over the whole stored history, past the 84-era inclusion
// window, with one row per period appended and never rewritten; on
// Kusama's 4-era periods it reaches the Kusama-rank rule's 100.
func TestRankGrowsPastTheInclusionWindow(t *testing.T) {
	ctx := context.Background()
	st, cfg := fixture(t, 0)
	storeEras(t, st, 1, 300, map[uint32]string{250: "stash-bravo"})
	r := newRunner(t, st, cfg, nil, false)
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	a, _ := st.Candidate(ctx, chain, "stash-alpha")
	b, _ := st.Candidate(ctx, chain, "stash-bravo")
	if a.Rank != 300 || b.Rank != 299 {
		t.Fatalf("ranks alpha %d, bravo %d: want 300 and 299 (bravo out of era 250)", a.Rank, b.Rank)
	}
	log, _ := st.RankLog(ctx, chain, "stash-alpha")
	if len(log) != 300 {
		t.Fatalf("alpha's log has %d periods, want 300", len(log))
	}
	// The stored era 10 changes (a late, different read): the logged
	// period stays as it was; a new era appends.
	storeEras(t, st, 10, 10, map[uint32]string{10: "stash-alpha"})
	storeEras(t, st, 301, 301, nil)
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	log, _ = st.RankLog(ctx, chain, "stash-alpha")
	if len(log) != 301 || !log[9].Active || log[9].Rank != 10 || log[300].Rank != 301 {
		t.Fatalf("after era 301: %d rows, period 10 %+v, last %+v: want period 10 unchanged and rank 301", len(log), log[9], log[len(log)-1])
	}

	// Kusama: periods of 4 eras, 420 eras → 105 periods.
	st2, cfg2 := fixture(t, 0)
	cfg2.Nomination.EraPeriod = 4
	storeEras(t, st2, 0, 419, nil)
	r2 := newRunner(t, st2, cfg2, nil, false)
	if _, err := r2.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if c, _ := st2.Candidate(ctx, chain, "stash-echo"); c.Rank != 105 || c.Rank < 100 {
		t.Fatalf("kusama-like rank %d, want 105 (≥ the 100 KUSAMA_RANK asks)", c.Rank)
	}
}
