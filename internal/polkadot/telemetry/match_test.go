package telemetry

import (
	"strings"
	"testing"

	"github.com/valtrack/valtrack/internal/polkadot/events"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"  Alice   Node  ":      "alice node",
		"ALICE\tnode\n":         "alice node",
		"Ålice":                 "ålice",
		"ÅLICE":                 "ålice",
		"\u212Aelvin":           "kelvin", // the Kelvin sign folds to k
		"zero\u200bwidth":       "zerowidth",
		"\ufeffBOM":             "bom",
		"bad\xffutf8":           "bad\ufffdutf8",
		"ΣΊΣΥΦΟΣ":               "σίσυφοσ",
		"\u00a0nbsp\u00a0space": "nbsp space",
		"":                      "",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMatchExactFirst(t *testing.T) {
	nodes := []events.Telemetry{{Name: "alice"}, {Name: "Alice"}}
	n, how, note := Match("Alice", nodes)
	if n != &nodes[1] || how != MatchExact || !strings.Contains(note, `"Alice"`) {
		t.Errorf("got %v %q %q", n, how, note)
	}
}

func TestMatchNormalized(t *testing.T) {
	nodes := []events.Telemetry{{Name: "bob"}, {Name: " ALICE  Validator "}}
	n, how, note := Match("alice validator", nodes)
	if n != &nodes[1] || how != MatchNormalized || !strings.Contains(note, "ignoring case") {
		t.Errorf("got %v %q %q", n, how, note)
	}
}

func TestMatchPrefersOnlineThenRecent(t *testing.T) {
	nodes := []events.Telemetry{
		{Name: "alice", Online: false, Observer: events.Observer{SeenAt: 900}},
		{Name: "alice", Online: true, Observer: events.Observer{SeenAt: 100}},
		{Name: "alice", Online: true, Observer: events.Observer{SeenAt: 200}},
	}
	if n, _, _ := Match("alice", nodes); n != &nodes[2] {
		t.Errorf("matched %+v, want the online one seen last", n)
	}
	nodes[1].Online, nodes[2].Online = false, false
	if n, _, _ := Match("alice", nodes); n != &nodes[0] {
		t.Errorf("matched %+v, want the one seen last", n)
	}
}

func TestMatchNoneNamesClosest(t *testing.T) {
	nodes := []events.Telemetry{{Name: "Bob-the-builder"}, {Name: "Alice-2"}, {Name: "zed"}}
	n, how, note := Match("alice", nodes)
	if n != nil || how != "" {
		t.Fatalf("matched %+v %q", n, how)
	}
	if want := `no telemetry node named "alice" (closest: "Alice-2")`; note != want {
		t.Errorf("note %q, want %q", note, want)
	}
	if _, _, note := Match("alice", nil); !strings.Contains(note, "no nodes") {
		t.Errorf("empty: %q", note)
	}
	if _, _, note := Match("  ", nodes); !strings.Contains(note, "no telemetry name") {
		t.Errorf("blank candidate: %q", note)
	}
}

func TestMatchHostileNamesBounded(t *testing.T) {
	long := strings.Repeat("ä", 100_000)
	nodes := []events.Telemetry{{Name: long}, {Name: "alicf"}}
	if _, _, note := Match(long+"x", nodes); !strings.Contains(note, "closest") {
		t.Errorf("note %q", note[:min(len(note), 80)])
	}
}
