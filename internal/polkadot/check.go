package polkadot

import (
	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/domain"
)

// Check refuses bad flag values before the platform opens anything
// (domain.Checker): the chains and their endpoints (--polkadot, the
// People, staking and telemetry flags, --polkadot-dir).
func (d Domain) Check(cmd *cli.Command, r domain.Role) error {
	_, err := chains(cmd)
	return err
}
