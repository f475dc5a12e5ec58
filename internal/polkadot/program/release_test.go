package program

import "testing"

// Both release forms — polkadot-vX.Y.Z and polkadot-stableYYMM[-N] — give
// the node version they stand for: the v tag as is; a stable tag the v tag
// its notes name in the same line, else its line's X.Y.0.
func TestReleaseVersionOfBothTagForms(t *testing.T) {
	for _, c := range []struct{ tag, name, body, want string }{
		{"polkadot-v1.17.1", "Polkadot v1.17.1", "", "1.17.1"},
		{"", "Polkadot v1.16.2", "", "1.16.2"},
		{"polkadot-stable2412-1", "Polkadot stable2412-1", "The tag … matching the old pattern will be available under polkadot-v1.17.1.", "1.17.1"},
		{"polkadot-stable2512-8", "Polkadot stable2512-8", "This release contains the changes from polkadot-stable2512-6 to polkadot-stable2512-8. … available under polkadot-v1.21.7.", "1.21.7"},
		{"polkadot-stable2603-6", "Polkadot stable2603-6", "available under polkadot-v1.22.6.", "1.22.6"},
		// The notes name another line's tag only: not this release's.
		{"polkadot-stable2512-2", "Polkadot stable2512-2", "Upgrading from polkadot-v1.20.3 …", "1.21.0"},
		// A stable line alone: its first version.
		{"polkadot-stable2407", "Polkadot stable2407", "", "1.15.0"},
		{"polkadot-stable2409-2", "", "", "1.16.0"},
		{"polkadot-stable2412", "", "", "1.17.0"},
		{"polkadot-stable2503", "", "", "1.18.0"},
		{"polkadot-stable2506-1", "", "", "1.19.0"},
		{"polkadot-stable2509", "", "", "1.20.0"},
		{"polkadot-stable2512", "", "", "1.21.0"},
		{"polkadot-stable2603", "", "", "1.22.0"},
		{"", "Polkadot stable2412-4", "", "1.17.0"},
		{"stable2412-1", "", "", "1.17.0"},
		{"v1.17.1", "", "", "1.17.1"},
		{"1.16.0", "", "", "1.16.0"},
		// Not releases: before the first stable line, no such month, other forms.
		{"polkadot-stable2312", "", "", ""},
		{"polkadot-stable2413", "", "", ""},
		{"polkadot-stable24121", "", "", ""},
		{"polkadot-parachain-v1.2.3", "", "", ""},
		{"nightly", "Nightly build", "", ""},
		{"", "", "", ""},
	} {
		if got := ReleaseVersion(c.tag, c.name, c.body); got != c.want {
			t.Errorf("ReleaseVersion(%q, %q, %q) = %q, want %q", c.tag, c.name, c.body, got, c.want)
		}
	}
}

// A required version (client_forced_version, the release's) may be
// written in any release form; node versions carry a commit after a dash.
func TestRequiredAndNodeVersions(t *testing.T) {
	for _, c := range []struct {
		required, node string
		ok             bool // the node meets the requirement
	}{
		{"1.17.1", "1.17.1-8a6c4d0e1", true},
		{"1.17.1", "1.17.0-8a6c4d0e1", false},
		{"polkadot-v1.17.1", "1.17.2-8a6c4d0e1", true},
		{"polkadot-stable2412", "1.17.0-8a6c4d0e1", true},
		{"polkadot-stable2412-1", "1.16.9-8a6c4d0e1", false},
		{"stable2503", "1.18.0", true},
		{"stable2503", "1.17.99-x", false},
		{"v1.20.0", "1.21.0-x", true},
	} {
		want, ok := parseRequired(c.required)
		if !ok {
			t.Fatalf("required %q does not parse", c.required)
		}
		runs, ok := parseVersion(c.node)
		if !ok {
			t.Fatalf("node version %q does not parse", c.node)
		}
		if got := compareVersion(runs, want) >= 0; got != c.ok {
			t.Errorf("node %s against %s (%s): meets %v, want %v", c.node, c.required, want, got, c.ok)
		}
	}
	for _, bad := range []string{"", "stable", "polkadot-stable2312", "latest", "1.x"} {
		if v, ok := parseRequired(bad); ok {
			t.Errorf("parseRequired(%q) = %s, want no version", bad, v)
		}
	}
}
