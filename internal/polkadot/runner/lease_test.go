package runner

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/program"
	"github.com/valtrack/valtrack/internal/polkadot/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

// logCount counts the log records whose message contains a string.
type logCount struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logCount) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCount) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Message)
	return nil
}
func (l *logCount) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCount) WithGroup(string) slog.Handler      { return l }
func (l *logCount) count(sub string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if strings.Contains(m, sub) {
			n++
		}
	}
	return n
}

// leaseStore is a program store on PostgreSQL when VALTRACK_TEST_POSTGRES
// names a server, else on SQLite: the lease is one conditional UPDATE in
// either dialect.
func leaseStore(t *testing.T) *state.Store {
	t.Helper()
	if os.Getenv(storetest.PostgresEnv) != "" {
		return state.New(storetest.Postgres(t, store.WithMigrations(state.Migrations())))
	}
	return state.New(storetest.SQLite(t, store.WithMigrations(state.Migrations())))
}

// Two consumers sending on one store (PostgreSQL when
// VALTRACK_TEST_POSTGRES names one, else SQLite): only the holder of the
// chain's send lease starts the round and sends; the other records no
// round and sends nothing, and says so once. When the holder stops
// renewing, the other takes the lease over after its TTL — and, the round
// being done, sends nothing again.
func TestOneSenderPerChainByLease(t *testing.T) {
	st, cfg := fixtureIn(t, leaseStore(t), 0, true)
	fc := goodChain()
	ctx := context.Background()
	clock := now
	mk := func(holder string, logs *logCount) *Runner {
		r, err := New(Config{Chain: chain, Store: st, Program: staticProgram{cfg}, Live: fc, Sender: fc, Send: true, LeaseHolder: holder,
			LeaseTTL: 5 * time.Minute, Log: slog.New(logs), Now: func() time.Time { return clock }})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	la, lb := &logCount{}, &logCount{}
	a, b := mk("consumer-a", la), mk("consumer-b", lb)
	if _, err := a.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		clock = clock.Add(time.Minute)
		p, err := b.Pass(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if p.Round != nil {
			t.Fatalf("the process without the lease has a round: %+v", p.Round)
		}
		if _, err := a.Pass(ctx); err != nil { // a renews
			t.Fatal(err)
		}
	}
	rs, _ := st.Rounds(ctx, chain, 10)
	if fc.count("nominate") != 1 || len(rs) != 1 || rs[0].Status != RoundDone {
		t.Fatalf("sent %v, rounds %+v: want one round, nominated once", fc.sent, rs)
	}
	if n := lb.count("another process holds the send lease"); n != 1 {
		t.Errorf("the process without the lease logged it %d times, want once", n)
	}
	if n := la.count("another process holds the send lease"); n != 0 {
		t.Errorf("the holder logged that another holds the lease")
	}
	// a stops; after the TTL b takes over, and the done round is not sent again.
	clock = clock.Add(6 * time.Minute)
	if _, err := b.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if lb.count("took the send lease") != 1 || fc.count("nominate") != 1 {
		t.Fatalf("after a's lease lapsed: logs %v, sent %v: want b to take the lease and send nothing more", lb.msgs, fc.sent)
	}
	if held, other, err := st.HoldSendLease(ctx, chain, "consumer-a", clock, time.Minute); err != nil || held || other != "consumer-b" {
		t.Fatalf("a asking again: held %v, other %q, %v: want b's lease kept", held, other, err)
	}
}

// testClock is the runners' clock, shared with their goroutines; its
// timers are handed to the test (timers), which fires them.
type testClock struct {
	mu     sync.Mutex
	t      time.Time
	timers chan chan time.Time
}

func newTestClock(at time.Time) *testClock {
	return &testClock{t: at, timers: make(chan chan time.Time, 64)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// After is a timer that fires when the test sends on it: unbuffered, so
// that a send succeeds only while its goroutine waits on it.
func (c *testClock) After(time.Duration) <-chan time.Time {
	ch := make(chan time.Time)
	c.timers <- ch
	return ch
}

func leaseRunner(t *testing.T, st *state.Store, cfg *program.Config, fc *fakeChain, holder string, ttl time.Duration, clk *testClock) *Runner {
	t.Helper()
	r, err := New(Config{Chain: chain, Store: st, Program: staticProgram{cfg}, Live: fc, Sender: fc, Send: true, LeaseHolder: holder,
		LeaseTTL: ttl, MaxSendAttempts: 3, SendBackoff: time.Minute, After: clk.After, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A pass that takes longer than the lease's TTL — its send waits four
// thirds of the TTL for an inclusion — keeps the lease: the runner's
// goroutine renews it every TTL/3, so another process cannot take it
// meanwhile. The goroutine ends with the pass: once passes stop, the
// lease lapses after its TTL and the other process takes it.
func TestLeaseRenewedThroughALongPass(t *testing.T) {
	st, cfg := fixtureIn(t, leaseStore(t), 0, true)
	fc := goodChain()
	clk := newTestClock(now)
	const ttl = 3 * time.Minute
	inSend, release := make(chan struct{}), make(chan struct{})
	fc.beforeSend = func(string) {
		inSend <- struct{}{}
		<-release
	}
	a := leaseRunner(t, st, cfg, fc, "consumer-a", ttl, clk)
	ctx := context.Background()
	done := make(chan error, 1)
	go func() {
		_, err := a.Pass(ctx)
		done <- err
	}()
	timer := <-clk.timers // the renewal started with the pass
	<-inSend              // the pass waits in its send
	for range 4 {
		clk.Add(ttl / 3)
		timer <- clk.Now()
		timer = <-clk.timers // renewed: the next timer is asked for
	}
	if held, other, err := st.HoldSendLease(ctx, chain, "consumer-b", clk.Now(), ttl); err != nil || held || other != "consumer-a" {
		t.Fatalf("%v past the pass's start: another process asking got held %v, other %q, %v; want consumer-a's lease kept", 4*ttl/3, held, other, err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	rs, _ := st.Rounds(ctx, chain, 10)
	if fc.count("nominate") != 1 || len(rs) != 1 || rs[0].Status != RoundDone {
		t.Fatalf("sent %v, rounds %+v: want the round done, nominated once", fc.sent, rs)
	}
	select {
	case timer <- clk.Now():
		t.Fatal("the lease's renewal outlived its pass")
	default:
	}
	clk.Add(ttl + time.Second)
	if held, _, err := st.HoldSendLease(ctx, chain, "consumer-b", clk.Now(), ttl); err != nil || !held {
		t.Fatalf("a TTL after the last pass: another process got held %v, %v; want the lapsed lease taken", held, err)
	}
}

// A lease lost during a pass stops its sends: the pass outlived the
// lease between two renewals (no timer fired) and another process took
// it; the renewal before the next send finds that, so nothing more is
// sent, no attempt is counted, its send is recorded and the round stays
// started with the reason naming the new holder, nothing else of its view
// written (the new holder decides the rest). The new holder finishes the round — the
// nominator sent before the loss is not sent again — and the old one,
// passing again, sends nothing.
func TestLostLeaseStopsSends(t *testing.T) {
	st, cfg, fc := sixNominatorsIn(t, leaseStore(t), 0)
	clk := newTestClock(now)
	const ttl = 3 * time.Minute
	ctx := context.Background()
	var took bool
	fc.beforeSend = func(string) {
		if took {
			return
		}
		took = true
		clk.Add(ttl + time.Minute)
		if held, _, err := st.HoldSendLease(ctx, chain, "consumer-b", clk.Now(), ttl); err != nil || !held {
			t.Errorf("consumer-b could not take the lapsed lease: %v %v", held, err)
		}
	}
	a := leaseRunner(t, st, cfg, fc, "consumer-a", ttl, clk)
	_, err := a.Pass(ctx)
	if err == nil || !strings.Contains(err.Error(), "consumer-b") {
		t.Fatalf("pass: %v; want the lost lease reported", err)
	}
	rs, _ := st.Rounds(ctx, chain, 10)
	if len(rs) != 1 || fc.count("nominate") != 1 {
		t.Fatalf("rounds %+v, sent %v: want one round and the one nominate sent before the loss", rs, fc.sent)
	}
	rd := rs[0]
	if rd.Status != RoundStarted || !strings.Contains(rd.Reason, "send lease is held by consumer-b") {
		t.Fatalf("round status %q reason %q: want started, the reason naming consumer-b", rd.Status, rd.Reason)
	}
	for n, att := range rd.Attempts {
		if att.Count != 0 {
			t.Errorf("nominator %s: %d attempts counted for sends refused for the lease", n, att.Count)
		}
	}
	first, second := rd.Assignments[0].Nominator, rd.Assignments[1].Nominator
	if o := rd.Outcome[first]; len(o) != 1 || !strings.HasPrefix(o[cfgTarget(rd, 0)], "nominated") {
		t.Errorf("outcome of %s %v: want its send recorded", first, o)
	}
	if o, ok := rd.Outcome[second]; ok {
		t.Errorf("outcome of %s %v: want none from the process that lost the lease (the holder decides)", second, o)
	}
	if ns, _ := st.LatestNominations(ctx, chain); len(ns) != 1 {
		t.Errorf("nominations %+v: want the one sent", ns)
	}

	b := leaseRunner(t, st, cfg, fc, "consumer-b", ttl, clk)
	p, err := b.Pass(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rs, _ = st.Rounds(ctx, chain, 10)
	if p.Round == nil || len(rs) != 1 || rs[0].Status != RoundDone || rs[0].Reason != "" {
		t.Fatalf("after consumer-b's pass: rounds %+v: want the one round done", rs)
	}
	if fc.count("nominate") != 6 || len(fc.nominated) != 6 {
		t.Fatalf("sent %v, nominated %v: want each of the six nominators sent once", fc.sent, fc.nominated)
	}
	clk.Add(time.Minute)
	if _, err := a.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if fc.count("nominate") != 6 {
		t.Fatalf("consumer-a without the lease sent %v", fc.sent)
	}
}

// cfgTarget is the i-th assignment's only target.
func cfgTarget(rd state.Round, i int) string { return rd.Assignments[i].Targets[0] }

// The process that lost the lease sent one nominator and stalled before
// saving the round; the new holder finished the round meanwhile. The
// round's record still says the first nominator was nominated (the new
// holder reads it from the nominations recorded at the send), each of the
// six is nominated once, and the old holder's stale view — a failed send
// the new holder had made since — changes nothing of the finished round.
func TestNewHolderRecordsTheOldHoldersSend(t *testing.T) {
	st, cfg, fc := sixNominatorsIn(t, leaseStore(t), 0)
	clk := newTestClock(now)
	const ttl = 3 * time.Minute
	ctx := context.Background()
	b := leaseRunner(t, st, cfg, fc, "consumer-b", ttl, clk)
	sends := 0
	var bErr error
	fc.beforeSend = func(string) {
		sends++
		if sends != 2 { // a's second send; b's sends pass through
			return
		}
		clk.Add(ttl + time.Minute)
		_, bErr = b.Pass(ctx)
		fc.sendErr = errors.New("nonce too low") // a's own send now fails on chain
	}
	a := leaseRunner(t, st, cfg, fc, "consumer-a", ttl, clk)
	if _, err := a.Pass(ctx); err == nil {
		t.Fatal("a's pass: no error; want its failed send and lost lease reported")
	}
	if bErr != nil {
		t.Fatalf("b's pass: %v", bErr)
	}
	rs, _ := st.Rounds(ctx, chain, 10)
	if len(rs) != 1 || rs[0].Status != RoundDone {
		t.Fatalf("rounds %+v: want the one round done by b", rs)
	}
	if n := fc.count("nominate"); n != 6 || len(fc.nominated) != 6 {
		t.Fatalf("sent %v, nominated %v: want each of the six once", fc.sent, fc.nominated)
	}
	rd := rs[0]
	for i, as := range rd.Assignments {
		if o := rd.Outcome[as.Nominator][cfgTarget(rd, i)]; !strings.HasPrefix(o, "nominated") {
			t.Errorf("outcome of %s: %q; want nominated", as.Nominator, o)
		}
	}
	if len(rd.Attempts) != 0 {
		t.Errorf("attempts %+v: want none (a's failure came after b's send)", rd.Attempts)
	}
}

// A dry-run process sharing the store with a sending one (PostgreSQL when
// VALTRACK_TEST_POSTGRES names one): while the sender holds the send
// lease, or its announcements are pending, the dry run starts no round —
// its round would stand as the era's nomination and the sender would skip
// the era — and says so once, not on every pass; it never clears the
// sender's reason why a round waits. Once the lease is released and
// nothing is pending, the dry run starts rounds again.
func TestDryRunLeavesRoundsToASender(t *testing.T) {
	st, cfg := fixtureIn(t, leaseStore(t), 10, true) // a time-delay proxy: the sender's round leaves an announcement
	fc := goodChain()
	ctx := context.Background()
	clock := now
	mk := func(holder string, send bool, logs *logCount) *Runner {
		c := Config{Chain: chain, Store: st, Program: staticProgram{cfg}, Send: send, LeaseHolder: holder,
			LeaseTTL: 5 * time.Minute, Log: slog.New(logs), Now: func() time.Time { return clock }}
		if send {
			c.Live, c.Sender = fc, fc
		}
		r, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	ls, ld := &logCount{}, &logCount{}
	sender, dry := mk("sender", true, ls), mk("dry", false, ld)
	if _, err := sender.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if txs, _ := st.ProxyTxs(ctx, chain, true, 0); len(txs) != 1 {
		t.Fatalf("pending %+v: want the sender's announcement", txs)
	}
	if err := st.SetRoundWait(ctx, chain, "the sender's reason", clock.UnixMilli()); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		p, err := dry.Pass(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if p.Round != nil && p.Round.DryRun {
			t.Fatalf("the dry run started round %+v beside a sender", p.Round)
		}
	}
	if n := ld.count("holds the send lease"); n != 1 {
		t.Errorf("the dry run logged the sender's lease %d times: want once", n)
	}
	rs, _ := st.Rounds(ctx, chain, 10)
	if len(rs) != 1 || rs[0].DryRun {
		t.Fatalf("rounds %+v: want only the sender's", rs)
	}
	if m, _ := st.Meta(ctx, chain); m.RoundWait != "the sender's reason" {
		t.Errorf("round wait %q: the dry run overwrote the sender's", m.RoundWait)
	}

	// The sender stops (a clean stop releases the lease), its
	// announcement still pending: the dry run still starts nothing, and
	// says why once, without an error on each pass.
	if err := st.ReleaseSendLease(ctx, chain, "sender", clock); err != nil {
		t.Fatal(err)
	}
	moveToEra(t, st, 10, 105) // a round is due again
	for range 3 {
		p, err := dry.Pass(ctx)
		if err != nil {
			t.Fatalf("dry-run pass with a pending announcement: %v", err)
		}
		if p.Round != nil && p.Round.DryRun {
			t.Fatalf("the dry run started round %+v while the sender's announcement is pending", p.Round)
		}
	}
	if n := ld.count("pending in this store"); n != 1 {
		t.Errorf("the dry run logged the pending announcement %d times: want once", n)
	}
	if n := ld.count("no sending process holds the send lease any more"); n != 1 {
		t.Errorf("the dry run logged the released lease %d times: want once", n)
	}

	// Settled (here withdrawn by hand, as an operator would): rounds again.
	txs, _ := st.ProxyTxs(ctx, chain, true, 0)
	if _, err := st.FinishProxyTx(ctx, chain, txs[0].ID, state.ProxyCancelled, "withdrawn by the operator", "", clock.UnixMilli()); err != nil {
		t.Fatal(err)
	}
	p, err := dry.Pass(ctx)
	if err != nil || p.Round == nil || !p.Round.DryRun || p.Round.Era != 10 {
		t.Fatalf("dry-run pass after the announcement was settled: %+v %v: want era 10's dry-run round", p, err)
	}
}
