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
