package api

import (
	"crypto/sha256"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

func FuzzQueryParams(f *testing.F) {
	for _, s := range []string{
		"", "asn=AS24940&b=true&n=10&s=lighthouse", "from=1700000000&to=2025-01-01T00:00:00Z", "window=7d",
		"window=1.5d", "window=90m", "n=0", "asn=as0", "from=-1", "window=1e309d", "window=NaNd", "s=%00", "s=%C3%A9x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q := NewQuery(v)
		check := func(err error) bool {
			if err == nil {
				return true
			}
			ae, ok := AsError(err)
			if !ok || ae.Status != 400 || ae.Parameter == "" || ae.Message == "" {
				t.Fatalf("error %v is not a 400 naming a parameter", err)
			}
			return false
		}
		if w, err := q.Window("window"); check(err) && (w <= 0 || w > MaxWindow) {
			t.Fatalf("accepted window %v", w)
		}
		if n, err := q.IntRange("n", 5, 1, 10); check(err) && (n < 1 || n > 10) {
			t.Fatalf("accepted n %d", n)
		}
		if n, err := q.NonNegInt("n"); check(err) && n < 0 {
			t.Fatalf("accepted n %d", n)
		}
		if s, err := q.Str("s", 64); check(err) && len(s) > 64 {
			t.Fatalf("accepted s of %d bytes", len(s))
		}
		if from, to, err := q.TimeRange(); check(err) && !from.IsZero() && !to.IsZero() && from.After(to) {
			t.Fatalf("accepted from %v after to %v", from, to)
		}
		_, err = q.ASN("asn")
		check(err)
		_, err = q.Bool("b")
		check(err)
	})
}

func FuzzParseKeys(f *testing.F) {
	f.Add([]byte("# c\nalice:0123456789abcdef\nbare-key-0123456789\n"))
	f.Add([]byte(":\n::::\nx:short\n\r\n"))
	f.Add([]byte(strings.Repeat("k", 300) + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, skipped := parseKeys(data)
		if len(keys) > maxKeys {
			t.Fatalf("%d keys, more than %d", len(keys), maxKeys)
		}
		// A reason is one of the fixed texts: nothing of the line (a
		// mistyped key) reaches it, and so the log.
		reasons := map[string]bool{}
		for _, key := range []string{"", "k", strings.Repeat("k", maxKeyLen+1), "kkkkkkkk\x00", "kkkkkkkk"} {
			reasons[keyProblem(key, maxKeys)] = true
			reasons[keyProblem(key, 0)] = true
		}
		last := 0
		for _, sl := range skipped {
			if sl.line <= last || !reasons[sl.why] || sl.why == "" {
				t.Fatalf("skipped line %+v after line %d", sl, last)
			}
			last = sl.line
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
		// Only a gzip or * coding can turn compression on.
		if l := strings.ToLower(h); acceptsGzip(h) && !strings.Contains(l, "gzip") && !strings.Contains(l, "*") {
			t.Fatalf("acceptsGzip(%q) without gzip or *", h)
		}
		if a, ok := forwardedFor([]string{h}); ok && !a.IsValid() {
			t.Fatalf("forwardedFor(%q) accepted an invalid address", h)
		}
		// An address that parsed is the one the text names, with or without a port.
		if a := remoteAddr(h); a.IsValid() {
			if remoteAddr(a.String()) != a || remoteAddr(netip.AddrPortFrom(a, 443).String()) != a {
				t.Fatalf("remoteAddr(%q) = %v, which does not read back", h, a)
			}
		}
	})
}
