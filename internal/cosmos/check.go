package cosmos

import (
	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/domain"
)

// Check refuses bad flag values before the platform opens anything
// (domain.Checker): the chains of --cosmos and the per-chain flags. With
// --devnet the devnet's chain is only known once it runs, so the per-chain
// flags, which may name it, are left to Open.
func (d Domain) Check(cmd *cli.Command, r domain.Role) error {
	chains, err := parseChains(cmd.StringSlice("cosmos"))
	if err != nil {
		return err
	}
	if r == domain.RoleRun && domain.HasFlag(cmd, "devnet") && cmd.Bool("devnet") {
		return nil
	}
	in := &instance{env: domain.Env{Role: r, Cmd: cmd}, chains: chains}
	return in.configure()
}
