package ethereum

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/domain"
	"github.com/valtrack/valtrack/internal/ethereum/devnet"
)

// DevnetCommand is `valtrack devnet ethereum`: a local Ethereum consensus
// p2p network that runs until Ctrl-C.
func (d Domain) DevnetCommand() *cli.Command {
	env := d.Env.Of
	return &cli.Command{
		Name:  "ethereum",
		Usage: "run a local Ethereum consensus p2p network (discv5 + libp2p beacon peers with known validators)",
		Description: "Starts --nodes beacon peers on loopback and writes config.yaml, bootstrap_nodes.txt,\n" +
			"genesis.json and truth.json (who runs how many validators) to --dir. Then watch it with:\n\n" +
			"   valtrack run --eth DIR",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "nodes", Value: 50, Usage: "number of beacon peers", Sources: env("devnet-nodes"),
				Validator: func(v int) error { return domain.InRange("--nodes", v, 1, 5000) }},
			&cli.StringFlag{Name: "dir", Value: "./devnet", Usage: "directory for the network files and truth.json", Sources: env("devnet-dir")},
			&cli.StringFlag{Name: "name", Value: devnet.DefaultName, Usage: "network name (CONFIG_NAME)", Sources: env("devnet-name")},
			&cli.DurationFlag{Name: "slot-duration", Value: devnet.DefaultSlotDuration, Usage: "slot duration", Sources: env("devnet-slot-duration"),
				// devnet.Options reads 0 as its default: refused here, not replaced.
				Validator: func(v time.Duration) error { return domain.AtLeast("--slot-duration", v, 100*time.Millisecond) }},
			&cli.UintFlag{Name: "slots-per-epoch", Value: devnet.DefaultSlotsPerEpoch, Usage: "slots per epoch", Sources: env("devnet-slots-per-epoch"),
				Validator: func(v uint) error {
					if v == 0 {
						return fmt.Errorf("--slots-per-epoch 0: give at least 1")
					}
					return nil
				}},
			&cli.StringFlag{Name: "validators", Value: devnet.DefaultValidators, Usage: "validators per node: buckets LO-HI:SHARE% of nodes, or a list of counts such as 64,0,3", Sources: env("devnet-validators")},
			&cli.Int64Flag{Name: "seed", Usage: "seed for keys, validator placement and duties; 0 picks one", Sources: env("devnet-seed")},
			&cli.Float64Flag{Name: "large-share", Value: devnet.DefaultLargeNodeShare, Usage: "share of nodes subscribed to every subnet", Sources: env("devnet-large-share")},
			&cli.Float64Flag{Name: "quic-share", Value: devnet.DefaultQUICShare, Usage: "share of nodes also listening on QUIC", Sources: env("devnet-quic-share")},
			&cli.UintFlag{Name: "epochs-per-subnet-subscription", Value: devnet.DefaultEpochsPerSubnetSubscription, Usage: "EPOCHS_PER_SUBNET_SUBSCRIPTION; small values rotate long-lived subnets quickly", Sources: env("devnet-epochs-per-subnet-subscription")},
			&cli.StringFlag{Name: "bind", Value: devnet.DefaultBindIP, Usage: "IPv4 address the nodes listen on", Sources: env("devnet-bind")},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			log, err := d.Logger(cmd)
			if err != nil {
				return err
			}
			d, err := devnet.Start(ctx, devnet.Options{
				Nodes:                       int(cmd.Int("nodes")),
				Dir:                         cmd.String("dir"),
				Name:                        cmd.String("name"),
				SlotDuration:                cmd.Duration("slot-duration"),
				SlotsPerEpoch:               uint64(cmd.Uint("slots-per-epoch")),
				Validators:                  cmd.String("validators"),
				Seed:                        cmd.Int64("seed"),
				LargeNodeShare:              share(cmd.Float64("large-share")),
				QUICShare:                   share(cmd.Float64("quic-share")),
				EpochsPerSubnetSubscription: uint64(cmd.Uint("epochs-per-subnet-subscription")),
				BindIP:                      cmd.String("bind"),
				Log:                         log.With("component", "devnet"),
			})
			if err != nil {
				return fmt.Errorf("start the ethereum devnet: %w", err)
			}
			defer d.Close()
			t := d.Truth()
			out := cmd.Root().Writer
			if out == nil {
				out = os.Stdout
			}
			fmt.Fprintf(out, "devnet %q: %d nodes, %d validators (seed %d)\n", t.Network, len(t.Nodes), t.TotalValidators, d.Seed())
			fmt.Fprintf(out, "wrote config.yaml, bootstrap_nodes.txt, genesis.json and truth.json to %s\n", d.Dir())
			fmt.Fprintln(out, "bootnodes:")
			for _, b := range d.Bootnodes() {
				fmt.Fprintln(out, "  "+b)
			}
			fmt.Fprintf(out, "next, in another terminal:\n  %s run --eth %s\n", domain.Invocation(), d.Dir())
			fmt.Fprintln(out, "running until Ctrl-C")
			<-ctx.Done()
			if err := d.Close(); err != nil {
				return fmt.Errorf("stop the ethereum devnet: %w", err)
			}
			return nil
		},
	}
}

// share is a --*-share value for devnet.Options, which reads 0 as its
// default and a negative share as none: 0 on the command line means none.
func share(v float64) float64 {
	if v == 0 {
		return -1
	}
	return v
}
