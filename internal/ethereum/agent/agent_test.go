package agent

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseKnownAgents(t *testing.T) {
	cases := []struct {
		agent string
		want  Client
	}{
		{"Lighthouse/v7.0.1-e42406d/x86_64-linux", Client{Name: Lighthouse, Version: "v7.0.1-e42406d", OS: "x86_64-linux"}},
		{"lighthouse/v5.3.0-d6ba8c3/aarch64-linux", Client{Name: Lighthouse, Version: "v5.3.0-d6ba8c3", OS: "aarch64-linux"}},
		{"Prysm/v6.0.4/0cc2ab6b3e8e1fd4c0e3b3a9a2f1b5c6d7e8f901", Client{Name: Prysm, Version: "v6.0.4"}},
		{"teku/teku/v25.4.1/linux-x86_64/-eclipseadoptium-openjdk64bitservervm-java-21", Client{Name: Teku, Version: "v25.4.1", OS: "linux-x86_64"}},
		{"nimbus", Client{Name: Nimbus}},
		{"nimbus-eth2/v25.5.0-1ab2c3d", Client{Name: Nimbus, Version: "v25.5.0-1ab2c3d"}},
		{"lodestar/v1.29.0/abc123", Client{Name: Lodestar, Version: "v1.29.0"}},
		{"js-libp2p/0.46.21 UserAgent=v20.11.0", Client{Name: Lodestar}},
		{"Grandine/1.1.0-b08e6ca/x86_64-linux", Client{Name: Grandine, Version: "1.1.0-b08e6ca", OS: "x86_64-linux"}},
		{"erigon/caplin", Client{Name: Erigon}},
		{"erigon/caplin/v3.0.2/linux-amd64", Client{Name: Erigon, Version: "v3.0.2", OS: "linux-amd64"}},
		{"Caplin", Client{Name: Erigon}},
		{"CAPLIN/v1.0.0", Client{Name: Erigon, Version: "v1.0.0"}},
		{"  Lighthouse/v7.0.1/x86_64-linux\n", Client{Name: Lighthouse, Version: "v7.0.1", OS: "x86_64-linux"}},
	}
	for _, tc := range cases {
		got := Parse(tc.agent)
		tc.want.Raw = strings.TrimSpace(tc.agent)
		if got != tc.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tc.agent, got, tc.want)
		}
	}
}

func TestParseUnknownKeepsRawAgent(t *testing.T) {
	for _, agent := range []string{"rust-libp2p/0.53.2", "go-libp2p/0.36", "my crawler", ""} {
		got := Parse(agent)
		if got.Name != agent || got.Raw != agent || got.Version != "" || got.OS != "" {
			t.Errorf("Parse(%q) = %+v, want only Name and Raw set to the agent", agent, got)
		}
	}
}

func TestParseBoundsAndCleansHostileInput(t *testing.T) {
	long := "Lighthouse/v1.0.0/" + strings.Repeat("é", 10000)
	got := Parse(long)
	if len(got.Raw) > MaxLen || !utf8.ValidString(got.Raw) || got.Name != Lighthouse || got.Version != "v1.0.0" {
		t.Fatalf("long agent: %+v (raw %d bytes)", got, len(got.Raw))
	}
	junk := "\xff\xfe\x00\x1bgarbage\x7f/\xc3"
	got = Parse(junk)
	if got.Name != "garbage/" || got.Raw != "garbage/" {
		t.Fatalf("junk agent: %+v", got)
	}
	huge := strings.Repeat("x", 1<<20)
	if got := Parse(huge); len(got.Name) != MaxLen || got.Name != got.Raw {
		t.Fatalf("huge unknown agent: name of %d bytes", len(got.Name))
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"Lighthouse/v7.0.1-e42406d/x86_64-linux", "teku/teku/v25.4.1/linux-x86_64/x", "nimbus", "erigon/caplin", "", "\xff/\x00", "//////"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := Parse(s)
		for _, v := range []string{c.Name, c.Version, c.OS, c.Raw} {
			if len(v) > MaxLen || !utf8.ValidString(v) {
				t.Fatalf("Parse(%q) returned unbounded or invalid %q", s, v)
			}
		}
		if c.Raw != Parse(c.Raw).Raw {
			t.Fatalf("cleaning is not idempotent for %q", s)
		}
	})
}
