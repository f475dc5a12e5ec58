// Command valtrack is validator intelligence for proof-of-stake networks.
// This package holds the CLI wiring only: the list of domains it registers
// (domains.go) and the commands that assemble the shared layers around
// them; the work lives in internal/.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v3"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// exitAtOnce is the exit code of a second Ctrl-C (128 + SIGINT).
const exitAtOnce = 130

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal stops cleanly (the sentries' events are flushed,
		// nothing unwritten is acknowledged); a second one exits at once.
		<-sigs
		fmt.Fprintln(os.Stderr, "valtrack: stopping cleanly; press Ctrl-C again to exit at once")
		cancel()
		<-sigs
		fmt.Fprintln(os.Stderr, "valtrack: exiting at once")
		os.Exit(exitAtOnce)
	}()
	if err := newApp(domains()).Run(ctx, os.Args); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "valtrack:", err)
		os.Exit(1)
	}
}

// env names the environment variable of a flag: VALTRACK_<FLAG>.
func env(flag string) cli.ValueSourceChain {
	return cli.EnvVars("VALTRACK_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_")))
}

func newApp(ds registry) *cli.Command {
	app := &cli.Command{
		Name:    "valtrack",
		Usage:   "validator intelligence for proof-of-stake networks",
		Version: version,
		Description: "valtrack observes validators and the infrastructure they run on, and serves what it\n" +
			"finds over HTTP, WebSocket, /metrics, a web page and `valtrack top`:\n" +
			"   ethereum  crawls the consensus p2p layer: validators behind each beacon node, where it runs\n" +
			"   cosmos    every vote of every validator of a CometBFT chain: missed votes, time to jail, alerts\n" +
			"   ssv       an exact copy of the SSV registry from the SSVNetwork contract, the exporter's API\n" +
			"   polkadot  a nominator's program: candidates' validity, scores, ranks, faults, nominations\n" +
			"Start with:\n\n" +
			"   valtrack run --devnet                       everything in one process, on local devnets\n" +
			"   valtrack run --eth mainnet                  Ethereum mainnet\n" +
			"   valtrack run --cosmos NAME=RPC              a Cosmos chain from its CometBFT RPC\n" +
			"   valtrack run --ssv mainnet --eth-rpc URL    the SSV registry from an execution node\n" +
			"   valtrack run --polkadot polkadot=RPC --polkadot-candidates FILE   a nomination program (dry run)\n\n" +
			"Domains: " + strings.Join(ds.names(), ", ") + ". Every flag also reads VALTRACK_<FLAG> (e.g. VALTRACK_DATA_DIR).",
		Flags: sharedFlags(),
		Commands: []*cli.Command{
			runCommand(ds),
			sentryCommand(ds),
			consumerCommand(ds),
			serveCommand(ds),
			devnetCommand(ds),
			dbCommand(ds),
			dlqCommand(ds),
			topCommand(),
		},
	}
	onUsageError(app)
	noArguments(app)
	return app
}

// noArguments makes every command that runs refuse words that are not
// flags: none takes any, and urfave/cli would leave a stray word
// unread — so `--polkadot-send false` (a boolean flag and a word) would
// turn sending on, not off.
func noArguments(cmd *cli.Command) {
	if act := cmd.Action; act != nil && cmd.ArgsUsage == "" {
		cmd.Action = func(ctx context.Context, c *cli.Command) error {
			if c.Args().Present() {
				hint := ""
				if w := strings.ToLower(c.Args().First()); w == "true" || w == "false" {
					hint = "; a switch takes its value after '=', e.g. --archive=false"
				}
				return fmt.Errorf("`%s` takes no arguments, got %q%s (see `%s --help`)", c.FullName(), c.Args().First(), hint, c.FullName())
			}
			return act(ctx, c)
		}
	}
	for _, sub := range cmd.Commands {
		noArguments(sub)
	}
}

// badValue is the flag package's message for a value a flag refuses.
var badValue = regexp.MustCompile(`^invalid value "(.*)" for flag -([A-Za-z0-9-]+): (.*)$`)

// onUsageError makes a refused flag value end the command with one line
// that names the flag and what to give, on every command: by default
// urfave/cli prints the whole help first and the line is lost above it.
func onUsageError(cmd *cli.Command) {
	cmd.OnUsageError = func(_ context.Context, c *cli.Command, err error, _ bool) error {
		m := badValue.FindStringSubmatch(err.Error())
		if m == nil {
			return fmt.Errorf("%w (see `%s --help`)", err, c.FullName())
		}
		val, flag, why := m[1], "--"+m[2], m[3]
		if strings.HasPrefix(why, flag) {
			return errors.New(why) // a Validator's message: complete already
		}
		if strings.HasPrefix(why, "time:") {
			why += "; give a duration with its unit, such as 10s, 5m or 1h"
		}
		return fmt.Errorf("%s %q: %s (see `%s --help`)", flag, val, why, c.FullName())
	}
	for _, sub := range cmd.Commands {
		onUsageError(sub)
	}
}

func sharedFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "data-dir", Value: "./data", Usage: "directory for the embedded bus, SQLite state, Parquet archive and the sentries' peerstores", Sources: env("data-dir"),
			Validator: func(v string) error { return nonEmpty("--data-dir", v) }},
		&cli.StringFlag{Name: "nats-url", Usage: "external NATS JetStream URL(s), comma-separated; empty: an embedded server in --data-dir", Sources: env("nats-url")},
		&cli.StringFlag{Name: "db", Usage: "state store: empty for SQLite in --data-dir, or postgres://user:pass@host/db", Sources: env("db")},
		&cli.StringFlag{Name: "http", Value: ":8080", Usage: "API listen address (for sentries and consumers: /metrics and /healthz)", Sources: env("http"),
			Validator: func(v string) error {
				// Empty would listen on a random port (:80 for the metrics
				// of a fleet): refused rather than served somewhere unknown.
				if v == "" {
					return fmt.Errorf("--http is empty: give HOST:PORT or :PORT, e.g. :8080 or 127.0.0.1:8080")
				}
				return listenAddr("--http", v)
			}},
		&cli.StringFlag{Name: "log-level", Value: "info", Usage: "debug, info, warn or error", Sources: env("log-level"),
			Validator: func(v string) error { _, err := parseLevel(v); return err }},
		&cli.StringFlag{Name: "log-format", Value: "text", Usage: "text or json", Sources: env("log-format"),
			Validator: func(v string) error {
				if v != "text" && v != "json" {
					return fmt.Errorf("--log-format %q: use text or json", v)
				}
				return nil
			}},
	}
}

func parseLevel(s string) (slog.Level, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(s)); err != nil {
		return level, fmt.Errorf("--log-level %q: use debug, info, warn or error", s)
	}
	return level, nil
}

// logger builds the process logger from --log-level and --log-format.
func logger(cmd *cli.Command) (*slog.Logger, error) {
	level, err := parseLevel(cmd.String("log-level"))
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	switch cmd.String("log-format") {
	case "text", "":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format %q: use text or json", cmd.String("log-format"))
	}
}

// Validators of flag values: a bad value is refused at start with what to
// give instead, never replaced by a default.

func nonEmpty(flag, v string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("%s is empty: give a directory", flag)
	}
	return nil
}

func listenAddr(flag, v string) error {
	if v == "" {
		return nil // not served
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("%s %q: give HOST:PORT or :PORT, e.g. :8080 or 127.0.0.1:8080 (%v)", flag, v, err)
	}
	if host != "" && net.ParseIP(host) == nil && strings.ContainsAny(host, " /") {
		return fmt.Errorf("%s %q: %q is not a host name or IP", flag, v, host)
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("%s %q: %q is not a port", flag, v, port)
	}
	return nil
}

func positiveDuration(flag string, v time.Duration) error {
	if v <= 0 {
		return fmt.Errorf("%s %s: give a positive duration such as 10s", flag, v)
	}
	return nil
}

func intRange(flag string, v, lo, hi int) error {
	if v < lo || v > hi {
		return fmt.Errorf("%s %d: give a number in %d..%d", flag, v, lo, hi)
	}
	return nil
}

func nonNegative(flag string, v float64) error {
	if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%s %g: give 0 (no limit) or a positive rate", flag, v)
	}
	return nil
}

func devnetCommand(ds registry) *cli.Command {
	var cmds []*cli.Command
	for _, d := range ds {
		if dv, ok := d.(interface{ DevnetCommand() *cli.Command }); ok {
			cmds = append(cmds, dv.DevnetCommand())
		}
	}
	return &cli.Command{
		Name:     "devnet",
		Usage:    "real local networks for trying valtrack out and for tests",
		Commands: cmds,
	}
}
