package tx

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/centrifuge/go-substrate-rpc-client/v4/types"
	"github.com/centrifuge/go-substrate-rpc-client/v4/types/codec"

	"github.com/valtrack/valtrack/internal/polkadot/chopsticks"
)

// Alice's public key (sr25519 //Alice), a fact of the dev keyring.
const aliceHex = "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"

func TestLoadKeyRefusesSecretOthersCanRead(t *testing.T) {
	dir := t.TempDir()
	seed := "0x" + strings.Repeat("ab", 32)
	p := filepath.Join(dir, "seed")
	if err := os.WriteFile(p, []byte(seed+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadKey(p)
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("LoadKey of a 0644 seed: %v, want a refusal saying chmod 600", err)
	}
	if strings.Contains(err.Error(), strings.Repeat("ab", 32)) {
		t.Fatalf("the error quotes the secret: %v", err)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := LoadKey(p)
	if err != nil {
		t.Fatalf("LoadKey of a 0600 seed: %v", err)
	}
	if strings.Contains(fmt.Sprintf("%v %+v %#v %s", s, s, s, s), "abab") {
		t.Fatal("formatting the signer prints the secret")
	}
}

func TestLoadKeyDevURIMayBeReadable(t *testing.T) {
	p := filepath.Join(t.TempDir(), "alice")
	if err := os.WriteFile(p, []byte("//Alice\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := LoadKey(p)
	if err != nil {
		t.Fatalf("LoadKey //Alice: %v", err)
	}
	if got := s.Account().Hex(); got != aliceHex {
		t.Fatalf("//Alice is %s, want %s", got, aliceHex)
	}
	if !s.Dev() {
		t.Fatal("//Alice is not reported as a dev key")
	}
}

func TestLoadKeyRejectsGarbageWithoutQuotingIt(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad")
	if err := os.WriteFile(p, []byte("0xnothex-secretish"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadKey(p)
	if err == nil {
		t.Fatal("a malformed seed was accepted")
	}
	if strings.Contains(err.Error(), "secretish") {
		t.Fatalf("the error quotes the file's content: %v", err)
	}
}

func TestParseAddressRoundTrip(t *testing.T) {
	a, err := ParseAddress("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY")
	if err != nil {
		t.Fatal(err)
	}
	if a.Hex() != aliceHex {
		t.Fatalf("decoded %s, want Alice %s", a.Hex(), aliceHex)
	}
	if a.SS58(42) != "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY" {
		t.Fatalf("re-encoded %s", a.SS58(42))
	}
	for _, bad := range []string{"", "5Grw", "0x1234", "not an address"} {
		if _, err := ParseAddress(bad); err == nil {
			t.Errorf("ParseAddress(%q) accepted", bad)
		}
	}
}

// chain is the package's chopsticks westend-dev, shared by the tests
// (each uses accounts of its own): a start costs about 30 s.
var (
	chain    *chopsticks.Process
	chainErr error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if chain != nil {
		chain.Close()
	}
	os.Exit(code)
}

var chainDir string

func needChain(t *testing.T) (*chopsticks.Process, *Client) {
	t.Helper()
	if chain == nil && chainErr == nil {
		chainErr = startChain()
	}
	if chainErr != nil {
		t.Skip(chainErr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := Dial(ctx, chain.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return chain, c
}

func startChain() error {
	if !chopsticks.Installed(chopsticks.DefaultPrefix()) {
		return fmt.Errorf("chopsticks is not installed in %s", chopsticks.DefaultPrefix())
	}
	spec, err := chopsticks.SpecPath("westend-dev.json")
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "valtrack-tx-test-")
	if err != nil {
		return err
	}
	chainDir = dir
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p, err := chopsticks.Start(ctx, chopsticks.Options{
		Genesis: spec, Dir: dir,
		// Pinned so the first block cannot straddle a slot boundary.
		ImportStorage: map[string]any{"Timestamp": map[string]any{"Now": 1700000000000}, "Babe": map[string]any{"CurrentSlot": 283333333}},
	})
	if err != nil {
		return fmt.Errorf("start chopsticks: %w", err)
	}
	chain = p
	return nil
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func dev(t *testing.T, uri string) *Signer {
	t.Helper()
	s, err := FromURI(uri)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fund gives accounts free balance with dev_setStorage.
func fund(t *testing.T, p *chopsticks.Process, planck string, accs ...AccountID) {
	t.Helper()
	var rows []any
	for _, a := range accs {
		rows = append(rows, []any{[]any{a.SS58(42)}, map[string]any{"providers": 1, "data": map[string]any{"free": planck}}})
	}
	if err := p.SetStorage(ctxT(t), map[string]any{"System": map[string]any{"Account": rows}}); err != nil {
		t.Fatal(err)
	}
}

// send submits calls (each from its signer), builds one block and
// returns it; each result is Included's.
func send(t *testing.T, p *chopsticks.Process, c *Client, opts map[string]any, txs ...signed) ([32]byte, []error) {
	t.Helper()
	ctx := ctxT(t)
	hashes := make([][32]byte, len(txs))
	for i, x := range txs {
		h, err := Submit(ctx, c, x.s, x.c)
		if err != nil {
			t.Fatalf("submit %s: %v", x.c, err)
		}
		hashes[i] = h
	}
	bh, err := p.NewBlock(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	blk, err := parseHash(bh)
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]error, len(txs))
	for i, h := range hashes {
		ok, err := c.Included(ctx, blk, h)
		if !ok && err == nil {
			err = fmt.Errorf("%s is not in block %s", txs[i].c, bh)
		}
		errs[i] = err
	}
	return blk, errs
}

type signed struct {
	s *Signer
	c Call
}

// must fails the test on a build error: must(t)(b.Bond(…)).
func must(t *testing.T) func(Call, error) Call {
	return func(c Call, err error) Call {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
}

// storage reads a map entry at the head, nil when absent.
func storage(t *testing.T, c *Client, pallet, item string, keys ...[]byte) []byte {
	t.Helper()
	k, err := types.CreateStorageKey(c.Metadata(), pallet, item, keys...)
	if err != nil {
		t.Fatal(err)
	}
	var raw *string
	if err := c.RPC().CallContext(ctxT(t), &raw, "state_getStorage", k.Hex()); err != nil {
		t.Fatal(err)
	}
	if raw == nil {
		return nil
	}
	b, err := hex.DecodeString(strings.TrimPrefix(*raw, "0x"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func free(t *testing.T, c *Client, a AccountID) *big.Int {
	t.Helper()
	var info types.AccountInfo
	if b := storage(t, c, "System", "Account", a[:]); b != nil {
		if err := codec.Decode(b, &info); err != nil {
			t.Fatal(err)
		}
	}
	if info.Data.Free.Int == nil {
		return new(big.Int)
	}
	return info.Data.Free.Int
}

func TestTransferKeepAliveMovesBalance(t *testing.T) {
	p, c := needChain(t)
	alice, to := dev(t, "//Alice"), dev(t, "//TxTransferTarget")
	before := free(t, c, to.Account())
	amount := big.NewInt(1_234_000_000_000)
	_, errs := send(t, p, c, nil, signed{alice, must(t)(c.Calls().Transfer(to.Account(), amount))})
	if errs[0] != nil {
		t.Fatalf("transfer: %v", errs[0])
	}
	if got := new(big.Int).Sub(free(t, c, to.Account()), before); got.Cmp(amount) != 0 {
		t.Fatalf("the target gained %s, want %s", got, amount)
	}
}

// ValidatorPrefs as westend 9320 stores them: Compact<Perbill>, bool.
type prefs struct {
	Commission types.UCompact
	Blocked    bool
}

func TestBondValidateRecordsPrefs(t *testing.T) {
	p, c := needChain(t)
	v := dev(t, "//TxValidator")
	fund(t, p, "100000000000000000", v.Account())
	_, errs := send(t, p, c, nil, signed{v, must(t)(c.Calls().Bond(v.Account(), big.NewInt(50_000_000_000_000)))})
	if errs[0] != nil {
		t.Fatalf("bond: %v", errs[0])
	}
	_, errs = send(t, p, c, nil, signed{v, must(t)(c.Calls().Validate(70_000_000, true))})
	if errs[0] != nil {
		t.Fatalf("validate: %v", errs[0])
	}
	b := storage(t, c, "Staking", "Validators", v.account[:])
	if b == nil {
		t.Fatal("staking.validators has no entry for the stash")
	}
	var pr prefs
	if err := codec.Decode(b, &pr); err != nil {
		t.Fatal(err)
	}
	if got := pr.Commission.Int64(); got != 70_000_000 || !pr.Blocked {
		t.Fatalf("prefs {commission %d, blocked %v}, want {70000000, true}", got, pr.Blocked)
	}
}

func TestIncludedNamesTheModuleError(t *testing.T) {
	p, c := needChain(t)
	s := dev(t, "//TxNotBonded")
	fund(t, p, "100000000000000000", s.Account())
	// validate from an account that never bonded: Staking.NotController.
	_, errs := send(t, p, c, nil, signed{s, must(t)(c.Calls().Validate(0, false))})
	var f *Failed
	if !errors.As(errs[0], &f) {
		t.Fatalf("validate unbonded: %v, want a *Failed", errs[0])
	}
	if f.Event != "System.ExtrinsicFailed" || f.Reason != "Staking.NotController" {
		t.Fatalf("failure %+v, want System.ExtrinsicFailed Staking.NotController", f)
	}
}

func TestBuilderRefusesBadArguments(t *testing.T) {
	_, c := needChain(t)
	b := c.Calls()
	if _, err := b.Validate(1_000_000_001, false); err == nil {
		t.Error("a commission over 100 % was built")
	}
	if _, err := b.Nominate(nil); err == nil {
		t.Error("an empty nomination was built")
	}
	if _, err := b.build("Staking", "validate", map[string]arg{}); err == nil || !strings.Contains(err.Error(), "prefs") {
		t.Errorf("a validate without prefs: %v, want an error naming the argument", err)
	}
	if _, err := b.build("NoSuchPallet", "x", nil); err == nil {
		t.Error("a call of a missing pallet was built")
	}
	if _, err := b.SetKeys(SessionKeys{"grandpa": make([]byte, 31)}); err == nil {
		t.Error("session keys of a wrong shape were built")
	}
}

// nominators is staking.nominators as westend 9320 stores it.
type nominations struct {
	Targets     []types.AccountID
	SubmittedIn types.U32
	Suppressed  bool
}

func TestTimeDelayProxyNomination(t *testing.T) {
	p, c := needChain(t)
	ctx := ctxT(t)
	const delay = 10
	real, proxy := dev(t, "//TxNominator"), dev(t, "//TxNominatorProxy")
	fund(t, p, "100000000000000000", real.Account(), proxy.Account())
	b := c.Calls()
	// Bond and register the proxy in one all-or-nothing batch.
	batch := must(t)(b.BatchAll([]Call{
		must(t)(b.Bond(real.Account(), big.NewInt(10_000_000_000_000))),
		must(t)(b.AddProxy(proxy.Account(), delay)),
	}))
	if _, errs := send(t, p, c, nil, signed{real, batch}); errs[0] != nil {
		t.Fatalf("bond + add_proxy: %v", errs[0])
	}
	alice, err := ParseAddress(aliceHex)
	if err != nil {
		t.Fatal(err)
	}
	target := dev(t, "//Alice//stash").Account()
	nominate := must(t)(b.Nominate([]AccountID{target, alice}))

	// A delayed proxy may not call at once.
	if _, errs := send(t, p, c, nil, signed{proxy, must(t)(b.Proxy(real.Account(), nominate))}); errs[0] == nil {
		t.Fatal("proxy.proxy of a delayed proxy succeeded without an announcement")
	}
	if _, errs := send(t, p, c, nil, signed{proxy, must(t)(b.Announce(real.Account(), nominate))}); errs[0] != nil {
		t.Fatalf("announce: %v", errs[0])
	}
	exec := must(t)(b.ProxyAnnounced(proxy.Account(), real.Account(), nominate))
	_, errs := send(t, p, c, nil, signed{proxy, exec})
	var f *Failed
	if !errors.As(errs[0], &f) || f.Event != "System.ExtrinsicFailed" {
		t.Fatalf("proxy_announced before the delay: %v, want ExtrinsicFailed", errs[0])
	}
	var head struct {
		Number string `json:"number"`
	}
	if err := c.RPC().CallContext(ctx, &head, "chain_getHeader"); err != nil {
		t.Fatal(err)
	}
	var n uint64
	if _, err := fmt.Sscanf(head.Number, "0x%x", &n); err != nil {
		t.Fatal(err)
	}
	_, errs = send(t, p, c, map[string]any{"unsafeBlockHeight": n + delay + 1}, signed{proxy, exec})
	if errs[0] != nil {
		t.Fatalf("proxy_announced after the delay: %v", errs[0])
	}
	raw := storage(t, c, "Staking", "Nominators", real.account[:])
	if raw == nil {
		t.Fatal("staking.nominators has no entry for the nominator")
	}
	var nom nominations
	if err := codec.Decode(raw, &nom); err != nil {
		t.Fatal(err)
	}
	if len(nom.Targets) != 2 || [32]byte(nom.Targets[0]) != target || [32]byte(nom.Targets[1]) != alice {
		t.Fatalf("targets %x, want //Alice//stash and //Alice", nom.Targets)
	}
	// The announcement was consumed.
	if _, errs := send(t, p, c, nil, signed{proxy, must(t)(b.RemoveAnnouncement(real.Account(), nominate.Hash()))}); errs[0] == nil {
		t.Fatal("remove_announcement of an executed announcement succeeded")
	}
}

func TestSudoGovernanceFallbackBuilds(t *testing.T) {
	_, c := needChain(t)
	b := c.Calls()
	gf := must(t)(b.GovernanceFallback())
	if got := hex.EncodeToString(gf.Encode()[2:]); got != "0000" {
		t.Fatalf("governance_fallback(None, None) args %s, want 0000", got)
	}
	s := must(t)(b.Sudo(gf))
	if !strings.HasSuffix(hex.EncodeToString(s.Encode()), hex.EncodeToString(gf.Encode())) {
		t.Fatal("sudo does not embed the call")
	}
}

func TestIncludedSeesAFailedCallInsideAProxy(t *testing.T) {
	p, c := needChain(t)
	real, proxy := dev(t, "//TxUnbondedReal"), dev(t, "//TxPlainProxy")
	fund(t, p, "100000000000000000", real.Account(), proxy.Account())
	b := c.Calls()
	if _, errs := send(t, p, c, nil, signed{real, must(t)(b.AddProxy(proxy.Account(), 0))}); errs[0] != nil {
		t.Fatalf("add_proxy: %v", errs[0])
	}
	// real never bonded: the proxied nominate fails inside a successful
	// proxy.proxy extrinsic.
	nominate := must(t)(b.Nominate([]AccountID{dev(t, "//Alice//stash").Account()}))
	_, errs := send(t, p, c, nil, signed{proxy, must(t)(b.Proxy(real.Account(), nominate))})
	var f *Failed
	if !errors.As(errs[0], &f) {
		t.Fatalf("proxy of a failing nominate: %v, want a *Failed", errs[0])
	}
	if f.Event != "Proxy.ProxyExecuted" || f.Reason != "Staking.NotController" {
		t.Fatalf("failure %+v, want Proxy.ProxyExecuted with Staking.NotController", f)
	}
	// A Staking proxy may not move funds: the call is filtered, and
	// Included reports it rather than the wrapper's success.
	transfer := must(t)(b.Transfer(proxy.Account(), big.NewInt(1_000_000_000_000)))
	if _, errs := send(t, p, c, nil, signed{proxy, must(t)(b.Proxy(real.Account(), transfer))}); errs[0] == nil {
		t.Fatal("a Staking proxy made a balance transfer")
	}
}

// The signer builds its transaction extensions from the runtime's
// metadata: on Paseo's runtime (spec 1001002, another extension list than
// westend's, PrevalidateAttests among them) a signed transfer is accepted
// and executed too.
func TestTransferOnPaseo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs chopsticks")
	}
	if !chopsticks.Installed(chopsticks.DefaultPrefix()) {
		t.Skipf("chopsticks is not installed in %s", chopsticks.DefaultPrefix())
	}
	spec, err := chopsticks.SpecPath("paseo.json")
	if err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p, err := chopsticks.Start(ctx, chopsticks.Options{Genesis: spec, Dir: t.TempDir(),
		ImportStorage: map[string]any{"Timestamp": map[string]any{"Now": 1700000000000}, "Babe": map[string]any{"CurrentSlot": 283333333}}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := Dial(ctx, p.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var ids []string
	for _, e := range c.Metadata().AsMetadataV14.Extrinsic.SignedExtensions {
		ids = append(ids, string(e.Identifier))
	}
	if !slices.Contains(ids, "PrevalidateAttests") {
		t.Fatalf("paseo's extensions %v: the test expects PrevalidateAttests among them", ids)
	}
	from, to := dev(t, "//TxPaseoSender"), dev(t, "//TxPaseoTarget")
	fund(t, p, "1000000000000000", from.Account()) // Paseo's genesis funds no dev account
	// Below the existential deposit (1 PAS) the runtime refuses the
	// transfer, and the failure is named from its metadata.
	_, errs := send(t, p, c, nil, signed{from, must(t)(c.Calls().Transfer(to.Account(), big.NewInt(2_500_000_000)))})
	if errs[0] == nil || !strings.Contains(errs[0].Error(), "Token.BelowMinimum") {
		t.Fatalf("a transfer below the existential deposit: %v, want the runtime's Token.BelowMinimum", errs[0])
	}
	amount := big.NewInt(25_000_000_000) // 2.5 PAS
	before := free(t, c, to.Account())
	_, errs = send(t, p, c, nil, signed{from, must(t)(c.Calls().Transfer(to.Account(), amount))})
	if errs[0] != nil {
		t.Fatalf("transfer on paseo: %v", errs[0])
	}
	if got := new(big.Int).Sub(free(t, c, to.Account()), before); got.Cmp(amount) != 0 {
		t.Fatalf("the target gained %s, want %s", got, amount)
	}
}
