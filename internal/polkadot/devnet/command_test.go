package devnet

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/polkadot/program"
)

func TestCommandRefusesBadFlagsBeforeStarting(t *testing.T) {
	for _, args := range [][]string{
		{"--era-every", "10ms"},
		{"--candidates", "0"},
		{"--candidates", "1000"},
		{"--port", "70000"},
	} {
		var out bytes.Buffer
		root := &cli.Command{Name: "valtrack", Writer: &out, ErrWriter: &out, Commands: []*cli.Command{DevnetCommand()}}
		err := root.Run(context.Background(), append([]string{"valtrack", "polkadot", "--dir", t.TempDir()}, args...))
		if err == nil {
			t.Errorf("%v: accepted", args)
			continue
		}
		if strings.Contains(out.String(), "starting the polkadot devnet") {
			t.Errorf("%v: the devnet started before the flags were checked", args)
		}
	}
}

func TestOptionsDefaults(t *testing.T) {
	if _, err := (Options{}).withDefaults(); err == nil {
		t.Error("Options without Dir accepted")
	}
	o, err := (Options{Dir: t.TempDir()}).withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.Candidates != DefaultCandidates || o.EraEvery != DefaultEraEvery || o.ProxyDelay != DefaultProxyDelay {
		t.Errorf("defaults %+v", o)
	}
	if _, err := (Options{Dir: "x", EraEvery: 5}).withDefaults(); err == nil {
		t.Error("an era every 5 ns accepted")
	}
}

func TestCandidatesPlan(t *testing.T) {
	cs := candidates(DefaultCandidates)
	seen := map[string]bool{}
	valid := 0
	for _, c := range cs {
		if seen[c.Name] {
			t.Errorf("candidate %s twice", c.Name)
		}
		seen[c.Name] = true
		if c.Expect == Valid {
			valid++
		}
		if c.Identity == idSub && c.Parent == "" {
			t.Errorf("%s is a sub-identity without a parent", c.Name)
		}
	}
	if valid < 4 {
		t.Errorf("%d valid candidates, want 4 or more", valid)
	}
	if got := candidates(20); len(got) != 20 || got[19].Expect != Valid {
		t.Errorf("20 candidates: %d, last %+v", len(got), got[len(got)-1])
	}
	if got := candidates(5); len(got) != 5 {
		t.Errorf("5 candidates: %d", len(got))
	}
	// Cut between Lark and its sub Moss: Lark alone is within the limit.
	for _, c := range candidates(11) {
		if c.Name == "Lark" && c.Expect != Valid {
			t.Errorf("Lark without Moss expects %s, want valid", c.Expect)
		}
	}
	// With the pair, the first in file order (Lark) is within the limit and
	// the second (Moss) over it.
	for _, c := range candidates(DefaultCandidates) {
		if c.Name == "Lark" && c.Expect != Valid || c.Name == "Moss" && c.Expect != program.RuleMultipleIdentity {
			t.Errorf("%s with its pair expects %s", c.Name, c.Expect)
		}
	}
}
