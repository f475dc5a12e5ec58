package httpapi

import (
	"net/url"
	"strings"
	"testing"

	"github.com/valtrack/valtrack/internal/api"
)

// FuzzParams: whatever a client sends, the parsers return bounded values or
// a 400 naming the parameter, and never panic.
func FuzzParams(f *testing.F) {
	for _, s := range []string{
		"", "validator=charlie&from=10&to=12&limit=5", "from=12&to=11", "from=-1", "to=0", "limit=1001", "limit=0",
		"from=9223372036854775807", "to=9223372036854775807", "from=9223372036854775806&to=9223372036854775807",
		"from=1&to=100001", "validator=%00", "validator=" + strings.Repeat("a", 200), "blocks=500", "blocks=501",
		"all=true", "all=maybe", "from=+5", "to= 7", "limit=1e3",
	} {
		f.Add(s, "CCCC", "11")
	}
	f.Add("", "not-hex", "-1")
	f.Add("", strings.Repeat("a", 129), "99999999999999999999")
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, raw, address, height string) {
		check := func(err error) bool {
			if err == nil {
				return true
			}
			ae, ok := api.AsError(err)
			if !ok || ae.Status != 400 || ae.Parameter == "" || ae.Message == "" {
				t.Fatalf("error %v is not a 400 naming a parameter", err)
			}
			return false
		}
		if a, err := parseAddress(address); check(err) && (a == "" || len(a) > 128 || strings.ToUpper(a) != a || !addressRE.MatchString(a)) {
			t.Fatalf("accepted address %q as %q", address, a)
		}
		if h, err := parseHeight("height", height); check(err) && h < 1 {
			t.Fatalf("accepted height %q as %d", height, h)
		}
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q := api.NewQuery(v)
		if p, err := parseMissed(q); check(err) {
			if p.Limit < 1 || p.Limit > maxMissed || len(p.Validator) > maxValidatorLen || p.From < 0 || p.To < 0 ||
				(p.From != 0 && p.To != 0 && (p.From > p.To || p.To-p.From >= maxMissedSpan)) {
				t.Fatalf("accepted out-of-bounds /missed parameters %+v", p)
			}
			for _, latest := range []int64{0, 1, 20, p.From, p.To, maxHeight} {
				from, to := p.span(latest)
				if from < 1 || (to >= from && to-from >= maxMissedSpan) {
					t.Fatalf("%+v at latest %d spans %d..%d", p, latest, from, to)
				}
			}
		}
		if n, err := q.IntRange("blocks", defaultGridBlocks, 1, maxGridBlocks); check(err) && (n < 1 || n > maxGridBlocks) {
			t.Fatalf("accepted blocks %d", n)
		}
		check2 := func(_ bool, err error) { check(err) }
		check2(q.Bool("all"))
	})
}
