package cosmos

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/cosmos/devnet"
	"github.com/valtrack/valtrack/internal/domain"
)

// devnetControlTimeout bounds one stop or start through the control
// endpoint: a start opens stores and listeners, seconds at worst.
const devnetControlTimeout = time.Minute

// DevnetCommand is `valtrack devnet cosmos`: a local CometBFT chain that
// runs until Ctrl-C, and its `stop`, `start` and `status` subcommands,
// which act on a running one through the control endpoint in chain.json.
func DevnetCommand() *cli.Command {
	dirFlag := func(local bool) *cli.StringFlag {
		return &cli.StringFlag{Name: "dir", Value: "./devnet-cosmos", Usage: "directory of the devnet: chain.json, genesis.json, one home per validator",
			Sources: domain.EnvVar("cosmos-devnet-dir"), Local: local}
	}
	validatorFlag := &cli.IntFlag{Name: "validator", Usage: "index of the validator (its index in chain.json and in the validator set)", Required: true,
		Validator: func(v int) error {
			if v < 0 {
				return fmt.Errorf("--validator %d: give an index from chain.json, 0 or more", v)
			}
			return nil
		}}
	control := func(action, verb string) *cli.Command {
		return &cli.Command{
			Name:  action,
			Usage: verb + " one validator of a running cosmos devnet",
			Flags: []cli.Flag{dirFlag(false), validatorFlag},
			Action: func(ctx context.Context, cmd *cli.Command) error {
				return devnetAction(ctx, cmd, action)
			},
		}
	}
	return &cli.Command{
		Name:  "cosmos",
		Usage: "run a local CometBFT chain (in-process validators running the kvstore app) on loopback",
		Description: "Starts --validators CometBFT validators in this process, one chain on 127.0.0.1, and writes\n" +
			"DIR/chain.json: the chain id, each validator's index, moniker, consensus address and RPC URL,\n" +
			"and the control endpoint. A DIR that already holds a devnet is resumed from its data.\n" +
			"While it runs, from another terminal:\n\n" +
			"   valtrack devnet cosmos stop  --dir DIR --validator 3    the validator misses its votes\n" +
			"   valtrack devnet cosmos start --dir DIR --validator 3    it catches up and signs again\n" +
			"   valtrack devnet cosmos status --dir DIR",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "validators", Value: devnet.DefaultValidators, Usage: "number of validators (a resumed DIR keeps its own)", Sources: domain.EnvVar("cosmos-devnet-validators"), Local: true,
				Validator: func(v int) error {
					if v < 1 || v > devnet.MaxValidators {
						return fmt.Errorf("--validators %d: give 1 to %d", v, devnet.MaxValidators)
					}
					return nil
				}},
			dirFlag(true),
			&cli.StringFlag{Name: "chain-id", Value: devnet.DefaultChainID, Usage: "chain id: letters, digits and '-' (a resumed DIR keeps its own)", Sources: domain.EnvVar("cosmos-devnet-chain-id"), Local: true},
			&cli.DurationFlag{Name: "block-interval", Value: devnet.DefaultBlockInterval, Usage: "pause after each block (CometBFT's timeout_commit)", Sources: domain.EnvVar("cosmos-devnet-block-interval"), Local: true,
				Validator: func(v time.Duration) error {
					if v < devnet.MinBlockInterval {
						return fmt.Errorf("--block-interval %s: give at least %s", v, devnet.MinBlockInterval)
					}
					return nil
				}},
		},
		Commands: []*cli.Command{
			control("stop", "stop"),
			control("start", "start again"),
			{
				Name:   "status",
				Usage:  "show which validators of a running cosmos devnet run, and their heights",
				Flags:  []cli.Flag{dirFlag(false)},
				Action: devnetStatus,
			},
		},
		Action: runDevnet,
	}
}

func runDevnet(ctx context.Context, cmd *cli.Command) error {
	log, err := domain.CommandLogger(cmd)
	if err != nil {
		return err
	}
	dir := cmd.String("dir")
	o := devnet.Options{
		Validators:    cmd.Int("validators"),
		Dir:           dir,
		ChainID:       cmd.String("chain-id"),
		BlockInterval: cmd.Duration("block-interval"),
		Log:           log.With("component", "devnet"),
	}
	// A resumed directory keeps its chain: the flags' defaults must not
	// contradict it, only values given on purpose.
	if !cmd.IsSet("validators") {
		o.Validators = 0
	}
	if !cmd.IsSet("chain-id") {
		o.ChainID = ""
	}
	d, err := devnet.Start(ctx, o)
	if err != nil {
		return fmt.Errorf("start the cosmos devnet: %w", err)
	}
	defer d.Close()
	info := d.Info()
	out := cmd.Root().Writer
	fmt.Fprintf(out, "cosmos devnet %q: %d validators, a block every %s or so\n", info.ChainID, len(info.Validators), info.BlockInterval)
	fmt.Fprintf(out, "wrote %s\n", d.Dir()+string(os.PathSeparator)+"chain.json")
	for _, v := range info.Validators {
		fmt.Fprintf(out, "  %d  %-12s %s  rpc %s  staking moniker %q\n", v.Index, v.Moniker, v.Address, v.RPC, v.StakingMoniker)
	}
	fmt.Fprintf(out, "control: %s\n", info.Control)
	fmt.Fprintf(out, "grpc: %s (x/staking validators, x/slashing params: window %d, min signed %g)\n", info.GRPC, info.SignedBlocksWindow, info.MinSignedPerWindow)
	vt := domain.Invocation()
	fmt.Fprintf(out, "next, in another terminal:\n  %s run --cosmos %s\n", vt, d.Dir())
	fmt.Fprintf(out, "stop a validator from another terminal:\n  %s devnet cosmos stop --dir %s --validator %d\n", vt, d.Dir(), len(info.Validators)-1)
	fmt.Fprintln(out, "running until Ctrl-C")
	<-ctx.Done()
	if err := d.Close(); err != nil {
		return fmt.Errorf("stop the cosmos devnet: %w", err)
	}
	return nil
}

func devnetAction(ctx context.Context, cmd *cli.Command, action string) error {
	dir := cmd.String("dir")
	info, err := readChain(dir)
	if err != nil {
		return err
	}
	i := cmd.Int("validator")
	ctx, cancel := context.WithTimeout(ctx, devnetControlTimeout)
	defer cancel()
	res, err := devnet.ValidatorAction(ctx, info.Control, action, i)
	if err != nil {
		return controlFailed(dir, fmt.Sprintf("%s validator %d", action, i), err)
	}
	state := "stopped"
	if res.Running {
		state = "started"
	}
	fmt.Fprintf(cmd.Root().Writer, "validator %d (%s) %s in %s\n", res.Validator, res.Address, state, res.Took)
	return nil
}

func devnetStatus(ctx context.Context, cmd *cli.Command) error {
	dir := cmd.String("dir")
	info, err := readChain(dir)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, devnetControlTimeout)
	defer cancel()
	st, err := devnet.GetStatus(ctx, info.Control)
	if err != nil {
		return controlFailed(dir, "status", err)
	}
	out := cmd.Root().Writer
	fmt.Fprintf(out, "cosmos devnet %q in %s\n", st.ChainID, dir)
	for _, v := range st.Validators {
		state := "stopped"
		if v.Running {
			state = fmt.Sprintf("running, height %d", v.Height)
		}
		fmt.Fprintf(out, "  %d  %-12s %s  %s\n", v.Index, v.Moniker, v.Address, state)
	}
	return nil
}

// readChain reads DIR/chain.json, saying what to do when there is none.
func readChain(dir string) (devnet.ChainInfo, error) {
	info, err := devnet.ReadChainInfo(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return info, fmt.Errorf("no cosmos devnet in %s (no chain.json): start one with `%s devnet cosmos --dir %s`", dir, domain.Invocation(), dir)
	}
	if err != nil {
		return info, fmt.Errorf("read the cosmos devnet in %s: %w", dir, err)
	}
	if info.Control == "" {
		return info, fmt.Errorf("%s/chain.json names no control endpoint: restart the devnet with `%s devnet cosmos --dir %s`", dir, domain.Invocation(), dir)
	}
	return info, nil
}

// controlFailed explains a failed call to the control endpoint; a refused
// connection means the devnet that wrote chain.json has stopped.
func controlFailed(dir, what string, err error) error {
	var ce *devnet.ControlError
	switch {
	case errors.As(err, &ce):
		// The devnet's message already names the action and validator.
		return errors.New(ce.Message)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("no devnet is running for %s: start it with `%s devnet cosmos --dir %s`", dir, domain.Invocation(), dir)
	default:
		return fmt.Errorf("%s: ask the devnet's control endpoint: %w", what, err)
	}
}
