package devnet

import (
	"context"
	"log/slog"

	cmtlog "github.com/cometbft/cometbft/libs/log"
)

// levelTrace is below slog's debug: CometBFT's debug logs (every vote,
// every gossip step) are too many even for a devnet's debug output.
const levelTrace = slog.LevelDebug - 4

// cometLogger routes CometBFT's logs to an slog.Logger. Its info and error
// logs go out at debug: a devnet's CometBFT reports errors as a matter of
// course (a stopped validator is a refused dial every few seconds), which
// would drown the devnet's own lines at info.
type cometLogger struct{ l *slog.Logger }

var _ cmtlog.Logger = cometLogger{}

func (c cometLogger) Debug(msg string, kv ...any) { c.log(levelTrace, msg, kv) }
func (c cometLogger) Info(msg string, kv ...any)  { c.log(slog.LevelDebug, msg, kv) }
func (c cometLogger) Error(msg string, kv ...any) {
	c.log(slog.LevelDebug, msg, append(kv, "cometbft_level", "error"))
}

func (c cometLogger) With(kv ...any) cmtlog.Logger { return cometLogger{c.l.With(kv...)} }

func (c cometLogger) log(level slog.Level, msg string, kv []any) {
	// Checked first: formatting CometBFT's key-values costs more than the
	// consensus step that logs them.
	if !c.l.Enabled(context.Background(), level) {
		return
	}
	c.l.Log(context.Background(), level, msg, kv...)
}
