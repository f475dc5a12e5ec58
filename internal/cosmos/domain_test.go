package cosmos

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/cosmos/rpc"
	"github.com/valtrack/valtrack/internal/cosmos/sink"
	"github.com/valtrack/valtrack/internal/cosmos/state"
	"github.com/valtrack/valtrack/internal/domain"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

// --cosmos arrives split on commas (a string slice): "a=U1,U2" is "a=U1",
// "U2", and the second URL belongs to a.
func TestParseChains(t *testing.T) {
	cs, err := parseChains([]string{"a-1=http://127.0.0.1:1", "http://127.0.0.1:2", "b-1=https://127.0.0.1:3", "a-1=http://127.0.0.1:4"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Name != "a-1" || !reflect.DeepEqual(cs[0].Endpoints, []string{"http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:4"}) ||
		cs[1].Name != "b-1" || len(cs[1].Endpoints) != 1 || cs[0].ChainID != "a-1" {
		t.Errorf("chains %+v %+v", cs[0], cs[1])
	}
	dir := t.TempDir()
	info := `{"chain_id":"dev-1","validators":[{"index":0,"rpc":"http://127.0.0.1:5"},{"index":1,"rpc":"http://127.0.0.1:6"}]}`
	if err := os.WriteFile(filepath.Join(dir, "chain.json"), []byte(info), 0o644); err != nil {
		t.Fatal(err)
	}
	cs, err = parseChains([]string{dir})
	if err != nil || len(cs) != 1 || cs[0].Name != "dev-1" || len(cs[0].Endpoints) != 2 {
		t.Errorf("a devnet dir: %+v, %v", cs, err)
	}
	for _, bad := range [][]string{{"http://127.0.0.1:1"}, {"a b=http://x"}, {"a=ftp://x"}, {"a=http://x?key=SECRET", "nourl"}, {dir, dir}} {
		if _, err := parseChains(bad); err == nil {
			t.Errorf("%q accepted", bad)
		} else if s := err.Error(); len(s) > 0 && containsSecret(s) {
			t.Errorf("%q: the error shows the URL's query: %s", bad, s)
		}
	}
}

// A URL without a scheme is shown by its host:port, with the URL to give
// instead; the secrets it may carry are not.
func TestNoSchemeShown(t *testing.T) {
	_, err := parseChains([]string{"x=127.0.0.1:26657"})
	if err == nil || err.Error() != `--cosmos x: "127.0.0.1:26657" has no scheme: give http://127.0.0.1:26657 (an http(s) RPC URL)` {
		t.Errorf("--cosmos x=127.0.0.1:26657: %v", err)
	}
	_, err = parseChains([]string{"x=u:SECRET@127.0.0.1:26657/?key=SECRET"})
	if err == nil || containsSecret(err.Error()) || !strings.Contains(err.Error(), `"127.0.0.1:26657" has no scheme`) {
		t.Errorf("a URL without a scheme carrying secrets: %v", err)
	}
	err = checkLCDs([]string{"x=127.0.0.1:1317?key=SECRET"})
	if err == nil || containsSecret(err.Error()) || !strings.Contains(err.Error(), `--cosmos-lcd x: "127.0.0.1:1317" has no scheme: give http://127.0.0.1:1317`) {
		t.Errorf("--cosmos-lcd x=127.0.0.1:1317?key=SECRET: %v", err)
	}
}

// TestFlagErrorsHideSecrets: a mistyped per-chain flag (no NAME=, an
// unknown chain) is refused without printing the key its URL carries in
// its path, query or user info.
func TestFlagErrorsHideSecrets(t *testing.T) {
	known := map[string]*chain{"a-1": {Name: "a-1"}}
	for _, tc := range []struct {
		flag  string
		value string
	}{
		{"cosmos-lcd", "https://user:SECRET@127.0.0.1:1317"},
		{"cosmos-lcd", "https://127.0.0.1:1317/SECRET/"},
		{"cosmos-lcd", "b-1=https://127.0.0.1:1317/?apikey=SECRET"},
		{"cosmos-chain-id", "b-1=https://127.0.0.1:1/SECRET"},
	} {
		_, err := pairs(tc.flag, []string{tc.value}, known)
		if err == nil {
			t.Errorf("--%s %s accepted", tc.flag, tc.value)
			continue
		}
		if containsSecret(err.Error()) || !strings.Contains(err.Error(), "--"+tc.flag) {
			t.Errorf("--%s %s: %v: want the flag named and no secret", tc.flag, tc.value, err)
		}
	}
	for _, v := range []string{"127.0.0.1:1317?apikey=SECRET", "u:SECRET@127.0.0.1:1317"} {
		if _, err := pairs("cosmos-lcd", []string{v}, known); err == nil || containsSecret(err.Error()) {
			t.Errorf("--cosmos-lcd %s (no NAME=, no scheme): %v", v, err)
		}
	}
	if _, err := parseChains([]string{"https://127.0.0.1:1/SECRET"}); err == nil || containsSecret(err.Error()) {
		t.Errorf("a first --cosmos value without NAME=: %v", err)
	}
}

func containsSecret(s string) bool {
	for i := 0; i+6 <= len(s); i++ {
		if s[i:i+6] == "SECRET" {
			return true
		}
	}
	return false
}

// A consumer started without --cosmos (a fleet's) analyses the chains its
// sentries publish: they are found in the store.
func TestConsumerFindsChainsInTheStore(t *testing.T) {
	db := storetest.SQLite(t, store.WithMigrations(state.Migrations()))
	ctx := context.Background()
	const chain = "found-1"
	storeChain(t, db, chain, 6)

	parts := openConsumer(t, db, nil, "consumer")
	var found bool
	for _, a := range parts.Analyzers {
		if a.Name != "cosmos/discovered" {
			continue
		}
		found = true
		if err := a.Run(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if !found {
		t.Fatalf("analyzers %v: no cosmos/discovered", parts.Analyzers)
	}
	p, err := state.ProgressOf(ctx, db, chain)
	if err != nil {
		t.Fatal(err)
	}
	if p.AnalyzedHeight != 6 { // every height has its block, commit and set
		t.Errorf("analysed up to %d, want 6", p.AnalyzedHeight)
	}
}

// storeChain stores a chain of four validators that all sign heights
// 1..heights, as a sentry would publish it.
func storeChain(t *testing.T, db *store.DB, chain string, heights int64) {
	t.Helper()
	ctx := context.Background()
	sk, err := sink.New(sink.Config{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	var vals []events.Validator
	for i := 0; i < 4; i++ {
		vals = append(vals, events.Validator{Address: fmt.Sprintf("%040X", i+1), VotingPower: 10})
	}
	evs := []events.Event{&events.ValidatorSet{V: 1, Chain: chain, Height: 1, Validators: vals}}
	for h := int64(1); h <= heights; h++ {
		evs = append(evs, &events.Block{V: 1, Chain: chain, Height: h, Time: 1700000000000 + h*1000, Hash: fmt.Sprintf("%064X", h),
			ProposerAddress: vals[h%4].Address, Source: events.SourceBackfill})
		sigs := make([]events.Signature, 4)
		for i := range sigs {
			sigs[i] = events.Signature{Flag: events.FlagCommit, ValidatorAddress: vals[i].Address}
		}
		evs = append(evs, &events.Commit{V: 1, Chain: chain, Height: h, BlockHash: fmt.Sprintf("%064X", h), Signatures: sigs, Source: events.SourceBackfill})
	}
	var batch []consumer.Event
	for _, e := range evs {
		data, _ := json.Marshal(e)
		v, err := sk.Decode(events.Kind(e), data)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, consumer.Event{Network: chain, Kind: events.Kind(e), MsgID: e.MsgID(), Value: v})
	}
	if err := sk.Apply(ctx, batch); err != nil {
		t.Fatal(err)
	}

}

// openConsumer opens the domain as a consumer with the given arguments,
// its log going to log (nil: discarded).
func openConsumer(t *testing.T, db *store.DB, log *slog.Logger, args ...string) *domain.Parts {
	t.Helper()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var parts *domain.Parts
	d := Domain{}
	cmd := &cli.Command{Name: "consumer", Flags: d.Flags(domain.RoleConsumer), Action: func(ctx context.Context, c *cli.Command) error {
		var err error
		parts, err = d.Open(ctx, domain.Env{Role: domain.RoleConsumer, Cmd: c, DB: db, DataDir: t.TempDir(),
			Log: log, Registerer: prometheus.NewRegistry()})
		return err
	}}
	if err := cmd.Run(context.Background(), args); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = parts.Close() })
	return parts
}

// --cosmos-slashing NAME=W:0 is honoured as given: the analyzer uses the
// window W with min signed 0 (never jailed for downtime), not a default.
func TestSlashingFlagMinSignedZero(t *testing.T) {
	db := storetest.SQLite(t, store.WithMigrations(state.Migrations()))
	const chain = "zero-1"
	storeChain(t, db, chain, 6)
	parts := openConsumer(t, db, nil, "consumer", "--cosmos", chain+"=http://127.0.0.1:1", "--cosmos-slashing", chain+"=10:0")
	for _, a := range parts.Analyzers {
		if a.Name == "cosmos/missed/"+chain {
			if err := a.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	p, err := state.ParamsInForce(context.Background(), db, chain)
	if err != nil || p != (state.Params{SignedBlocksWindow: 10, MinSignedPerWindow: 0, Source: state.ParamsConfigured}) {
		t.Fatalf("params in force %+v, %v; want the configured 10:0", p, err)
	}
	var blocks int64
	if err := db.Reader().QueryRow("SELECT blocks_to_jail FROM cosmos_validator_stats WHERE chain = ? LIMIT 1", chain).Scan(&blocks); err != nil || blocks != state.JailNever {
		t.Errorf("blocks to jail %d, %v; want %d (never)", blocks, err, state.JailNever)
	}
}

// A per-chain flag without any --cosmos (on the line or from its
// environment variable) is refused with the chain it names, in `valtrack
// run` and `valtrack sentry cosmos` alike; it used to dereference the
// missing chain and panic. With --cosmos, a name not among the chains is
// refused too, listing them.
func TestPerChainFlagWithoutChain(t *testing.T) {
	check := func(d Domain, r domain.Role, args ...string) error {
		t.Helper()
		var err error
		cmd := &cli.Command{Name: "x", Flags: d.Flags(r), Action: func(_ context.Context, c *cli.Command) error {
			err = d.Check(c, r)
			return nil
		}}
		if e := cmd.Run(context.Background(), append([]string{"x"}, args...)); e != nil {
			t.Fatalf("%v: %v", args, e)
		}
		return err
	}
	for _, r := range []domain.Role{domain.RoleRun, domain.RoleSentry} {
		for _, args := range [][]string{{"--cosmos-lcd", "x=http://127.0.0.1:1"}, {"--cosmos-chain-id", "x=y"}} {
			err := check(Domain{}, r, args...)
			if err == nil || !strings.Contains(err.Error(), `no --cosmos chain is named "x"`) || !strings.Contains(err.Error(), "--"+args[0][2:]) {
				t.Errorf("role %v, %v: %v; want a refusal naming the flag and chain x", r, args, err)
			}
		}
		err := check(Domain{}, r, "--cosmos", "a-1=http://127.0.0.1:1", "--cosmos-lcd", "x=http://127.0.0.1:2")
		if err == nil || !strings.Contains(err.Error(), `no --cosmos chain is named "x"; the chains are a-1`) {
			t.Errorf("role %v, an LCD for another chain: %v", r, err)
		}
		if r == domain.RoleRun { // a sentry has no --cosmos-slashing
			err = check(Domain{}, r, "--cosmos", "a-1=http://127.0.0.1:1", "--cosmos-slashing", "x=100:0.5")
			if err == nil || !strings.Contains(err.Error(), `--cosmos-slashing x=…: no --cosmos chain is named "x"; the chains are a-1`) {
				t.Errorf("role %v, slashing parameters for another chain: %v", r, err)
			}
		}
		if err := check(Domain{}, r, "--cosmos", "a-1=http://127.0.0.1:1", "--cosmos-lcd", "a-1=http://127.0.0.1:2", "--cosmos-chain-id", "a-1=b"); err != nil {
			t.Errorf("role %v, flags of the chain given: %v", r, err)
		}
	}
	// A consumer without --cosmos learns its chains from the store: its
	// --cosmos-slashing may name any.
	if err := check(Domain{}, domain.RoleConsumer, "--cosmos-slashing", "x=100:0.5"); err != nil {
		t.Errorf("a consumer without --cosmos, --cosmos-slashing x=…: %v", err)
	}
	t.Setenv("VALTRACK_COSMOS_CHAIN_ID", "x=y")
	env := Domain{Env: func(flag string) cli.ValueSourceChain {
		return cli.EnvVars("VALTRACK_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_")))
	}}
	if err := check(env, domain.RoleRun); err == nil || !strings.Contains(err.Error(), `no --cosmos chain is named "x"`) {
		t.Errorf("VALTRACK_COSMOS_CHAIN_ID=x=y without a chain: %v", err)
	}
	// Open (the sentry role) refuses the same way rather than panic.
	var err error
	d := Domain{}
	cmd := &cli.Command{Name: "sentry", Flags: d.Flags(domain.RoleSentry), Action: func(ctx context.Context, c *cli.Command) error {
		_, err = d.Open(ctx, domain.Env{Role: domain.RoleSentry, Cmd: c, DataDir: t.TempDir(), Log: slog.New(slog.DiscardHandler),
			Registerer: prometheus.NewRegistry()})
		return nil
	}}
	if e := cmd.Run(context.Background(), []string{"sentry", "--cosmos-lcd", "x=http://127.0.0.1:1"}); e != nil {
		t.Fatal(e)
	}
	if err == nil || !strings.Contains(err.Error(), `no --cosmos chain is named "x"`) {
		t.Errorf("open a sentry with only --cosmos-lcd: %v", err)
	}
}

// The analysis is stalled when complete heights wait and the analyzer has
// written nothing for AnalysisStallAfter, counted from the process's start
// at the earliest; nothing to analyse is never stalled.
func TestAnalysisHealth(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	long := now.Add(-time.Hour)
	for _, tc := range []struct {
		name    string
		a       state.Analysis
		started time.Time
		want    string
	}{
		{"caught up", state.Analysis{AnalyzedHeight: 99, UpdatedAt: long.UnixMilli(), LatestBlock: 100}, long, ""},
		{"nothing stored", state.Analysis{}, long, ""},
		{"stalled", state.Analysis{AnalyzedHeight: 50, UpdatedAt: long.UnixMilli(), LatestBlock: 100}, long, "stalled at height 50 for 1h0m0s while blocks up to 100"},
		{"never analysed", state.Analysis{LatestBlock: 100}, long, "stalled at height 0"},
		{"moving", state.Analysis{AnalyzedHeight: 50, UpdatedAt: now.Add(-time.Second).UnixMilli(), LatestBlock: 100}, long, ""},
		{"just started", state.Analysis{AnalyzedHeight: 50, UpdatedAt: long.UnixMilli(), LatestBlock: 100}, now.Add(-time.Minute), ""},
	} {
		err := analysisHealth(tc.a, tc.started, now)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// The domain gives /healthz its health: a consumer just started on a
// store whose analysis lags is not yet stalled (its grace counts from the
// start).
func TestConsumerHealthIsSet(t *testing.T) {
	db := storetest.SQLite(t, store.WithMigrations(state.Migrations()))
	storeChain(t, db, "h-1", 6)
	parts := openConsumer(t, db, nil, "consumer", "--cosmos", "h-1=http://127.0.0.1:1")
	if parts.Health == nil {
		t.Fatal("no Health: /healthz would not see a stalled Cosmos analysis")
	}
	if err := parts.Health(context.Background()); err != nil {
		t.Errorf("right after the start: %v", err)
	}
}

// Two consumers on one store name different chains: each one's alert
// passes keep a heartbeat under its own holder (host and data directory),
// so B's retirer leaves the alert of A's chain open, and A's next pass goes
// on with the same alert (no resolve, no second trigger).
func TestConsumersOfOtherChainsKeepEachOthersAlerts(t *testing.T) {
	db := storetest.SQLite(t, store.WithMigrations(state.Migrations()))
	ctx := context.Background()
	storeChain(t, db, "x-1", 6)
	storeChain(t, db, "y-1", 6)
	if err := db.InTx(ctx, "test insert", func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO cosmos_alerts (alert_key, rule, chain, validator_address, moniker, status, severity, value, threshold, unit, summary, since, fired_at, clear_since, resolved_at, notified_at, updated_at)
			VALUES ('chain_stalled/x-1', 'chain_stalled', 'x-1', '', '', 'firing', 'critical', 600, 300, 'seconds', 'chain x-1 stalled', 1, 1, 0, 0, 1, 1)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	a := openConsumer(t, db, nil, "consumer", "--cosmos", "x-1=http://127.0.0.1:1")
	b := openConsumer(t, db, nil, "consumer", "--cosmos", "y-1=http://127.0.0.1:1")
	for _, parts := range []*domain.Parts{a, b, a} {
		for _, an := range parts.Analyzers {
			if err := an.Run(ctx); err != nil {
				t.Fatalf("%s: %v", an.Name, err)
			}
		}
	}
	rows, err := db.Reader().QueryContext(ctx, "SELECT status, summary FROM cosmos_alerts WHERE alert_key = 'chain_stalled/x-1'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var status, summary string
		if err := rows.Scan(&status, &summary); err != nil {
			t.Fatal(err)
		}
		got = append(got, status+": "+summary)
	}
	if len(got) != 1 || !strings.HasPrefix(got[0], "firing: ") || strings.Contains(got[0], "no longer watched") {
		t.Errorf("x-1's alert rows %q; want the one alert still firing, not retired by the consumer of y-1", got)
	}
}

// With --cosmos naming the chains, only those are analysed and alerted on:
// a chain left in the store from before (an old devnet in ./data) gets no
// analyzer and no alert rules (it used to page chain_stalled and
// endpoints_down for good), and its open alerts are resolved with a note.
// Without --cosmos (a fleet's consumer) the store's chains are found.
func TestNamedChainsOnly(t *testing.T) {
	db := storetest.SQLite(t, store.WithMigrations(state.Migrations()))
	ctx := context.Background()
	storeChain(t, db, "old-1", 6)
	storeChain(t, db, "new-1", 6)
	if err := db.InTx(ctx, "test insert", func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO cosmos_alerts (alert_key, rule, chain, validator_address, moniker, status, severity, value, threshold, unit, summary, since, fired_at, clear_since, resolved_at, notified_at, updated_at)
			VALUES ('chain_stalled/old-1', 'chain_stalled', 'old-1', '', '', 'firing', 'critical', 600, 300, 'seconds', 'chain old-1 stalled', 1, 1, 0, 0, 1, 1)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	parts := openConsumer(t, db, nil, "consumer", "--cosmos", "new-1=http://127.0.0.1:1")
	var names []string
	for _, a := range parts.Analyzers {
		names = append(names, a.Name)
		if strings.Contains(a.Name, "old-1") || a.Name == "cosmos/discovered" {
			t.Errorf("analyzer %s with only new-1 named", a.Name)
		}
		if err := a.Run(ctx); err != nil {
			t.Fatalf("%s: %v", a.Name, err)
		}
	}
	if !slices.Contains(names, "cosmos/missed/new-1") || !slices.Contains(names, "cosmos/alerts/new-1") || !slices.Contains(names, "cosmos/alerts/retired") {
		t.Errorf("analyzers %v; want new-1's and cosmos/alerts/retired", names)
	}
	var status, summary string
	if err := db.Reader().QueryRow("SELECT status, summary FROM cosmos_alerts WHERE alert_key = 'chain_stalled/old-1'").Scan(&status, &summary); err != nil {
		t.Fatal(err)
	}
	if status != "resolved" || !strings.Contains(summary, "no longer watched") {
		t.Errorf("old-1's alert %s %q; want resolved with a note", status, summary)
	}
	if p, _ := state.ProgressOf(ctx, db, "old-1"); p.AnalyzedHeight != 0 {
		t.Errorf("old-1 analysed to %d", p.AnalyzedHeight)
	}
}

// --cosmos-grpc takes NAME=HOST:PORT, NAME=grpc://HOST:PORT or
// NAME=tls://HOST:PORT of a chain given to --cosmos: other forms are
// refused at start, each with the forms to give instead (and without a
// userinfo it holds); a good value reaches the chain's sentry, and a
// devnet DIR brings its own, checked alike.
func TestGRPCFlag(t *testing.T) {
	check := func(args ...string) error {
		t.Helper()
		d := Domain{}
		var err error
		cmd := &cli.Command{Name: "x", Flags: d.Flags(domain.RoleSentry), Action: func(_ context.Context, c *cli.Command) error {
			err = d.Check(c, domain.RoleSentry)
			return nil
		}}
		if e := cmd.Run(context.Background(), append([]string{"x"}, args...)); e != nil {
			return e // refused by the flag's validator
		}
		return err
	}
	chain := []string{"--cosmos", "a-1=http://127.0.0.1:1"}
	for _, c := range []struct{ value, want string }{
		{"a-1=http://127.0.0.1:9090", "the scheme http is not grpc:// or tls://"},
		{"a-1=https://grpc.example.com:443", "the scheme https is not grpc:// or tls://"},
		{"a-1=127.0.0.1", "not HOST:PORT"},
		{"a-1=:9090", "no host"},
		{"a-1=127.0.0.1:0", "the port is not 1 to 65535"},
		{"a-1=127.0.0.1:70000", "the port is not 1 to 65535"},
		{"a-1=tls://127.0.0.1:grpc", "the port is not 1 to 65535"},
		{"a-1=tls://h:443/cosmos", "no path"},
		{"a-1=tls://user:hunter2@h:443", "no path, query or userinfo"},
		{"a-1", "give NAME=VALUE"},
		{"x=127.0.0.1:9090", `--cosmos-grpc x=…: no --cosmos chain is named "x"; the chains are a-1`},
	} {
		err := check(append(chain, "--cosmos-grpc", c.value)...)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "--cosmos-grpc") {
			t.Errorf("--cosmos-grpc %s: %v; want a refusal with %q", c.value, err, c.want)
		}
		addressRefused := !strings.Contains(c.want, "NAME=VALUE") && !strings.Contains(c.want, "no --cosmos chain")
		if err != nil && addressRefused && !strings.Contains(err.Error(), rpc.GRPCForms) {
			t.Errorf("--cosmos-grpc %s: %v; want the accepted forms said", c.value, err)
		}
		// The value urfave/cli quotes before the validator's message is
		// dropped by valtrack's OnUsageError (cmd/valtrack); the message
		// itself must not quote the password.
		why := fmt.Sprint(err)
		if _, w, ok := strings.Cut(why, "for flag -cosmos-grpc: "); ok {
			why = w
		}
		if strings.Contains(why, "hunter2") {
			t.Errorf("--cosmos-grpc %s: the refusal quotes the password: %v", c.value, err)
		}
	}
	for _, good := range []string{"a-1=127.0.0.1:9090", "a-1=[::1]:9090", "a-1=grpc://127.0.0.1:9090", "a-1=tls://grpc.example.com:443"} {
		if err := check(append(chain, "--cosmos-grpc", good)...); err != nil {
			t.Errorf("--cosmos-grpc %s: %v", good, err)
		}
	}
	// A devnet directory's chain.json names its gRPC listener.
	dir := t.TempDir()
	info := `{"chain_id":"dev-1","grpc":"127.0.0.1:4567","validators":[{"index":0,"rpc":"http://127.0.0.1:1"}]}`
	if err := os.WriteFile(filepath.Join(dir, "chain.json"), []byte(info), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ grpc, want string }{
		{"tls://127.0.0.1:4567", ""},
		{"http://127.0.0.1:4567", "chain.json grpc: \"http://127.0.0.1:4567\": the scheme http is not grpc:// or tls://"},
	} {
		other := t.TempDir()
		b := strings.Replace(info, "127.0.0.1:4567", tc.grpc, 1)
		if err := os.WriteFile(filepath.Join(other, "chain.json"), []byte(b), 0o644); err != nil {
			t.Fatal(err)
		}
		cs, err := parseChains([]string{other})
		if tc.want == "" && (err != nil || len(cs) != 1 || cs[0].GRPC != tc.grpc) {
			t.Errorf("chain.json grpc %s: %+v, %v", tc.grpc, cs, err)
		}
		if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("chain.json grpc %s: %v; want a refusal with %q", tc.grpc, err, tc.want)
		}
	}
	cs, err := parseChains([]string{dir})
	if err != nil || len(cs) != 1 || cs[0].GRPC != "127.0.0.1:4567" {
		t.Fatalf("chains of %s: %+v, %v", dir, cs, err)
	}
	// Given to --cosmos-grpc, the flag's address wins.
	cmd := &cli.Command{Name: "x", Flags: Domain{}.Flags(domain.RoleSentry), Action: func(_ context.Context, c *cli.Command) error {
		in := &instance{env: domain.Env{Role: domain.RoleSentry, Cmd: c}, chains: cs}
		if err := in.configure(); err != nil {
			return err
		}
		if cs[0].GRPC != "127.0.0.1:9999" {
			t.Errorf("gRPC of the devnet chain with --cosmos-grpc: %q", cs[0].GRPC)
		}
		return nil
	}}
	if err := cmd.Run(context.Background(), []string{"x", "--cosmos", dir, "--cosmos-grpc", "dev-1=127.0.0.1:9999"}); err != nil {
		t.Fatal(err)
	}
}
