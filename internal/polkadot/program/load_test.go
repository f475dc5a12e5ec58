package program

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/events"
)

const sampleFile = `candidates:
  - name: Alice
    stash: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY
    kusama_stash: HNZata7iMYWmk5RvZRTiAsSDhV8366zq2YGb3tLH5Upf74F
    skip: [SELF_STAKE]
  - name: Bob
    stash: 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty
rules:
  commission: 0.05
  min_self_stake: "50000000000000"
  client_grace: 24h
  skip: [CONNECTION_TIME]
score:
  weights: {inclusion: 200, client: 0}
  seed: 9
nomination:
  era_period: 2
  nominators:
    - account: 5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y
      key: /run/secrets/proxy.seed
      proxy: true
      proxy_delay: 10
`

func TestParseSample(t *testing.T) {
	cfg, err := Parse([]byte(sampleFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Candidates) != 2 || cfg.Candidates[0].Skip[0] != RuleSelfStake || cfg.Candidates[0].KusamaStash == "" {
		t.Errorf("candidates = %+v", cfg.Candidates)
	}
	if cfg.Rules.ClientGrace != 24*time.Hour || cfg.Rules.Commission != 0.05 || cfg.Score.Seed != 9 {
		t.Errorf("rules/score = %+v %+v", cfg.Rules, cfg.Score)
	}
	if n := cfg.Nomination.Nominators[0]; !n.Proxy || n.ProxyDelay != 10 {
		t.Errorf("nominator = %+v", n)
	}
	m := cfg.WithDefaults("polkadot")
	if m.Score.Weights[CompClient] != 0 || m.Score.Weights[CompInclusion] != 200 || m.Score.Weights[CompProvider] != 100 {
		t.Errorf("merged weights = %v, want client 0 kept, inclusion 200, provider default 100", m.Score.Weights)
	}
	if m.Rules.ConnectionTime != 7*24*time.Hour || m.Rules.UnclaimedEraThreshold != 1 || m.Nomination.EraPeriod != 2 || m.Nomination.MaxTargets != 16 {
		t.Errorf("merged = %+v %+v", m.Rules, m.Nomination)
	}
	if len(m.Rules.Skip) != 1 || m.Rules.Skip[0] != RuleConnectionTime {
		t.Errorf("an explicit skip list replaces the default one: %v", m.Rules.Skip)
	}
}

func TestParseRefusesBadFiles(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		want       []string // substrings of the error
	}{
		{"unknown top key", "candidates: []\nrulez: {}\n", []string{"line 2", `unknown key "rulez"`, "at the top level"}},
		{"unknown candidate key", "candidates:\n  - name: A\n    stash: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY\n    stahs: X\n", []string{"line 4", `unknown key "stahs"`, "candidates[0]"}},
		{"unknown rules key", "rules:\n  comission: 0.1\n", []string{"line 2", `"comission"`, "commission"}},
		{"empty name", "candidates:\n  - name: ''\n    stash: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY\n", []string{"line 2", "no name"}},
		{"duplicate name", "candidates:\n  - {name: Alice, stash: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY}\n  - {name: alice, stash: 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty}\n", []string{"line 3", `"alice"`, "unique"}},
		{"empty stash", "candidates:\n  - name: A\n", []string{"no stash"}},
		{"duplicate stash", "candidates:\n  - {name: A, stash: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY}\n  - {name: B, stash: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY}\n", []string{"line 3", "stash 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", "line 2"}},
		{"unknown candidate skip", "candidates:\n  - {name: A, stash: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY, skip: [COMMISSION]}\n", []string{`"COMMISSION"`, "COMMISION"}},
		{"unknown global skip", "rules:\n  skip: [ONLINE, NOPE]\n", []string{"line 2", "rules.skip[1]", `"NOPE"`}},
		{"unknown weight", "score:\n  weights:\n    inclusion: 1\n    nominations: 5\n", []string{"line 4", `"nominations"`, "nominatorStake"}},
		{"negative weight", "score:\n  weights: {rank: -1}\n", []string{"score.weights.rank", "≥ 0"}},
		{"commission out of range", "rules:\n  commission: 5\n", []string{"line 2", "0.05 for 5 %"}},
		{"bad amount", "rules:\n  min_self_stake: 5k\n", []string{"min_self_stake", "not an amount"}},
		{"duration as a number", "rules:\n  client_grace: 48\n", []string{"48h"}},
		{"tag format without a group", "rules:\n  release_tag_format: 'polkadot-v.*'\n", []string{"exactly one"}},
		{"bad randomness", "score:\n  randomness: 2\n", []string{"score.randomness"}},
		{"delay without proxy", "nomination:\n  nominators:\n    - {account: 5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y, proxy_delay: 5}\n", []string{"line 3", "proxy: true"}},
		{"duplicate nominator", "nomination:\n  nominators:\n    - {account: 5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y}\n    - {account: 5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y}\n", []string{"listed once"}},
		{"empty file", "", []string{"empty"}},
		{"not yaml", "candidates: [\n", []string{"not valid YAML"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.file))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestParseAcceptsScientificPlanck(t *testing.T) {
	cfg, err := Parse([]byte("rules:\n  min_self_stake: 5e13\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParsePlanck(cfg.Rules.MinSelfStake)
	if err != nil || b.String() != "50000000000000" {
		t.Errorf("5e13 = %v %v", b, err)
	}
}

func TestDefaultsPerChain(t *testing.T) {
	for _, tc := range []struct {
		chain      string
		commission float64
		minStake   string
		threshold  uint32
		skipUncl   bool
		period     uint32
		targets    int
	}{
		{"polkadot", 0.05, "50000000000000", 1, true, 1, 16},
		{"kusama", 0.15, "10000000000000", 4, false, 4, 24},
		{"westend", 0.15, "10000000000000", 4, false, 1, 16},
		{"paseo", 0.15, "10000000000000", 4, false, 1, 16},
	} {
		d := Defaults(tc.chain)
		r := d.Rules
		skip := len(r.Skip) == 1 && r.Skip[0] == RuleUnclaimed
		if r.Commission != tc.commission || r.MinSelfStake != tc.minStake || r.UnclaimedEraThreshold != tc.threshold ||
			skip != tc.skipUncl || d.Nomination.EraPeriod != tc.period || d.Nomination.MaxTargets != tc.targets {
			t.Errorf("%s defaults = %+v %+v", tc.chain, r, d.Nomination)
		}
		if r.OfflineWeekMax != 0.02 || r.ConnectionTime != 7*24*time.Hour || r.ClientGrace != 48*time.Hour || r.KusamaMinRank != 100 {
			t.Errorf("%s common defaults = %+v", tc.chain, r)
		}
		if d.Score.Weights[CompInclusion] != 220 || d.Score.Weights[CompClient] != 200 || *d.Score.Randomness != 0.15 {
			t.Errorf("%s score defaults = %+v", tc.chain, d.Score)
		}
	}
	// Every component has a default weight and only those.
	w := DefaultWeights()
	if len(w) != len(ComponentNames) {
		t.Errorf("%d default weights for %d components", len(w), len(ComponentNames))
	}
	for _, n := range ComponentNames {
		if _, ok := w[n]; !ok {
			t.Errorf("no default weight for %s", n)
		}
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "program.yaml")
	if err := os.WriteFile(p, []byte(sampleFile), 0o600); err != nil {
		t.Fatal(err)
	}
	if cfg, err := Load(p); err != nil || len(cfg.Candidates) != 2 {
		t.Fatalf("Load = %v, %v", cfg, err)
	}
	if err := os.WriteFile(p, []byte("bogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("Load error = %v, want the path and line", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file error = %v", err)
	}
}

func TestWatcherKeepsTheLastGoodConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "program.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("candidates:\n  - {name: A, stash: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY}\n")
	w, err := NewWatcher(p, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := w.Current()
	if err != nil || len(cfg.Candidates) != 1 || w.Version() != 1 {
		t.Fatalf("initial = %+v %v v%d", cfg, err, w.Version())
	}

	write("candidates:\n  - {name: A, stash: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY}\n  - {name: B, stash: 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty}\n")
	if changed, err := w.Poll(); !changed || err != nil {
		t.Fatalf("poll after a change = %v %v", changed, err)
	}
	if cfg, _ := w.Current(); len(cfg.Candidates) != 2 {
		t.Errorf("the change was not applied: %+v", cfg)
	}

	write("candidates:\n  - {name: A, stash: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY}\n  - {name: A, stash: 5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y}\n") // duplicate name
	changed, err := w.Poll()
	if changed || err == nil || !strings.Contains(err.Error(), "keeping the last good config") {
		t.Fatalf("poll of a bad file = %v %v", changed, err)
	}
	cfg, err = w.Current()
	if len(cfg.Candidates) != 2 || cfg.Candidates[1].Name != "B" || err == nil || !strings.Contains(err.Error(), "unique") {
		t.Errorf("after a bad file: %+v %v, want the last good config and the error", cfg, err)
	}

	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Poll(); err == nil {
		t.Error("a vanished file raised no error")
	}
	write("candidates:\n  - {name: C, stash: 5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy}\n")
	if changed, err := w.Poll(); !changed || err != nil {
		t.Fatalf("poll after the fix = %v %v", changed, err)
	}
	if cfg, err := w.Current(); err != nil || cfg.Candidates[0].Name != "C" || w.Version() != 3 {
		t.Errorf("after the fix: %+v %v v%d", cfg, err, w.Version())
	}
	// Same bytes rewritten: nothing new to apply.
	write("candidates:\n  - {name: C, stash: 5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy}\n")
	if changed, err := w.Poll(); changed || err != nil {
		t.Errorf("rewrite of the same bytes = %v %v, want no change", changed, err)
	}
}

func TestWatcherRefusesABadStart(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "program.yaml")
	if err := os.WriteFile(p, []byte("nope: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewWatcher(p, time.Second); err == nil {
		t.Error("NewWatcher accepted a bad file: there is no last good config to keep")
	}
	if _, err := NewWatcher(p, 0); err == nil {
		t.Error("NewWatcher accepted a zero interval")
	}
}

// The first load has no last good config: its errors must not promise one,
// and must say the program cannot start and where the format is described.
func TestWatcherFirstLoadErrorsSayWhatToDo(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "absent.yaml")
	_, err := NewWatcher(missing, time.Second)
	if err == nil {
		t.Fatal("NewWatcher accepted a missing file")
	}
	msg := err.Error()
	for _, want := range []string{"program file " + missing + " is missing", "cannot start", "create it", "docs/polkadot.md", "--polkadot-candidates"} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing file: %q lacks %q", msg, want)
		}
	}
	for _, bad := range []string{"last good", "stat "} {
		if strings.Contains(msg, bad) {
			t.Errorf("missing file: %q says %q", msg, bad)
		}
	}

	invalid := filepath.Join(dir, "program.yaml")
	if err := os.WriteFile(invalid, []byte("nope: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = NewWatcher(invalid, time.Second)
	if err == nil {
		t.Fatal("NewWatcher accepted an invalid file")
	}
	msg = err.Error()
	for _, want := range []string{"program file " + invalid, "nope", "cannot start", "docs/polkadot.md"} {
		if !strings.Contains(msg, want) {
			t.Errorf("invalid file: %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "last good") {
		t.Errorf("invalid file: %q promises a last good config there is none of", msg)
	}
}

// Once a config is loaded, a file that vanishes says so by its path and
// that the last good config stays; it does not say the program cannot start.
func TestWatcherReloadOfAMissingFileKeepsTheLastGood(t *testing.T) {
	p := filepath.Join(t.TempDir(), "program.yaml")
	if err := os.WriteFile(p, []byte("candidates: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := NewWatcher(p, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	_, err = w.Poll()
	if err == nil {
		t.Fatal("a vanished file raised no error")
	}
	msg := err.Error()
	for _, want := range []string{"program file " + p + " is missing", "keeping the last good config"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "cannot start") || strings.Contains(msg, "stat ") {
		t.Errorf("%q: a re-load failure is not a start failure nor a bare stat error", msg)
	}
	if cfg, cerr := w.Current(); cfg == nil || cerr == nil || cerr.Error() != msg {
		t.Errorf("Current = %+v %v, want the last good config and the error", cfg, cerr)
	}
}

func TestWatcherRunStopsWithTheContext(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "program.yaml")
	if err := os.WriteFile(p, []byte("candidates: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := NewWatcher(p, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	cancel()
	<-done // a Run that ignored ctx would hang the test
}

// Addresses are SS58 with a valid checksum, refused with the candidate and
// the line otherwise; one account under two prefixes is one stash.
func TestParseRefusesBadAddresses(t *testing.T) {
	const alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
	alicePolkadot := "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5" // the same key, prefix 0
	broken := alice[:len(alice)-1] + "Z"                                // checksum mismatch
	for _, tc := range []struct {
		name, file string
		want       []string
	}{
		{"not an address", "candidates:\n  - name: Alice\n    stash: notanaddress\n", []string{"line 3", `candidate "Alice"`, `stash "notanaddress" is not an SS58 account address`}},
		{"bad checksum", "candidates:\n  - name: Alice\n    stash: " + broken + "\n", []string{"line 3", `candidate "Alice"`, "checksum"}},
		{"bad kusama stash", "candidates:\n  - name: Alice\n    stash: " + alice + "\n    kusama_stash: KSM1\n", []string{"line 4", "kusama_stash", `"KSM1"`}},
		{"bad nominator", "nomination:\n  nominators:\n    - account: 0xabc\n", []string{"line 3", `nominator account "0xabc"`}},
		{"same account, two prefixes", "candidates:\n  - {name: A, stash: " + alice + "}\n  - {name: B, stash: " + alicePolkadot + "}\n",
			[]string{"line 3", "listed once", "another network prefix"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.file))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// WithPrefix re-encodes the stashes and nominators for the chain, the
// Kusama stashes for Kusama.
func TestWithPrefixNormalisesAddresses(t *testing.T) {
	cfg, err := Parse([]byte(sampleFile)) // generic-prefix (42) addresses
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.WithPrefix(0)
	if got := p.Candidates[0].Stash; got != "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5" {
		t.Errorf("Alice's stash on Polkadot %s", got)
	}
	if got := p.Candidates[0].KusamaStash; got != "HNZata7iMYWmk5RvZRTiAsSDhV8366zq2YGb3tLH5Upf74F" {
		t.Errorf("Alice's Kusama stash %s, want Kusama's prefix kept", got)
	}
	if got := p.Nomination.Nominators[0].Account; got != "14Gjs1TD93gnwEBfDMHoCgsuf1s2TVKUP6Z1qKmAZnZ8cW5q" { // Charlie
		t.Errorf("the nominator on Polkadot %s", got)
	}
	if cfg.Candidates[0].Stash != "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY" {
		t.Error("WithPrefix changed the config it was called on")
	}
}

// A setting written as 0 (or "") is honoured where it means something —
// it is not taken for absent, as 1KV's `Number(cfg) || default` does —
// while absent settings still take the chain's defaults.
func TestZeroSettingsAreHonoured(t *testing.T) {
	const file = `candidates:
  - {name: Alice, stash: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY}
rules:
  client_grace: 0s
  connection_time: 0s
  online_max_offline: 0s
  offline_week_max: 0
  commission: 0
  unclaimed_era_threshold: 0
  kusama_min_rank: 0
  release_url: ""
  min_self_stake: "0"
  skip: []
score:
  weights: {client: 0, rank: 0}
  randomness: 0
`
	cfg, err := Parse([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	m := cfg.WithDefaults("polkadot")
	r := m.Rules
	if r.ClientGrace != 0 || r.ConnectionTime != 0 || r.OnlineMaxOffline != 0 || r.OfflineWeekMax != 0 || r.Commission != 0 ||
		r.UnclaimedEraThreshold != 0 || r.KusamaMinRank != 0 || r.ReleaseURL != "" || r.MinSelfStake != "0" || len(r.Skip) != 0 {
		t.Errorf("explicit zeros became defaults: %+v", r)
	}
	if m.Score.Weights[CompClient] != 0 || m.Score.Weights[CompRank] != 0 || *m.Score.Randomness != 0 || m.Score.Weights[CompInclusion] != 220 {
		t.Errorf("score %+v (randomness %v)", m.Score.Weights, *m.Score.Randomness)
	}
	// Absent keys still take the chain's defaults.
	if r.MaxPerIdentity != 2 || r.KusamaChain != "kusama" || m.Nomination.EraPeriod != 1 || m.Nomination.MaxTargets != 16 {
		t.Errorf("absent settings: %+v %+v", r, m.Nomination)
	}
	for _, k := range []string{"rules.client_grace", "rules.release_url", "score.weights.client"} {
		if !cfg.Written(k) {
			t.Errorf("%s not recorded as written", k)
		}
	}
	if cfg.Written("rules.max_per_identity") {
		t.Error("an absent key recorded as written")
	}

	// The same file without the keys: the defaults.
	d, err := Parse([]byte("candidates:\n  - {name: Alice, stash: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY}\n"))
	if err != nil {
		t.Fatal(err)
	}
	dr := d.WithDefaults("polkadot").Rules
	if dr.ClientGrace != 48*time.Hour || dr.ConnectionTime != 7*24*time.Hour || dr.OfflineWeekMax != 0.02 || dr.Commission != 0.05 ||
		dr.UnclaimedEraThreshold != 1 || dr.KusamaMinRank != 100 || dr.ReleaseURL == "" || len(dr.Skip) != 1 {
		t.Errorf("defaults: %+v", dr)
	}

	// Honoured end to end: with client_grace 0 a node behind a release is
	// invalid at once; with commission 0 any commission is too high.
	c := goodCandidate("Alice", "A")
	c.Telemetry.Version = "1.17.0-abc"
	env := polkadotEnv(c)
	env.Rules = r
	env.Release = Release{Version: "1.17.1", Published: ms(testNow.Add(-time.Minute))}
	if res := (clientRule{}).Check(c, env); res.Status != Invalid {
		t.Errorf("client_grace 0: %+v, want invalid at once", res)
	}
	c.Chain.Commission = events.Got[uint32](1, 1) // 0.0000001 %
	if res := (commissionRule{}).Check(c, env); res.Status != Invalid {
		t.Errorf("commission 0: %+v, want any commission invalid", res)
	}
}

// A zero written where it cannot mean anything is refused, naming the
// line, the key and what to write instead.
func TestZeroSettingsThatMeanNothingAreRefused(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"rules:\n  max_per_identity: 0\n", "line 2: rules.max_per_identity: 0 would make every candidate with an identity invalid; use at least 1"},
		{"nomination:\n  max_targets: 0\n", "line 2: nomination.max_targets: 0 would nominate no target; use at least 1"},
		{"nomination:\n  era_period: 0\n", "line 2: nomination.era_period: 0 eras between rounds is not a period; use at least 1"},
		{"rules:\n  min_self_stake: \"\"\n", `line 2: rules.min_self_stake: is empty; give a planck amount such as "50000000000000" ("0": no minimum)`},
		{"rules:\n  kusama_chain: \"\"\n", "line 2: rules.kusama_chain: is empty; give the chain's name on the Kusama instance"},
	} {
		_, err := Parse([]byte("candidates: []\n" + strings.Replace(tc.file, "line 2", "", 1)))
		want := strings.Replace(tc.want, "line 2", "line 3", 1) // the candidates line comes first
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", tc.file, err, want)
		}
	}
}
