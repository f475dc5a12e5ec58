package ssv

import (
	"errors"

	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/domain"
)

// Check refuses bad flag values before the platform opens anything
// (domain.Checker): the networks of --ssv (built in, or with their
// --ssv-contract and --ssv-from-block) and their --eth-rpc URLs, which the
// roles that sync need.
func (d Domain) Check(cmd *cli.Command, r domain.Role) error {
	in := &instance{env: domain.Env{Role: r, Cmd: cmd}, chainIDs: map[string]uint64{}}
	if err := in.networks(r == domain.RoleRun || r == domain.RoleSentry); err != nil {
		return err
	}
	// Without a network (and no devnet to bring one) --ssv-beacon would be
	// ignored without a word.
	if len(in.nets) == 0 && !(domain.HasFlag(cmd, "devnet") && cmd.Bool("devnet")) && domain.HasFlag(cmd, "ssv-beacon") && len(cmd.StringSlice("ssv-beacon")) > 0 {
		return errors.New("--ssv-beacon is the beacon node of an --ssv network, and no --ssv network is given: add --ssv NAME (or --ssv-dir DIR), or drop --ssv-beacon")
	}
	return nil
}
