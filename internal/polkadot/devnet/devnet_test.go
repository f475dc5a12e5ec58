package devnet

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/centrifuge/go-substrate-rpc-client/v4/types"
	"github.com/centrifuge/go-substrate-rpc-client/v4/types/codec"

	"github.com/valtrack/valtrack/internal/polkadot/chopsticks"
	"github.com/valtrack/valtrack/internal/polkadot/program"
	"github.com/valtrack/valtrack/internal/polkadot/tx"
)

// One devnet serves the package's tests (a start costs about a minute);
// the background era loop is off, so each test's eras are its own doing.
var (
	shared    *Devnet
	sharedErr error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Close()
		os.RemoveAll(shared.Dir())
	}
	os.Exit(code)
}

func devnet(t *testing.T) *Devnet {
	t.Helper()
	if shared == nil && sharedErr == nil {
		if !chopsticks.Installed(chopsticks.DefaultPrefix()) {
			sharedErr = errSkip("chopsticks is not installed in " + chopsticks.DefaultPrefix())
		} else {
			dir, err := os.MkdirTemp("", "valtrack-pd-devnet-")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			o := Options{Dir: dir, EraEvery: -1}
			if testing.Verbose() {
				o.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
			}
			shared, sharedErr = Start(ctx, o)
			cancel()
		}
	}
	if s, ok := sharedErr.(errSkip); ok {
		t.Skip(string(s))
	}
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

type errSkip string

func (e errSkip) Error() string { return string(e) }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// read is a raw state_getStorage at the head over plain JSON-RPC.
func read(t *testing.T, d *Devnet, key []byte) []byte {
	t.Helper()
	b, err := getStorage(ctxT(t), d.Chopsticks(), key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func stash(t *testing.T, d *Devnet, name string) tx.AccountID {
	t.Helper()
	a, ok := d.Stash(name)
	if !ok {
		t.Fatalf("no account %s", name)
	}
	return a
}

type prefs struct {
	Commission types.UCompact
	Blocked    bool
}

func validatorPrefs(t *testing.T, d *Devnet, name string) (prefs, bool) {
	t.Helper()
	a := stash(t, d, name)
	b := read(t, d, twox64ConcatKey("Staking", "Validators", a[:]))
	var p prefs
	if b == nil {
		return p, false
	}
	if err := codec.Decode(b, &p); err != nil {
		t.Fatal(err)
	}
	return p, true
}

func TestShapedValidatorPrefs(t *testing.T) {
	d := devnet(t)
	if p, ok := validatorPrefs(t, d, "Fern"); !ok || p.Commission.Int64() != 200_000_000 {
		t.Errorf("Fern (COMMISION): prefs %+v present %v, want commission 200000000 (20 %%)", p, ok)
	}
	if p, ok := validatorPrefs(t, d, "Gale"); !ok || !p.Blocked {
		t.Errorf("Gale (BLOCKED): prefs %+v present %v, want blocked", p, ok)
	}
	if _, ok := validatorPrefs(t, d, "Elm"); ok {
		t.Error("Elm (VALIDATE_INTENTION) has a staking.validators entry")
	}
	if p, ok := validatorPrefs(t, d, "Amber"); !ok || p.Commission.Int64() != 30_000_000 || p.Blocked {
		t.Errorf("Amber (valid): prefs %+v present %v, want 3 %% unblocked", p, ok)
	}
}

// ledger is westend 9320's StakingLedger.
type ledger struct {
	Stash     types.AccountID
	Total     types.UCompact
	Active    types.UCompact
	Unlocking []struct{ Value, Era types.UCompact }
	Claimed   []types.U32
}

func stakingLedger(t *testing.T, d *Devnet, name string) ledger {
	t.Helper()
	a := stash(t, d, name)
	// The stash is its own controller.
	b := read(t, d, blake2ConcatKey("Staking", "Ledger", a[:]))
	if b == nil {
		t.Fatalf("%s has no staking ledger", name)
	}
	var l ledger
	if err := codec.Decode(b, &l); err != nil {
		t.Fatal(err)
	}
	return l
}

func TestSelfStakeBelowMinimum(t *testing.T) {
	d := devnet(t)
	min := wnd(MinSelfStakeWND)
	if l := stakingLedger(t, d, "Hazel"); l.Active.Int64() >= min.Int64() {
		t.Errorf("Hazel (SELF_STAKE) bonds %d, want below %s", l.Active.Int64(), min)
	}
	if l := stakingLedger(t, d, "Amber"); l.Active.Int64() < min.Int64() {
		t.Errorf("Amber (valid) bonds %d, want at least %s", l.Active.Int64(), min)
	}
}

func TestUnpaidCandidateHasUnclaimedErasOthersAreClaimed(t *testing.T) {
	d := devnet(t)
	if l := stakingLedger(t, d, "Kite"); len(l.Claimed) != 0 {
		t.Errorf("Kite (UNCLAIMED_REWARDS) claimed eras %v, want none", l.Claimed)
	}
	era, err := activeEra(ctxT(t), d.Chopsticks())
	if err != nil {
		t.Fatal(err)
	}
	// Amber was elected from era 1; every ended era is paid.
	l := stakingLedger(t, d, "Amber")
	claimed := map[uint32]bool{}
	for _, e := range l.Claimed {
		claimed[uint32(e)] = true
	}
	for e := uint32(1); e < era; e++ {
		if !claimed[e] {
			t.Errorf("Amber's era %d is unclaimed (claimed %v, active era %d)", e, l.Claimed, era)
		}
	}
	// Kite validated in those eras: its exposure is on chain.
	k := stash(t, d, "Kite")
	if read(t, d, erasStakersKey(1, k)) == nil {
		t.Error("Kite has no ErasStakers exposure in era 1: it never validated, so nothing is unclaimed")
	}
}

func TestIdentitiesShaped(t *testing.T) {
	d := devnet(t)
	idKey := func(name string) []byte {
		a := stash(t, d, name)
		return twox64ConcatKey("Identity", "IdentityOf", a[:])
	}
	// Registration: judgements Vec<(u32, Judgement)> first.
	judgement := func(name string) (present bool, variant byte) {
		b := read(t, d, idKey(name))
		if b == nil {
			return false, 0
		}
		n, off, err := compact(b)
		if err != nil || n == 0 {
			return true, 0xff
		}
		return true, b[off+4]
	}
	// Judgement variants: Unknown 0, FeePaid 1, Reasonable 2, KnownGood 3.
	if ok, v := judgement("Amber"); !ok || v != 2 {
		t.Errorf("Amber identity present %v judgement %d, want Reasonable (2)", ok, v)
	}
	if ok, v := judgement("Birch"); !ok || v != 3 {
		t.Errorf("Birch identity present %v judgement %d, want KnownGood (3)", ok, v)
	}
	if ok, _ := judgement("Iris"); ok {
		t.Error("Iris (IDENTITY, none set) has an identity")
	}
	if ok, v := judgement("Jade"); !ok || v == 2 || v == 3 {
		t.Errorf("Jade (IDENTITY, unverified) present %v judgement %d, want an identity without Reasonable/KnownGood", ok, v)
	}
	moss, lark := stash(t, d, "Moss"), stash(t, d, "Lark")
	sup := read(t, d, blake2ConcatKey("Identity", "SuperOf", moss[:]))
	if len(sup) < 32 || string(sup[:32]) != string(lark[:]) {
		t.Errorf("Moss's SuperOf %x, want parent Lark %x", sup, lark)
	}
	if b := read(t, d, idKey("Moss")); b != nil {
		t.Error("Moss has an identity of its own; it should only be Lark's sub")
	}
}

func TestNominatorHasDelayedStakingProxy(t *testing.T) {
	d := devnet(t)
	nom := stash(t, d, "Nominator")
	proxy := stash(t, d, "NominatorProxy")
	b := read(t, d, twox64ConcatKey("Proxy", "Proxies", nom[:]))
	var v struct {
		Defs []struct {
			Delegate  types.AccountID
			ProxyType types.U8
			Delay     types.U32
		}
		Deposit types.U128
	}
	if b == nil {
		t.Fatal("the nominator has no proxies")
	}
	if err := codec.Decode(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Defs) != 1 || [32]byte(v.Defs[0].Delegate) != [32]byte(proxy) || uint32(v.Defs[0].Delay) != DefaultProxyDelay || v.Defs[0].ProxyType != 2 {
		t.Fatalf("proxies %+v, want NominatorProxy as Staking (2) with delay %d", v.Defs, DefaultProxyDelay)
	}
	if l := stakingLedger(t, d, "Nominator"); l.Active.Int64() == 0 {
		t.Error("the nominator is not bonded")
	}
}

func TestAdvanceEraMovesActiveEraByOne(t *testing.T) {
	d := devnet(t)
	ctx := ctxT(t)
	before, err := activeEra(ctx, d.Chopsticks())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.AdvanceEra(ctx); err != nil {
		t.Fatal(err)
	}
	after, err := activeEra(ctx, d.Chopsticks())
	if err != nil {
		t.Fatal(err)
	}
	if after != before+1 {
		t.Fatalf("active era %d → %d, want +1", before, after)
	}
	// The new era has reward points and an elected set with the valid
	// candidates in it.
	pts := read(t, d, twox64ConcatKey("Staking", "ErasRewardPoints", binary.LittleEndian.AppendUint32(nil, after)))
	if len(pts) < 4 || binary.LittleEndian.Uint32(pts) == 0 {
		t.Errorf("era %d reward points %x, want a total above 0", after, pts)
	}
	vs, err := sessionValidators(ctx, d.Chopsticks())
	if err != nil {
		t.Fatal(err)
	}
	amber := stash(t, d, "Amber")
	found := false
	for _, v := range vs {
		found = found || v == amber
	}
	if !found {
		t.Errorf("Amber is not among era %d's %d session validators", after, len(vs))
	}
	if read(t, d, erasStakersKey(after, amber)) == nil {
		t.Errorf("Amber has no ErasStakers exposure in era %d", after)
	}
}

func TestSetCommissionKeepsBlocked(t *testing.T) {
	d := devnet(t)
	gale := stash(t, d, "Gale")
	if err := d.SetCommission(ctxT(t), gale, 150_000_000); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.SetCommission(context.Background(), gale, 20_000_000) })
	if p, ok := validatorPrefs(t, d, "Gale"); !ok || p.Commission.Int64() != 150_000_000 || !p.Blocked {
		t.Fatalf("Gale after SetCommission: %+v, want 15 %% and still blocked", p)
	}
	if err := d.SetCommission(ctxT(t), stash(t, d, "Elm"), 0); err == nil {
		t.Error("SetCommission of a non-validator succeeded")
	}
}

func TestFilesParse(t *testing.T) {
	d := devnet(t)
	info, err := ReadInfo(d.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if info.Chain != Chain || !strings.HasPrefix(info.RPC, "ws://127.0.0.1:") || info.Genesis != "0x"+strings.Repeat("45", 32) {
		t.Errorf("polkadot.json %+v: want chain %s, a loopback ws RPC and genesis 0x4545…45", info, Chain)
	}
	cfg, err := ReadCandidates(info.Candidates)
	if err != nil {
		t.Fatal(err)
	}
	truth, err := ReadTruth(d.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Candidates) != DefaultCandidates || len(truth) != DefaultCandidates {
		t.Fatalf("%d candidates, %d truths, want %d", len(cfg.Candidates), len(truth), DefaultCandidates)
	}
	valid := 0
	for _, c := range cfg.Candidates {
		a, err := tx.ParseAddress(c.Stash)
		if err != nil {
			t.Errorf("candidate %s: %v", c.Name, err)
		}
		if want := stash(t, d, c.Name); a != want {
			t.Errorf("candidate %s stash %s, want //%s", c.Name, c.Stash, c.Name)
		}
		if truth[c.Name] == Valid {
			valid++
		}
	}
	if valid < 4 {
		t.Errorf("%d valid candidates, want at least 4", valid)
	}
	if truth["Fern"] != program.RuleCommission || truth["Elm"] != program.RuleValidateIntention {
		t.Errorf("truth %v", truth)
	}
	if cfg.Rules.Commission != 0.1 || cfg.Rules.MaxPerIdentity != 1 || cfg.Rules.MinSelfStake != wnd(MinSelfStakeWND).String() {
		t.Errorf("rules %+v", cfg.Rules)
	}
	if len(cfg.Nomination.Nominators) != 1 {
		t.Fatalf("nominators %+v", cfg.Nomination.Nominators)
	}
	n := cfg.Nomination.Nominators[0]
	if n.Account != info.Nominator.Account || !n.Proxy || n.ProxyDelay != DefaultProxyDelay {
		t.Errorf("nominator %+v, polkadot.json %+v", n, info.Nominator)
	}
	st, err := os.Stat(n.Key)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s mode %04o, want 0600", n.Key, st.Mode().Perm())
	}
	s, err := tx.LoadKey(n.Key)
	if err != nil {
		t.Fatal(err)
	}
	if s.Account().SS58(42) != info.Nominator.Proxy {
		t.Errorf("the key file is %s, want the proxy %s", s, info.Nominator.Proxy)
	}
	// The programme refuses unknown keys; so does ReadCandidates.
	raw, err := os.ReadFile(info.Candidates)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(bad, append(raw, []byte("surprise: 1\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadCandidates(bad); err == nil {
		t.Error("a candidates file with an unknown key parsed")
	}
}

func TestNominatorNominatesThroughItsDelayedProxy(t *testing.T) {
	d := devnet(t)
	ctx := ctxT(t)
	info, err := ReadInfo(d.Dir())
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := tx.LoadKey(info.Nominator.ProxyKey)
	if err != nil {
		t.Fatal(err)
	}
	real, err := tx.ParseAddress(info.Nominator.Account)
	if err != nil {
		t.Fatal(err)
	}
	b := d.Client().Calls()
	targets := []tx.AccountID{stash(t, d, "Amber"), stash(t, d, "Birch")}
	nominate, err := b.Nominate(targets)
	if err != nil {
		t.Fatal(err)
	}
	announce, err := b.Announce(real, nominate)
	if err != nil {
		t.Fatal(err)
	}
	exec, err := b.ProxyAnnounced(proxy.Account(), real, nominate)
	if err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	err = d.sendBlock(ctx, nil, signedCall{"proxy", proxy, announce})
	d.mu.Unlock()
	if err != nil {
		t.Fatalf("announce: %v", err)
	}
	var head struct {
		Number string `json:"number"`
	}
	if err := d.Client().RPC().CallContext(ctx, &head, "chain_getHeader"); err != nil {
		t.Fatal(err)
	}
	var n uint64
	if _, err := fmt.Sscanf(head.Number, "0x%x", &n); err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	err = d.sendBlock(ctx, map[string]any{"unsafeBlockHeight": n + uint64(info.Nominator.ProxyDelay) + 1}, signedCall{"proxy", proxy, exec})
	d.mu.Unlock()
	if err != nil {
		t.Fatalf("proxy_announced after %d blocks: %v", info.Nominator.ProxyDelay, err)
	}
	raw := read(t, d, twox64ConcatKey("Staking", "Nominators", real[:]))
	var nom struct {
		Targets     []types.AccountID
		SubmittedIn types.U32
		Suppressed  bool
	}
	if raw == nil {
		t.Fatal("the nominator has no staking.nominators entry")
	}
	if err := codec.Decode(raw, &nom); err != nil {
		t.Fatal(err)
	}
	if len(nom.Targets) != 2 || [32]byte(nom.Targets[0]) != [32]byte(targets[0]) || [32]byte(nom.Targets[1]) != [32]byte(targets[1]) {
		t.Fatalf("targets %x, want Amber and Birch", nom.Targets)
	}
}

// exposure is westend 9320's Exposure.
type exposure struct {
	Total  types.UCompact
	Own    types.UCompact
	Others []struct {
		Who   types.AccountID
		Value types.UCompact
	}
}

func TestBackersAreInTheExposures(t *testing.T) {
	d := devnet(t)
	era, err := activeEra(ctxT(t), d.Chopsticks())
	if err != nil {
		t.Fatal(err)
	}
	others := func(name string) map[tx.AccountID]bool {
		b := read(t, d, erasStakersKey(era, stash(t, d, name)))
		if b == nil {
			t.Fatalf("%s has no exposure in era %d", name, era)
		}
		var e exposure
		if err := codec.Decode(b, &e); err != nil {
			t.Fatal(err)
		}
		m := map[tx.AccountID]bool{}
		for _, o := range e.Others {
			m[tx.AccountID(o.Who)] = true
		}
		return m
	}
	birch := others("Birch")
	if !birch[stash(t, d, "BackerOne")] || !birch[stash(t, d, "BackerTwo")] {
		t.Errorf("Birch's era %d exposure lacks BackerOne or BackerTwo", era)
	}
	if len(others("Gale")) != 0 {
		t.Error("blocked Gale has nominators in its exposure")
	}
}
