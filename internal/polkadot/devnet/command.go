package devnet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/domain"
)

// DevnetCommand is `valtrack devnet polkadot`: a shaped westend-dev chain
// on loopback, running until Ctrl-C.
func DevnetCommand() *cli.Command {
	return &cli.Command{
		Name:  "polkadot",
		Usage: "run a Westend development chain offline (chopsticks) on loopback, shaped into a validator programme",
		Description: "Starts chopsticks (installed on first use, about two minutes) with the westend-dev runtime on\n" +
			"127.0.0.1 and shapes it: validator candidates each made invalid by one validity rule —\n" +
			"no validate intention, commission 20 %, blocked, self-stake below the minimum, no identity,\n" +
			"an unverified identity, a parent/sub pair over one per identity, unclaimed rewards — and four\n" +
			"fully valid ones, plus a bonded nominator with a time-delay staking proxy. Eras advance every\n" +
			"--era-every by real elections. It writes DIR/polkadot.json (RPC, genesis, nominator),\n" +
			"DIR/candidates.yaml (the programme file) and DIR/truth.json (each candidate's expected\n" +
			"verdict; \"valid\" means valid on chain — telemetry rules are a feed's). The chain lives in\n" +
			"memory: every run is a new one.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Value: "./devnet-polkadot", Usage: "directory for polkadot.json, candidates.yaml, truth.json and the key files", Sources: domain.EnvVar("polkadot-devnet-dir"), Local: true},
			&cli.IntFlag{Name: "port", Value: 0, Usage: "RPC port on 127.0.0.1 (0: a free one)", Sources: domain.EnvVar("polkadot-devnet-port"), Local: true,
				Validator: func(v int) error {
					if v < 0 || v > 65535 {
						return fmt.Errorf("--port %d: give 0 to 65535", v)
					}
					return nil
				}},
			&cli.IntFlag{Name: "candidates", Value: DefaultCandidates, Usage: "candidates to shape (fewer drops the last of the plan, more adds valid ones)", Sources: domain.EnvVar("polkadot-devnet-candidates"), Local: true,
				Validator: func(v int) error {
					if v < 1 || v > MaxCandidates {
						return fmt.Errorf("--candidates %d: give 1 to %d", v, MaxCandidates)
					}
					return nil
				}},
			&cli.DurationFlag{Name: "era-every", Value: DefaultEraEvery, Usage: "time between era changes (each takes about ten blocks)", Sources: domain.EnvVar("polkadot-devnet-era-every"), Local: true,
				Validator: func(v time.Duration) error {
					if v < MinEraEvery {
						return fmt.Errorf("--era-every %s: give at least %s", v, MinEraEvery)
					}
					return nil
				}},
			&cli.StringFlag{Name: "chopsticks-dir", Usage: "chopsticks install (default: the user cache, or $VALTRACK_CHOPSTICKS_DIR)", Local: true},
		},
		Action: runDevnet,
	}
}

func runDevnet(ctx context.Context, cmd *cli.Command) error {
	log, err := domain.CommandLogger(cmd)
	if err != nil {
		return err
	}
	out := cmd.Root().Writer
	if out == nil {
		out = os.Stdout
	}
	fmt.Fprintln(out, "starting the polkadot devnet (chopsticks westend-dev; about a minute)…")
	d, err := Start(ctx, Options{
		Dir:        cmd.String("dir"),
		Prefix:     cmd.String("chopsticks-dir"),
		Port:       cmd.Int("port"),
		Candidates: cmd.Int("candidates"),
		EraEvery:   cmd.Duration("era-every"),
		Log:        log.With("component", "devnet"),
		Out:        out,
	})
	if err != nil {
		return fmt.Errorf("start the polkadot devnet: %w", err)
	}
	defer d.Close()
	info := filepath.Join(d.Dir(), InfoFile)
	b, err := os.ReadFile(info)
	if err != nil {
		return fmt.Errorf("read back %s: %w", info, err)
	}
	fmt.Fprintf(out, "wrote %s:\n%s", info, b)
	fmt.Fprintf(out, "candidates: %s\ntruth: %s\n", d.Info().Candidates, d.Info().Truth)
	fmt.Fprintf(out, "next, in another terminal:\n  %s run --polkadot-dir %s\n", domain.Invocation(), d.Dir())
	fmt.Fprintf(out, "eras advance every %s; running until Ctrl-C\n", d.o.EraEvery)
	select {
	case <-ctx.Done():
	case <-d.proc.Done():
		return fmt.Errorf("chopsticks exited: see %s", d.proc.LogPath())
	}
	if err := d.Close(); err != nil {
		return fmt.Errorf("stop the polkadot devnet: %w", err)
	}
	return nil
}
