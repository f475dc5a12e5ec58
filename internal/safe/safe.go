// Package safe makes text that came from the network fit to store and show:
// valid UTF-8, no NUL or other control characters, bounded length. Every
// domain applies it where it decodes events, before anything reaches a
// store: PostgreSQL refuses a NUL in text and invalid UTF-8, and one such
// string must not hold up the events behind it.
package safe

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// String returns s as valid UTF-8 (invalid bytes become U+FFFD), without
// control characters (C0, DEL, C1: NUL included), and at most max bytes
// long, cut at a rune boundary. max <= 0 means no bound.
func String(s string, max int) string {
	if clean(s, max) {
		return s
	}
	var b strings.Builder
	b.Grow(min(len(s), boundOr(max, len(s))))
	for _, r := range strings.ToValidUTF8(s, string(utf8.RuneError)) {
		if unicode.IsControl(r) {
			continue
		}
		if max > 0 && b.Len()+utf8.RuneLen(r) > max {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}

func boundOr(max, n int) int {
	if max > 0 {
		return max
	}
	return n
}

// clean is the fast path: most strings need no change and no allocation.
func clean(s string, max int) bool {
	if max > 0 && len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			return false
		}
		if c >= utf8.RuneSelf {
			return cleanRunes(s[i:])
		}
	}
	return true
}

// cleanRunes checks the rest of a string that is not plain ASCII.
func cleanRunes(s string) bool {
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		if (r == utf8.RuneError && n == 1) || unicode.IsControl(r) {
			return false
		}
		s = s[n:]
	}
	return true
}
