package ssv

import (
	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/domain"
)

// Check refuses bad flag values before the platform opens anything
// (domain.Checker): the networks of --ssv (built in, or with their
// --ssv-contract and --ssv-from-block) and their --eth-rpc URLs, which the
// roles that sync need.
func (d Domain) Check(cmd *cli.Command, r domain.Role) error {
	in := &instance{env: domain.Env{Role: r, Cmd: cmd}, chainIDs: map[string]uint64{}}
	return in.networks(r == domain.RoleRun || r == domain.RoleSentry)
}
