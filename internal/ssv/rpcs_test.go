package ssv

import (
	"strings"
	"testing"
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
	} {
		if _, err := parseRPCs(tc.values, tc.nets); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: %v, want %q", tc.values, tc.nets, err, tc.want)
		}
	}
}
