package main

import (
	"context"
	"testing"

	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/domain"
)

// The registered domains are valid, and no command has two flags of one
// name (a domain's flag clashing with the platform's or another domain's).
func TestRegistryAndFlags(t *testing.T) {
	ds := domains()
	list := make([]domain.Domain, len(ds))
	copy(list, ds)
	if err := domain.Validate(list); err != nil {
		t.Fatal(err)
	}
	app := newApp(ds)
	root := map[string]bool{}
	for _, f := range app.Flags {
		for _, n := range f.Names() {
			root[n] = true
		}
	}
	var walk func(path string, c *cli.Command)
	walk = func(path string, c *cli.Command) {
		seen := map[string]bool{}
		for _, f := range c.Flags {
			for _, n := range f.Names() {
				if seen[n] || root[n] {
					t.Errorf("%s: flag --%s defined twice", path, n)
				}
				seen[n] = true
			}
		}
		for _, sub := range c.Commands {
			walk(path+" "+sub.Name, sub)
		}
	}
	for _, c := range app.Commands {
		walk("valtrack "+c.Name, c)
	}
	// Every command's help renders (flags parse, descriptions are sound).
	for _, args := range [][]string{{"run"}, {"sentry", "ethereum"}, {"consumer"}, {"serve"}, {"devnet", "ethereum"}, {"db", "status"}} {
		if err := newApp(ds).Run(context.Background(), append(append([]string{"valtrack"}, args...), "--help")); err != nil {
			t.Errorf("valtrack %v --help: %v", args, err)
		}
	}
}

func TestDurableName(t *testing.T) {
	for _, c := range [][3]string{
		{"valtrack", "ethereum", "valtrack-ethereum"},
		{"valtrack-ethereum", "ethereum", "valtrack-ethereum"}, // a fleet's durable from before domains
		{"fleet-a", "cosmos", "fleet-a-cosmos"},
		{"valtrack-ethereum", "cosmos", "valtrack-ethereum-cosmos"},
	} {
		if got := durableName(c[0], c[1]); got != c[2] {
			t.Errorf("durableName(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}
