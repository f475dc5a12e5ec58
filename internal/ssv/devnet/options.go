package devnet

import (
	"fmt"
	"log/slog"
	"time"
)

// Defaults and limits of Options.
const (
	DefaultBlockInterval = time.Second
	// MinBlockInterval keeps the committing goroutine from spinning: each
	// block is sealed, its receipts read back and truth.json rewritten.
	MinBlockInterval = 50 * time.Millisecond
	// DefaultEventEvery: after the scripted history, new events go into
	// every third block.
	DefaultEventEvery = 3
	// DefaultNetwork is the name ssv.json gives the network.
	DefaultNetwork = "devnet"
	// DefaultHistoryPerBlock is how many of the HistoryValidators go into
	// one block.
	DefaultHistoryPerBlock = 100
	// MaxHistoryPerBlock keeps a block under the dev chain's gas limit
	// (60 M; a ValidatorAdded of 4 operators costs about 100 k).
	MaxHistoryPerBlock = 400
)

// Options configure a devnet. Zero values take the defaults above, except
// Dir, which is required.
type Options struct {
	// Dir receives ssv.json and truth.json. The chain itself lives in
	// memory: every Start is a new chain, and rewrites both files.
	Dir string
	// BlockInterval is the time between blocks after the scripted history
	// (which is sealed at once, block after block).
	BlockInterval time.Duration
	// EventEvery is how many blocks apart the new events are after the
	// history: 1 puts some in every block.
	EventEvery int
	// Network is the network name in ssv.json.
	Network string
	// HistoryValidators adds that many valid ValidatorAdded (real
	// BLS-signed shares) to the scripted history, after its own blocks:
	// a large history for benchmarks (bench/ssvsync). They belong to 100
	// owners of their own, in clusters of operators 1–4, 5–8 and 2–5
	// (7 operators: 2–8 for every tenth), and their keys are derived as
	// the script's are, so the history is the same on every run. 0: none.
	HistoryValidators int
	// HistoryPerBlock is how many of them go into one block
	// (0: DefaultHistoryPerBlock, at most MaxHistoryPerBlock).
	HistoryPerBlock int
	// Log receives the devnet's lines. Nil discards them.
	Log *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" {
		return o, fmt.Errorf("ssv devnet: Options.Dir is empty: give a directory for ssv.json and truth.json")
	}
	if o.BlockInterval == 0 {
		o.BlockInterval = DefaultBlockInterval
	}
	if o.BlockInterval < MinBlockInterval {
		return o, fmt.Errorf("ssv devnet: block interval %s: give at least %s", o.BlockInterval, MinBlockInterval)
	}
	if o.EventEvery == 0 {
		o.EventEvery = DefaultEventEvery
	}
	if o.EventEvery < 0 {
		return o, fmt.Errorf("ssv devnet: new events every %d blocks: give 1 or more", o.EventEvery)
	}
	if o.HistoryValidators < 0 {
		return o, fmt.Errorf("ssv devnet: %d history validators: give 0 or more", o.HistoryValidators)
	}
	if o.HistoryPerBlock == 0 {
		o.HistoryPerBlock = DefaultHistoryPerBlock
	}
	if o.HistoryPerBlock < 0 || o.HistoryPerBlock > MaxHistoryPerBlock {
		return o, fmt.Errorf("ssv devnet: %d history validators per block: give 1 to %d", o.HistoryPerBlock, MaxHistoryPerBlock)
	}
	if o.Network == "" {
		o.Network = DefaultNetwork
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o, nil
}
