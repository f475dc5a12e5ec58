package telemetry

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/valtrack/valtrack/internal/polkadot/events"
)

// How a candidate was matched to a telemetry node.
const (
	MatchExact      = "exact"
	MatchNormalized = "normalized"
)

// maxDistanceRunes bounds the edit distance computation (quadratic) on
// hostile names; node names are at most 64 characters in practice.
const maxDistanceRunes = 128

// Normalize folds a node name for tolerant matching: case-insensitive
// (Unicode simple folding, so "ALICE", "alice" and "Alice" agree), leading
// and trailing white space trimmed, inner runs of white space collapsed to
// one space, and invisible format and control characters (zero-width
// space, BOM …) dropped. Invalid UTF-8 becomes U+FFFD. No compatibility
// normalization (NFKC) is done: that needs tables the standard library
// does not have.
func Normalize(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	space := false
	for _, r := range name {
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case unicode.Is(unicode.Cf, r) || unicode.IsControl(r):
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		// Upper then lower maps the odd ones (ſ, K the Kelvin sign, ﬀ
		// aside) onto their plain lower-case letter.
		b.WriteRune(unicode.ToLower(unicode.ToUpper(r)))
	}
	return b.String()
}

// Match finds the telemetry node of a candidate by its telemetry name:
// the exact name first, then the normalized one. When several nodes
// match, the online one wins, then the most recently seen. how is
// MatchExact, MatchNormalized or "" (no match); note says what was
// matched, or on no match which telemetry name is closest, for the
// candidate's operator to fix a typo. node points into nodes.
func Match(candidateName string, nodes []events.Telemetry) (node *events.Telemetry, how string, note string) {
	if strings.TrimSpace(candidateName) == "" {
		return nil, "", "the candidate has no telemetry name: set it to the name the node reports (--name)"
	}
	if i := best(nodes, func(n *events.Telemetry) bool { return n.Name == candidateName }); i >= 0 {
		return &nodes[i], MatchExact, fmt.Sprintf("telemetry node %q", short(nodes[i].Name))
	}
	want := Normalize(candidateName)
	if i := best(nodes, func(n *events.Telemetry) bool { return Normalize(n.Name) == want }); i >= 0 {
		return &nodes[i], MatchNormalized, fmt.Sprintf("telemetry node %q matched %q ignoring case and spacing", short(nodes[i].Name), short(candidateName))
	}
	if len(nodes) == 0 {
		return nil, "", fmt.Sprintf("no telemetry node named %q (the feed reports no nodes)", short(candidateName))
	}
	closest, bestD := "", -1
	wr := clipRunes(want)
	for i := range nodes {
		d := distance(wr, clipRunes(Normalize(nodes[i].Name)))
		if bestD < 0 || d < bestD || (d == bestD && nodes[i].Name < closest) {
			closest, bestD = nodes[i].Name, d
		}
	}
	return nil, "", fmt.Sprintf("no telemetry node named %q (closest: %q)", short(candidateName), short(closest))
}

// best is the index of the preferred node among those ok accepts, -1 none.
func best(nodes []events.Telemetry, ok func(*events.Telemetry) bool) int {
	bi := -1
	for i := range nodes {
		n := &nodes[i]
		if !ok(n) {
			continue
		}
		if bi < 0 || better(n, &nodes[bi]) {
			bi = i
		}
	}
	return bi
}

func better(a, b *events.Telemetry) bool {
	if a.Online != b.Online {
		return a.Online
	}
	if a.SeenAt != b.SeenAt {
		return a.SeenAt > b.SeenAt
	}
	return a.At > b.At
}

// short bounds a name quoted in a note (names come from the feed).
func short(s string) string { return clip(s, 128) }

func clipRunes(s string) []rune {
	r := []rune(s)
	if len(r) > maxDistanceRunes {
		r = r[:maxDistanceRunes]
	}
	return r
}

// distance is the Levenshtein edit distance of a and b.
func distance(a, b []rune) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
