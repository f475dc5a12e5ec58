// Package agent identifies the consensus client behind a libp2p identify
// agent version string ("Lighthouse/v7.0.1-e42406d/x86_64-linux").
package agent

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Client names Parse recognises.
const (
	Lighthouse = "Lighthouse"
	Prysm      = "Prysm"
	Teku       = "Teku"
	Nimbus     = "Nimbus"
	Lodestar   = "Lodestar"
	Grandine   = "Grandine"
	Erigon     = "Erigon" // its consensus layer, Caplin
)

// MaxLen bounds every string Parse returns; agents come from the network.
const MaxLen = 256

// Client is what an agent string says about the software behind a peer.
type Client struct {
	// Name is one of the constants above, or the (cleaned, bounded) raw agent
	// when the client is unknown.
	Name    string
	Version string // as the client writes it, e.g. "v7.0.1-e42406d"; may be empty
	OS      string // platform when the agent names one, e.g. "x86_64-linux"
	Raw     string // the cleaned, bounded agent
}

func clientName(first string) string {
	f := strings.ToLower(first)
	switch {
	case strings.HasPrefix(f, "lighthouse"):
		return Lighthouse
	case strings.HasPrefix(f, "prysm"):
		return Prysm
	case strings.HasPrefix(f, "teku"):
		return Teku
	case strings.HasPrefix(f, "nimbus"):
		return Nimbus
	case strings.HasPrefix(f, "lodestar"), strings.HasPrefix(f, "js-libp2p"):
		// Lodestar is the only consensus client on js-libp2p; older releases
		// sent the library's agent instead of their own.
		return Lodestar
	case strings.HasPrefix(f, "grandine"):
		return Grandine
	case strings.HasPrefix(f, "erigon"), strings.HasPrefix(f, "caplin"):
		return Erigon
	}
	return ""
}

// Parse identifies agent. It never fails: an unknown agent yields Name equal
// to the cleaned agent and no version.
func Parse(agent string) Client {
	raw := clean(agent)
	c := Client{Raw: raw}
	parts := strings.Split(raw, "/")
	c.Name = clientName(parts[0])
	if c.Name == "" {
		c.Name = raw
		return c
	}
	if c.Name == Lodestar && strings.HasPrefix(strings.ToLower(parts[0]), "js-libp2p") {
		return c // the version there is the library's, not Lodestar's
	}
	// The version is the first segment after the name that looks like one;
	// Teku repeats its name ("teku/teku/v25.4.1/...").
	for i := 1; i < len(parts); i++ {
		if !isVersion(parts[i]) {
			continue
		}
		c.Version = parts[i]
		if i+1 < len(parts) && isPlatform(parts[i+1]) {
			c.OS = parts[i+1]
		}
		break
	}
	return c
}

// clean trims, drops invalid UTF-8 and control characters, and bounds the
// agent to MaxLen bytes on a rune boundary.
func clean(s string) string {
	if len(s) > 4*MaxLen {
		s = s[:4*MaxLen] // drop most of a huge string before any work
	}
	s = strings.ToValidUTF8(s, "")
	s = strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	for len(s) > MaxLen {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return strings.TrimSpace(s)
}

// isVersion accepts "v1.2.3", "1.1.0-b08e6ca" and "v25.5.0-abcdef": an
// optional v then a digit.
func isVersion(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "v"), "V")
	return s != "" && s[0] >= '0' && s[0] <= '9'
}

// isPlatform tells an OS/arch segment from a commit hash or build tag.
func isPlatform(s string) bool {
	l := strings.ToLower(s)
	for _, k := range []string{"linux", "darwin", "macos", "windows", "freebsd", "openbsd", "x86_64", "amd64", "aarch64", "arm64"} {
		if strings.Contains(l, k) {
			return true
		}
	}
	return false
}
