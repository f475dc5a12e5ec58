package ssv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/domain"
	"github.com/valtrack/valtrack/internal/ssv/devnet"
)

// DevnetCommand is `valtrack devnet ssv`: a local execution chain with an
// SSVNetwork-compatible event history, running until Ctrl-C.
func DevnetCommand() *cli.Command {
	return &cli.Command{
		Name:  "ssv",
		Usage: "run a local go-ethereum dev chain on loopback whose contract emits SSVNetwork events",
		Description: "Starts an in-process go-ethereum node in dev mode (JSON-RPC over HTTP and WebSocket on\n" +
			"127.0.0.1), deploys valtrack's event emitter and sends it a scripted SSV history — operators,\n" +
			"validators with real BLS-signed shares, invalid registrations, fees, liquidations, deposits,\n" +
			"exits and removals — then new events every few blocks. It writes DIR/ssv.json (RPC URLs,\n" +
			"contract, first block, chain id) and keeps DIR/truth.json, the registry emitted so far.\n" +
			"The chain lives in memory: every run is a new one. Point valtrack's ssv sync at the\n" +
			"rpc_ws (or rpc_http), contract and from_block that ssv.json gives.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: "./devnet-ssv", Usage: "directory for ssv.json and truth.json", Sources: domain.EnvVar("ssv-devnet-dir"), Local: true},
			&cli.DurationFlag{Name: "block-interval", Value: devnet.DefaultBlockInterval, Usage: "time between blocks after the scripted history", Sources: domain.EnvVar("ssv-devnet-block-interval"), Local: true,
				Validator: func(v time.Duration) error {
					if v < devnet.MinBlockInterval {
						return fmt.Errorf("--block-interval %s: give at least %s", v, devnet.MinBlockInterval)
					}
					return nil
				}},
			&cli.IntFlag{Name: "event-every", Value: devnet.DefaultEventEvery, Usage: "blocks between new events after the history (1: every block)", Sources: domain.EnvVar("ssv-devnet-event-every"), Local: true,
				Validator: func(v int) error {
					if v < 1 {
						return fmt.Errorf("--event-every %d: give 1 or more", v)
					}
					return nil
				}},
		},
		Action: runSSVDevnet,
	}
}

func runSSVDevnet(ctx context.Context, cmd *cli.Command) error {
	log, err := domain.CommandLogger(cmd)
	if err != nil {
		return err
	}
	d, err := devnet.Start(ctx, devnet.Options{
		Dir:           cmd.String("dir"),
		BlockInterval: cmd.Duration("block-interval"),
		EventEvery:    cmd.Int("event-every"),
		Log:           log.With("component", "devnet"),
	})
	if err != nil {
		return fmt.Errorf("start the ssv devnet: %w", err)
	}
	defer d.Close()
	info := filepath.Join(d.Dir(), devnet.InfoFile)
	b, err := os.ReadFile(info)
	if err != nil {
		return fmt.Errorf("read back %s: %w", info, err)
	}
	out := cmd.Root().Writer
	fmt.Fprintf(out, "wrote %s:\n%s", info, b)
	fmt.Fprintf(out, "truth: %s (rewritten after every block)\n", d.Info().Truth)
	fmt.Fprintf(out, "next, in another terminal:\n  %s run --ssv-dir %s\n", domain.Invocation(), d.Dir())
	fmt.Fprintln(out, "running until Ctrl-C")
	<-ctx.Done()
	if err := d.Err(); err != nil {
		return fmt.Errorf("the ssv devnet stopped sealing blocks: %w", err)
	}
	if err := d.Close(); err != nil {
		return fmt.Errorf("stop the ssv devnet: %w", err)
	}
	return nil
}
