package chain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/chopsticks"
	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/polkadot/scale"
	"github.com/valtrack/valtrack/internal/polkadot/ss58"
)

// The well-known Substrate development accounts (sr25519 //Name).
const (
	bob     = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
	charlie = "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y"
	dave    = "5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy"
	eve     = "5HGjWAeFDfFCWPsjFQdVV2Msvz2XtMktvgocEZcCj68kUMaw"
	ferdie  = "5CiPPseXPECbkjWCa6MnjNokrgYjMqmKndv2rSnekmSK2DjL"
)

var (
	shared   = map[string]*chopsticks.Process{}
	sharedMu sync.Mutex
)

func TestMain(m *testing.M) {
	code := m.Run()
	for _, p := range shared {
		_ = p.Close()
	}
	os.Exit(code)
}

// chain starts (once per test binary) chopsticks on a spec, or skips.
func chain(t *testing.T, spec string) *chopsticks.Process {
	t.Helper()
	if testing.Short() {
		t.Skip("runs chopsticks")
	}
	if !chopsticks.Installed(chopsticks.DefaultPrefix()) {
		t.Skipf("chopsticks is not installed in %s", chopsticks.DefaultPrefix())
	}
	path, err := chopsticks.SpecPath(spec)
	if err != nil {
		t.Skip(err)
	}
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if p := shared[spec]; p != nil {
		return p
	}
	dir, err := os.MkdirTemp("", "valtrack-chopsticks-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p, err := chopsticks.Start(ctx, chopsticks.Options{Genesis: path, Dir: dir,
		ImportStorage: map[string]any{"Timestamp": map[string]any{"Now": 1700000000000}, "Babe": map[string]any{"CurrentSlot": 283333333}}})
	if err != nil {
		t.Fatal(err)
	}
	shared[spec] = p
	return p
}

func reader(t *testing.T, urls ...string) *Reader {
	t.Helper()
	r, err := New(Config{Chain: "westend-dev", Relay: urls, Timeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func find(t *testing.T, vs []events.Validator, stash string) events.Validator {
	t.Helper()
	for _, v := range vs {
		if v.Stash == stash {
			return v
		}
	}
	t.Fatalf("no record for %s among %d", stash, len(vs))
	return events.Validator{}
}

func known[T any](t testing.TB, name string, f events.Fact[T]) T {
	t.Helper()
	if !f.Known || f.Err != "" {
		t.Fatalf("%s: not known (%q)", name, f.Err)
	}
	return f.Value
}

func pk(t testing.TB, addr string) []byte {
	t.Helper()
	k, _, err := ss58.Decode(addr)
	if err != nil {
		t.Fatal(err)
	}
	return k[:]
}

// record encodes one EventRecord (phase ApplyExtrinsic(i), no topics)
// with the indices the runtime's metadata gives the pallet and event.
func record(t *testing.T, md *scale.Metadata, i uint32, pallet, name string, fields []byte) []byte {
	t.Helper()
	p := md.Pallet(pallet)
	et := md.Types.Type(*p.Events)
	var idx = -1
	for _, v := range et.Variants {
		if v.Name == name {
			idx = int(v.Index)
		}
	}
	if idx < 0 {
		t.Fatalf("%s has no event %s", pallet, name)
	}
	out := append([]byte{0}, u32le(i)...)
	out = append(out, p.Index, byte(idx))
	out = append(out, fields...)
	return append(out, 0)
}

// The reader against a real Westend runtime whose state is shaped with
// dev_setStorage: a second intention with 10 % commission that blocks
// nominations, an identity with a Reasonable judgement and a sub, a
// nominator that is not exposed, an exposed one, unclaimed eras, era
// points, proxies and fault events.
func TestReaderOnWestendDev(t *testing.T) {
	p := chain(t, "westend-dev.json")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r := reader(t, p.URL())

	c0, err := r.Chain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c0.SpecName != "westend" || c0.SpecVersion != 9320 || c0.SS58Prefix != 42 || c0.Decimals != 12 || c0.Token != "WND" {
		t.Fatalf("chain identity %+v", c0)
	}
	if !isHash(c0.Genesis) || !isHash(c0.BlockHash) || c0.HistoryDepth != 84 || c0.MaxNominations == 0 || c0.BlockTime != 1700000000000 {
		t.Fatalf("chain facts %+v", c0)
	}
	if len(c0.SessionValidators) != 1 || len(c0.ElectedStakes) != 1 || c0.ElectedStakes[0].Big().Sign() <= 0 {
		t.Fatalf("session %v elected %v", c0.SessionValidators, c0.ElectedStakes)
	}
	if c0.MinNominatorBond == "" {
		t.Fatal("MinNominatorBond unknown")
	}
	val := c0.SessionValidators[0]
	vs0, err := r.Validators(ctx, c0, nil)
	if err != nil {
		t.Fatal(err)
	}
	v0 := find(t, vs0, val)
	ctrl := known(t, "controller", v0.Controller)
	if ctrl == "" || !known(t, "intention", v0.Intention) || !known(t, "active", v0.Active) {
		t.Fatalf("genesis validator %+v", v0)
	}
	if keys := known(t, "next keys", v0.NextKeys); len(keys["grandpa"]) != 66 || len(keys["babe"]) != 66 {
		t.Fatalf("next keys %v", keys)
	}
	if known(t, "identity", v0.Identity) != nil {
		t.Fatal("identity before one is set")
	}

	// Shape the state.
	const eraStart = 1700000123000
	st := map[string]any{
		"Staking": map[string]any{
			"ActiveEra":  map[string]any{"index": 3, "start": eraStart},
			"Validators": [][]any{{[]any{charlie}, map[string]any{"commission": 100000000, "blocked": true}}},
			"Bonded":     [][]any{{[]any{charlie}, charlie}, {[]any{dave}, dave}},
			"Ledger": [][]any{
				{[]any{charlie}, map[string]any{"stash": charlie, "total": "5000000000000", "active": "5000000000000", "unlocking": []any{}, "claimedRewards": []any{}}},
				{[]any{dave}, map[string]any{"stash": dave, "total": "7000000000000", "active": "7000000000000", "unlocking": []any{}, "claimedRewards": []any{}}},
				{[]any{ctrl}, map[string]any{"stash": val, "total": "9000000000000", "active": "8000000000000", "unlocking": []any{}, "claimedRewards": []any{1}}},
			},
			"Payee":      [][]any{{[]any{charlie}, map[string]any{"Account": dave}}},
			"Nominators": [][]any{{[]any{dave}, map[string]any{"targets": []any{val, charlie}, "submittedIn": 2, "suppressed": false}}},
			"ErasStakers": [][]any{
				{[]any{1, val}, map[string]any{"total": 10, "own": 10, "others": []any{}}},
				{[]any{2, val}, map[string]any{"total": 10, "own": 10, "others": []any{}}},
				{[]any{3, val}, map[string]any{"total": "3000000000000", "own": "2000000000000", "others": []any{map[string]any{"who": eve, "value": "1000000000000"}}}},
			},
			"ErasValidatorPrefs": [][]any{{[]any{2, val}, map[string]any{"commission": 0, "blocked": false}}},
			"ErasRewardPoints":   [][]any{{[]any{2}, map[string]any{"total": 100, "individual": map[string]any{val: 100}}}},
		},
		"Identity": map[string]any{
			"IdentityOf": [][]any{{[]any{val}, map[string]any{
				"judgements": []any{[]any{0, "Reasonable"}}, "deposit": 0,
				"info": map[string]any{"additional": []any{}, "display": map[string]any{"Raw": "ALICE-1KV"}, "legal": map[string]any{"None": nil},
					"web": map[string]any{"Raw": "https://example.org"}, "riot": map[string]any{"None": nil}, "email": map[string]any{"None": nil},
					"pgpFingerprint": nil, "image": map[string]any{"None": nil}, "twitter": map[string]any{"Raw": "@alice"}},
			}}},
			"SuperOf": [][]any{{[]any{bob}, []any{val, map[string]any{"Raw": "node2"}}}},
			"SubsOf":  [][]any{{[]any{val}, []any{0, []any{bob}}}},
		},
		"Proxy": map[string]any{
			"Proxies":       [][]any{{[]any{dave}, []any{[]any{map[string]any{"delegate": ferdie, "proxyType": "Staking", "delay": 10}}, 0}}},
			"Announcements": [][]any{{[]any{ferdie}, []any{[]any{map[string]any{"real": dave, "callHash": "0x" + strings.Repeat("ab", 32), "height": 5}}, 0}}},
		},
	}
	if err := p.SetStorage(ctx, st); err != nil {
		t.Fatal(err)
	}

	c1, err := r.Chain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c1.ActiveEra != 3 || c1.ActiveEraStart != eraStart {
		t.Fatalf("active era %d start %d", c1.ActiveEra, c1.ActiveEraStart)
	}
	if len(c1.ElectedStakes) != 1 || c1.ElectedStakes[0] != "3000000000000" {
		t.Fatalf("elected stakes %v", c1.ElectedStakes)
	}
	vs, err := r.Validators(ctx, c1, []string{bob, dave, "not-an-address"})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 4 {
		t.Fatalf("%d records, want 4 (validator, Charlie, Bob, Dave)", len(vs))
	}

	v := find(t, vs, val)
	id := known(t, "identity", v.Identity)
	if id == nil || id.Display != "ALICE-1KV" || id.Web != "https://example.org" || id.Twitter != "@alice" || !id.Verified() || !slices.Equal(id.Subs, []string{bob}) {
		t.Fatalf("identity %+v", id)
	}
	if got := known(t, "self stake", v.SelfStake); got != "8000000000000" {
		t.Fatalf("self stake %s", got)
	}
	if got := known(t, "unclaimed", v.UnclaimedEras); !slices.Equal(got, []uint32{0, 2}) {
		// Era 0 is the genesis exposure, never claimed; era 1 is claimed.
		t.Fatalf("unclaimed eras %v, want [0 2] (era 1 claimed)", got)
	}
	act := known(t, "active nominators", v.ActiveNominators)
	if len(act) != 1 || act[0].Who != eve || act[0].Value != "1000000000000" {
		t.Fatalf("active nominators %v", act)
	}
	in := known(t, "inactive nominators", v.InactiveNominators)
	if len(in) != 1 || in[0].Who != dave || in[0].Value != "7000000000000" {
		t.Fatalf("inactive nominators %v", in)
	}
	if b := known(t, "balance", v.Balance); b.Big().Sign() <= 0 {
		t.Fatalf("balance %s", b)
	}

	ch := find(t, vs, charlie)
	if !known(t, "intention", ch.Intention) || known(t, "active", ch.Active) {
		t.Fatalf("Charlie intention/active %+v %+v", ch.Intention, ch.Active)
	}
	if known(t, "commission", ch.Commission) != 100000000 || !known(t, "blocked", ch.Blocked) {
		t.Fatalf("Charlie prefs %+v %+v", ch.Commission, ch.Blocked)
	}
	if known(t, "payee", ch.Payee) != "Account:"+dave || known(t, "controller", ch.Controller) != charlie {
		t.Fatalf("Charlie payee %+v controller %+v", ch.Payee, ch.Controller)
	}
	if in := known(t, "inactive", ch.InactiveNominators); len(in) != 1 || in[0].Who != dave {
		t.Fatalf("Charlie inactive nominators %v", in)
	}
	if known(t, "next keys", ch.NextKeys) != nil {
		t.Fatal("Charlie has next keys")
	}

	b := find(t, vs, bob)
	bid := known(t, "Bob identity", b.Identity)
	if bid == nil || bid.Parent != val || bid.SubName != "node2" || bid.Display != "ALICE-1KV" || bid.Name() != "ALICE-1KV/node2" || !bid.Verified() {
		t.Fatalf("Bob's sub-identity %+v", bid)
	}
	if known(t, "Bob intention", b.Intention) {
		t.Fatal("Bob is an intention")
	}

	d := find(t, vs, dave)
	if ts := known(t, "targets", d.NominationTargets); !slices.Equal(ts, []string{val, charlie}) || known(t, "era", d.NominationEra) != 2 {
		t.Fatalf("Dave's nominations %v %+v", ts, d.NominationEra)
	}

	e2, err := r.Era(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(e2.Validators, []string{val}) || e2.Points[val] != 100 || e2.Total != 100 || !e2.Complete {
		t.Fatalf("era 2 %+v", e2)
	}
	e3, err := r.Era(ctx, 3)
	if err != nil || e3.Complete || !slices.Equal(e3.Validators, []string{val}) {
		t.Fatalf("era 3 %+v %v", e3, err)
	}

	prox, err := r.Proxies(ctx, dave)
	if err != nil || len(prox) != 1 || prox[0] != (Proxy{Delegate: ferdie, Type: "Staking", Delay: 10}) {
		t.Fatalf("proxies %+v %v", prox, err)
	}
	ann, err := r.Announcements(ctx, ferdie)
	if err != nil || len(ann) != 1 || ann[0] != (Announcement{Real: dave, CallHash: "0x" + strings.Repeat("ab", 32), Height: 5}) {
		t.Fatalf("announcements %+v %v", ann, err)
	}

	// Faults: events written into the head block's System.Events, and an
	// offence whose report names the validator.
	md, _, err := r.Relay().Metadata(ctx, c1.BlockHash)
	if err != nil {
		t.Fatal(err)
	}
	kind := []byte("im-online:offlin")
	slot := u32le(7)
	enc := append(scale.Compact(uint64(len(slot))), slot...)
	reportID := Blake2_256([]byte("report"))
	amount := make([]byte, 16)
	amount[0] = 123
	evs := scale.Compact(3)
	evs = append(evs, record(t, md, 1, "Staking", "Chilled", pk(t, charlie))...)
	evs = append(evs, record(t, md, 1, "Staking", "Slashed", append(pk(t, val), amount...))...)
	evs = append(evs, record(t, md, 2, "Offences", "Offence", append(append([]byte{}, kind...), enc...))...)
	idxKey, _ := Key(md, "Offences", "ConcurrentReportsIndex", kind, enc)
	repKey, _ := Key(md, "Offences", "Reports", reportID)
	rep := append(append([]byte{}, pk(t, val)...), 0, 0, 0, 0)
	raw := [][]string{
		{toHex(Prefix("System", "Events")), toHex(evs)},
		{toHex(idxKey), toHex(append([]byte{4}, reportID...))},
		{toHex(repKey), toHex(rep)},
	}
	if err := p.SetStorage(ctx, raw); err != nil {
		t.Fatal(err)
	}
	fs, err := r.Faults(ctx, c1.BlockHash)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 3 {
		t.Fatalf("%d faults: %+v", len(fs), fs)
	}
	want := []struct{ kind, stash, id string }{
		{events.FaultChilled, charlie, "-0-" + charlie},
		{events.FaultSlash, val, "-1-" + val},
		{events.FaultOffence, val, "-2-" + val},
	}
	for i, w := range want {
		f := fs[i]
		if f.Kind != w.kind || f.Stash != w.stash || !strings.HasSuffix(f.ID, w.id) || f.Era != 3 || f.Block != c1.Block || !strings.Contains(f.Reason, "era 3") {
			t.Errorf("fault %d = %+v, want %s of %s", i, f, w.kind, w.stash)
		}
	}
	if !strings.Contains(fs[1].Reason, "amount 123") || !strings.Contains(fs[2].Reason, "im-online:offlin") {
		t.Errorf("reasons %q / %q", fs[1].Reason, fs[2].Reason)
	}
	if _, err := r.Faults(ctx, "0x1234"); err == nil {
		t.Error("a malformed block hash was read")
	}
}

// A dead URL first in the list: the reader fails over to the good one.
func TestReaderFailsOverToTheLiveURL(t *testing.T) {
	p := chain(t, "westend-dev.json")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := reader(t, "http://127.0.0.1:1", p.URL())
	c, err := r.Chain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Observer.Endpoint != strings.TrimPrefix(p.URL(), "ws://") || c.SpecName != "westend" {
		t.Fatalf("answered by %s: %+v", c.Observer.Endpoint, c)
	}
	if s := r.Stats().Relay; s.Errors == 0 || s.Calls == 0 {
		t.Fatalf("stats %+v: the dead URL's failure is not counted", s)
	}
}

// A URL of another chain (westend-local beside westend-dev) is refused.
func TestReaderRefusesAnotherChain(t *testing.T) {
	dev := chain(t, "westend-dev.json")
	local := chain(t, "westend-local.json")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := reader(t, dev.URL(), local.HTTPURL())
	_, err := r.Chain(ctx)
	if !errors.Is(err, ErrOtherChain) {
		t.Fatalf("Chain with a westend-local URL: %v, want ErrOtherChain", err)
	}
	if !strings.Contains(err.Error(), "local") {
		t.Fatalf("error does not name the other chain: %v", err)
	}
}

// corrupting forwards JSON-RPC to the node, replacing every value read
// under prefix with 0xff (a value no runtime type decodes).
func corrupting(t *testing.T, upstream string, prefix []byte) *httptest.Server {
	t.Helper()
	hp := toHex(prefix)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		res, err := http.Post(upstream, "application/json", bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		var req struct {
			Method string            `json:"method"`
			Params []json.RawMessage `json:"params"`
		}
		_ = json.Unmarshal(body, &req)
		if req.Method == "state_queryStorageAt" && bytes.Contains(req.Params[0], []byte(hp)) {
			var resp map[string]any
			_ = json.Unmarshal(out, &resp)
			if sets, ok := resp["result"].([]any); ok {
				for _, set := range sets {
					for _, ch := range set.(map[string]any)["changes"].([]any) {
						ch.([]any)[1] = "0xff"
					}
				}
			}
			out, _ = json.Marshal(resp)
		}
		_, _ = w.Write(out)
	}))
	t.Cleanup(s.Close)
	return s
}

// A value that does not decode fails that field of the record, with the
// error, and nothing else.
func TestUndecodableValueFailsOnlyItsField(t *testing.T) {
	p := chain(t, "westend-dev.json")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bad := corrupting(t, p.HTTPURL(), Prefix("System", "Account"))
	r := reader(t, bad.URL)
	c, err := r.Chain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := r.Validators(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	v := find(t, vs, c.SessionValidators[0])
	if v.Balance.Known || !strings.Contains(v.Balance.Err, "Account") {
		t.Fatalf("balance of a corrupt System.Account: %+v, want a failed fact naming it", v.Balance)
	}
	known(t, "controller", v.Controller)
	known(t, "self stake", v.SelfStake)
	known(t, "intention", v.Intention)
	known(t, "next keys", v.NextKeys)
}

// One Validators() call on westend-dev (one validator, one extra
// account): the RPC round trips dominate; calls per op are reported.
func BenchmarkValidatorsChopsticks(b *testing.B) {
	if !chopsticks.Installed(chopsticks.DefaultPrefix()) {
		b.Skip("chopsticks is not installed")
	}
	path, err := chopsticks.SpecPath("westend-dev.json")
	if err != nil {
		b.Skip(err)
	}
	ctx := context.Background()
	p, err := chopsticks.Start(ctx, chopsticks.Options{Genesis: path, Dir: b.TempDir(),
		ImportStorage: map[string]any{"Timestamp": map[string]any{"Now": 1700000000000}}})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	r, err := New(Config{Chain: "westend-dev", Relay: []string{p.URL()}, Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	c, err := r.Chain(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := r.Validators(ctx, c, []string{bob}); err != nil { // warm the metadata cache
		b.Fatal(err)
	}
	before := r.Stats().Relay.Calls
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.Validators(ctx, c, []string{bob}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(r.Stats().Relay.Calls-before)/float64(b.N), "rpc/op")
}

// With People URLs, identity is read there (a second runtime standing in
// for the People chain), the rest on the relay.
func TestIdentityFromThePeopleChain(t *testing.T) {
	relay := chain(t, "westend-dev.json")
	people := chain(t, "westend-local.json")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := New(Config{Chain: "westend-dev", Relay: []string{relay.URL()}, People: []string{people.URL()}, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c, err := r.Chain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	val := c.SessionValidators[0]
	err = people.SetStorage(ctx, map[string]any{"Identity": map[string]any{"IdentityOf": [][]any{{[]any{val}, map[string]any{
		"judgements": []any{[]any{1, "KnownGood"}}, "deposit": 0,
		"info": map[string]any{"additional": []any{}, "display": map[string]any{"Raw": "PEOPLE-ID"}, "legal": map[string]any{"None": nil},
			"web": map[string]any{"None": nil}, "riot": map[string]any{"Raw": "@v:matrix.org"}, "email": map[string]any{"None": nil},
			"pgpFingerprint": nil, "image": map[string]any{"None": nil}, "twitter": map[string]any{"None": nil}},
	}}}}})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := r.Validators(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	v := find(t, vs, val)
	id := known(t, "identity", v.Identity)
	if id == nil || id.Display != "PEOPLE-ID" || id.Matrix != "@v:matrix.org" || !slices.Equal(id.Judgements, []string{"KnownGood"}) {
		t.Fatalf("identity %+v, want the People chain's", id)
	}
	if !known(t, "active", v.Active) || known(t, "controller", v.Controller) == "" {
		t.Fatalf("relay facts of %s: %+v", val, v)
	}
	if s := r.Stats(); s.People.Calls == 0 || s.People == s.Relay {
		t.Fatalf("stats %+v: the People chain was not read", s)
	}
}
