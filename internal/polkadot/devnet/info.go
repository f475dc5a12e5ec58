package devnet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/valtrack/valtrack/internal/polkadot/program"
)

// File names in Options.Dir.
const (
	InfoFile         = "polkadot.json"
	CandidatesFile   = "candidates.yaml"
	TruthFile        = "truth.json"
	NominatorKeyFile = "nominator.key"
	ProxyKeyFile     = "nominator-proxy.key"
)

// Info is what polkadot.json holds: where the devnet's chain is and what
// was set up on it.
type Info struct {
	// Chain is valtrack's name for the chain (lower-case, subject-token
	// safe).
	Chain string `json:"chain"`
	// RPC is the WebSocket JSON-RPC; RPCHTTP the same port over HTTP.
	RPC     string `json:"rpc"`
	RPCHTTP string `json:"rpc_http"`
	// Candidates is the path of candidates.yaml, Truth of truth.json.
	Candidates string `json:"candidates"`
	Truth      string `json:"truth"`
	// Genesis is the genesis hash (0x4545…45: chopsticks' genesis mode).
	Genesis   string    `json:"genesis"`
	SS58      uint16    `json:"ss58"`
	EraEvery  string    `json:"era_every"`
	Nominator Nominator `json:"nominator"`
	// Sudo is the sudo key's dev URI (a public development key).
	Sudo string `json:"sudo"`
	// Telemetry is the devnet's telemetry feed (ws://…/feed), where the
	// candidates' nodes report; "" when it runs none.
	Telemetry string `json:"telemetry,omitempty"`
}

// Nominator is the programme nominator set up on chain: Account is bonded
// and has Proxy as a Staking proxy with a delay of ProxyDelay blocks.
// AccountKey and ProxyKey are key files (mode 0600) holding their dev
// URIs.
type Nominator struct {
	Account    string `json:"account"`
	AccountKey string `json:"account_key"`
	Proxy      string `json:"proxy"`
	ProxyKey   string `json:"proxy_key"`
	ProxyDelay uint32 `json:"proxy_delay"`
	// Bonded is the nominator's bond, planck.
	Bonded string `json:"bonded"`
}

// Truth is truth.json: each candidate's name and the rule type it is
// shaped to fail, or Valid ("valid on chain": telemetry rules are the
// feed's to decide).
type Truth map[string]string

// ReadInfo reads DIR/polkadot.json.
func ReadInfo(dir string) (Info, error) {
	var i Info
	p := filepath.Join(dir, InfoFile)
	b, err := os.ReadFile(p)
	if err != nil {
		return i, fmt.Errorf("read %s (is `valtrack devnet polkadot --dir %s` running?): %w", p, dir, err)
	}
	if err := json.Unmarshal(b, &i); err != nil {
		return i, fmt.Errorf("%s: %w", p, err)
	}
	if i.RPC == "" || i.Chain == "" {
		return i, fmt.Errorf("%s has no chain or rpc: rewrite it by restarting the devnet", p)
	}
	return i, nil
}

// ReadTruth reads DIR/truth.json.
func ReadTruth(dir string) (Truth, error) {
	p := filepath.Join(dir, TruthFile)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	var t Truth
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return t, nil
}

// ReadCandidates reads DIR/candidates.yaml strictly (unknown keys are
// errors), as the programme does.
func ReadCandidates(path string) (program.Config, error) {
	var c program.Config
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("read %s: %w", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// writeFileAtomic writes by rename so a reader never sees half a file.
func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'), 0o644)
}

// candidatesYAML renders the programme file: the program.Config fields,
// each candidate with a comment saying how it was shaped.
func candidatesYAML(cs []candidate, stash func(candidate) string, nom program.NominatorConfig, feed bool) []byte {
	var w strings.Builder
	w.WriteString("# Written by `valtrack devnet polkadot`: the shaped candidates of a westend-dev chopsticks\n")
	w.WriteString("# chain. Each comment says which rule the candidate is shaped to fail (truth.json has\n")
	w.WriteString("# the same). \"valid\" means valid on chain: telemetry rules are a feed's to decide.\n")
	w.WriteString("candidates:\n")
	for _, c := range cs {
		fmt.Fprintf(&w, "  # %s: %s\n", c.Expect, c.Why)
		fmt.Fprintf(&w, "  - name: %s\n    stash: %s\n", c.Name, stash(c))
	}
	w.WriteString("rules:\n")
	if feed {
		w.WriteString("  # The devnet's telemetry feed reports a node per candidate (polkadot.json's telemetry):\n")
		w.WriteString("  # all on this version, first seen when the devnet started — so the week of connection\n")
		w.WriteString("  # time 1KV asks for cannot have passed, and no release is fetched from the network.\n")
		fmt.Fprintf(&w, "  client_forced_version: %q\n", NodeVersion)
		w.WriteString("  # westend 9320's session keys have no BEEFY key at all, so BEEFY cannot be judged here.\n")
		w.WriteString("  skip: [CONNECTION_TIME, BEEFY]\n")
	} else {
		w.WriteString("  # Telemetry rules are not shaped on chain, and this devnet runs no feed: judge on chain only\n")
		w.WriteString("  # (and westend 9320's session keys have no BEEFY key at all)\n")
		w.WriteString("  skip: [ONLINE, CLIENT_UPGRADE, CONNECTION_TIME, ACCUMULATED_OFFLINE_TIME, PROVIDER, SANCTIONED_GEO_AREA, BEEFY]\n")
	}
	fmt.Fprintf(&w, "  commission: %s\n", strconv.FormatFloat(float64(RuleCommission)/1e9, 'f', -1, 64))
	fmt.Fprintf(&w, "  min_self_stake: %q\n", wnd(MinSelfStakeWND).String())
	fmt.Fprintf(&w, "  unclaimed_era_threshold: %d\n", UnclaimedThreshold)
	w.WriteString("  # one candidate per identity, so the Lark/Moss pair is over the limit\n")
	fmt.Fprintf(&w, "  max_per_identity: %d\n", MaxPerIdentity)
	w.WriteString("nomination:\n  era_period: 1\n  max_targets: 16\n  nominators:\n")
	w.WriteString("    # bonded //Nominator; the key is //NominatorProxy's, a Staking proxy with a delay\n")
	fmt.Fprintf(&w, "    - account: %s\n      key: %q\n      proxy: %v\n      proxy_delay: %d\n", nom.Account, nom.Key, nom.Proxy, nom.ProxyDelay)
	return []byte(w.String())
}
