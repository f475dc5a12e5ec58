package tui

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/charmbracelet/lipgloss"
)

// FuzzDecodeConsensus: whatever an API answers, decoding does not panic,
// and what it accepts renders within the terminal with no control
// characters of its own (the only escapes are the styles').
func FuzzDecodeConsensus(f *testing.F) {
	f.Add([]byte(fixtureJSON(3)))
	f.Add([]byte(`{"validators":[{"moniker":"\u001b[31mred","recent":"SSSSMMMMvvvvcccc????PPPPxyz"}],"prevote_share":"x"}`))
	f.Add([]byte(`{"height":-1,"round":-5,"total_power":-10,"validators":[{"voting_power":-3}]}`))
	f.Add([]byte(`{"step":"` + strings.Repeat("é", 300) + `","chain":"\u0000"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := DecodeConsensus(body)
		if err != nil {
			return
		}
		for _, v := range c.Validators {
			if len(v.Recent) > RecentLen || !utf8.ValidString(v.Moniker) || strings.ContainsRune(v.Moniker, '\x1b') {
				t.Fatalf("validator not normalised: %+v", v)
			}
		}
		s := state(c)
		for _, size := range [][2]int{{80, 24}, {30, 6}} {
			out := Render(s, Styles{}, size[0], size[1])
			lines := strings.Split(out, "\n")
			if len(lines) > size[1] {
				t.Fatalf("%d lines at %dx%d", len(lines), size[0], size[1])
			}
			for _, ln := range lines {
				if lipgloss.Width(ln) > size[0] || strings.ContainsAny(ln, "\x1b\r\x00") {
					t.Fatalf("line %q at %dx%d", ln, size[0], size[1])
				}
			}
		}
	})
}

// FuzzDecodeChains: any answer of the chains route decodes or fails
// without a panic, and names are printable.
func FuzzDecodeChains(f *testing.F) {
	f.Add([]byte(`["devnet-1"]`))
	f.Add([]byte(`{"items":[{"name":"a"},{"chains":[[["deep"]]]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		names, err := DecodeChains(body)
		if err != nil {
			return
		}
		for _, n := range names {
			if n == "" || strings.ContainsAny(n, "\x1b\x00\n") {
				t.Fatalf("name %q", n)
			}
		}
	})
}
