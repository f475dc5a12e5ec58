package domain

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v3"
)

func TestFlagHelpers(t *testing.T) {
	if err := InRange("--n", 0, 1, 5); err == nil || !strings.Contains(err.Error(), "--n 0: use a number in 1..5") {
		t.Errorf("InRange(0, 1..5) = %v", err)
	}
	if err := InRange("--n", 5, 1, 5); err != nil {
		t.Errorf("InRange(5, 1..5) = %v", err)
	}
	if err := AtLeast("--every", 10*time.Millisecond, time.Second); err == nil || !strings.Contains(err.Error(), "use at least 1s") {
		t.Errorf("AtLeast(10ms, 1s) = %v", err)
	}
	if got := Concat([]cli.Flag{&cli.BoolFlag{Name: "a"}}, nil, []cli.Flag{&cli.BoolFlag{Name: "b"}}); len(got) != 2 {
		t.Errorf("Concat: %d flags, want 2", len(got))
	}
	if chain := Sources(nil).Of("x"); len(chain.Chain) != 0 {
		t.Errorf("nil Sources give %d sources, want none", len(chain.Chain))
	}
	var has, hasNot bool
	cmd := &cli.Command{Name: "t", Flags: []cli.Flag{&cli.BoolFlag{Name: "devnet"}}, Action: func(_ context.Context, c *cli.Command) error {
		has, hasNot = HasFlag(c, "devnet"), HasFlag(c, "eth")
		return nil
	}}
	if err := cmd.Run(context.Background(), []string{"t", "--devnet"}); err != nil {
		t.Fatal(err)
	}
	if !has || hasNot {
		t.Errorf("HasFlag: devnet %v (want true), eth %v (want false)", has, hasNot)
	}
}

func TestNamedValues(t *testing.T) {
	got, order, err := NamedValues("polkadot", []string{"kusama=wss://a", "wss://b", "polkadot=wss://c"}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != 2 || order[0] != "kusama" || order[1] != "polkadot" {
		t.Errorf("order %v", order)
	}
	if len(got["kusama"]) != 2 || got["kusama"][1] != "wss://b" || len(got["polkadot"]) != 1 {
		t.Errorf("values %v", got)
	}
	// A value without a name belongs to the only chain when there is one.
	got, _, err = NamedValues("x", []string{"http://a", "http://b"}, "only", nil)
	if err != nil || len(got["only"]) != 2 {
		t.Errorf("single: %v %v", got, err)
	}
	// Without one it is refused, and a URL's secret stays out of the error.
	_, _, err = NamedValues("x", []string{"https://user:secret@host/path?key=k"}, "", nil)
	if err == nil || strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "key=k") {
		t.Errorf("unnamed value: %v", err)
	}
	_, _, err = NamedValues("x", []string{"Bad=1"}, "", func(n string) error {
		if n != strings.ToLower(n) {
			return errors.New("lower case only")
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "--x Bad: lower case only") {
		t.Errorf("bad name: %v", err)
	}
}
