package runner

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/polkadot/state"
)

// announcedThenGone runs the round that announces, then takes the
// announcement off the chain (executed or removed elsewhere) with the
// delay passed.
func announcedThenGone(t *testing.T) (*state.Store, *fakeChain, *Runner, []string) {
	t.Helper()
	st, cfg := fixture(t, 10)
	fc := goodChain()
	r := newRunner(t, st, cfg, fc, true)
	if _, err := r.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	anns := fc.anns["proxy-of-nominator"]
	if len(anns) != 1 {
		t.Fatalf("announcements %+v: want the round's one", fc.anns)
	}
	fc.anns["proxy-of-nominator"] = nil
	fc.block = 111
	return st, fc, r, anns[0].targets()
}

// An announcement gone from the chain while the nominator's nomination
// cannot be read is not judged: it stays announced (no verdict on unknown
// data, no attempt, no stale withdrawal) and is settled once the read
// succeeds.
func TestVanishedAnnouncementWithUnreadableNominationIsRetried(t *testing.T) {
	st, fc, r, targets := announcedThenGone(t)
	ctx := context.Background()
	readErr := errors.New("rpc: staking.nominators: connection reset")
	fc.mu.Lock()
	fc.facts["nominator"] = events.Validator{Stash: "nominator",
		NominationTargets: events.Failed[[]string](readErr, 1), NominationEra: events.Failed[uint32](readErr, 1)}
	fc.mu.Unlock()
	for _, block := range []uint64{111, 125} { // 125: past 1.2× the delay too
		fc.mu.Lock()
		fc.block = block
		fc.mu.Unlock()
		p, err := r.Pass(ctx)
		if err != nil {
			t.Fatal(err)
		}
		txs, _ := st.ProxyTxs(ctx, chain, false, 0)
		if len(txs) != 1 || txs[0].State != state.ProxyAnnounced || txs[0].Attempts.Count != 0 || p.Failed != 0 {
			t.Fatalf("block %d: proxy txs %+v, pass %+v: want it still announced, no attempt", block, txs, p)
		}
	}
	if fc.count("remove") != 0 || fc.count("execute") != 0 {
		t.Fatalf("sent %v: nothing is to be sent on an unknown fact", fc.sent)
	}
	// The read works again: the chain holds the targets, nominated in the
	// round's era (executed by someone else meanwhile).
	fc.mu.Lock()
	delete(fc.facts, "nominator")
	fc.nominate("nominator", targets)
	fc.mu.Unlock()
	p, err := r.Pass(ctx)
	if err != nil {
		t.Fatal(err)
	}
	txs, _ := st.ProxyTxs(ctx, chain, false, 0)
	if p.Executed != 1 || len(txs) != 1 || txs[0].State != state.ProxyExecuted {
		t.Fatalf("pass %+v, proxy txs %+v: want it found executed", p, txs)
	}
}

// The same targets nominated in an era before the announcement's round
// are not its execution: the vanished announcement is failed, with the
// era in its reason.
func TestVanishedAnnouncementNeedsANominationOfItsEra(t *testing.T) {
	st, fc, r, targets := announcedThenGone(t)
	ctx := context.Background()
	fc.mu.Lock()
	fc.nominated["nominator"] = targets
	fc.submitted = map[string]uint32{"nominator": 2} // the round is era 3's
	fc.mu.Unlock()
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	txs, _ := st.ProxyTxs(ctx, chain, false, 0)
	if len(txs) != 1 || txs[0].State != state.ProxyFailed || !strings.Contains(txs[0].Reason, "era 3 or later") ||
		!strings.Contains(txs[0].Reason, "submitted in era 2") {
		t.Fatalf("proxy txs %+v: want it failed, an era-2 nomination not taken for its execution", txs)
	}
	if ns, _ := st.LatestNominations(ctx, chain); len(ns) != 0 {
		t.Errorf("nominations %+v: none was made", ns)
	}
}
