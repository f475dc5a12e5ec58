package httpapi

import (
	"strings"
	"testing"
)

func TestBadParametersNameTheParameter(t *testing.T) {
	f := newFixture(t, sqliteOpen, fixtureOptions{})
	p := prefix + testChain
	for _, tc := range []struct{ path, param string }{
		{p + "/heights/-1", "height"},
		{p + "/heights/0", "height"},
		{p + "/heights/ten", "height"},
		{p + "/heights/1.5", "height"},
		{p + "/heights/99999999999999999999", "height"},
		{p + "/missed?from=12&to=11", "from"},
		{p + "/missed?from=-1", "from"},
		{p + "/missed?to=0", "to"},
		{p + "/missed?to=x", "to"},
		{p + "/missed?from=1&to=100001", "from"},
		{p + "/missed?limit=0", "limit"},
		{p + "/missed?limit=1001", "limit"},
		{p + "/missed?limit=many", "limit"},
		{p + "/missed?validator=" + strings.Repeat("a", 129), "validator"},
		{p + "/missed?validator=a%00b", "validator"},
		{p + "/missed?a=%zz", "query"},
		{p + "/validators/not-hex", "address"},
		{p + "/validators/" + strings.Repeat("A", 129), "address"},
		{p + "/validators/AB%20CD", "address"},
		{p + "/validators?all=maybe", "all"},
		{p + "/alerts?all=2", "all"},
		{p + "/grid?blocks=0", "blocks"},
		{p + "/grid?blocks=501", "blocks"},
		{p + "/grid?blocks=-5", "blocks"},
	} {
		e := f.wantError(tc.path, 400, tc.param)
		if !strings.Contains(e.Error, tc.param) {
			t.Errorf("GET %s: error %q does not mention %s", tc.path, e.Error, tc.param)
		}
	}
	// The messages say what is allowed.
	for path, want := range map[string]string{
		p + "/heights/-1":               "height must be a block height, an integer from 1 to 9223372036854775807",
		p + "/missed?limit=1001":        "limit must be an integer from 1 to 1000",
		p + "/missed?from=12&to=11":     "from (12) must not be above to (11)",
		p + "/grid?blocks=501":          "blocks must be an integer from 1 to 500",
		p + "/missed?from=1&to=1e9":     "to must be a block height, an integer from 1 to 9223372036854775807",
		p + "/validators/zz":            "address must be a validator's consensus address in hex (40 hex characters, e.g. 6A2F…), at most 128 characters",
		p + "/missed?from=1&to=1000000": "from..to spans more than 100000 heights; ask for a narrower range",
	} {
		param := strings.SplitN(strings.SplitN(want, " ", 2)[0], "..", 2)[0]
		if e := f.wantError(path, 400, param); e.Error != want {
			t.Errorf("GET %s: %q, want %q", path, e.Error, want)
		}
	}
}

func TestNotFound(t *testing.T) {
	dialects(t, fixtureOptions{}, func(t *testing.T, f *fixture) {
		p := prefix + testChain
		for _, tc := range []struct{ path, param string }{
			{prefix + "nosuchchain/validators", "chain"},
			{prefix + "nosuchchain/validators/" + vAlpha, "chain"},
			{prefix + "nosuchchain/heights/1", "chain"},
			{prefix + "nosuchchain/missed", "chain"},
			{prefix + "nosuchchain/alerts", "chain"},
			{prefix + "nosuchchain/consensus", "chain"},
			{prefix + "nosuchchain/grid", "chain"},
			{prefix + "bad%20name/grid", "chain"},
			{prefix + strings.Repeat("c", 100) + "/grid", "chain"},
			{p + "/heights/999", "height"},
			{p + "/validators/" + addr('F'), "address"},
			{p + "/missed?validator=nobody", "validator"},
			{p + "/missed?validator=" + addr('F'), "validator"},
			{prefix + testChain + "/nosuchroute", ""},
		} {
			f.wantError(tc.path, 404, tc.param)
		}
	})
}
