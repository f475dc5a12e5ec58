package runner

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/polkadot/program"
	"github.com/valtrack/valtrack/internal/polkadot/state"
)

// sendingRunner makes runners that send through fc, 3 attempts a minute
// apart (doubling), at *clock: a new one stands for a restart.
func sendingRunner(t *testing.T, st *state.Store, cfg *program.Config, fc *fakeChain, clock *time.Time) func() *Runner {
	return func() *Runner {
		r, err := New(Config{Chain: chain, Store: st, Program: staticProgram{cfg}, Live: fc, Sender: fc, Send: true, LeaseHolder: "this-host",
			MaxSendAttempts: 3, SendBackoff: time.Minute, Now: func() time.Time { return *clock }})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
}

// A nominate that fails on chain is retried with a doubling back-off, at
// most MaxSendAttempts times — the count survives a restart — then the
// round fails with the chain's error, visible in the rounds; no new round
// is started in that era, the next era's round tries afresh.
func TestFailedSendsAreBoundedAndTheRoundFails(t *testing.T) {
	st, cfg := fixture(t, 0)
	fc := &fakeChain{block: 100, era: 3, anns: map[string][]Announcement{}, nominated: map[string][]string{}, facts: map[string]events.Validator{},
		sendErr: errors.New("staking.nominate failed: Staking.InsufficientBond")}
	ctx := context.Background()
	clock := now
	mk := sendingRunner(t, st, cfg, fc, &clock)
	tries := func() int {
		// fakeChain records only successful nominations; count the
		// attempts from the round instead, and check nothing succeeded.
		if fc.count("nominate") != 0 {
			t.Fatalf("a nomination succeeded: %v", fc.sent)
		}
		rs, err := st.Rounds(ctx, chain, 1)
		if err != nil || len(rs) != 1 {
			t.Fatalf("rounds %+v %v", rs, err)
		}
		return rs[0].Attempts["nominator"].Count
	}
	r := mk()
	if _, err := r.Pass(ctx); err == nil || !strings.Contains(err.Error(), "InsufficientBond") {
		t.Fatalf("first pass error %v: want the chain's error", err)
	}
	if n := tries(); n != 1 {
		t.Fatalf("after the first pass: %d attempts, want 1", n)
	}
	// Same time, and a restart: the back-off (1 min) holds, the count stays.
	r = mk()
	if _, err := r.Pass(ctx); err != nil {
		t.Fatalf("pass within the back-off: %v", err)
	}
	if n := tries(); n != 1 {
		t.Fatalf("a pass within the back-off sent again: %d attempts", n)
	}
	clock = now.Add(time.Minute)
	_, _ = r.Pass(ctx)
	if n := tries(); n != 2 {
		t.Fatalf("after the 1 min back-off: %d attempts, want 2", n)
	}
	clock = now.Add(2 * time.Minute) // the back-off is now 2 min: not yet
	_, _ = r.Pass(ctx)
	if n := tries(); n != 2 {
		t.Fatalf("the back-off did not double: %d attempts", n)
	}
	clock = now.Add(3 * time.Minute)
	_, _ = r.Pass(ctx)
	rs, _ := st.Rounds(ctx, chain, 10)
	if len(rs) != 1 || rs[0].Status != RoundFailed || rs[0].Attempts["nominator"].Count != 3 || !rs[0].Attempts["nominator"].GaveUp ||
		!strings.Contains(rs[0].Reason, "Staking.InsufficientBond") || !strings.Contains(rs[0].Reason, "after 3 attempts") {
		t.Fatalf("rounds %+v: want one failed round, 3 attempts, the chain's error as its reason", rs)
	}
	for _, o := range rs[0].Outcome["nominator"] {
		if !strings.Contains(o, "gave up after 3 attempts") {
			t.Errorf("outcome %q does not say it gave up", o)
		}
	}
	// Later passes in the same era, restarted or not: nothing more.
	for i := range 3 {
		clock = now.Add(time.Duration(10+i) * time.Hour)
		r = mk()
		if p, err := r.Pass(ctx); err != nil || p.Round == nil || p.Round.ID != rs[0].ID {
			t.Fatalf("pass after the failure: %+v %v: want the failed round, no new one", p, err)
		}
	}
	if rs, _ := st.Rounds(ctx, chain, 10); len(rs) != 1 || rs[0].Attempts["nominator"].Count != 3 {
		t.Fatalf("rounds after the failure %+v: want no new attempt nor round", rs)
	}
	if m, _ := st.Meta(ctx, chain); m.LastNominatedEra == 3 {
		t.Errorf("a failed round set the last nominated era")
	}

	// The next era: a new round, which sends (and now succeeds).
	fc.sendErr = nil
	if err := st.InTx(ctx, "era 4", func(tx *state.Tx) error {
		ch, _ := st.Chain(ctx, chain)
		ch.ActiveEra, ch.Session = 4, 24
		return tx.PutChain(ch)
	}); err != nil {
		t.Fatal(err)
	}
	p, err := r.Pass(ctx)
	if err != nil || p.Round == nil || p.Round.ID == rs[0].ID || p.Round.Status != RoundDone || fc.count("nominate") != 1 {
		t.Fatalf("era 4: %+v %v, sent %v: want a new round, nominated once", p, err, fc.sent)
	}
}

// A nominator account that is not bonded, or not its own controller, is
// not sent at all (the failure is certain and costs a fee): the outcome
// says why, and no attempt is counted.
func TestUnbondedNominatorIsNotSent(t *testing.T) {
	for _, tc := range []struct {
		name       string
		controller string
		want       string
	}{
		{"not bonded", "", "nominator is not bonded (staking.bonded has no controller): bond it"},
		{"another controller", "someone-else", "nominator is bonded with controller someone-else"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, cfg := fixture(t, 0)
			ctx := context.Background()
			if err := st.InTx(ctx, "unbond", func(tx *state.Tx) error {
				v := goodValidator("nominator", 101)
				v.Balance = events.Got(events.Amount("1000000000000000"), 1)
				v.Controller = events.Got(tc.controller, 2)
				return tx.PutValidator(&v)
			}); err != nil {
				t.Fatal(err)
			}
			fc := &fakeChain{block: 100, era: 3, anns: map[string][]Announcement{}, nominated: map[string][]string{}, facts: map[string]events.Validator{}}
			r := newRunner(t, st, cfg, fc, true)
			for range 2 {
				if _, err := r.Pass(ctx); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("pass error %v: want %q", err, tc.want)
				}
			}
			if len(fc.sent) != 0 {
				t.Fatalf("sent %v for a nominator that cannot nominate", fc.sent)
			}
			rs, _ := st.Rounds(ctx, chain, 1)
			if len(rs) != 1 || rs[0].Status != RoundStarted || rs[0].Attempts["nominator"].Count != 0 {
				t.Fatalf("round %+v: want it started, no attempt counted", rs)
			}
			for _, o := range rs[0].Outcome["nominator"] {
				if !strings.Contains(o, tc.want) {
					t.Errorf("outcome %q, want %q", o, tc.want)
				}
			}
		})
	}
}

// A failure before anything is submitted (the announcements, or the
// targets' re-validation, cannot be read) costs no fee: it is retried every
// pass without counting against the bound, and the round goes on once the
// read works.
func TestReadFailureBeforeSendingIsNotAnAttempt(t *testing.T) {
	refused := errors.New("rpc: connection refused")
	for _, tc := range []struct {
		name    string
		delay   uint32
		ann     bool // the announcements fail, else the re-validation read
		send    string
		outcome string
	}{
		{"announcements", 10, true, "announce", "not sent: read the announcements of proxy-of-nominator: rpc: connection refused"},
		{"re-validation", 0, false, "nominate", "not sent: re-read the targets: rpc: connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, cfg := fixture(t, tc.delay)
			fc := &fakeChain{block: 100, era: 3, anns: map[string][]Announcement{}, nominated: map[string][]string{}, facts: map[string]events.Validator{}}
			if tc.ann {
				fc.annErr = refused
			} else {
				fc.readErr = refused
			}
			ctx := context.Background()
			clock := now
			r, err := New(Config{Chain: chain, Store: st, Program: staticProgram{cfg}, Live: fc, Sender: fc, Send: true, LeaseHolder: "this-host",
				MaxSendAttempts: 2, SendBackoff: time.Minute, Now: func() time.Time { return clock }})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 4 {
				clock = now.Add(time.Duration(i) * time.Hour)
				if _, err := r.Pass(ctx); err == nil || !strings.Contains(err.Error(), "connection refused") {
					t.Fatalf("pass %d: %v, want the read error", i, err)
				}
			}
			rs, _ := st.Rounds(ctx, chain, 10)
			if len(rs) != 1 || rs[0].Status != RoundStarted || rs[0].Attempts["nominator"].Count != 0 || len(fc.sent) != 0 {
				t.Fatalf("rounds %+v, sent %v: want one started round, no attempt counted, nothing sent", rs, fc.sent)
			}
			for _, o := range rs[0].Outcome["nominator"] {
				if o != tc.outcome {
					t.Errorf("outcome %q, want %q", o, tc.outcome)
				}
			}
			fc.mu.Lock()
			fc.annErr, fc.readErr = nil, nil
			fc.mu.Unlock()
			if _, err := r.Pass(ctx); err != nil {
				t.Fatal(err)
			}
			if fc.count(tc.send) != 1 {
				t.Fatalf("sent %v: want one %s once the read works", fc.sent, tc.send)
			}
		})
	}
}

// A proxy_announced that fails on chain is retried with a doubling
// back-off, at most MaxSendAttempts times — the count survives a restart —
// then the announcement is recorded failed with the chain's error and
// withdrawn; no later pass executes it again.
func TestFailedExecutionsAreBoundedThenWithdrawn(t *testing.T) {
	for _, withdrawFails := range []bool{false, true} {
		st, cfg := fixture(t, 10)
		fc := goodChain()
		ctx := context.Background()
		clock := now
		mk := sendingRunner(t, st, cfg, fc, &clock)
		r := mk()
		if _, err := r.Pass(ctx); err != nil || fc.count("announce") != 1 {
			t.Fatalf("round: %v, sent %v: want one announcement", err, fc.sent)
		}
		fc.block, fc.execErr = 111, errors.New("proxy.proxy_announced failed: Staking.TooManyTargets")
		if withdrawFails {
			fc.removeErr = errors.New("proxy.remove_announcement failed: Proxy.NotFound")
		}
		attempts := func() state.SendAttempts {
			txs, err := st.ProxyTxs(ctx, chain, false, 0)
			if err != nil || len(txs) != 1 {
				t.Fatalf("proxy txs %+v %v", txs, err)
			}
			return txs[0].Attempts
		}
		_, _ = r.Pass(ctx) // the pass logs the failure and goes on
		if a := attempts(); a.Count != 1 || fc.count("execute") != 1 || !strings.Contains(a.Error, "TooManyTargets") {
			t.Fatalf("after one failure: %+v, sent %v", a, fc.sent)
		}
		r = mk() // a restart within the back-off: nothing sent, the count kept
		_, _ = r.Pass(ctx)
		if fc.count("execute") != 1 {
			t.Fatalf("within the back-off: sent %v", fc.sent)
		}
		clock = now.Add(time.Minute)
		_, _ = r.Pass(ctx)
		clock = now.Add(2 * time.Minute) // the back-off doubled to 2 min
		_, _ = r.Pass(ctx)
		if a := attempts(); a.Count != 2 || fc.count("execute") != 2 {
			t.Fatalf("after the first back-off: %+v, sent %v: want 2 tries", a, fc.sent)
		}
		clock = now.Add(3 * time.Minute)
		p, _ := r.Pass(ctx)
		txs, _ := st.ProxyTxs(ctx, chain, false, 0)
		if p.Failed != 1 || len(txs) != 1 || txs[0].State != state.ProxyFailed || !txs[0].Attempts.GaveUp || txs[0].Attempts.Count != 3 ||
			!strings.Contains(txs[0].Reason, "gave up after 3 failed attempts: execute: proxy.proxy_announced failed: Staking.TooManyTargets") {
			t.Fatalf("after 3 failures: pass %+v, txs %+v: want the announcement failed with the chain's error", p, txs)
		}
		if fc.count("remove") != 1 {
			t.Errorf("sent %v: want one withdrawal", fc.sent)
		}
		wantReason := "the announcement was withdrawn"
		if withdrawFails {
			wantReason = "withdrawing the announcement failed too (proxy.remove_announcement failed: Proxy.NotFound): it stays on chain unexecuted"
		}
		if !strings.Contains(txs[0].Reason, wantReason) {
			t.Errorf("reason %q, want it to say %q", txs[0].Reason, wantReason)
		}
		for i := range 3 {
			clock = now.Add(time.Duration(1+i) * time.Hour)
			r = mk()
			_, _ = r.Pass(ctx)
		}
		if fc.count("execute") != 3 || fc.count("remove") != 1 {
			t.Errorf("after giving up: sent %v, want no more executions or withdrawals", fc.sent)
		}
	}
}

// Withdrawing a stale announcement is bounded too: a remove_announcement
// that fails is tried at most MaxSendAttempts times, with the back-off,
// then the announcement is recorded failed, said to stay on chain — and no
// fourth withdrawal is sent.
func TestFailedStaleWithdrawalsAreBounded(t *testing.T) {
	st, cfg := fixture(t, 10)
	fc := goodChain()
	ctx := context.Background()
	clock := now
	mk := sendingRunner(t, st, cfg, fc, &clock)
	r := mk()
	if _, err := r.Pass(ctx); err != nil || fc.count("announce") != 1 {
		t.Fatalf("round: %v, sent %v", err, fc.sent)
	}
	// Past 1.2× the delay, the re-validation read failing: stale.
	fc.block, fc.readErr, fc.removeErr = 120, errors.New("rpc: connection refused"), errors.New("proxy.remove_announcement failed: Proxy.NotFound")
	for i, at := range []time.Duration{0, 30 * time.Second, time.Minute, 2 * time.Minute, 3 * time.Minute, time.Hour, 2 * time.Hour} {
		clock = now.Add(at)
		r = mk()
		_, _ = r.Pass(ctx)
		want := map[int]int{0: 1, 1: 1, 2: 2, 3: 2}[i] // back-offs of 1 then 2 minutes
		if i >= 4 {
			want = 3
		}
		if got := fc.count("remove"); got != want {
			t.Fatalf("at +%v: %d withdrawals sent, want %d", at, got, want)
		}
	}
	txs, _ := st.ProxyTxs(ctx, chain, false, 0)
	if len(txs) != 1 || txs[0].State != state.ProxyFailed || txs[0].Attempts.Count != 3 ||
		!strings.Contains(txs[0].Reason, "gave up after 3 failed attempts: withdraw the stale announcement: proxy.remove_announcement failed: Proxy.NotFound") ||
		!strings.Contains(txs[0].Reason, "it stays on chain unexecuted") {
		t.Fatalf("txs %+v: want the announcement failed after 3 withdrawals, said to stay on chain", txs)
	}
	if fc.count("execute") != 0 {
		t.Errorf("sent %v: nothing may be executed", fc.sent)
	}
}

// A restart between a nominate's inclusion and its record (the process
// died waiting for the inclusion) neither repeats the nomination nor
// loses it: before sending, the chain's staking.nominators is read, and a
// nomination of the same targets submitted in the round's era is
// recorded, not sent again. The same targets from an earlier era are
// nominated afresh.
func TestNominationIncludedBeforeARestartIsNotRepeated(t *testing.T) {
	for _, plainProxy := range []bool{false, true} {
		name := "direct"
		if plainProxy {
			name = "plain proxy"
		}
		t.Run(name, func(t *testing.T) {
			st, cfg := fixture(t, 0)
			cfg.Nomination.Nominators[0].Proxy = plainProxy
			fc := &fakeChain{block: 100, era: 3, anns: map[string][]Announcement{}, nominated: map[string][]string{}, facts: map[string]events.Validator{}, dies: true}
			ctx := context.Background()
			clock := now
			mk := sendingRunner(t, st, cfg, fc, &clock)
			if _, err := mk().Pass(ctx); err == nil {
				t.Fatal("the pass whose send died reported no error")
			}
			if fc.count("nominate") != 1 || len(fc.nominated["nominator"]) != 5 {
				t.Fatalf("sent %v, chain %v: want one nomination on chain", fc.sent, fc.nominated)
			}
			if ns, _ := st.LatestNominations(ctx, chain); len(ns) != 0 {
				t.Fatalf("recorded %+v before the restart", ns)
			}
			fc.dies = false
			clock = clock.Add(time.Hour) // past any back-off
			p, err := mk().Pass(ctx)     // the restart
			if err != nil {
				t.Fatal(err)
			}
			if fc.count("nominate") != 1 {
				t.Fatalf("after the restart sent %v: the nomination on chain was sent again", fc.sent)
			}
			ns, _ := st.LatestNominations(ctx, chain)
			if len(ns) != 1 || ns[0].DryRun || ns[0].Era != 3 || len(ns[0].Targets) != 5 {
				t.Fatalf("nominations %+v: want the one found on chain, recorded", ns)
			}
			if p.Round == nil || p.Round.Status != RoundDone {
				t.Fatalf("round %+v: want done", p.Round)
			}
			for _, o := range p.Round.Outcome["nominator"] {
				if !strings.Contains(o, "found on chain") {
					t.Errorf("outcome %q: want it to say the nomination was found on chain", o)
				}
			}
			if m, _ := st.Meta(ctx, chain); m.LastNominatedEra != 3 {
				t.Errorf("last nominated era %d, want 3", m.LastNominatedEra)
			}

			// The next era: the chain still nominates those targets, but from
			// era 3, so the round of era 4 sends.
			fc.era = 4
			if err := st.InTx(ctx, "era 4", func(tx *state.Tx) error {
				ch, _ := st.Chain(ctx, chain)
				ch.ActiveEra = 4
				return tx.PutChain(ch)
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := mk().Pass(ctx); err != nil {
				t.Fatal(err)
			}
			if fc.count("nominate") != 2 {
				t.Errorf("era 4: sent %v, want a second nominate", fc.sent)
			}
		})
	}
}

// A started round of the active era whose nominators are not all sent is
// finished on the next pass, not left dangling: neither behind an
// announcement of the same round still in its delay (that holds back only
// a new round's start), nor when the round is the first one and
// era_period eras have not passed yet (the round is not "due" again once
// started). The nominator that could not be sent — its account not bonded
// at first — is sent once its bond is read.
func TestStartedRoundIsFinishedOnTheNextPass(t *testing.T) {
	for _, tc := range []struct {
		name     string
		period   uint32
		delayedA bool // a first nominator through a time-delay proxy
	}{
		{"behind an announcement in its delay", 1, true},
		{"first round before era_period eras", 4, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, cfg := fixture(t, 0)
			cfg.Nomination.EraPeriod = tc.period
			ctx := context.Background()
			put := func(acct string, bonded bool) {
				v := goodValidator(acct, 100)
				v.Balance = events.Got(events.Amount("100000000000000"), 1) // one target
				if !bonded {
					v.Controller = events.Got("", 1)
				}
				if err := st.InTx(ctx, "nominator", func(tx *state.Tx) error { return tx.PutValidator(&v) }); err != nil {
					t.Fatal(err)
				}
			}
			cfg.Nomination.Nominators = nil
			if tc.delayedA {
				cfg.Nomination.Nominators = append(cfg.Nomination.Nominators, program.NominatorConfig{Account: "nominator-a", Proxy: true, ProxyDelay: 10})
				put("nominator-a", true)
			}
			cfg.Nomination.Nominators = append(cfg.Nomination.Nominators, program.NominatorConfig{Account: "nominator-b"})
			put("nominator-b", false)
			fc := goodChain()
			clock := now
			r := sendingRunner(t, st, cfg, fc, &clock)()
			if _, err := r.Pass(ctx); err == nil || !strings.Contains(err.Error(), "not bonded") {
				t.Fatalf("first pass: %v, want nominator-b not bonded", err)
			}
			rs, _ := st.Rounds(ctx, chain, 10)
			if len(rs) != 1 || rs[0].Status != RoundStarted || fc.count("nominate") != 0 {
				t.Fatalf("after the first pass: rounds %+v, sent %v: want one started round, no nominate", rs, fc.sent)
			}
			if tc.delayedA && fc.count("announce") != 1 {
				t.Fatalf("sent %v: want nominator-a announced", fc.sent)
			}
			put("nominator-b", true) // the sentry reads the bond
			clock = clock.Add(time.Minute)
			fc.mu.Lock()
			fc.block++ // still within the announcement's delay
			fc.mu.Unlock()
			p, err := r.Pass(ctx)
			if err != nil {
				t.Fatal(err)
			}
			rs, _ = st.Rounds(ctx, chain, 10)
			if len(rs) != 1 || p.Round == nil || p.Round.ID != rs[0].ID {
				t.Fatalf("rounds %+v, pass round %+v: want the same round, no new one", rs, p.Round)
			}
			if fc.count("nominate") != 1 || len(fc.nominated["nominator-b"]) != 1 {
				t.Fatalf("sent %v, nominated %v: want nominator-b sent on the next pass", fc.sent, fc.nominated)
			}
			if rs[0].Status != RoundDone {
				t.Errorf("round status %q, want done", rs[0].Status)
			}
			if tc.delayedA && (fc.count("announce") != 1 || fc.count("execute") != 0) {
				t.Errorf("sent %v: nominator-a announced once and not executed yet", fc.sent)
			}
		})
	}
}

// A due round held back — here a round that failed in this era, which
// keeps the era due — scores once per era and session, not on every
// pass: each pass stored a full snapshot until the era ended before.
func TestHeldRoundDoesNotSnapshotEveryPass(t *testing.T) {
	st, cfg := fixture(t, 0)
	fc := &fakeChain{block: 100, era: 3, anns: map[string][]Announcement{}, nominated: map[string][]string{}, facts: map[string]events.Validator{},
		sendErr: errors.New("staking.nominate failed: Staking.InsufficientBond")}
	ctx := context.Background()
	clock := now
	r := sendingRunner(t, st, cfg, fc, &clock)()
	latest := func() int64 {
		m, err := st.LatestSnapshot(ctx, chain)
		if err != nil || m == nil {
			t.Fatalf("latest snapshot %+v %v", m, err)
		}
		return m.ID
	}
	for i := range 3 { // the round's three attempts, then it fails
		clock = now.Add(time.Duration(i) * 10 * time.Minute)
		_, _ = r.Pass(ctx)
	}
	rs, _ := st.Rounds(ctx, chain, 10)
	if len(rs) != 1 || rs[0].Status != RoundFailed {
		t.Fatalf("rounds %+v: want one failed round", rs)
	}
	if m, _ := st.Meta(ctx, chain); !program.IsRoundDue(m.LastNominatedEra, 3, cfg.Nomination.EraPeriod, m.LastRoundID > 0) {
		t.Fatal("the failed round's era is not due any more: the test no longer holds a due round back")
	}
	held := latest()
	for i := range 5 {
		clock = now.Add(time.Hour + time.Duration(i)*time.Minute)
		p, err := r.Pass(ctx)
		if err != nil || p.Scored {
			t.Fatalf("pass %d in the held era: %+v %v: want no new score", i, p, err)
		}
	}
	if id := latest(); id != held {
		t.Fatalf("latest snapshot %d after passes in the held era, want %d: a snapshot per pass", id, held)
	}
	// A new session of the same era is scored once.
	if err := st.InTx(ctx, "session 19", func(tx *state.Tx) error {
		ch, _ := st.Chain(ctx, chain)
		ch.Session++
		return tx.PutChain(ch)
	}); err != nil {
		t.Fatal(err)
	}
	if p, err := r.Pass(ctx); err != nil || !p.Scored {
		t.Fatalf("pass in a new session: %+v %v: want it scored", p, err)
	}
	if p, err := r.Pass(ctx); err != nil || p.Scored {
		t.Fatalf("second pass in the new session: %+v %v: want no new score", p, err)
	}
	if id := latest(); id != held+1 {
		t.Fatalf("latest snapshot %d, want %d: one for the new session", id, held+1)
	}
}
