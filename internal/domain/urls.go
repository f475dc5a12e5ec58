package domain

import (
	"fmt"
	"strings"
)

// ShowURL is a URL as an error or log line may print it: its scheme and
// host only (user info, path and query may carry a key or password), with
// "/…" when something was left out. A value without "://" is shown as the
// host[:port] it names when it looks like one (user info and anything from
// the first / ? or # dropped), else not at all ("…").
func ShowURL(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		if h, ok := bareHost(s); ok {
			return h
		}
		return "…"
	}
	host, tail := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host, tail = rest[:i], rest[i:]
	}
	if i := strings.LastIndex(host, "@"); i >= 0 {
		host, tail = host[i+1:], "…"
	}
	if tail != "" && tail != "/" {
		return scheme + "://" + host + "/…"
	}
	return scheme + "://" + host
}

// BadURL says why s is not a URL with one of schemes (each like
// "http://"), showing of it only what ShowURL shows: a host:port without a
// scheme gets the URL to give instead.
func BadURL(s string, schemes ...string) string {
	want := strings.Join(schemes, ", ")
	if i := strings.LastIndex(want, ", "); i >= 0 && len(schemes) > 1 {
		want = want[:i] + " or " + want[i+2:]
	}
	if strings.Contains(s, "://") {
		return fmt.Sprintf("%q does not start with %s", ShowURL(s), want)
	}
	if h, ok := bareHost(s); ok {
		return fmt.Sprintf("%q has no scheme: give %s%s", h, schemes[0], h)
	}
	return fmt.Sprintf("the value is not a URL (no scheme): give %sHOST:PORT", schemes[0])
}

// bareHost is the host[:port] a value without a scheme names, if it looks
// like one: a name or address with a dot or a numeric port, or localhost.
// A bare word is not shown (it may be a token given by mistake).
func bareHost(s string) (string, bool) {
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndex(s, "@"); i >= 0 {
		s = s[i+1:]
	}
	if s == "" || len(s) > 100 {
		return "", false
	}
	host, port := s, ""
	if i := strings.LastIndex(s, ":"); i >= 0 && !strings.HasSuffix(s, "]") {
		host, port = s[:i], s[i+1:]
		if port == "" || strings.Trim(port, "0123456789") != "" {
			return "", false
		}
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" || strings.Trim(strings.ToLower(host), "abcdefghijklmnopqrstuvwxyz0123456789.-:_") != "" {
		return "", false
	}
	if port == "" && !strings.Contains(host, ".") && host != "localhost" {
		return "", false
	}
	return s, true
}
