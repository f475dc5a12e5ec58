// Command valtrack is validator intelligence for proof-of-stake networks.
// This file holds the CLI wiring only; the work lives in internal/.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v3"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newApp().Run(ctx, os.Args); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "valtrack:", err)
		os.Exit(1)
	}
}

// env names the environment variable of a flag: VALTRACK_<FLAG>.
func env(flag string) cli.ValueSourceChain {
	return cli.EnvVars("VALTRACK_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_")))
}

func newApp() *cli.Command {
	return &cli.Command{
		Name:    "valtrack",
		Usage:   "validator intelligence for proof-of-stake networks",
		Version: version,
		Description: "valtrack observes the infrastructure validators run on: it crawls a network's p2p layer,\n" +
			"handshakes every node, estimates the validators behind each one, locates it, and serves\n" +
			"the answers over HTTP. Start with:\n\n" +
			"   valtrack run --devnet                       everything in one process, on a local devnet\n" +
			"   valtrack run --eth mainnet                  the same against a real network\n\n" +
			"Every flag also reads VALTRACK_<FLAG> (e.g. VALTRACK_DATA_DIR).",
		Flags: sharedFlags(),
		Commands: []*cli.Command{
			runCommand(),
			sentryCommand(),
			consumerCommand(),
			serveCommand(),
			devnetCommand(),
			dbCommand(),
		},
	}
}

func sharedFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "data-dir", Value: "./data", Usage: "directory for the embedded bus, SQLite state, Parquet archive and the sentry's peerstore", Sources: env("data-dir")},
		&cli.StringFlag{Name: "nats-url", Usage: "external NATS JetStream URL(s), comma-separated; empty: an embedded server in --data-dir", Sources: env("nats-url")},
		&cli.StringFlag{Name: "db", Usage: "state store: empty for SQLite in --data-dir, or postgres://user:pass@host/db", Sources: env("db")},
		&cli.StringFlag{Name: "http", Value: ":8080", Usage: "API listen address", Sources: env("http")},
		&cli.StringFlag{Name: "log-level", Value: "info", Usage: "debug, info, warn or error", Sources: env("log-level")},
		&cli.StringFlag{Name: "log-format", Value: "text", Usage: "text or json", Sources: env("log-format")},
	}
}

// logger builds the process logger from --log-level and --log-format.
func logger(cmd *cli.Command) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cmd.String("log-level"))); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", cmd.String("log-level"))
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

func devnetCommand() *cli.Command {
	return &cli.Command{
		Name:     "devnet",
		Usage:    "real local networks for trying valtrack out and for tests",
		Commands: []*cli.Command{devnetEthereumCommand()},
	}
}
