package safe

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestString(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"Lighthouse/v7.0.0", 0, "Lighthouse/v7.0.0"},
		{"Light\x00house", 0, "Lighthouse"},
		{"a\x01b\nc\td\x7fe", 0, "abcde"},
		{"bad\xffutf8", 0, "bad\uFFFDutf8"},
		{"c1\u0085x", 0, "c1x"},
		{"héllo", 2, "h"}, // é is two bytes: it does not fit after h
		{"héllo", 3, "hé"},
		{strings.Repeat("x", 10), 4, "xxxx"},
		{"日本語", 0, "日本語"},
	} {
		if got := String(c.in, c.max); got != c.want {
			t.Errorf("String(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

func FuzzString(f *testing.F) {
	f.Add("Lighthouse/v7\x00", 16)
	f.Add("\xff\xfe\u0085", 0)
	f.Add(strings.Repeat("é", 40), 7)
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max > 1<<20 || max < -1 {
			max = 0
		}
		got := String(s, max)
		if !utf8.ValidString(got) {
			t.Fatalf("String(%q, %d) = %q: invalid UTF-8", s, max, got)
		}
		if max > 0 && len(got) > max {
			t.Fatalf("String(%q, %d) = %q: %d bytes", s, max, got, len(got))
		}
		for _, r := range got {
			if unicode.IsControl(r) {
				t.Fatalf("String(%q, %d) = %q: control character %U", s, max, got, r)
			}
		}
		if String(got, max) != got {
			t.Fatalf("String is not idempotent on %q", got)
		}
	})
}
