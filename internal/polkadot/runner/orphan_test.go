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

// moveToEra stores what the sentry would after the chain reached era at
// block: the chain record and a complete set of eras up to it, every
// candidate active.
func moveToEra(t *testing.T, st *state.Store, era uint32, block uint64) {
	t.Helper()
	err := st.InTx(context.Background(), "move to era", func(tx *state.Tx) error {
		ch := &events.Chain{V: 1, Chain: chain, Block: block, BlockHash: "0xb", ActiveEra: era, Session: era * 6, Decimals: 12, Token: "WND",
			MaxNominations: 16, SS58Prefix: 42}
		for range 10 {
			ch.ElectedStakes = append(ch.ElectedStakes, "100000000000000")
		}
		if err := tx.PutChain(ch); err != nil {
			return err
		}
		for e := uint32(1); e <= era; e++ {
			r := &events.Era{V: 1, Chain: chain, Era: e, Points: map[string]uint32{}, Complete: e < era, Block: block}
			for i, n := range names {
				r.Validators = append(r.Validators, "stash-"+n)
				r.Points["stash-"+n] = uint32(20 * (i + 1))
			}
			if err := tx.PutEra(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// putNominator stores the sentry's record of a bonded nominator account.
func putNominator(t *testing.T, st *state.Store, account string) {
	t.Helper()
	err := st.InTx(context.Background(), "nominator", func(tx *state.Tx) error {
		v := goodValidator(account, 100)
		v.Balance = events.Got(events.Amount("1000000000000000"), 1)
		return tx.PutValidator(&v)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The reviewer's case: a nominator with a pending announcement is
// replaced in the program file. Its announcement can no longer be executed
// or withdrawn (its key went with the entry), so it is recorded orphaned —
// with how to remove it — and no longer holds back the rounds of the
// nominators the file lists now.
func TestRemovedNominatorsAnnouncementDoesNotStopRounds(t *testing.T) {
	st, cfg := fixture(t, 10)
	fc := goodChain()
	r := newRunner(t, st, cfg, fc, true)
	ctx := context.Background()
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if txs, _ := st.ProxyTxs(ctx, chain, true, 0); len(txs) != 1 {
		t.Fatalf("pending %+v: want the first nominator's announcement", txs)
	}
	// Before its delay passed, the nominator is replaced; the chain moves
	// on to era 10 (a round is due).
	cfg.Nomination.Nominators = []program.NominatorConfig{{Account: "nominator2"}}
	putNominator(t, st, "nominator2")
	fc.mu.Lock()
	fc.era, fc.block = 10, 105
	fc.mu.Unlock()
	moveToEra(t, st, 10, 105)
	logs := &logCount{}
	r.log = slog.New(logs)
	var round *state.Round
	for range 3 {
		p, err := r.Pass(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if p.Round != nil {
			round = p.Round
		}
	}
	if round == nil || round.Era != 10 || fc.count("nominate") != 1 {
		t.Fatalf("three passes in era 10: round %+v, sent %v: want era 10's round, nominator2 nominated", round, fc.sent)
	}
	all, err := st.ProxyTxs(ctx, chain, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].State != state.ProxyOrphaned || !strings.Contains(all[0].Reason, "no longer in the program file") ||
		!strings.Contains(all[0].Reason, "proxy.remove_announcement(real=nominator, call_hash="+all[0].CallHash) {
		t.Fatalf("proxy txs %+v: want the announcement orphaned, the reason saying how to remove it", all)
	}
	if n := logs.count("announcement orphaned"); n != 1 {
		t.Errorf("logged the orphan %d times: want once", n)
	}
	if fc.count("execute") != 0 || fc.count("remove") != 0 {
		t.Errorf("sent %v: nothing may be sent for a nominator no longer in the file", fc.sent)
	}
}

// An orphaned announcement whose nominator comes back to the program file
// with the same proxy is revived and settled like any other — executed
// here, its delay passed and its targets still valid — instead of staying
// orphaned on chain with its deposit reserved. Logged once.
func TestReturnedNominatorsOrphanIsRevived(t *testing.T) {
	st, cfg := fixture(t, 10)
	fc := goodChain()
	r := newRunner(t, st, cfg, fc, true)
	ctx := context.Background()
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	first := cfg.Nomination.Nominators[0]
	cfg.Nomination.Nominators = []program.NominatorConfig{{Account: "nominator2"}}
	putNominator(t, st, "nominator2")
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if txs, _ := st.ProxyTxsIn(ctx, chain, state.ProxyOrphaned, 0); len(txs) != 1 {
		t.Fatalf("orphaned %+v: want the first nominator's announcement", txs)
	}
	// The nominator is back, the same proxy; the delay passes.
	cfg.Nomination.Nominators = []program.NominatorConfig{first, {Account: "nominator2"}}
	fc.mu.Lock()
	fc.block += 20
	fc.mu.Unlock()
	logs := &logCount{}
	r.log = slog.New(logs)
	for range 3 {
		if _, err := r.Pass(ctx); err != nil {
			t.Fatal(err)
		}
	}
	all, err := st.ProxyTxs(ctx, chain, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].State != state.ProxyExecuted {
		t.Fatalf("proxy txs %+v: want the revived announcement executed", all)
	}
	if fc.count("execute") != 1 {
		t.Errorf("sent %v: want one execution", fc.sent)
	}
	if n := logs.count("orphaned announcement revived"); n != 1 {
		t.Errorf("logged the revival %d times: want once", n)
	}
}

// A nominator back with another proxy cannot settle its old
// announcement (the old delegate's key is gone): it stays orphaned.
func TestReturnedNominatorWithAnotherProxyStaysOrphaned(t *testing.T) {
	st, cfg := fixture(t, 10)
	fc := goodChain()
	r := newRunner(t, st, cfg, fc, true)
	ctx := context.Background()
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	first := cfg.Nomination.Nominators[0]
	cfg.Nomination.Nominators = []program.NominatorConfig{{Account: "nominator2"}}
	putNominator(t, st, "nominator2")
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	txs, _ := st.ProxyTxsIn(ctx, chain, state.ProxyOrphaned, 0)
	if len(txs) != 1 {
		t.Fatalf("orphaned %+v: want the first nominator's announcement", txs)
	}
	// The nominator's key now gives another delegate than the stored one.
	cfg.Nomination.Nominators = []program.NominatorConfig{first, {Account: "nominator2"}}
	r.delegates[first.Account+"\x00"+first.Key] = "another-proxy"
	fc.mu.Lock()
	fc.block += 20
	fc.mu.Unlock()
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if txs, _ := st.ProxyTxsIn(ctx, chain, state.ProxyOrphaned, 0); len(txs) != 1 {
		t.Fatalf("orphaned %+v: want it still orphaned", txs)
	}
	if fc.count("execute") != 0 || fc.count("remove") != 0 {
		t.Errorf("sent %v: nothing may be sent for it", fc.sent)
	}
}
