package ethereum

import (
	"fmt"

	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/domain"
)

// Check refuses bad flag values before the platform opens anything
// (domain.Checker): the networks named by --eth, and the retention against
// the estimate window.
func (d Domain) Check(cmd *cli.Command, r domain.Role) error {
	if err := checkRetention(cmd, r); err != nil {
		return err
	}
	nets, err := loadNetworks(cmd.StringSlice("eth"), "")
	if err != nil {
		return err
	}
	return checkUnique(nets)
}

// checkRetention: pruning inside the window would take observations from
// the estimate that still needs them.
func checkRetention(cmd *cli.Command, r domain.Role) error {
	if r != domain.RoleRun && r != domain.RoleConsumer {
		return nil
	}
	if ret, win := cmd.Duration("history-retention"), cmd.Duration("estimate-window"); ret > 0 && ret < win {
		return fmt.Errorf("--history-retention %s is shorter than --estimate-window %s: the estimate would lose observations it still uses; give at least %s (or a negative duration to keep everything)", ret, win, win)
	}
	return nil
}
