// Package polkadot is the Polkadot/Kusama domain as the platform sees it
// (internal/domain): a delegation program in the manner of the Thousand
// Validators Programme — candidates from a file, validity from chain state
// and telemetry, scores explained, ranks and faults as logs, nominations
// every era period (dry run unless told to send). Subpackages: events
// (the bus schema), scale and ss58 (SCALE decoding from metadata,
// addresses), chain (the RPC reader), telemetry (the feed client), sentry
// (the poll loop), sink and state (tables), program (rules, scores,
// ranks, nominations), runner (the program as an analyzer), tx (signed
// extrinsics), httpapi (REST, page), chopsticks and devnet.
package polkadot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/domain"
	"github.com/valtrack/valtrack/internal/polkadot/events"
)

// Domain is the Polkadot domain.
type Domain struct {
	Env domain.Sources
}

// Name is "polkadot".
func (Domain) Name() string { return events.Domain }

// Usage describes the sentry.
func (Domain) Usage() string {
	return "read Polkadot/Kusama staking, session, identity and telemetry for the delegation program"
}

// Selected: --polkadot, --polkadot-dir or --devnet given.
func (Domain) Selected(cmd *cli.Command) bool {
	return len(cmd.StringSlice("polkadot")) > 0 || cmd.String("polkadot-dir") != "" || (domain.HasFlag(cmd, "devnet") && cmd.Bool("devnet"))
}

func checkChainName(n string) error { return events.CheckChain(n) }

// Flags of the Polkadot domain, by role.
func (d Domain) Flags(r domain.Role) []cli.Flag {
	env := d.Env.Of
	urls := func(flag string) func([]string) error {
		return func(v []string) error { _, _, err := parseURLs(flag, v); return err }
	}
	chains := []cli.Flag{
		&cli.StringSliceFlag{Name: "polkadot", Usage: "a relay chain to run the program on: NAME=RPC[,RPC…] (ws:// or http:// Substrate JSON-RPC; several URLs fail over), NAME a subject-safe name such as polkadot or kusama; repeatable", Sources: env("polkadot"),
			Validator: urls("polkadot")},
		&cli.StringFlag{Name: "polkadot-dir", Usage: "a devnet directory with the polkadot.json that valtrack devnet polkadot writes (chain, RPC, candidates file)", Sources: env("polkadot-dir")},
	}
	sentryFlags := []cli.Flag{
		&cli.StringSliceFlag{Name: "polkadot-people", Usage: "NAME=RPC[,RPC…]: the People chain of NAME, where identities live (default: identities read from the relay chain); repeatable", Sources: env("polkadot-people"),
			Validator: urls("polkadot-people")},
		&cli.StringSliceFlag{Name: "polkadot-staking", Usage: "NAME=RPC[,RPC…]: the chain holding NAME's staking pallet when it is not the relay chain (Asset Hub after the migration); repeatable", Sources: env("polkadot-staking"),
			Validator: urls("polkadot-staking")},
		&cli.StringSliceFlag{Name: "polkadot-telemetry", Usage: "NAME=URL: a substrate-telemetry feed (wss://…/feed) to follow NAME's nodes on; repeatable", Sources: env("polkadot-telemetry"),
			Validator: urls("polkadot-telemetry")},
		&cli.DurationFlag{Name: "polkadot-poll", Value: 30 * time.Second, Usage: "how often the sentry reads staking, session and identity state", Sources: env("polkadot-poll"),
			Validator: func(v time.Duration) error { return domain.AtLeast("--polkadot-poll", v, time.Second) }},
	}
	programFlags := []cli.Flag{
		&cli.StringSliceFlag{Name: "polkadot-candidates", Usage: "[NAME=]FILE: the program file of NAME (candidates, rules, weights, nominators; YAML, docs/polkadot.md), re-read when it changes; repeatable", Sources: env("polkadot-candidates")},
		&cli.DurationFlag{Name: "polkadot-every", Value: 30 * time.Second, Usage: "how often the program evaluates validity, scores and whether a round is due", Sources: env("polkadot-every"),
			Validator: func(v time.Duration) error { return domain.AtLeast("--polkadot-every", v, time.Second) }},
		&cli.BoolFlag{Name: "polkadot-send", Usage: "send the nominations (signed with the nominators' key files); without it every round is a dry run, computed and recorded only", Sources: env("polkadot-send")},
	}
	switch r {
	case domain.RoleRun:
		return domain.Concat(chains, sentryFlags, programFlags)
	case domain.RoleSentry:
		return domain.Concat(chains, sentryFlags, programFlags[:1])
	case domain.RoleConsumer:
		return domain.Concat(chains, programFlags)
	default:
		return chains
	}
}

// parseURLs reads a NAME=URL[,URL…] flag with ws(s):// or http(s):// URLs.
func parseURLs(flag string, values []string) (map[string][]string, []string, error) {
	m, order, err := domain.NamedValues(flag, values, "", checkChainName)
	if err != nil {
		return nil, nil, err
	}
	for _, name := range order {
		for _, u := range m[name] {
			if !rpcScheme(u) {
				return nil, nil, fmt.Errorf("--%s %s: an endpoint starts with ws://, wss://, http:// or https://", flag, name)
			}
		}
	}
	return m, order, nil
}

func rpcScheme(u string) bool {
	for _, p := range []string{"ws://", "wss://", "http://", "https://"} {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}

// chainConfig is one chain the domain runs.
type chainConfig struct {
	Name       string
	Relay      []string
	People     []string
	Staking    []string
	Telemetry  string
	Candidates string
}

// chains reads the flags (and a devnet directory) into the chains.
func chains(cmd *cli.Command, devnetDirs ...string) ([]*chainConfig, error) {
	var out []*chainConfig
	by := map[string]*chainConfig{}
	add := func(name string) *chainConfig {
		if c := by[name]; c != nil {
			return c
		}
		c := &chainConfig{Name: name}
		by[name] = c
		out = append(out, c)
		return c
	}
	dirs := append([]string{}, devnetDirs...)
	if d := cmd.String("polkadot-dir"); d != "" {
		dirs = append(dirs, d)
	}
	for _, dir := range dirs {
		info, err := readDevnetInfo(dir)
		if err != nil {
			return nil, err
		}
		c := add(info.Chain)
		c.Relay = append(c.Relay, info.RPC)
		c.Candidates = info.Candidates
	}
	relay, order, err := parseURLs("polkadot", cmd.StringSlice("polkadot"))
	if err != nil {
		return nil, err
	}
	for _, n := range order {
		add(n).Relay = append(by[n].Relay, relay[n]...)
	}
	for _, spec := range []struct {
		flag string
		set  func(c *chainConfig, v []string)
	}{
		{"polkadot-people", func(c *chainConfig, v []string) { c.People = v }},
		{"polkadot-staking", func(c *chainConfig, v []string) { c.Staking = v }},
		{"polkadot-telemetry", func(c *chainConfig, v []string) { c.Telemetry = v[0] }},
	} {
		if !domain.HasFlag(cmd, spec.flag) {
			continue
		}
		m, names, err := parseURLs(spec.flag, cmd.StringSlice(spec.flag))
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			c := by[n]
			if c == nil {
				return nil, fmt.Errorf("--%s %s: no --polkadot chain of that name", spec.flag, n)
			}
			if spec.flag == "polkadot-telemetry" && len(m[n]) > 1 {
				return nil, fmt.Errorf("--%s %s: give one feed URL", spec.flag, n)
			}
			spec.set(c, m[n])
		}
	}
	if domain.HasFlag(cmd, "polkadot-candidates") {
		single := ""
		if len(out) == 1 {
			single = out[0].Name
		}
		m, names, err := domain.NamedValues("polkadot-candidates", cmd.StringSlice("polkadot-candidates"), single, checkChainName)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			c := by[n]
			if c == nil {
				return nil, fmt.Errorf("--polkadot-candidates %s: no --polkadot chain of that name", n)
			}
			if len(m[n]) != 1 {
				return nil, fmt.Errorf("--polkadot-candidates %s: give one file", n)
			}
			if _, err := os.Stat(m[n][0]); err != nil {
				return nil, fmt.Errorf("--polkadot-candidates %s: %w", n, err)
			}
			c.Candidates = m[n][0]
		}
	}
	return out, nil
}

// devnetInfo is what a devnet directory's polkadot.json says.
type devnetInfo struct {
	Chain      string
	RPC        string
	Candidates string
}

var errNoChains = errors.New("give a chain: --polkadot NAME=RPC (or --polkadot-dir D for a devnet)")

func absIn(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

var _ = context.Background
