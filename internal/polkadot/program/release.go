package program

import (
	"regexp"
	"strconv"
	"strings"
)

// Polkadot SDK releases are tagged two ways: polkadot-vX.Y.Z (the node
// version, which nodes report to telemetry as "X.Y.Z-<commit>") and, since
// July 2024, polkadot-stableYYMM or polkadot-stableYYMM-N (the stable line
// of that year and month, and its N-th patch release). Each stable release
// is also tagged in the old pattern, and its notes name that tag ("… will
// be available under polkadot-v1.21.7"); the stable lines map to node
// minor versions quarterly: stable2407 is 1.15, stable2409 1.16, stable2412
// 1.17, stable2503 1.18, and so on, one minor a quarter. The patch numbers
// do not map one to one (stable2512-8 is v1.21.7), so a stable name alone
// stands for its line's first version, X.Y.0: a lower bound, which never
// calls an up-to-date node outdated.

var (
	vTagRE      = regexp.MustCompile(`(?i)polkadot[- ]v(\d+\.\d+\.\d+)`)
	stableTagRE = regexp.MustCompile(`(?i)(?:^|[^a-z0-9])stable(\d{2})(\d{2})(?:-(\d+))?(?:$|[^0-9])`)
)

// firstStableYYMM is the first stable line (stable2407 = 1.15).
const firstStableYYMM = 2407

// stableLine is the node version of stable line YYMM (X.Y.0), false for a
// line that cannot exist (before stable2407, a month outside 1–12).
func stableLine(yy, mm int) (version, bool) {
	if mm < 1 || mm > 12 || yy*100+mm < firstStableYYMM || yy > 99 {
		return version{}, false
	}
	// One minor a quarter from stable2503 (1.18); the 2024 lines (07, 09,
	// 12) fall on the same count with the month's quarter.
	q := (mm - 3) / 3
	if mm < 3 {
		q = -1 // January, February: still the previous year's last quarter
	}
	return version{1, 18 + 4*(yy-25) + q, 0}, true
}

// parseStable reads a stable release name (stableYYMM or stableYYMM-N,
// with or without the polkadot- prefix) as its line's version.
func parseStable(s string) (version, bool) {
	m := stableTagRE.FindStringSubmatch(s)
	if m == nil {
		return version{}, false
	}
	yy, _ := strconv.Atoi(m[1])
	mm, _ := strconv.Atoi(m[2])
	return stableLine(yy, mm)
}

// ReleaseVersion is the node version a release stands for, read from its
// tag, name and notes: polkadot-vX.Y.Z as is; a stable tag through the
// polkadot-vX.Y.Z its notes name in the same line, else as its line's
// X.Y.0; a bare version (1.17.1, v1.17.1) as is. "" when none is found.
func ReleaseVersion(tag, name, body string) string {
	for _, s := range []string{tag, name} {
		if m := vTagRE.FindStringSubmatch(s); m != nil {
			return m[1]
		}
	}
	for _, s := range []string{tag, name} {
		line, ok := parseStable(s)
		if !ok {
			continue
		}
		// The notes name the old-pattern tag of this very release; another
		// line's tag (a comparison, a link) is not it.
		for _, m := range vTagRE.FindAllStringSubmatch(body, 64) {
			if v, ok := parseVersion(m[1]); ok && v[0] == line[0] && v[1] == line[1] {
				return v.String()
			}
		}
		return line.String()
	}
	for _, s := range []string{tag, name} {
		if v, ok := parseVersion(s); ok {
			return v.String()
		}
	}
	return ""
}

// parseRequired reads a required version given in any release form —
// 1.17.1, v1.17.1, polkadot-v1.17.1, polkadot-stable2412 or stable2412-1
// (a stable name as its line's X.Y.0) — for client_forced_version and the
// release's version.
func parseRequired(s string) (version, bool) {
	s = strings.TrimSpace(s)
	if m := vTagRE.FindStringSubmatch(s); m != nil {
		return parseVersion(m[1])
	}
	if v, ok := parseStable(s); ok {
		return v, true
	}
	return parseVersion(s)
}
