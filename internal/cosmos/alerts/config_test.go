package alerts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The example of the documentation parses into what it says.
func TestLoadConfigExample(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "pd.key")
	if err := os.WriteFile(keyFile, []byte("routing-key-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OPS_HOOK_URL", "https://hooks.example/abc")
	path := filepath.Join(dir, "alerts.yaml")
	if err := os.WriteFile(path, []byte(`
channels:
  - name: ops-hook
    type: webhook
    url_env: OPS_HOOK_URL
    min_severity: warning
  - {name: pd, type: pagerduty, routing_key_file: `+keyFile+`, min_severity: critical}
  - {name: tg, type: telegram, token: "123:abc", chat_id: "-100"}
rules:
  consecutive_missed: {warning: 3, critical: 10, for: 1m, chains: [osmosis-1]}
  window_missed_share: {warning: 0.05, critical: 0.2, min_heights: 500}
  time_to_jail: {warning: 1h, critical: 10m}
  chain_stalled: {warning: 1m, critical: 5m}
  endpoints_down: {threshold: all, severity: critical}
validators: ["*"]
for: 0s
resolve_after: 30s
reminder: 1h
`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Channels) != 3 || c.Channels[0].MinSeverity != Warning || c.Channels[1].MinSeverity != Critical || c.Channels[2].MinSeverity != Info {
		t.Fatalf("channels %+v", c.Channels)
	}
	cm := c.Rules[RuleConsecutiveMissed]
	if cm.Thresholds[Warning] != 3 || cm.Thresholds[Critical] != 10 || cm.For == nil || *cm.For != time.Minute || cm.Chains[0] != "osmosis-1" {
		t.Errorf("consecutive_missed %+v", cm)
	}
	if th := c.Rules[RuleTimeToJail].Thresholds; th[Warning] != 3600 || th[Critical] != 600 {
		t.Errorf("time_to_jail %v", th)
	}
	if m := c.Rules[RuleWindowMissedShare].MinHeights; m != 500 {
		t.Errorf("window_missed_share min_heights %d, want 500", m)
	}
	if th := c.Rules[RuleEndpointsDown].Thresholds; len(th) != 1 || th[Critical] != ThresholdAll {
		t.Errorf("endpoints_down %v", th)
	}
	if c.ResolveAfter != 30*time.Second || c.Reminder != time.Hour || c.For != 0 {
		t.Errorf("durations %s %s %s", c.ResolveAfter, c.Reminder, c.For)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], `"tg"`) || strings.Contains(c.Warnings[0], "123:abc") {
		t.Errorf("warnings %q, want one about tg's literal token, without it", c.Warnings)
	}
	if s, err := c.Channels[1].secret(); err != nil || s != "routing-key-123" {
		t.Errorf("routing key from file: %q, %v", s, err)
	}
}

// Without a file: no channels, every rule on with its defaults.
func TestDefaultConfig(t *testing.T) {
	c, err := ParseConfig(nil, "empty.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Channels) != 0 || c.Validators[0] != "*" || c.ResolveAfter != DefaultResolveAfter || c.Reminder != DefaultReminder {
		t.Fatalf("defaults %+v", c)
	}
	for _, name := range RuleNames() {
		if r := c.Rules[name]; !r.Enabled || len(r.Thresholds) == 0 {
			t.Errorf("rule %s: %+v", name, r)
		}
	}
	if th := c.Rules[RuleChainStalled].Thresholds; th[Warning] != 60 || th[Critical] != 300 {
		t.Errorf("chain_stalled defaults %v", th)
	}
	if m := c.Rules[RuleWindowMissedShare].MinHeights; m != DefaultWindowMinHeights {
		t.Errorf("window_missed_share min_heights %d, want the default %d", m, DefaultWindowMinHeights)
	}
}

// Bad files fail with the line and what to do; secrets never appear.
func TestConfigErrors(t *testing.T) {
	t.Setenv("SET_URL", "https://hooks.example/s3cr3t")
	t.Setenv("BAD_URL", "s3cr3t-not-a-url")
	os.Unsetenv("UNSET_URL_VAR")
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown type", "channels:\n  - {name: x, type: email, url_env: SET_URL}\n", `line 2: channel "x": unknown type "email"`},
		{"missing secret env", "channels:\n  - name: x\n    type: webhook\n    url_env: UNSET_URL_VAR\n", `line 2: channel "x": url_env names UNSET_URL_VAR, which is not set`},
		{"bad severity", "channels:\n  - name: x\n    type: webhook\n    url_env: SET_URL\n    min_severity: urgent\n", `line 5: channel "x": min_severity: unknown severity "urgent"`},
		{"unknown top-level key", "for: 1s\nresolve_afer: 30s\n", `line 2: unknown key "resolve_afer" in the top level`},
		{"unknown channel key", "channels:\n  - {name: x, type: webhook, url_env: SET_URL, severity: info}\n", `line 2: unknown key "severity" in a channel`},
		{"unknown rule", "rules:\n  missed_blocks: {warning: 1}\n", `line 2: unknown key "missed_blocks" in rules`},
		{"unknown rule key", "rules:\n  chain_stalled:\n    warn: 1m\n", `line 3: unknown key "warn" in rule chain_stalled`},
		{"bad threshold", "rules:\n  window_missed_share: {warning: 5}\n", `line 2: rule window_missed_share, warning threshold: "5" is not a share of the window`},
		{"bad one-level threshold", "rules:\n  chain_stalled: {threshold: soon}\n", `line 2: rule chain_stalled, threshold: "soon" is not a positive duration`},
		{"bad min_heights", "rules:\n  window_missed_share: {min_heights: -1}\n", `line 2: rule window_missed_share: min_heights "-1" is not a whole number`},
		{"min_heights elsewhere", "rules:\n  consecutive_missed: {min_heights: 5}\n", `unknown key "min_heights"`},
		{"thresholds out of order", "rules:\n  time_to_jail: {warning: 10m, critical: 1h}\n", "the critical threshold is less severe than the warning one"},
		{"bad duration", "reminder: soon\n", `line 1: reminder "soon" is not a duration`},
		{"two secrets", "channels:\n  - {name: x, type: webhook, url_env: SET_URL, url: 'https://a.example/s3cr3t'}\n", "give exactly one of url_env, url_file or url"},
		{"secret not a URL", "channels:\n  - {name: x, type: slack, url_env: BAD_URL}\n", `channel "x": the url is not an http(s) URL`},
		{"telegram without chat", "channels:\n  - {name: x, type: telegram, token_env: SET_URL}\n", "needs chat_id"},
		{"duplicate channel", "channels:\n  - {name: x, type: webhook, url_env: SET_URL}\n  - {name: x, type: webhook, url_env: SET_URL}\n", `line 3: channel "x" is defined twice`},
		{"syntax", "channels: [\n", "fix the YAML syntax"},
		{"severity without threshold", "rules:\n  chain_stalled: {warning: 1m, severity: critical}\n", "line 2: rule chain_stalled: severity goes with threshold"},
		{"threshold and levels", "rules:\n  chain_stalled: {warning: 1m, threshold: 2m}\n", "not both"},
		{"bad rule severity", "rules:\n  chain_stalled: {threshold: 2m, severity: page}\n", `line 2: rule chain_stalled: unknown severity "page"`},
		{"validators on a chain rule", "rules:\n  chain_stalled: {warning: 1m, validators: [a]}\n", "line 2: rule chain_stalled is about a chain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig([]byte(tc.yaml), "bad.yaml")
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "alerts config bad.yaml: ") {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q shows a secret", err)
			}
			// The file is described in its own document, not by --help.
			if !strings.HasSuffix(err.Error(), "; the keys and their values are described in docs/cosmos-alerts.md") || strings.Contains(err.Error(), "--help") {
				t.Errorf("error %q does not point to docs/cosmos-alerts.md", err)
			}
		})
	}
}

// A missing file is named as missing, with what to do and where the file
// is described; so is a file that does not parse, read from disk.
func TestLoadConfigErrorsPointToTheDoc(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	_, err := LoadConfig(missing)
	want := "alerts config " + missing + " does not exist: check the --alerts path (docs/cosmos-alerts.md describes the file and has an example)"
	if err == nil || err.Error() != want {
		t.Errorf("missing file: %v\nwant %s", err, want)
	}
	bad := filepath.Join(t.TempDir(), "alerts.yaml")
	if err := os.WriteFile(bad, []byte("rules:\n  chain_stalled:\n    warn: 1m\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadConfig(bad)
	want = "alerts config " + bad + `: line 3: unknown key "warn" in rule chain_stalled; known keys: chains, critical, enabled, for, info, severity, threshold, validators, warning; the keys and their values are described in docs/cosmos-alerts.md`
	if err == nil || err.Error() != want {
		t.Errorf("bad file: %v\nwant %s", err, want)
	}
}
