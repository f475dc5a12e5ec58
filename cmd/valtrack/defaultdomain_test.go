package main

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/bus"
)

// TestRunSelectsTheDefaultDomainOnlyWithoutDomainFlags: `valtrack run`
// with no domain flag runs Ethereum's default network (README: "with none
// given: ethereum's default network"); with another domain's flag alone,
// that domain only.
func TestRunSelectsTheDefaultDomainOnlyWithoutDomainFlags(t *testing.T) {
	ds := domains()
	for _, tc := range []struct {
		args []string
		want string
		dflt bool
	}{
		{nil, "ethereum", true},
		{[]string{"--cosmos", "testchain=http://127.0.0.1:1"}, "cosmos", false},
		{[]string{"--ssv-dir", "/nonexistent"}, "ssv", false},
		{[]string{"--polkadot", "westend=ws://127.0.0.1:1"}, "polkadot", false},
		{[]string{"--eth", "sepolia", "--cosmos", "testchain=http://127.0.0.1:1"}, "ethereum,cosmos", false},
	} {
		cmd := runCommand(ds)
		var got registry
		var dflt bool
		cmd.Action = func(_ context.Context, c *cli.Command) error { got, dflt = selected(ds, c); return nil }
		if err := cmd.Run(context.Background(), append([]string{"run"}, tc.args...)); err != nil {
			t.Fatal(err)
		}
		if names := strings.Join(got.names(), ","); names != tc.want || dflt != tc.dflt {
			t.Errorf("run %v selects %s (default %v), want %s (default %v)", tc.args, names, dflt, tc.want, tc.dflt)
		}
	}
}

var consumerRunning = regexp.MustCompile(`msg="consumer running" networks=(\S*) analyzers=(\S*)`)

// TestConsumerOfAnotherDomainRunsNoEthereumDefault: `valtrack consumer`
// given only --cosmos runs no Ethereum network — no estimate analyzer, no
// word of mainnet in its log — while a consumer given no domain flag keeps
// Ethereum's default, mainnet. Both read a bus of the test's own on
// loopback.
func TestConsumerOfAnotherDomainRunsNoEthereumDefault(t *testing.T) {
	natsAddr := freeAddr(t)
	b, err := bus.Open(context.Background(), bus.Config{DataDir: t.TempDir(), ListenAddr: natsAddr}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, tc := range []struct {
		name         string
		args         []string
		nets, wantAs []string
		notInLog     []string
	}{
		{"cosmos only", []string{"--cosmos", "testchain=http://127.0.0.1:1"},
			[]string{"cosmos/testchain"}, []string{"cosmos/"}, []string{"mainnet", "ethereum/estimate", "ethereum/locate", "ethereum/prune"}},
		{"no domain flag", nil,
			[]string{"ethereum/mainnet"}, []string{"ethereum/estimate/mainnet", "ethereum/locate", "ethereum/prune", "cosmos/"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"consumer", "--nats-url", "nats://" + natsAddr, "--data-dir", t.TempDir(),
				"--http", freeAddr(t), "--progress-every", "0", "--log-level", "info"}, tc.args...)
			c := startChild(t, args...)
			c.waitOutput(t, `msg="consumer running"`, 90*time.Second)
			m := consumerRunning.FindStringSubmatch(c.output())
			if m == nil {
				t.Fatalf("no consumer running line:\n%s", c.output())
			}
			nets, as := m[1], m[2]
			if nets != strings.Join(tc.nets, ",") {
				t.Errorf("networks=%s, want %s", nets, strings.Join(tc.nets, ","))
			}
			for _, a := range tc.wantAs {
				if !strings.Contains(as, a) {
					t.Errorf("analyzers=%s lack %s", as, a)
				}
			}
			if err := c.cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
			if code := c.waitExit(t, 30*time.Second); code != 0 {
				t.Errorf("exit code %d:\n%s", code, c.output())
			}
			out := c.output()
			for _, s := range tc.notInLog {
				if strings.Contains(out, s) {
					t.Errorf("the log mentions %q:\n%s", s, out)
				}
			}
		})
	}
}
