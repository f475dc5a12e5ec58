package polkadot

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/domain"
)

// parse runs a command with the domain's run flags and returns what
// chains() reads from them.
func parse(t *testing.T, args ...string) ([]*chainConfig, error) {
	t.Helper()
	var out []*chainConfig
	var cerr error
	cmd := &cli.Command{Name: "run", Flags: Domain{}.Flags(domain.RoleRun), Action: func(_ context.Context, c *cli.Command) error {
		out, cerr = chains(c)
		return nil
	}}
	if err := cmd.Run(context.Background(), append([]string{"run"}, args...)); err != nil {
		return nil, err
	}
	return out, cerr
}

func TestChainFlags(t *testing.T) {
	file := filepath.Join(t.TempDir(), "program.yaml")
	if err := os.WriteFile(file, []byte("candidates: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cs, err := parse(t, "--polkadot", "kusama=wss://a.example,wss://b.example", "--polkadot", "polkadot=ws://127.0.0.1:9944",
		"--polkadot-people", "polkadot=wss://people.example", "--polkadot-telemetry", "polkadot=wss://feed.example/feed",
		"--polkadot-candidates", "polkadot="+file)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Name != "kusama" || len(cs[0].Relay) != 2 || cs[1].Name != "polkadot" {
		t.Fatalf("chains %+v", cs)
	}
	p := cs[1]
	if len(p.People) != 1 || p.Telemetry != "wss://feed.example/feed" || p.Candidates != file || cs[0].Candidates != "" {
		t.Errorf("polkadot %+v", p)
	}
	// With one chain the file needs no name.
	cs, err = parse(t, "--polkadot", "westend=ws://127.0.0.1:9944", "--polkadot-candidates", file)
	if err != nil || len(cs) != 1 || cs[0].Candidates != file {
		t.Errorf("unnamed file: %+v %v", cs, err)
	}
	badFile := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(badFile, []byte("candidates:\n  - name: a\n    stash: nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--polkadot", "Polkadot=ws://127.0.0.1:1"}, "lower-case"},
		{[]string{"--polkadot", "polkadot=ftp://x"}, "starts with ws://"},
		{[]string{"--polkadot", "polkadot=127.0.0.1:9944"}, `"127.0.0.1:9944" has no scheme: give ws://127.0.0.1:9944`},
		{[]string{"--polkadot", "polkadot=ws://127.0.0.1:1", "--polkadot-people", "kusama=ws://127.0.0.1:2"}, "no --polkadot chain of that name"},
		{[]string{"--polkadot", "polkadot=ws://127.0.0.1:1", "--polkadot-candidates", "polkadot=/does/not/exist.yaml"},
			"program file /does/not/exist.yaml is missing; the polkadot program cannot start without it"},
		// Read at start as the program reads it: a bad line is refused before anything opens.
		{[]string{"--polkadot", "polkadot=ws://127.0.0.1:1", "--polkadot-candidates", "polkadot=" + badFile},
			`line 3: candidates[0].stash: candidate "a": stash "nope" is not an SS58 account address`},
		{[]string{"--polkadot", "polkadot=ws://127.0.0.1:1", "--polkadot-poll", "10ms"}, "at least"},
		{[]string{"--polkadot-dir", t.TempDir()}, "valtrack devnet polkadot"},
	} {
		_, err := parse(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one saying %q", tc.args, err, tc.want)
		}
	}
}

// TestNominationsGoToTheStakingChain: with --polkadot-staking (staking on
// Asset Hub) nominations and their proxy announcements are sent there, not
// to the relay chain, whose staking pallet no longer takes them.
func TestNominationsGoToTheStakingChain(t *testing.T) {
	cs, err := parse(t, "--polkadot", "polkadot=ws://127.0.0.1:9944", "--polkadot-staking", "polkadot=ws://127.0.0.1:9945,ws://127.0.0.1:9946",
		"--polkadot", "westend=ws://127.0.0.1:9947")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cs[0].txURLs(), " "); got != "ws://127.0.0.1:9945 ws://127.0.0.1:9946" {
		t.Errorf("polkadot sends to %s, want the staking chain's URLs", got)
	}
	if got := strings.Join(cs[1].txURLs(), " "); got != "ws://127.0.0.1:9947" {
		t.Errorf("westend (no staking chain) sends to %s, want its relay", got)
	}
}
