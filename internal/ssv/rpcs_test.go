package ssv

import (
	"context"
	"strings"
	"testing"

	"github.com/urfave/cli/v3"
	"github.com/valtrack/valtrack/internal/domain"
)

func TestParseRPCs(t *testing.T) {
	got, err := parseRPCs([]string{"http://127.0.0.1:8545", "ws://127.0.0.1:8546"}, []string{"hoodi"})
	if err != nil || len(got["hoodi"]) != 2 {
		t.Errorf("one network: %v %v", got, err)
	}
	got, err = parseRPCs([]string{"mainnet=https://a.example", "https://b.example", "hoodi=ws://c.example"}, []string{"mainnet", "hoodi"})
	if err != nil || len(got["mainnet"]) != 2 || len(got["hoodi"]) != 1 {
		t.Errorf("named: %v %v", got, err)
	}
	for _, tc := range []struct {
		values, nets []string
		want         string
	}{
		{[]string{"https://a.example"}, []string{"mainnet", "hoodi"}, "with several --ssv networks"},
		{[]string{"sepolia=https://a.example"}, []string{"mainnet"}, "no --ssv network of that name"},
		{[]string{"mainnet=ftp://a.example"}, []string{"mainnet"}, "starts with http://"},
		{[]string{"127.0.0.1:8545"}, []string{"mainnet"}, `"127.0.0.1:8545" has no scheme: give http://127.0.0.1:8545`},
	} {
		if _, err := parseRPCs(tc.values, tc.nets); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: %v, want %q", tc.values, tc.nets, err, tc.want)
		}
	}
}

func TestParseBeacons(t *testing.T) {
	one := []netConfig{{Name: "hoodi"}}
	two := []netConfig{{Name: "mainnet"}, {Name: "hoodi"}}
	got, err := parseBeacons([]string{"http://127.0.0.1:5052"}, one)
	if err != nil || got["hoodi"] != "http://127.0.0.1:5052" {
		t.Errorf("one network: %v %v", got, err)
	}
	got, err = parseBeacons([]string{"mainnet=http://127.0.0.1:5052", "hoodi=http://127.0.0.1:5053"}, two)
	if err != nil || got["mainnet"] != "http://127.0.0.1:5052" || got["hoodi"] != "http://127.0.0.1:5053" {
		t.Errorf("named: %v %v", got, err)
	}
	if got, err := parseBeacons(nil, two); err != nil || len(got) != 0 {
		t.Errorf("none: %v %v", got, err)
	}
	for _, tc := range []struct {
		values []string
		nets   []netConfig
		want   string
	}{
		{[]string{"http://127.0.0.1:5052"}, two, "with several SSV networks"},
		{[]string{"sepolia=http://127.0.0.1:5052"}, one, "no SSV network of that name"},
		{[]string{"http://127.0.0.1:5052", "http://127.0.0.1:5053"}, one, "give one beacon node URL, not 2"},
	} {
		if _, err := parseBeacons(tc.values, tc.nets); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.values, err, tc.want)
		}
	}
}

// The networks to sync from the flags: --ssv-contract and --ssv-from-block
// name one network's contract, so they come together and with exactly one
// --ssv; a built-in network keeps its chain id when its address is
// overridden; an address that is not one is refused by the flag itself.
func TestNetworkFlags(t *testing.T) {
	const addr = "0x00000000000000000000000000000000000000A1"
	run := func(args ...string) (*instance, error) {
		in := &instance{chainIDs: map[string]uint64{}}
		var nerr error
		cmd := &cli.Command{Name: "t", Flags: Domain{}.Flags(domain.RoleRun), Action: func(_ context.Context, c *cli.Command) error {
			in.env = domain.Env{Cmd: c}
			nerr = in.networks(true)
			return nil
		}}
		if err := cmd.Run(context.Background(), append([]string{"t"}, args...)); err != nil {
			return nil, err
		}
		return in, nerr
	}
	in, err := run("--ssv", "mine", "--ssv-contract", addr, "--ssv-from-block", "0", "--eth-rpc", "http://127.0.0.1:8545")
	if err != nil || len(in.nets) != 1 || in.nets[0].Contract.Hex() != addr || in.nets[0].FromBlock != 0 {
		t.Fatalf("a custom network from block 0: %+v %v", in, err)
	}
	in, err = run("--ssv", "hoodi", "--ssv-contract", addr, "--ssv-from-block", "5", "--eth-rpc", "http://127.0.0.1:8545")
	if err != nil || in.nets[0].Contract.Hex() != addr || in.nets[0].FromBlock != 5 || in.chainIDs["hoodi"] != 560048 {
		t.Fatalf("hoodi at another address: %+v %v", in, err)
	}
	in, err = run("--ssv", "hoodi", "--ssv", "mainnet", "--eth-rpc", "hoodi=http://127.0.0.1:8545", "--eth-rpc", "mainnet=http://127.0.0.1:8546")
	if err != nil || len(in.nets) != 2 || in.nets[1].FromBlock != 17507487 {
		t.Fatalf("two built-in networks: %+v %v", in, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--ssv", "mine", "--ssv-contract", addr, "--eth-rpc", "http://127.0.0.1:8545"}, "go together"},
		{[]string{"--ssv", "mine", "--ssv-from-block", "3", "--eth-rpc", "http://127.0.0.1:8545"}, "go together"},
		{[]string{"--ssv", "mine", "--eth-rpc", "http://127.0.0.1:8545"}, "not a built-in network"},
		{[]string{"--ssv", "mainnet", "--ssv", "mine", "--ssv-contract", addr, "--ssv-from-block", "1", "--eth-rpc", "mainnet=http://127.0.0.1:1", "--eth-rpc", "mine=http://127.0.0.1:2"}, "2 --ssv networks"},
		{[]string{"--ssv", "mine", "--ssv-contract", "0xZZ", "--ssv-from-block", "1"}, "20-byte hex address"},
		{[]string{"--ssv", "hoodi"}, "give its execution-layer RPC"},
	} {
		_, err := run(tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
}
