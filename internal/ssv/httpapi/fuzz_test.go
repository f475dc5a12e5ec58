package httpapi

import (
	"net/url"
	"strings"
	"testing"

	"github.com/valtrack/valtrack/internal/api"
)

// FuzzParams: whatever query string a client sends, the REST and node
// parsers return bounded values or a 400 naming the parameter, and never
// panic.
func FuzzParams(f *testing.F) {
	for _, s := range []string{
		"", "owner=0x1111111111111111111111111111111111111111&operator=1,2&cluster=4,3,2,1&status=active&from=1&to=9&limit=5",
		"pubkeys=" + strings.Repeat("aa", 48), "cluster=1,1", "from=9&to=1", "limit=0", "owners=x", "clusters=1,2,3,4+5,6,7,8",
		"subclusters=1", "indices=1", "operator=" + strings.Repeat("1,", 200), "to=18446744073709551616",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q := api.NewQuery(v)
		check := func(err error) {
			if err == nil {
				return
			}
			ae, ok := api.AsError(err)
			if !ok || ae.Status != 400 || ae.Parameter == "" || ae.Message == "" {
				t.Fatalf("error %v is not a 400 naming a parameter", err)
			}
		}
		fl, err := validatorFilter(q)
		check(err)
		if err == nil {
			if fl.Limit < 1 || fl.Limit > maxLimit || len(fl.Owners) > maxListItems || len(fl.Operators) > maxListItems || len(fl.PublicKeys) > maxListItems {
				t.Fatalf("unbounded filter %+v", fl)
			}
			if fl.ToIndex != 0 && fl.FromIndex > fl.ToIndex {
				t.Fatalf("from above to: %+v", fl)
			}
			for _, c := range fl.Clusters {
				if len(c) == 0 || len(c) > maxOperators {
					t.Fatalf("cluster %v", c)
				}
			}
		}
		nf, err := nodeFilter(q)
		check(err)
		if err == nil && (len(nf.Clusters) > maxListItems || len(nf.Subclusters) > maxListItems || !nf.NotRemoved) {
			t.Fatalf("unbounded node filter")
		}
	})
}
