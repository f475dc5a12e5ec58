package httpapi

import (
	"net/url"
	"testing"

	"github.com/valtrack/valtrack/internal/api"
)

func FuzzQueryParams(f *testing.F) {
	for _, s := range []string{
		"", "client=lighthouse&country=de&asn=AS24940&subnet=5&min_validators=2&handshaken=true&limit=10",
		"from=1700000000&to=2025-01-01T00:00:00Z", "window=7d", "window=1.5d", "window=90m", "cursor=abc",
		"subnet=64", "limit=0", "asn=as0", "from=-1", "window=1e309d", "window=NaNd", "history_limit=1000",
		"client=%00", "country=%C3%A9x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q := api.NewQuery(v)
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
		var h handlers
		if fl, err := h.peerFilter(q, "n"); check(err) {
			if fl.Limit < 1 || fl.Limit > maxLimit || len(fl.Cursor) > maxCursorLen || len(fl.Client) > maxClientLen ||
				fl.MinValidators < 0 || (fl.Subnet != nil && (*fl.Subnet < 0 || *fl.Subnet > 63)) ||
				(fl.CountryCode != "" && len(fl.CountryCode) != 2) ||
				(!fl.SeenFrom.IsZero() && !fl.SeenTo.IsZero() && fl.SeenFrom.After(fl.SeenTo)) {
				t.Fatalf("accepted an out-of-bounds filter: %+v", fl)
			}
		}
		if w, err := q.Window("window"); check(err) && (w <= 0 || w > api.MaxWindow) {
			t.Fatalf("accepted window %v", w)
		}
		if n, err := q.IntRange("history_limit", defaultHistory, 1, maxHistoryLimit); check(err) && (n < 1 || n > maxHistoryLimit) {
			t.Fatalf("accepted history_limit %d", n)
		}
	})
}
