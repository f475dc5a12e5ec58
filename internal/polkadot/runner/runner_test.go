package runner

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/polkadot/program"
	"github.com/valtrack/valtrack/internal/polkadot/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

const chain = "westend"

var now = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

type staticProgram struct{ cfg *program.Config }

func (p staticProgram) Current() (*program.Config, error) { return p.cfg, nil }

// fakeChain is the chain as Live and Sender see it: announcements,
// nominations, the head; and what was sent.
type fakeChain struct {
	mu    sync.Mutex
	block uint64
	// relay, when set, is the relay chain's block while block is the
	// staking chain's (Asset Hub's): the proxy pallet counts announcements
	// in relay blocks, as Asset Hub's does since the migration.
	relay     uint64
	era       uint32
	anns      map[string][]Announcement // delegate → announcements
	nominated map[string][]string       // real → targets
	submitted map[string]uint32         // real → the era its nomination was submitted in
	// dies: Nominate is included on chain, then fails as a process killed
	// while waiting for the inclusion would (nothing recorded).
	dies      bool
	facts     map[string]events.Validator
	sent      []string
	liveErr   error
	readErr   error // Validators fails (the re-validation read)
	sendErr   error // Nominate and Announce fail (sent, failed on chain)
	annErr    error // Announcements fails (a read, before any send)
	execErr   error // ExecuteAnnounced fails (sent, failed on chain)
	removeErr error // RemoveAnnouncement fails
	// beforeSend, when set, runs at the start of every send, without the
	// lock: a send waiting for its inclusion, or the world changing then.
	beforeSend func(what string)
	// calls counts the Live reads by kind (chain, validators,
	// announcements): each is one RPC round of the real reader.
	calls map[string]int
}

// called counts one Live read (f.mu held).
func (f *fakeChain) called(what string) {
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[what]++
}

// reads is a copy of the Live reads counted so far.
func (f *fakeChain) reads() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.calls)
}

func (f *fakeChain) Chain(context.Context) (events.Chain, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.called("chain")
	if f.liveErr != nil {
		return events.Chain{}, f.liveErr
	}
	if f.relay > 0 {
		return events.Chain{Chain: chain, Block: f.relay, ProxyBlock: f.relay, ActiveEra: f.era, Decimals: 12, Token: "WND"}, nil
	}
	return events.Chain{Chain: chain, Block: f.block, ActiveEra: f.era, Decimals: 12, Token: "WND"}, nil
}

// proxyBlock is the block number the fake's proxy pallet counts in (f.mu
// held).
func (f *fakeChain) proxyBlock() uint64 {
	if f.relay > 0 {
		return f.relay
	}
	return f.block
}

func (f *fakeChain) Validators(_ context.Context, at events.Chain, extra []string) ([]events.Validator, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.called("validators")
	if f.readErr != nil {
		return nil, f.readErr
	}
	var out []events.Validator
	for _, s := range extra {
		v, ok := f.facts[s]
		if !ok {
			v = events.Validator{Stash: s}
		}
		v.Block = at.Block
		if t, ok := f.nominated[s]; ok {
			v.NominationTargets, v.NominationEra = events.Got(t, 1), events.Got(f.submitted[s], 1)
		} else if !v.NominationTargets.Known && v.NominationTargets.Err == "" {
			// As the chain reader has it: no staking.nominators entry is a
			// known absence.
			v.NominationTargets, v.NominationEra = events.Got[[]string](nil, 1), events.Got[uint32](0, 1)
		}
		out = append(out, v)
	}
	return out, nil
}

func (f *fakeChain) AnnouncementsOf(_ context.Context, delegates ...string) (map[string][]Announcement, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.called("announcements")
	if f.annErr != nil {
		return nil, f.annErr
	}
	out := map[string][]Announcement{}
	for _, d := range delegates {
		out[d] = append([]Announcement(nil), f.anns[d]...)
	}
	return out, nil
}

func (f *fakeChain) Delegate(n program.NominatorConfig) (string, error) {
	return "proxy-of-" + n.Account, nil
}

func (f *fakeChain) CallHash(_ context.Context, targets []string) (string, error) {
	return "0x" + strings.Join(targets, "+"), nil
}

func (f *fakeChain) Nominate(_ context.Context, n program.NominatorConfig, targets []string) (Sent, error) {
	if f.beforeSend != nil {
		f.beforeSend("nominate")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sendErr != nil {
		return Sent{}, f.sendErr
	}
	f.sent = append(f.sent, "nominate")
	f.nominate(n.Account, targets)
	if f.dies {
		return Sent{}, context.Canceled
	}
	return Sent{TxHash: "0xn", Block: f.block}, nil
}

func (f *fakeChain) Announce(_ context.Context, n program.NominatorConfig, targets []string) (Sent, error) {
	if f.beforeSend != nil {
		f.beforeSend("announce")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sendErr != nil {
		return Sent{}, f.sendErr
	}
	f.sent = append(f.sent, "announce")
	d := "proxy-of-" + n.Account
	f.anns[d] = append(f.anns[d], Announcement{Real: n.Account, CallHash: "0x" + strings.Join(targets, "+"), Height: f.proxyBlock()})
	return Sent{TxHash: "0xa", Block: f.block}, nil
}

func (f *fakeChain) ExecuteAnnounced(_ context.Context, n program.NominatorConfig, targets []string) (Sent, error) {
	if f.beforeSend != nil {
		f.beforeSend("execute")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, "execute")
	if f.execErr != nil {
		return Sent{}, f.execErr
	}
	d := "proxy-of-" + n.Account
	if len(f.anns[d]) == 0 {
		return Sent{}, errors.New("proxy.Unannounced")
	}
	if a := f.anns[d][0]; f.proxyBlock() < a.Height+uint64(n.ProxyDelay) {
		// The pallet finds no announcement old enough: the same error.
		return Sent{}, errors.New("proxy.Unannounced (the delay has not passed)")
	}
	f.anns[d] = nil
	f.nominate(n.Account, targets)
	return Sent{TxHash: "0xe", Block: f.block}, nil
}

// nominate is the chain's staking.nominators after a nomination of real's
// (f.mu held).
func (f *fakeChain) nominate(real string, targets []string) {
	f.nominated[real] = targets
	if f.submitted == nil {
		f.submitted = map[string]uint32{}
	}
	f.submitted[real] = f.era
}

func (f *fakeChain) RemoveAnnouncement(_ context.Context, n program.NominatorConfig, hash string) (Sent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, "remove")
	if f.removeErr != nil {
		return Sent{}, f.removeErr
	}
	f.anns["proxy-of-"+n.Account] = nil
	return Sent{TxHash: "0xr"}, nil
}

func (f *fakeChain) count(what string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, s := range f.sent {
		if s == what {
			n++
		}
	}
	return n
}

var names = []string{"alpha", "bravo", "charlie", "delta", "echo"}

// goodChain is the chain at block 100 of era 3 with every candidate's
// fresh facts good (goodValidator).
func goodChain() *fakeChain { return goodChainOf(names) }

// goodChainOf is goodChain with the candidates named ns.
func goodChainOf(ns []string) *fakeChain {
	fc := &fakeChain{block: 100, era: 3, anns: map[string][]Announcement{}, nominated: map[string][]string{}, facts: map[string]events.Validator{}}
	for _, n := range ns {
		fc.facts["stash-"+n] = goodValidator("stash-"+n, 100)
	}
	return fc
}

func goodValidator(stash string, block uint64) events.Validator {
	return events.Validator{V: 1, Chain: chain, Stash: stash, Block: block,
		Intention: events.Got(true, 1), Commission: events.Got(uint32(10_000_000), 1), Blocked: events.Got(false, 1),
		Active: events.Got(true, 1), Controller: events.Got(stash, 1), SelfStake: events.Got(events.Amount("50000000000000"), 1),
		Payee: events.Got("Staked", 1), Balance: events.Got(events.Amount("60000000000000"), 1),
		Identity: events.Got(&events.Identity{Display: "id-" + stash, Judgements: []string{"Reasonable"}}, 1),
		NextKeys: events.Got(map[string]string{"beefy": "0x02aabbcc"}, 1), UnclaimedEras: events.Got([]uint32{}, 1),
		ActiveNominators: events.Got([]events.Backer{}, 1), InactiveNominators: events.Got([]events.Backer{}, 1)}
}

// fixture stores what the sentry and the telemetry feed would have: the
// chain, five good candidates, their telemetry nodes and two eras; and a
// nominator with a 10-block time-delay proxy.
func fixture(t *testing.T, delay uint32) (*state.Store, *program.Config) {
	t.Helper()
	return fixtureWith(t, delay, true)
}

// fixtureWith is fixture, with the telemetry nodes or without (a feed
// that has not answered yet).
func fixtureWith(t *testing.T, delay uint32, withTelemetry bool) (*state.Store, *program.Config) {
	t.Helper()
	return fixtureIn(t, state.New(storetest.SQLite(t, store.WithMigrations(state.Migrations()))), delay, withTelemetry)
}

// fixtureIn is fixtureWith in the store st.
func fixtureIn(t *testing.T, st *state.Store, delay uint32, withTelemetry bool) (*state.Store, *program.Config) {
	t.Helper()
	return fixtureOf(t, st, delay, withTelemetry, names)
}

// fixtureOf is fixtureIn with the candidates named ns.
func fixtureOf(t *testing.T, st *state.Store, delay uint32, withTelemetry bool, ns []string) (*state.Store, *program.Config) {
	t.Helper()
	cfg := &program.Config{}
	cfg.Rules.ClientForcedVersion = "1.0.0"
	cfg.Score.Seed = 7
	cfg.Nomination.Nominators = []program.NominatorConfig{{Account: "nominator", Proxy: delay > 0, ProxyDelay: delay}}
	ch := &events.Chain{V: 1, Chain: chain, Block: 100, BlockHash: "0x100", ActiveEra: 3, Session: 18, Decimals: 12, Token: "WND",
		MaxNominations: 16, SS58Prefix: 42}
	for range 10 {
		ch.ElectedStakes = append(ch.ElectedStakes, "100000000000000") // 100 WND each
	}
	err := st.InTx(context.Background(), "fixture", func(tx *state.Tx) error {
		if err := tx.PutChain(ch); err != nil {
			return err
		}
		for _, n := range ns {
			cfg.Candidates = append(cfg.Candidates, program.Entry{Name: n, Stash: "stash-" + n})
			v := goodValidator("stash-"+n, 100)
			if err := tx.PutValidator(&v); err != nil {
				return err
			}
			node := &events.Telemetry{V: 1, Chain: chain, Name: n, Implementation: "Parity Polkadot", Version: "1.0.0-abc",
				Online: true, DiscoveredAt: now.Add(-30 * 24 * time.Hour).UnixMilli(), OnlineSince: now.Add(-time.Hour).UnixMilli(),
				Week: "2026-W49", At: now.UnixMilli()}
			if !withTelemetry {
				continue
			}
			if err := tx.PutTelemetry(node); err != nil {
				return err
			}
		}
		nom := goodValidator("nominator", 100)
		nom.Balance = events.Got(events.Amount("1000000000000000"), 1)
		if err := tx.PutValidator(&nom); err != nil {
			return err
		}
		for era := uint32(1); era <= 3; era++ {
			e := &events.Era{V: 1, Chain: chain, Era: era, Points: map[string]uint32{}, Complete: era < 3, Block: 100}
			for i, n := range ns {
				e.Validators = append(e.Validators, "stash-"+n)
				e.Points["stash-"+n] = uint32(20 * (i + 1))
			}
			if err := tx.PutEra(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return st, cfg
}

func newRunner(t *testing.T, st *state.Store, cfg *program.Config, fc *fakeChain, send bool) *Runner {
	t.Helper()
	c := Config{Chain: chain, Store: st, Program: staticProgram{cfg}, Send: send, LeaseHolder: "this-host", Now: func() time.Time { return now }}
	if fc != nil {
		c.Live, c.Sender = fc, fc
	}
	r, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A dry-run pass: every candidate valid, a snapshot, a round whose
// nomination is recorded and not sent; a second pass in the same era
// starts no second round.
func TestDryRunRound(t *testing.T) {
	st, cfg := fixture(t, 0)
	r := newRunner(t, st, cfg, nil, false)
	ctx := context.Background()
	p, err := r.Pass(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Valid != 5 || !p.Scored || p.Round == nil || !p.Round.DryRun {
		cs, _ := st.Candidates(ctx, chain, state.CandidateFilter{})
		for _, c := range cs {
			t.Logf("%s %s %+v", c.Entry.Name, c.Validity.Status, c.Validity.Checks)
		}
		t.Fatalf("pass %+v: want 5 valid, scored, a dry-run round", p)
	}
	ns, err := st.LatestNominations(ctx, chain)
	if err != nil || len(ns) != 1 || !ns[0].DryRun || len(ns[0].Targets) != 5 {
		t.Fatalf("nominations %+v (%v): want one dry run of the 5 valid candidates", ns, err)
	}
	if m, _ := st.Meta(ctx, chain); m.LastNominatedEra != 3 {
		t.Errorf("last nominated era %d, want 3", m.LastNominatedEra)
	}
	p2, err := r.Pass(ctx)
	if err != nil || p2.Round != nil {
		t.Errorf("second pass in era 3 started a round: %+v %v", p2, err)
	}
	rank, _ := st.RankLog(ctx, chain, "stash-alpha")
	if len(rank) != 3 || rank[2].Rank != 3 {
		t.Errorf("rank log of alpha %+v: want 3 active periods (eras 1..3)", rank)
	}
}

// A failed read of a fact the candidate was valid on keeps the verdict
// (with the error); one never read makes the candidate unknown, not
// invalid.
func TestUnknownNeverInvalidates(t *testing.T) {
	st, cfg := fixture(t, 0)
	r := newRunner(t, st, cfg, nil, false)
	ctx := context.Background()
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	err := st.InTx(ctx, "rpc fails", func(tx *state.Tx) error {
		v := goodValidator("stash-alpha", 101)
		v.Commission = events.Failed[uint32](errors.New("rpc: connection refused"), 2)
		if err := tx.PutValidator(&v); err != nil {
			return err
		}
		w := goodValidator("stash-new", 101)
		w.Commission = events.Failed[uint32](errors.New("rpc: connection refused"), 2)
		if err := tx.PutValidator(&w); err != nil {
			return err
		}
		return tx.PutTelemetry(&events.Telemetry{V: 1, Chain: chain, Name: "foxtrot", Implementation: "Parity Polkadot", Version: "1.0.0",
			Online: true, DiscoveredAt: now.Add(-30 * 24 * time.Hour).UnixMilli(), Week: "2026-W49", At: now.UnixMilli()})
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Candidates = append(cfg.Candidates, program.Entry{Name: "foxtrot", Stash: "stash-new"})
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	a, _ := st.Candidate(ctx, chain, "stash-alpha")
	if a.Validity.Status != program.Valid {
		t.Errorf("alpha %s after an RPC error: %+v", a.Validity.Status, a.Validity.Checks)
	}
	f, _ := st.Candidate(ctx, chain, "stash-new")
	if f.Validity.Status == program.Invalid {
		t.Errorf("foxtrot made invalid by an RPC error: %+v", f.Validity.Checks)
	}
	var sawErr bool
	for _, c := range f.Validity.Checks {
		if c.Type == program.RuleCommission {
			sawErr = c.Status == program.Unknown && strings.Contains(c.Error, "connection refused")
		}
	}
	if !sawErr {
		t.Errorf("foxtrot's commission check does not say unknown with the error: %+v", f.Validity.Checks)
	}
}

// A time-delay proxy round: announced once, executed once after the
// delay, nominated on chain; a runner restarted after the chain executed
// it but before the store knew records it without sending again.
func TestDelayedProxyRoundOnce(t *testing.T) {
	st, cfg := fixture(t, 10)
	fc := goodChain()
	r := newRunner(t, st, cfg, fc, true)
	ctx := context.Background()
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	txs, _ := st.ProxyTxs(ctx, chain, true, 0)
	if fc.count("announce") != 1 || len(txs) != 1 || txs[0].ExecuteAfter != 110 {
		t.Fatalf("after the round: sent %v, pending %+v: want one announcement executing after block 110", fc.sent, txs)
	}
	// Before the delay: nothing is executed, no second round.
	fc.block = 105
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if fc.count("execute") != 0 || fc.count("announce") != 1 {
		t.Fatalf("before the delay: sent %v", fc.sent)
	}
	// After: executed once.
	fc.block = 111
	p, err := r.Pass(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Executed != 1 || fc.count("execute") != 1 || len(fc.nominated["nominator"]) != 5 {
		t.Fatalf("after the delay: pass %+v, sent %v, nominated %v", p, fc.sent, fc.nominated)
	}
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if fc.count("execute") != 1 {
		t.Fatalf("executed again on the next pass: %v", fc.sent)
	}
	ns, _ := st.LatestNominations(ctx, chain)
	if len(ns) != 1 || ns[0].DryRun || ns[0].TxHash != "0xe" {
		t.Errorf("nominations %+v: want the one executed", ns)
	}

	// The crash case: the next round's announcement executed on chain (by
	// this runner, which then died before recording it).
	st2, cfg2 := fixture(t, 10)
	fc2 := &fakeChain{block: 100, era: 3, anns: map[string][]Announcement{}, nominated: map[string][]string{}, facts: fc.facts}
	r1 := newRunner(t, st2, cfg2, fc2, true)
	if _, err := r1.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	fc2.block = 111
	if _, err := fc2.ExecuteAnnounced(ctx, cfg2.Nomination.Nominators[0], fc2.anns["proxy-of-nominator"][0].targets()); err != nil {
		t.Fatal(err)
	}
	r2 := newRunner(t, st2, cfg2, fc2, true) // the restart
	p, err = r2.Pass(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if fc2.count("execute") != 1 || p.Executed != 1 {
		t.Fatalf("after the restart: pass %+v, sent %v: the executed announcement must be recorded, not sent again", p, fc2.sent)
	}
	txs, _ = st2.ProxyTxs(ctx, chain, false, 0)
	if len(txs) != 1 || txs[0].State != state.ProxyExecuted || !strings.Contains(txs[0].Reason, "found executed") {
		t.Errorf("proxy txs %+v", txs)
	}
}

// A round whose nomination could not be sent is retried within its era
// (after a back-off, TestFailedSendsAreBoundedAndTheRoundFails); when the
// era moves on first, the next era's round replaces it and the
// old one is marked expired, with why each target was not sent, never
// left "started".
func TestUnsentRoundExpiresWithItsEra(t *testing.T) {
	st, cfg := fixture(t, 0)
	fc := &fakeChain{block: 100, era: 3, anns: map[string][]Announcement{}, nominated: map[string][]string{}, facts: map[string]events.Validator{},
		sendErr: errors.New("the node refused it: 1010 invalid transaction")}
	for _, n := range names {
		fc.facts["stash-"+n] = goodValidator("stash-"+n, 100)
	}
	r := newRunner(t, st, cfg, fc, true)
	ctx := context.Background()
	if _, err := r.Pass(ctx); err == nil {
		t.Fatal("a failed send is not reported")
	}
	if _, err := r.Pass(ctx); err != nil { // within the back-off: waits, sends nothing
		t.Fatalf("a pass within the back-off: %v", err)
	}
	rounds, err := st.Rounds(ctx, chain, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rounds) != 1 || rounds[0].Status != RoundStarted || rounds[0].Attempts["nominator"].Count != 1 {
		t.Fatalf("rounds %+v: want one started round for era 3 with one failed attempt, waiting, not restarted", rounds)
	}
	// Era 4 begins; the node accepts transactions again.
	fc.mu.Lock()
	fc.era, fc.block, fc.sendErr = 4, 700, nil
	fc.mu.Unlock()
	err = st.InTx(ctx, "era 4", func(tx *state.Tx) error {
		if err := tx.PutChain(&events.Chain{V: 1, Chain: chain, Block: 700, BlockHash: "0x700", ActiveEra: 4, Session: 24, Decimals: 12,
			Token: "WND", MaxNominations: 16, SS58Prefix: 42, ElectedStakes: []events.Amount{"100000000000000"}}); err != nil {
			return err
		}
		e := &events.Era{V: 1, Chain: chain, Era: 4, Points: map[string]uint32{}, Block: 700}
		for _, n := range names {
			e.Validators = append(e.Validators, "stash-"+n)
			e.Points["stash-"+n] = 20
		}
		return tx.PutEra(e)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	rounds, err = st.Rounds(ctx, chain, 10)
	if err != nil {
		t.Fatal(err)
	}
	byEra := map[uint32]state.Round{}
	for _, rd := range rounds {
		byEra[rd.Era] = rd
	}
	if len(rounds) != 2 || byEra[4].Status != RoundDone || byEra[3].Status != RoundExpired {
		t.Fatalf("rounds %+v: want era 3 expired and era 4 done", rounds)
	}
	if len(byEra[3].Outcome["nominator"]) == 0 {
		t.Fatalf("expired round %+v has no outcome per target", byEra[3])
	}
	for _, out := range byEra[3].Outcome {
		for target, o := range out {
			if !strings.Contains(o, "1010 invalid transaction") || !strings.Contains(o, "era 3 ended first") {
				t.Fatalf("expired round's outcome for %s is %q: want the send error and that the era ended", target, o)
			}
		}
	}
	if fc.count("nominate") != 1 {
		t.Fatalf("sent %v: want one nomination, era 4's", fc.sent)
	}
}

func (a Announcement) targets() []string {
	return strings.Split(strings.TrimPrefix(a.CallHash, "0x"), "+")
}

// A target that became invalid during the delay (commission raised)
// cancels the announcement instead of nominating it.
func TestDelayedProxyCancelledOnInvalidTarget(t *testing.T) {
	st, cfg := fixture(t, 10)
	fc := goodChain()
	r := newRunner(t, st, cfg, fc, true)
	ctx := context.Background()
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	v := fc.facts["stash-charlie"]
	v.Commission = events.Got(uint32(900_000_000), 2) // 90 %
	fc.facts["stash-charlie"] = v
	fc.block = 111
	p, err := r.Pass(ctx)
	if err != nil {
		t.Fatal(err)
	}
	txs, _ := st.ProxyTxs(ctx, chain, false, 0)
	if p.Cancelled != 1 || fc.count("execute") != 0 || fc.count("remove") != 1 || len(txs) != 1 || txs[0].State != state.ProxyCancelled {
		t.Fatalf("pass %+v, sent %v, txs %+v: want the announcement cancelled", p, fc.sent, txs)
	}
	if !strings.Contains(txs[0].Reason, "charlie") || !strings.Contains(txs[0].Reason, "commission") {
		t.Errorf("cancel reason %q does not name charlie's commission", txs[0].Reason)
	}
	_ = fmt.Sprint()
}

// When the sentry has not read the chain for longer than Stale (its RPC is
// down), the chain checks become unknown with that error and keep their
// last verdicts: no candidate turns invalid; a fresh read restores them.
func TestStaleChainIsUnknownNotInvalid(t *testing.T) {
	st, cfg := fixture(t, 0)
	ctx := context.Background()
	clock := now
	r, err := New(Config{Chain: chain, Store: st, Program: staticProgram{cfg}, Now: func() time.Time { return clock }, Stale: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.InTx(ctx, "seen", func(tx *state.Tx) error {
		ch, _ := st.Chain(ctx, chain)
		ch.SeenAt, ch.Block = now.UnixMilli(), ch.Block+1
		return tx.PutChain(ch)
	}); err != nil {
		t.Fatal(err)
	}
	if p, err := r.Pass(ctx); err != nil || p.Valid != 5 {
		t.Fatalf("first pass %+v %v", p, err)
	}
	clock = now.Add(10 * time.Minute)
	p, err := r.Pass(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Invalid != 0 {
		t.Fatalf("a stale chain made %d candidates invalid", p.Invalid)
	}
	c, _ := st.Candidate(ctx, chain, "stash-bravo")
	var unknown int
	for _, ch := range c.Validity.Checks {
		if ch.Status == program.Unknown && strings.Contains(ch.Error, "no chain read since") {
			unknown++
			if !ch.Valid || !ch.Known {
				t.Errorf("check %s lost its last known verdict: %+v", ch.Type, ch)
			}
		}
	}
	if unknown == 0 || c.Validity.Status != program.Valid {
		t.Errorf("bravo on a stale chain: %s %+v: want valid with unknown chain checks naming the outage", c.Validity.Status, c.Validity.Checks)
	}
}

// An announcement that cannot be executed (its re-validation read keeps
// failing) waits, and once 1.2× its delay has passed is withdrawn as
// stale, with the reason.
func TestStaleAnnouncementCancelled(t *testing.T) {
	st, cfg := fixture(t, 10)
	fc := &fakeChain{block: 100, era: 3, anns: map[string][]Announcement{}, nominated: map[string][]string{}, facts: map[string]events.Validator{}}
	r := newRunner(t, st, cfg, fc, true)
	ctx := context.Background()
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	fc.readErr = errors.New("rpc: connection reset")
	fc.block = 111 // due, but the targets cannot be re-read
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if txs, _ := st.ProxyTxs(ctx, chain, true, 0); len(txs) != 1 || fc.count("execute") != 0 {
		t.Fatalf("before 1.2× the delay: pending %+v, sent %v: want it waiting", txs, fc.sent)
	}
	fc.block = 113 // past 100 + 12
	p, err := r.Pass(ctx)
	if err != nil {
		t.Fatal(err)
	}
	txs, _ := st.ProxyTxs(ctx, chain, false, 0)
	if p.Cancelled != 1 || fc.count("remove") != 1 || len(txs) != 1 || txs[0].State != state.ProxyCancelled || !strings.Contains(txs[0].Reason, "stale") {
		t.Fatalf("pass %+v, sent %v, txs %+v: want the stale announcement withdrawn", p, fc.sent, txs)
	}
}

// A node offline beyond the weekly limit is a fault of its candidate,
// once per week, with the minutes in the reason.
func TestOfflineFault(t *testing.T) {
	st, cfg := fixture(t, 0)
	ctx := context.Background()
	err := st.InTx(ctx, "offline", func(tx *state.Tx) error {
		return tx.PutTelemetry(&events.Telemetry{V: 1, Chain: chain, Name: "echo", Implementation: "Parity Polkadot", Version: "1.0.0",
			Online: true, DiscoveredAt: now.Add(-30 * 24 * time.Hour).UnixMilli(), Week: "2026-W49", OfflineWeek: 300 * 60_000,
			At: now.Add(time.Second).UnixMilli()})
	})
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, st, cfg, nil, false)
	for range 2 {
		if _, err := r.Pass(ctx); err != nil {
			t.Fatal(err)
		}
	}
	fs, err := st.Faults(ctx, chain, "stash-echo", 0)
	if err != nil || len(fs) != 1 || fs[0].Kind != events.FaultOffline || !strings.Contains(fs[0].Reason, "300 minutes") || !strings.Contains(fs[0].Reason, "echo") {
		t.Fatalf("faults of echo %+v (%v): want one offline fault naming its 300 minutes", fs, err)
	}
}

// A feed that has reported no node yet, and a chain run with no feed at
// all, make the telemetry checks unknown with the reason: no candidate
// turns invalid, none is nominated on telemetry it does not have.
func TestNoTelemetryIsUnknownNotInvalid(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		telemetry bool // nodes stored (by an earlier run with a feed)
		noFeed    bool
		want      string
	}{
		{"feed silent", false, false, "the telemetry feed has reported no node of westend yet"},
		{"no feed configured", false, true, "no telemetry feed configured for westend (--polkadot-telemetry westend=wss://…/feed)"},
		{"no feed configured, old records", true, true, "no telemetry feed configured for westend"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, cfg := fixtureWith(t, 0, tc.telemetry)
			r, err := New(Config{Chain: chain, Store: st, Program: staticProgram{cfg}, NoTelemetryFeed: tc.noFeed, Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			p, err := r.Pass(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if p.Invalid != 0 || p.Valid != 0 || p.Unknown != 5 || p.Round != nil && len(p.Round.Assignments) > 0 && len(p.Round.Assignments[0].Targets) > 0 {
				t.Fatalf("pass %+v: want all 5 unknown, none invalid, nobody nominated", p)
			}
			c, _ := st.Candidate(ctx, chain, "stash-alpha")
			if !strings.HasPrefix(c.TelemetryMatch.Note, tc.want) {
				t.Errorf("telemetry match note %q, want it to start %q", c.TelemetryMatch.Note, tc.want)
			}
			for _, typ := range []string{program.RuleOnline, program.RuleClientUpgrade, program.RuleConnectionTime, program.RuleOffline} {
				var ch *program.Check
				for i := range c.Validity.Checks {
					if c.Validity.Checks[i].Type == typ {
						ch = &c.Validity.Checks[i]
					}
				}
				if ch == nil || ch.Status != program.Unknown || !ch.Valid || !strings.HasPrefix(ch.Error, tc.want) {
					t.Errorf("%s: %+v, want unknown (not invalid) with %q", typ, ch, tc.want)
				}
			}
		})
	}
}

// Each pass records when the next round is due (1KV's nextNomination): its
// era, and that era's start estimated from the era length measured between
// two era starts the runner saw.
func TestPassRecordsTheNextNomination(t *testing.T) {
	st, cfg := fixture(t, 0)
	cfg.Nomination.EraPeriod = 2
	ctx := context.Background()
	const hour = int64(3600 * 1000)
	setEra := func(era uint32, start int64) {
		if err := st.InTx(ctx, "era", func(tx *state.Tx) error {
			ch, _ := st.Chain(ctx, chain)
			ch.ActiveEra, ch.ActiveEraStart = era, start
			return tx.PutChain(ch)
		}); err != nil {
			t.Fatal(err)
		}
	}
	r := newRunner(t, st, cfg, nil, false)
	setEra(3, now.UnixMilli()-hour)
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	m, _ := st.Meta(ctx, chain)
	// The dry-run round of era 3 ran: the next is due in era 5; the era
	// length is not known yet on this chain (westend-like).
	if m.LastRoundID != 1 || m.NextNominationEra != 5 || m.NextNomination != 0 {
		t.Fatalf("after era 3's round: %+v, want next era 5, start unknown", m)
	}
	setEra(4, now.UnixMilli()+5*hour) // the era moved on: 6 h long
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	m, _ = st.Meta(ctx, chain)
	if want := now.UnixMilli() + 11*hour; m.NextNominationEra != 5 || m.NextNomination != want {
		t.Fatalf("after an era of 6 h: %+v, want era 5 starting at %d", m, want)
	}
}
