// Package devnet is `valtrack devnet polkadot`: a Westend development
// chain run offline by chopsticks on loopback, shaped into a validator
// programme — a set of candidates each made invalid by one validity rule
// (or fully valid), a programme nominator with a time-delay staking proxy
// — whose eras advance in the background by real elections. It writes
// DIR/polkadot.json (where the chain is), DIR/candidates.yaml (the
// programme file) and DIR/truth.json (each candidate's expected verdict).
package devnet

import (
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Defaults and limits of Options.
const (
	// DefaultCandidates is the shaped set: four valid candidates, one for
	// each validity rule that chain state can break, and a parent/sub pair
	// over the one-per-identity limit (see plan).
	DefaultCandidates = 13
	// MaxCandidates bounds the extras (valid ones) beyond the shaped set:
	// the election and each era's payouts grow with them.
	MaxCandidates = 64
	// DefaultEraEvery is the time between era changes in the background;
	// an era change itself takes about ten blocks (6–8 s).
	DefaultEraEvery = 10 * time.Second
	// MinEraEvery keeps the loop from building blocks back to back.
	MinEraEvery = time.Second
	// DefaultProxyDelay is the nominator proxy's announcement delay, in
	// blocks (an era is about ten blocks here, so an announcement matures
	// within two eras).
	DefaultProxyDelay = 10
	// Chain is the chain's name in polkadot.json: lower-case and safe as a
	// subject token.
	Chain = "westend-dev"
	// Spec is the raw chain spec chopsticks runs.
	Spec = "westend-dev.json"
)

// Options configure a devnet. Zero values take the defaults above, except
// Dir, which is required.
type Options struct {
	// Dir receives polkadot.json, candidates.yaml, truth.json, the
	// nominator's key files and chopsticks' config and log.
	Dir string
	// Prefix is the chopsticks install (chopsticks.DefaultPrefix when
	// empty); installed on first use.
	Prefix string
	// Port on 127.0.0.1 for the RPC (HTTP and WebSocket); 0 picks one.
	Port int
	// Candidates is how many candidates to shape: fewer than
	// DefaultCandidates drops the last ones of the plan, more adds valid
	// extras.
	Candidates int
	// EraEvery is the time between background era changes; negative
	// turns the background off (tests call AdvanceEra).
	EraEvery time.Duration
	// BlockEvery is the time between the plain blocks built between era
	// changes (default 2s).
	BlockEvery time.Duration
	// ProxyDelay is the nominator proxy's delay in blocks.
	ProxyDelay uint32
	// Log receives the devnet's lines; nil discards them.
	Log *slog.Logger
	// Out receives progress (the first chopsticks install); nil
	// discards it.
	Out io.Writer
	// NoTelemetry runs no telemetry feed (the candidates' nodes then
	// report nowhere and the telemetry rules are to be skipped).
	NoTelemetry bool
}

func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" {
		return o, fmt.Errorf("polkadot devnet: Options.Dir is empty: give a directory for polkadot.json and candidates.yaml")
	}
	if o.Candidates == 0 {
		o.Candidates = DefaultCandidates
	}
	if o.Candidates < 1 || o.Candidates > MaxCandidates {
		return o, fmt.Errorf("polkadot devnet: %d candidates: give 1 to %d", o.Candidates, MaxCandidates)
	}
	if o.EraEvery == 0 {
		o.EraEvery = DefaultEraEvery
	}
	if o.BlockEvery <= 0 {
		o.BlockEvery = 2 * time.Second
	}
	if o.EraEvery > 0 && o.EraEvery < MinEraEvery {
		return o, fmt.Errorf("polkadot devnet: era every %s: give at least %s", o.EraEvery, MinEraEvery)
	}
	if o.ProxyDelay == 0 {
		o.ProxyDelay = DefaultProxyDelay
	}
	if o.Port < 0 || o.Port > 65535 {
		return o, fmt.Errorf("polkadot devnet: port %d: give 0 (any free one) to 65535", o.Port)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	return o, nil
}
