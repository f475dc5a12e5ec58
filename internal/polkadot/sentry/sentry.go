// Package sentry is the Polkadot sentry's loop: every poll it reads the
// chain (its era and session, every validator of interest, the eras of
// the history depth, the faults of each new block) through a Reader and
// publishes what it read as polkadot.<chain>.* events. A read that fails
// is published as a failed Fact by the Reader, or retried on the next
// poll: the consumer keeps the last known values, so one RPC error never
// reads as "not set".
package sentry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valtrack/valtrack/internal/domain"
	"github.com/valtrack/valtrack/internal/polkadot/events"
)

// Reader reads a chain (internal/polkadot/chain.Reader).
type Reader interface {
	Chain(ctx context.Context) (events.Chain, error)
	Validators(ctx context.Context, at events.Chain, extra []string) ([]events.Validator, error)
	Era(ctx context.Context, era uint32) (events.Era, error)
	Faults(ctx context.Context, blockHash string) ([]events.Fault, error)
	BlockHash(ctx context.Context, number uint64) (string, error)
}

// StakingReader is a Reader whose chain may keep staking on a chain of its
// own (Asset Hub since the migration): its Staking.Slashed, SlashReported
// and Chilled events are emitted there, not on the relay, so the sentry
// scans that chain's blocks too, with a cursor of its own.
type StakingReader interface {
	// SeparateStaking is false when staking is on the relay (its blocks
	// are scanned already).
	SeparateStaking() bool
	StakingHead(ctx context.Context) (number uint64, hash string, err error)
	StakingBlockHash(ctx context.Context, number uint64) (string, error)
	StakingFaults(ctx context.Context, blockHash string) ([]events.Fault, error)
}

// Config configures a Sentry; zero values take defaults.
type Config struct {
	Chain     string
	Reader    Reader
	Publisher domain.Publisher
	// Every is the poll interval (default 30s).
	Every time.Duration
	// Extra returns stashes to read besides the chain's validators: the
	// candidates and the program's nominators.
	Extra func() []string
	// EraHistory is how many eras back are read (default 84, 1KV's
	// inclusion window; the chain keeps them for its history depth).
	EraHistory uint32
	// FaultBlocks is how far back faults are scanned on a first start
	// (default 600 blocks); MaxFaultBlocks bounds the blocks scanned per
	// poll (default 200), so catching up never stalls the other reads.
	FaultBlocks, MaxFaultBlocks uint64
	// DataDir keeps the fault cursor (the last block scanned) across
	// restarts; "" keeps it in memory.
	DataDir  string
	SentryID string
	Log      *slog.Logger
	Now      func() time.Time
}

// Stats are a sentry's counts.
type Stats struct {
	Polls, Errors, Published uint64
	Block                    uint64
	ActiveEra                uint32
	Validators               int
	FaultsScanned            uint64 // the last block scanned for faults
	// StakingFaultsScanned is the last block of the separate staking chain
	// scanned (0 none, or staking on the relay).
	StakingFaultsScanned uint64
	LastError            string
	LastSuccess          time.Time
}

// Sentry polls one chain.
type Sentry struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	st       Stats
	finished map[uint32]bool // complete eras published this run
	// relay and staking are the fault scans' cursors: the relay's blocks,
	// and the separate staking chain's (unused when staking is on the
	// relay).
	relay, staking blockCursor
	polls          atomic.Uint64
}

// blockCursor is the last block of one chain a fault scan has published
// the faults of, kept in file (under DataDir) across restarts.
type blockCursor struct {
	file   string
	cursor uint64
}

// New checks cfg.
func New(cfg Config) (*Sentry, error) {
	if err := events.CheckChain(cfg.Chain); err != nil {
		return nil, err
	}
	if cfg.Reader == nil || cfg.Publisher == nil {
		return nil, errors.New("polkadot sentry: a Reader and a Publisher are required")
	}
	if cfg.Every <= 0 {
		cfg.Every = 30 * time.Second
	}
	if cfg.EraHistory == 0 {
		cfg.EraHistory = 84
	}
	if cfg.FaultBlocks == 0 {
		cfg.FaultBlocks = 600
	}
	if cfg.MaxFaultBlocks == 0 {
		cfg.MaxFaultBlocks = 200
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Extra == nil {
		cfg.Extra = func() []string { return nil }
	}
	s := &Sentry{cfg: cfg, log: cfg.Log.With("component", "polkadot-sentry", "chain", cfg.Chain), finished: map[uint32]bool{}}
	s.relay.file, s.staking.file = cfg.Chain+".faults-cursor", cfg.Chain+".staking-faults-cursor"
	s.relay.cursor = s.loadCursor(&s.relay)
	s.staking.cursor = s.loadCursor(&s.staking)
	return s, nil
}

// Network is the chain's name.
func (s *Sentry) Network() string { return s.cfg.Chain }

// Stats returns the counts so far.
func (s *Sentry) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

// Healthy fails when no poll has succeeded for three intervals.
func (s *Sentry) Healthy() error {
	st := s.Stats()
	limit := 3*s.cfg.Every + time.Minute
	if st.LastSuccess.IsZero() {
		if st.Polls > 0 {
			return fmt.Errorf("no successful read of %s yet: %s", s.cfg.Chain, st.LastError)
		}
		return nil
	}
	if age := s.cfg.Now().Sub(st.LastSuccess); age > limit {
		return fmt.Errorf("last successful read of %s %s ago: %s", s.cfg.Chain, age.Round(time.Second), st.LastError)
	}
	return nil
}

// Run polls until ctx ends.
func (s *Sentry) Run(ctx context.Context) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, 10*s.cfg.Every+5*time.Minute)
		err := s.Poll(pctx)
		cancel()
		s.mu.Lock()
		s.st.Polls++
		if err != nil && ctx.Err() == nil {
			s.st.Errors++
			s.st.LastError = err.Error()
			s.log.Warn("poll failed; retrying at the next", "err", err, "every", s.cfg.Every)
		} else if err == nil {
			s.st.LastSuccess = s.cfg.Now()
			s.st.LastError = ""
		}
		s.mu.Unlock()
		t.Reset(s.cfg.Every)
	}
}

// Poll reads and publishes once: the chain, the validators, the eras and
// the faults of the blocks since the last poll.
func (s *Sentry) Poll(ctx context.Context) error {
	r := s.cfg.Reader
	c, err := r.Chain(ctx)
	if err != nil {
		return fmt.Errorf("read the chain: %w", err)
	}
	c.V, c.Chain = events.SchemaVersion, s.cfg.Chain
	c.SeenAt, c.SentryID = s.cfg.Now().UnixMilli(), s.cfg.SentryID
	if err := s.publish(ctx, events.KindChain, "chain-"+strconv.FormatUint(c.Block, 10), c); err != nil {
		return err
	}
	var errs []error
	vals, err := r.Validators(ctx, c, s.cfg.Extra())
	if err != nil {
		errs = append(errs, fmt.Errorf("read the validators: %w", err))
	}
	for _, v := range vals {
		v.V, v.Chain = events.SchemaVersion, s.cfg.Chain
		v.SeenAt, v.SentryID = s.cfg.Now().UnixMilli(), s.cfg.SentryID
		if err := s.publish(ctx, events.KindValidator, "val-"+v.Stash+"-"+strconv.FormatUint(v.Block, 10), v); err != nil {
			return err
		}
	}
	if err := s.eras(ctx, c); err != nil {
		errs = append(errs, err)
	}
	if err := s.scan(ctx, &s.relay, c.Block, c.BlockHash, r.BlockHash, r.Faults); err != nil {
		errs = append(errs, err)
	}
	if sr, ok := r.(StakingReader); ok && sr.SeparateStaking() {
		if n, hash, err := sr.StakingHead(ctx); err != nil {
			errs = append(errs, fmt.Errorf("staking chain: read its head: %w", err))
		} else if err := s.scan(ctx, &s.staking, n, hash, sr.StakingBlockHash, sr.StakingFaults); err != nil {
			errs = append(errs, fmt.Errorf("staking chain: %w", err))
		}
	}
	s.mu.Lock()
	s.st.Block, s.st.ActiveEra, s.st.Validators = c.Block, c.ActiveEra, len(vals)
	s.st.FaultsScanned, s.st.StakingFaultsScanned = s.relay.cursor, s.staking.cursor
	s.mu.Unlock()
	return errors.Join(errs...)
}

// eras publishes the eras of the history window: a complete era once per
// run (missed ones are backfilled from chain state, which keeps them for
// the history depth), the active one every poll (its points grow).
func (s *Sentry) eras(ctx context.Context, c events.Chain) error {
	from := uint32(0)
	if c.ActiveEra+1 > s.cfg.EraHistory {
		from = c.ActiveEra + 1 - s.cfg.EraHistory
	}
	if c.HistoryDepth > 0 && c.ActiveEra > c.HistoryDepth && from < c.ActiveEra-c.HistoryDepth {
		from = c.ActiveEra - c.HistoryDepth
	}
	var errs []error
	for era := from; era <= c.ActiveEra; era++ {
		s.mu.Lock()
		done := s.finished[era]
		s.mu.Unlock()
		if done {
			continue
		}
		e, err := s.cfg.Reader.Era(ctx, era)
		if err != nil {
			errs = append(errs, fmt.Errorf("read era %d: %w", era, err))
			if len(errs) > 3 {
				break // the endpoint is failing: try again next poll
			}
			continue
		}
		e.V, e.Chain, e.Era = events.SchemaVersion, s.cfg.Chain, era
		e.Complete = era < c.ActiveEra
		e.SeenAt, e.SentryID = s.cfg.Now().UnixMilli(), s.cfg.SentryID
		id := fmt.Sprintf("era-%d-final", era)
		if !e.Complete {
			id = fmt.Sprintf("era-%d-%d", era, c.Block)
		}
		if err := s.publish(ctx, events.KindEra, id, e); err != nil {
			return err
		}
		if e.Complete {
			s.mu.Lock()
			s.finished[era] = true
			s.mu.Unlock()
		}
	}
	return errors.Join(errs...)
}

// scan reads the faults of one chain's blocks after bc's cursor up to
// head (whose hash is headHash), at most MaxFaultBlocks a poll, and moves
// the cursor past each block whose faults are published.
func (s *Sentry) scan(ctx context.Context, bc *blockCursor, head uint64, headHash string,
	blockHash func(context.Context, uint64) (string, error), faults func(context.Context, string) ([]events.Fault, error)) error {
	next := bc.cursor + 1
	if bc.cursor == 0 || head > bc.cursor+s.cfg.FaultBlocks*100 {
		// First start (or a cursor from another chain's life): the recent
		// past only.
		next = 1
		if head > s.cfg.FaultBlocks {
			next = head - s.cfg.FaultBlocks + 1
		}
	}
	last := head
	if last >= next && last-next+1 > s.cfg.MaxFaultBlocks {
		last = next + s.cfg.MaxFaultBlocks - 1
	}
	defer s.saveCursor(bc)
	for n := next; n <= last; n++ {
		hash := headHash
		if n != head {
			h, err := blockHash(ctx, n)
			if err != nil {
				return fmt.Errorf("hash of block %d: %w", n, err)
			}
			hash = h
		}
		fs, err := faults(ctx, hash)
		if err != nil {
			return fmt.Errorf("faults of block %d: %w", n, err)
		}
		for _, f := range fs {
			f.V, f.Chain = events.SchemaVersion, s.cfg.Chain
			if f.Block == 0 {
				f.Block = n
			}
			f.SeenAt, f.SentryID = s.cfg.Now().UnixMilli(), s.cfg.SentryID
			if err := s.publish(ctx, events.KindFault, "fault-"+f.ID, f); err != nil {
				return err
			}
		}
		bc.cursor = n
	}
	return nil
}

func (s *Sentry) publish(ctx context.Context, kind, id string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", kind, err)
	}
	if err := s.cfg.Publisher.Publish(ctx, events.Subject(s.cfg.Chain, kind), s.cfg.Chain+"-"+id, b); err != nil {
		return fmt.Errorf("publish %s: %w", kind, err)
	}
	s.mu.Lock()
	s.st.Published++
	s.mu.Unlock()
	return nil
}

func (s *Sentry) cursorPath(bc *blockCursor) string {
	if s.cfg.DataDir == "" {
		return ""
	}
	return filepath.Join(s.cfg.DataDir, bc.file)
}

func (s *Sentry) loadCursor(bc *blockCursor) uint64 {
	p := s.cursorPath(bc)
	if p == "" {
		return 0
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return 0
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		s.log.Warn("fault cursor unreadable; scanning the recent past again", "file", p, "err", err)
		return 0
	}
	return n
}

// saveCursor writes the cursor atomically (a torn write would lose it).
func (s *Sentry) saveCursor(bc *blockCursor) {
	p := s.cursorPath(bc)
	if p == "" || bc.cursor == 0 {
		return
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		s.log.Warn("fault cursor not saved", "err", err)
		return
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.FormatUint(bc.cursor, 10)+"\n"), 0o644); err == nil {
		err = os.Rename(tmp, p)
		if err != nil {
			s.log.Warn("fault cursor not saved", "err", err)
		}
	}
}
