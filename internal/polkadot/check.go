package polkadot

import (
	"errors"

	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/domain"
)

// Check refuses bad flag values before the platform opens anything
// (domain.Checker): the chains and their endpoints (--polkadot, the
// People, staking and telemetry flags, --polkadot-dir).
func (d Domain) Check(cmd *cli.Command, r domain.Role) error {
	cs, err := chains(cmd)
	if err != nil {
		return err
	}
	// Without a chain (and no devnet to bring one) --polkadot-send would be
	// ignored without a word.
	if len(cs) == 0 && !withDevnet(cmd) && domain.HasFlag(cmd, "polkadot-send") && cmd.Bool("polkadot-send") {
		return errors.New("--polkadot-send sends the nominations of a --polkadot chain's program, and no chain is given: add --polkadot NAME=RPC with --polkadot-candidates NAME=FILE, or drop --polkadot-send")
	}
	return nil
}
