package devnet

import (
	"fmt"
	"log/slog"
	"regexp"
	"time"
)

// Defaults and limits of Options.
const (
	DefaultValidators    = 4
	DefaultChainID       = "valtrack-devnet-1"
	DefaultBlockInterval = time.Second
	// MaxValidators bounds the in-process chain: every validator is a whole
	// CometBFT node (consensus, p2p, RPC, three leveldb stores), and the
	// all-to-all persistent peering grows with the square of the count.
	MaxValidators = 32
	// MinBlockInterval keeps timeout_commit above what a loaded 2-core
	// machine can gossip in: below it rounds fail and blocks get slower, not
	// faster.
	MinBlockInterval = 100 * time.Millisecond
	// Power is every validator's voting power: equal powers make the
	// validator set's order (power desc, then address asc) the address order.
	Power = 10
	// FirstBlockTimeout bounds how long Start waits for the first block.
	FirstBlockTimeout = 60 * time.Second
)

// chainIDPattern keeps the chain id one NATS subject token (the cosmos
// domain's subjects are cosmos.<chain-id>.<event>) and within CometBFT's
// 50-character limit.
var chainIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,49}$`)

// Options configure a devnet. Zero values take the defaults above, except
// Dir, which is required.
type Options struct {
	// Validators is the number of validators, 1..MaxValidators. When Dir
	// already holds a devnet, 0 takes its count and any other value must
	// equal it.
	Validators int
	// Dir holds chain.json, genesis.json and one home per validator
	// (validator-<index>/config, validator-<index>/data). A Dir that already
	// holds a devnet is resumed from its data: same chain, keys and blocks.
	Dir string
	// ChainID is letters, digits and '-', at most 50, starting with a letter
	// or digit. Resuming, empty takes the chain's and anything else must
	// match it.
	ChainID string
	// BlockInterval is CometBFT's timeout_commit: the pause after a block is
	// committed before the next height starts.
	BlockInterval time.Duration
	// Log receives CometBFT's logs at debug level (its debug logs below
	// that) and the devnet's own at info. Nil discards them.
	Log *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" {
		return o, fmt.Errorf("devnet: Options.Dir is empty: give a directory for the validators' homes and chain.json")
	}
	if o.Validators < 0 || o.Validators > MaxValidators {
		return o, fmt.Errorf("devnet: %d validators: give 1 to %d", o.Validators, MaxValidators)
	}
	if o.ChainID != "" && !chainIDPattern.MatchString(o.ChainID) {
		return o, fmt.Errorf("devnet: chain id %q: use letters, digits and '-' (at most 50, not starting with '-')", o.ChainID)
	}
	if o.BlockInterval == 0 {
		o.BlockInterval = DefaultBlockInterval
	}
	if o.BlockInterval < MinBlockInterval {
		return o, fmt.Errorf("devnet: block interval %s: give at least %s", o.BlockInterval, MinBlockInterval)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o, nil
}
