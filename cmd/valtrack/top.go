package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/tui"
)

// minRefresh bounds --refresh: faster polling only spends the API's rate
// limit.
const minRefresh = 100 * time.Millisecond

// chainNameRE is what the API accepts as a {network} path value.
var chainNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func topCommand() *cli.Command {
	return &cli.Command{
		Name:  "top",
		Usage: "live terminal view of a Cosmos chain's consensus, from a running valtrack's API",
		Description: "Shows the height, round and step, the prevote and precommit shares of voting power and\n" +
			"every validator's votes and recent misses, polled from GET /api/v1/cosmos/CHAIN/consensus.\n" +
			"Keys: s sorts by power or misses, ↑↓ j k PgUp PgDn Home End scroll, q or Ctrl-C quits.\n\n" +
			"   valtrack top --cosmos devnet-1\n" +
			"   valtrack top --cosmos osmosis-1 --api https://valtrack.example.org --api-key KEY",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "cosmos", Usage: "`CHAIN` to show, as valtrack names it (the NAME of run's --cosmos NAME=RPC)", Sources: env("cosmos"),
				Validator: func(v string) error { _, err := topChain(v); return err }},
			&cli.StringFlag{Name: "api", Value: "http://127.0.0.1:8080", Usage: "base URL of the valtrack API", Sources: env("api"),
				Validator: func(v string) error { return apiURL("--api", v) }},
			&cli.StringFlag{Name: "api-key", Usage: "API key, sent as X-API-KEY (needed only where the API refuses the public view)", Sources: env("api-key")},
			&cli.DurationFlag{Name: "refresh", Value: time.Second, Usage: "poll interval", Sources: env("refresh"),
				Validator: func(v time.Duration) error { return atLeast("--refresh", v, minRefresh) }},
			&cli.DurationFlag{Name: "timeout", Value: tui.DefaultTimeout, Usage: "bound of one request to the API", Sources: env("timeout"),
				Validator: func(v time.Duration) error { return positiveDuration("--timeout", v) }},
		},
		Action: topAction,
	}
}

func topAction(ctx context.Context, cmd *cli.Command) error {
	chain, err := topChain(cmd.String("cosmos"))
	if err != nil {
		return err
	}
	if !term.IsTerminal(os.Stdout.Fd()) || !term.IsTerminal(os.Stdin.Fd()) {
		return errors.New("valtrack top draws on a terminal, and its input or output is not one: run it in a terminal, without redirecting it (for data in a script, GET /api/v1/cosmos/" + chain + "/consensus)")
	}
	api := strings.TrimRight(cmd.String("api"), "/")
	err = tui.Run(ctx, tui.Config{
		API: api, Chain: chain, APIKey: cmd.String("api-key"),
		Refresh: cmd.Duration("refresh"), Timeout: cmd.Duration("timeout"),
	})
	if err != nil && ctx.Err() != nil {
		return nil // stopped by a signal: a clean stop
	}
	if err != nil {
		return fmt.Errorf("valtrack top: the terminal view failed: %w", err)
	}
	return nil
}

// topChain is the chain of --cosmos. NAME=RPC, the form `valtrack run`
// takes (and VALTRACK_COSMOS may hold), names the chain NAME.
func topChain(v string) (string, error) {
	name, _, _ := strings.Cut(strings.TrimSpace(v), "=")
	if name == "" {
		return "", fmt.Errorf("--cosmos is empty: give the chain to show, e.g. --cosmos devnet-1")
	}
	if !chainNameRE.MatchString(name) {
		return "", fmt.Errorf("--cosmos %q: give a chain name of letters, digits, '.', '_' and '-', e.g. devnet-1", v)
	}
	return name, nil
}

func apiURL(flag, v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s %q: give the API's base URL, e.g. http://127.0.0.1:8080", flag, v)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%s %q: give the base URL without a query or fragment, e.g. http://127.0.0.1:8080", flag, v)
	}
	return nil
}

func atLeast(flag string, v, lo time.Duration) error {
	if v < lo {
		return fmt.Errorf("%s %s: give at least %s", flag, v, lo)
	}
	return nil
}
