package api

import (
	"crypto/sha256"
	"net/url"
	"strings"
	"testing"
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
		q := query{v}
		check := func(err error) bool {
			if err == nil {
				return true
			}
			ae, ok := asAPIError(err)
			if !ok || ae.status != 400 || ae.param == "" || ae.msg == "" {
				t.Fatalf("error %v is not a 400 naming a parameter", err)
			}
			return false
		}
		var s Server
		if fl, err := s.peerFilter(q, "n"); check(err) {
			if fl.Limit < 1 || fl.Limit > maxLimit || len(fl.Cursor) > maxCursorLen || len(fl.Client) > maxClientLen ||
				fl.MinValidators < 0 || (fl.Subnet != nil && (*fl.Subnet < 0 || *fl.Subnet > 63)) ||
				(fl.CountryCode != "" && len(fl.CountryCode) != 2) ||
				(!fl.SeenFrom.IsZero() && !fl.SeenTo.IsZero() && fl.SeenFrom.After(fl.SeenTo)) {
				t.Fatalf("accepted an out-of-bounds filter: %+v", fl)
			}
		}
		if w, err := q.window("window"); check(err) && (w <= 0 || w > maxWindow) {
			t.Fatalf("accepted window %v", w)
		}
		if n, err := q.intRange("history_limit", defaultHistory, 1, maxHistoryLimit); check(err) && (n < 1 || n > maxHistoryLimit) {
			t.Fatalf("accepted history_limit %d", n)
		}
	})
}

func FuzzParseKeys(f *testing.F) {
	f.Add([]byte("# c\nalice:0123456789abcdef\nbare-key-0123456789\n"))
	f.Add([]byte(":\n::::\nx:short\n\r\n"))
	f.Add([]byte(strings.Repeat("k", 300) + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, skipped := parseKeys(data)
		if len(keys) > maxKeys || skipped < 0 {
			t.Fatalf("%d keys, %d skipped", len(keys), skipped)
		}
		for _, k := range keys {
			if k.name == "" || k.hash == ([sha256.Size]byte{}) {
				t.Fatalf("key without a name or hash: %+v", k)
			}
		}
		again, _ := parseKeys(data)
		if len(again) != len(keys) {
			t.Fatal("parsing is not deterministic")
		}
	})
}

func FuzzHeaders(f *testing.F) {
	for _, s := range []string{"gzip", "deflate, gzip;q=0.5", "gzip;q=0", "*;q=0.000", "203.0.113.9, 127.0.0.2", "::1", ",,,", ";;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		acceptsGzip(h)
		if a, ok := forwardedFor([]string{h}); ok && !a.IsValid() {
			t.Fatalf("forwardedFor(%q) accepted an invalid address", h)
		}
		remoteAddr(h)
	})
}
