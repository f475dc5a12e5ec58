package domain

import (
	"strings"
	"testing"
)

// A URL in an error shows its scheme and host, never its user info, path
// or query; a value without a scheme shows the host:port it names (so the
// user sees what was wrong), or nothing when it does not look like one.
func TestShowURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:26657":              "http://127.0.0.1:26657",
		"http://127.0.0.1:26657/":             "http://127.0.0.1:26657",
		"https://u:SECRET@127.0.0.1:1/x":      "https://127.0.0.1:1/…",
		"https://u:SECRET@127.0.0.1:1":        "https://127.0.0.1:1/…",
		"wss://127.0.0.1:9944/SECRET":         "wss://127.0.0.1:9944/…",
		"http://127.0.0.1:1?apikey=SECRET":    "http://127.0.0.1:1/…",
		"127.0.0.1:26657":                     "127.0.0.1:26657",
		"localhost:1317/SECRET":               "localhost:1317",
		"u:SECRET@127.0.0.1:1":                "127.0.0.1:1",
		"node.local?key=SECRET":               "node.local",
		"[::1]:26657":                         "[::1]:26657",
		"SECRET":                              "…",
		"user:SECRET":                         "…",
		"a b?SECRET":                          "…",
		"":                                    "…",
		strings.Repeat("a.", 60) + "SECRET:1": "…",
	} {
		if got := ShowURL(in); got != want {
			t.Errorf("ShowURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBadURL(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:26657":           `"127.0.0.1:26657" has no scheme: give http://127.0.0.1:26657`,
		"u:SECRET@127.0.0.1:1/x":    `"127.0.0.1:1" has no scheme: give http://127.0.0.1:1`,
		"SECRET":                    "the value is not a URL (no scheme): give http://HOST:PORT",
		"ftp://u:SECRET@127.0.0.1/": `"ftp://127.0.0.1/…" does not start with http:// or https://`,
	} {
		if got := BadURL(in, "http://", "https://"); got != want {
			t.Errorf("BadURL(%q) = %q, want %q", in, got, want)
		}
	}
	if got := BadURL("ftp://x", "ws://", "wss://", "http://"); got != `"ftp://x" does not start with ws://, wss:// or http://` {
		t.Errorf("three schemes: %q", got)
	}
}
