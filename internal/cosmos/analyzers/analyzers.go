// Package analyzers are the Cosmos domain's periodic jobs: per chain, the
// missed-vote analyzer (cosmos/missed/<chain>), which turns the observed
// votes, blocks, commits and validator sets into one row per analysed
// height (cosmos_heights), one row per height and validator with anything
// to say (cosmos_misses) and running totals per validator
// (cosmos_validator_stats), and exports those totals as Prometheus gauges.
//
// It is incremental: each pass continues from cosmos_chains.analyzed_height
// and reads only the heights after it, a bounded number per pass, so a pass
// costs in proportion to the new heights, never the history. What it keeps
// in memory (the sliding signing window, recent block intervals, validator
// sets) is rebuilt from the tables at a start.
package analyzers

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/valtrack/valtrack/internal/analyze"
	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/store"
)

// DefaultSignedBlocksWindow (x/slashing's default, cosmos-sdk
// x/slashing/types/params.go) is the length of the window counters of a
// chain whose parameters are unknown (neither configured nor read from the
// chain). It is never used to project jailing: that is reported unknown.
const DefaultSignedBlocksWindow = 100

// Defaults of Config.
const (
	DefaultEvery      = time.Second
	DefaultStallAfter = 30 * time.Second
	DefaultSkipAfter  = 2 * time.Minute
	DefaultBatch      = 1000
	DefaultLateVotes  = 2 * time.Minute
)

// Chain is one chain to analyse.
type Chain struct {
	Name string
	// Window is x/slashing's signed_blocks_window as configured
	// (--cosmos-slashing); 0: not configured, the chain's parameters
	// (cosmos_params, from the LCD or abci_query) are used, and without
	// them jailing is not projected.
	Window int64
	// MinSigned is min_signed_per_window (0..1), used as given when Window
	// is set (0 is honoured: never jailed for downtime).
	MinSigned float64
}

// Config configures the analyzers.
type Config struct {
	DB     *store.DB
	Chains []Chain
	Every  time.Duration // between passes (default 1s)
	// StallAfter: a block that came longer than this after the previous
	// one makes its height an incident (default 30s); so does one more than
	// 5× the median of the recent intervals.
	StallAfter time.Duration
	// SkipAfter is how long a height whose block or commit is missing is
	// waited for, from when a later height was first seen complete (or a
	// backfill last filled a missing height, if later); then it is
	// skipped, logged once per run. A run of missing heights waits one
	// SkipAfter in all. Heights the sentry found pruned on every endpoint
	// (their blocks, or their validator sets) are not waited for. Default
	// 2 minutes.
	SkipAfter time.Duration
	// LateVotes is how long after its analysis a height's miss rows are
	// still corrected when one of its votes is stored late (a precommit
	// of H arrives after NewBlock(H); a slower endpoint, a late consumer
	// batch), however far below the cursor: the heights are chosen by when
	// they were analysed (cosmos_heights.analyzed_at), so a catch-up that
	// analysed many batches within LateVotes has all of them corrected
	// (default 2 minutes). A vote stored later than that is kept but not
	// counted. A pass reads only the votes stored since the previous one
	// (see late.go), so a longer window costs the first pass after a start
	// more, not every pass.
	LateVotes time.Duration
	// Batch bounds the heights analysed per pass (default 1000).
	Batch      int
	Registerer prometheus.Registerer // nil: metrics are kept but not registered
	Log        *slog.Logger
	Now        func() time.Time // default time.Now
}

func (c *Config) defaults() error {
	if c.DB == nil {
		return errors.New("cosmos analyzers: a database is required")
	}
	if c.Every < 0 || c.StallAfter < 0 || c.SkipAfter < 0 || c.LateVotes < 0 || c.Batch < 0 {
		return fmt.Errorf("cosmos analyzers: negative Every %s, StallAfter %s, SkipAfter %s, LateVotes %s or Batch %d; use 0 for the default",
			c.Every, c.StallAfter, c.SkipAfter, c.LateVotes, c.Batch)
	}
	if c.Every == 0 {
		c.Every = DefaultEvery
	}
	if c.StallAfter == 0 {
		c.StallAfter = DefaultStallAfter
	}
	if c.SkipAfter == 0 {
		c.SkipAfter = DefaultSkipAfter
	}
	if c.LateVotes == 0 {
		c.LateVotes = DefaultLateVotes
	}
	if c.Batch == 0 {
		c.Batch = DefaultBatch
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	seen := map[string]bool{}
	for _, ch := range c.Chains {
		if err := events.CheckChain(ch.Name); err != nil {
			return fmt.Errorf("cosmos analyzers: %w", err)
		}
		if seen[ch.Name] {
			return fmt.Errorf("cosmos analyzers: chain %s given twice", ch.Name)
		}
		seen[ch.Name] = true
		if ch.Window < 0 || ch.MinSigned < 0 || ch.MinSigned > 1 {
			return fmt.Errorf("cosmos analyzers: chain %s: window %d must be ≥ 0 (0: the chain's parameters) and min signed %v within 0..1",
				ch.Name, ch.Window, ch.MinSigned)
		}
	}
	return nil
}

// New returns one analyzer per chain, cosmos/missed/<chain>, sharing one
// set of gauges registered on cfg.Registerer.
func New(cfg Config) ([]analyze.Analyzer, error) {
	s, err := NewSet(cfg)
	if err != nil {
		return nil, err
	}
	out := make([]analyze.Analyzer, 0, len(cfg.Chains))
	for _, ch := range s.cfg.Chains {
		out = append(out, s.analyzer(ch))
	}
	return out, nil
}

// Set makes the analyzers of chains that share one set of gauges: those of
// cfg.Chains, and chains found later (a consumer started without --cosmos
// finds them in the store as sentries publish them).
type Set struct {
	cfg Config
	m   *metrics
}

// NewSet checks cfg and registers the gauges once.
func NewSet(cfg Config) (*Set, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Set{cfg: cfg, m: m}, nil
}

// Analyzer is the analyzer of one more chain (not one of cfg.Chains).
func (s *Set) Analyzer(ch Chain) (analyze.Analyzer, error) {
	one := s.cfg
	one.Chains = []Chain{ch}
	if err := one.defaults(); err != nil {
		return analyze.Analyzer{}, err
	}
	return s.analyzer(ch), nil
}

func (s *Set) analyzer(ch Chain) analyze.Analyzer {
	a := newMissed(s.cfg, ch, s.m)
	return analyze.Analyzer{Name: "cosmos/missed/" + ch.Name, Every: s.cfg.Every, Run: a.Run}
}
