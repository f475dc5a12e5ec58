package domain

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v3"
)

// Helpers every domain's Flags and Selected use, so that flag conventions
// (environment variables, refusals) read the same in every domain.

// Sources names the environment variable a flag also reads
// (VALTRACK_<FLAG>, given by cmd/valtrack); nil names none (tests).
type Sources func(flag string) cli.ValueSourceChain

// Of is the source chain of a flag.
func (s Sources) Of(flag string) cli.ValueSourceChain {
	if s == nil {
		return cli.ValueSourceChain{}
	}
	return s(flag)
}

// HasFlag reports whether the flag was given to the command (on its line
// or from its environment variable). A domain's Selected runs for every
// command, and some lack its flags (`--devnet` is only `valtrack run`'s):
// this asks without caring whether the command has the flag at all.
func HasFlag(cmd *cli.Command, name string) bool {
	for _, n := range cmd.FlagNames() {
		if n == name {
			return true
		}
	}
	return false
}

// RunsDevnet reports whether a domain opened for r starts its devnet:
// `valtrack run --devnet`.
func RunsDevnet(cmd *cli.Command, r Role) bool {
	return r == RoleRun && HasFlag(cmd, "devnet") && cmd.Bool("devnet")
}

// Concat joins groups of flags.
func Concat(groups ...[]cli.Flag) []cli.Flag {
	var out []cli.Flag
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// AtLeast refuses a duration below lo, saying what to give.
func AtLeast(flag string, v, lo time.Duration) error {
	if v < lo {
		return fmt.Errorf("%s %s: use at least %s", flag, v, lo)
	}
	return nil
}

// InRange refuses a number outside lo..hi, saying what to give.
func InRange(flag string, v, lo, hi int) error {
	if v < lo || v > hi {
		return fmt.Errorf("%s %d: use a number in %d..%d", flag, v, lo, hi)
	}
	return nil
}

// EnvVar is the VALTRACK_<FLAG> source every valtrack flag reads, for
// commands a domain builds itself (`valtrack devnet <name>`).
func EnvVar(flag string) cli.ValueSourceChain {
	return cli.EnvVars("VALTRACK_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_")))
}

// CommandLogger follows the root command's --log-level and --log-format
// when an ancestor defines them (cmd/valtrack's does), else logs at info
// as text, to the root's ErrWriter (stderr by default).
func CommandLogger(cmd *cli.Command) (*slog.Logger, error) {
	var level slog.Level
	if s := lookupString(cmd, "log-level"); s != "" {
		if err := level.UnmarshalText([]byte(s)); err != nil {
			return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", s)
		}
	}
	opts := &slog.HandlerOptions{Level: level}
	var w io.Writer = os.Stderr
	if cmd.Root().ErrWriter != nil {
		w = cmd.Root().ErrWriter
	}
	switch f := lookupString(cmd, "log-format"); f {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format %q: use text or json", f)
	}
}

// lookupString is the value of a flag an ancestor command may define; ""
// when none does.
func lookupString(cmd *cli.Command, name string) string {
	for _, c := range cmd.Lineage() {
		for _, f := range c.Flags {
			for _, n := range f.Names() {
				if n == name {
					return cmd.String(name)
				}
			}
		}
	}
	return ""
}

// NamedValues reads a repeatable NAME=V[,V…] flag. The flag is a string
// slice, which splits on commas, so "a=U1,U2" arrives as "a=U1", "U2": a
// value without "=" continues the name before it (or names the only one
// of single, when given). It returns the values by name and the names in
// the order given; check refuses a bad name.
func NamedValues(flag string, values []string, single string, check func(name string) error) (map[string][]string, []string, error) {
	out := map[string][]string{}
	var order []string
	last := single
	for _, v := range values {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if name, rest, ok := strings.Cut(v, "="); ok && !strings.Contains(name, "/") {
			if check != nil {
				if err := check(name); err != nil {
					return nil, nil, fmt.Errorf("--%s %s: %w", flag, name, err)
				}
			}
			last, v = name, strings.TrimSpace(rest)
		}
		if last == "" {
			return nil, nil, fmt.Errorf("--%s %q: give NAME=VALUE[,VALUE…]", flag, redactValue(v))
		}
		if _, seen := out[last]; !seen {
			order = append(order, last)
		}
		if v != "" {
			out[last] = append(out[last], v)
		}
	}
	return out, order, nil
}

// redactValue keeps the scheme and host of a URL (its path, query or user
// part may hold a key) and short values as they are.
func redactValue(s string) string {
	if !strings.Contains(s, "://") {
		if len(s) > 40 {
			return s[:40] + "…"
		}
		return s
	}
	return ShowURL(s)
}
