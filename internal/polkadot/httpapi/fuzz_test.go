package httpapi

import (
	"net/url"
	"testing"

	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/polkadot/ss58"
	"github.com/valtrack/valtrack/internal/polkadot/state"
)

// FuzzParams: whatever address and query string a client sends, the
// parsers return a bounded value or a 400 naming the parameter, and never
// panic.
func FuzzParams(f *testing.F) {
	for _, s := range [][2]string{{alice, "limit=5"}, {"0x12", "limit=0"}, {"", "limit=99999999999999999999"}, {"5" + alice, "pending=maybe&active=1"}, {"a\x00b", "limit=-1"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, addr, raw string) {
		check := func(err error, param string) {
			if err == nil {
				return
			}
			ae, ok := api.AsError(err)
			if !ok || ae.Status != 400 || ae.Parameter != param || ae.Message == "" {
				t.Fatalf("error %v is not a 400 naming %s", err, param)
			}
		}
		key, prefix, err := parseAddress(addr)
		check(err, "address")
		if err == nil {
			// An accepted address names a key that round-trips.
			back, p2, derr := ss58.Decode(ss58.Encode(key, prefix))
			if derr != nil || back != key || p2 != prefix {
				t.Fatalf("address %q accepted as key %x prefix %d, which does not round-trip", addr, key, prefix)
			}
		}
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q := api.NewQuery(v)
		n, err := listLimit(q)
		check(err, "limit")
		if err == nil && (n < 1 || n > state.MaxLimit) {
			t.Fatalf("limit %d out of bounds", n)
		}
		_, err = q.Bool("pending")
		check(err, "pending")
	})
}
