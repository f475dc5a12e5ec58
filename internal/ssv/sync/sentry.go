package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/valtrack/valtrack/internal/domain"
	"github.com/valtrack/valtrack/internal/retry"
	"github.com/valtrack/valtrack/internal/safe"
	"github.com/valtrack/valtrack/internal/ssv/events"
)

// Modes of SyncStatus.
const (
	ModeHistory = "history"
	ModeLive    = "live"
)

// liveGap: a live sentry that falls this many blocks behind (an outage)
// reads the gap in history ranges again.
const liveGap = 256

// Sentry follows one SSV network's contract. Run it once.
type Sentry struct {
	cfg    Config
	log    *slog.Logger
	m      *metrics
	eps    []*endpoint
	cursor *cursorFile

	// owned by Run's goroutine
	cur        int
	chainID    uint64
	next       uint64      // the next block to process
	hashes     []blockHash // processed blocks' hashes, ascending
	first      *blockHash  // FromBlock's hash on the chain synced (the cursor's First)
	gen        uint64      // reorg generation of the ids published (events.Reorg.Gen)
	anchored   bool        // first and the processed block checked against the chain since Run began
	lowWarned  bool
	rangeSize  uint64
	okInRow    int
	failsInRow int
	// downRounds counts the waits after every endpoint failed in a row,
	// since the last success; downReports picks the few of a long outage
	// that warn (the rest are debug records).
	downRounds  int
	downReports retry.Reports
	backoff     time.Duration
	heads       chan struct{} // WebSocket newHeads wake-ups
	sub         *rpc.ClientSubscription
	subEp       *endpoint
	subEnded    *atomic.Bool  // set when sub ended (each subscription has its own)
	subWait     time.Duration // the wait after a failed subscription, doubling up to PollEvery
	// prev is the block of the last marker published, the next marker's
	// PrevMarker (nil: none known; see chainAfter).
	prev *uint64
	// markerBefore is the last marker among the kept hashes forgotten
	// (remember), older than every kept one; nil: none.
	markerBefore *uint64

	statusKick chan struct{}
	versions   map[common.Address]string // implementations' getVersion answers ("" unknown)

	mu           sync.Mutex
	mode         string
	head         uint64
	haveHead     bool
	processed    int64 // -1: none
	behindSince  time.Time
	lastEndpoint string
	headAt       time.Time     // when an endpoint last answered eth_blockNumber
	pubHead      uint64        // the head of the last SyncStatus built
	tipTime      time.Time     // the processed block's header time; zero: unknown
	blockTime    time.Duration // the chain's block time measured on the kept headers; 0: unknown
	// checkFails counts the answers that failed a check since the
	// processed block last moved; checkErr is the last one's error.
	checkFails int
	checkErr   string

	n struct {
		logs, skipped, blocks, reorgs, failovers, mismatches, halvings, ranges, rangeSize, rateLimited, bloomChecks atomic.Uint64
	}
}

// Stats are a progress line's figures.
type Stats struct {
	Mode             string
	Head             uint64
	Processed        int64 // last fully published block, -1 before the first
	Logs             uint64
	Skipped          uint64
	Blocks           uint64 // block markers published
	Reorgs           uint64
	Failovers        uint64
	Mismatches       uint64
	Halvings         uint64
	RateLimited      uint64 // eth_getLogs ranges refused by a rate limit
	BloomChecks      uint64 // history blocks without logs whose bloom held the contract, read by hash
	Ranges           uint64 // eth_getLogs ranges read
	RangeSize        uint64
	Endpoint         string // the endpoint in use, host:port
	Endpoints        int
	EndpointsHealthy int
	// HaveHead is false until an endpoint has answered with the chain's
	// head: before, Head and Processed (the cursor's or the start block's)
	// say nothing of the chain.
	HaveHead bool
}

// EndpointState is an RPC endpoint as the sentry sees it now.
type EndpointState struct {
	Name    string // host:port
	URL     string // domain.ShowURL of its URL: scheme and host, no user info, path or query
	Healthy bool
	Error   string // its last error, scrubbed of the URL's secrets; "" none
}

// Endpoints are the sentry's RPC endpoints as it sees them now, before its
// first SyncStatus too (what the API shows while it connects).
func (s *Sentry) Endpoints() []EndpointState {
	out := make([]EndpointState, 0, len(s.eps))
	for _, ep := range s.eps {
		ok, _, _, msg := ep.status()
		out = append(out, EndpointState{Name: ep.name, URL: domain.ShowURL(ep.raw), Healthy: ok, Error: msg})
	}
	return out
}

// New validates cfg and builds a Sentry.
func New(cfg Config) (*Sentry, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	names, err := endpointNames(cfg.RPCs)
	if err != nil {
		return nil, fmt.Errorf("ssv sentry %s: %w", cfg.Network, err)
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	s := &Sentry{cfg: cfg, log: cfg.Log.With("network", cfg.Network), m: m, cursor: newCursor(cfg.DataDir, cfg.Network),
		rangeSize: cfg.InitialRange, backoff: cfg.RetryMin, processed: -1, mode: ModeHistory,
		heads: make(chan struct{}, 1), statusKick: make(chan struct{}, 1), versions: map[common.Address]string{}}
	for i, raw := range cfg.RPCs {
		s.eps = append(s.eps, newEndpoint(names[i], raw, cfg.RequestTimeout, cfg.MaxResponse))
	}
	return s, nil
}

// Network is the SSV network's name.
func (s *Sentry) Network() string { return s.cfg.Network }

// Stats returns the figures for a progress line.
func (s *Sentry) Stats() Stats {
	s.mu.Lock()
	st := Stats{Mode: s.mode, Head: s.head, Processed: s.processed, Endpoint: s.lastEndpoint, HaveHead: s.haveHead}
	s.mu.Unlock()
	st.Logs, st.Skipped, st.Blocks = s.n.logs.Load(), s.n.skipped.Load(), s.n.blocks.Load()
	st.Reorgs, st.Failovers, st.Mismatches = s.n.reorgs.Load(), s.n.failovers.Load(), s.n.mismatches.Load()
	st.Halvings, st.Ranges, st.RangeSize = s.n.halvings.Load(), s.n.ranges.Load(), s.n.rangeSize.Load()
	st.RateLimited, st.BloomChecks = s.n.rateLimited.Load(), s.n.bloomChecks.Load()
	st.Endpoints = len(s.eps)
	for _, ep := range s.eps {
		if ok, _, _, _ := ep.status(); ok {
			st.EndpointsHealthy++
		}
	}
	return st
}

// Healthy returns an error when the sentry is not keeping up with its
// chain: the last processed block more than MaxLagBlocks behind head −
// FollowDistance, or behind it for more than MaxLagTime. Both need a head:
// with every endpoint failing no head is read and the chain moves on
// unseen, so it also fails when no endpoint answered for MaxLagTime, and
// when the processed block's header is more than MaxLagTime older than
// head − FollowDistance is expected to be (FollowDistance blocks of the
// measured block time before now) — which also catches endpoints stuck
// on an old head.
func (s *Sentry) Healthy() error {
	now := s.cfg.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.haveHead {
		return errors.New("no head read yet from any RPC endpoint: check that an endpoint answers (GET /api/v1/ssv/{network}/sync shows their errors)")
	}
	if quiet := now.Sub(s.headAt); quiet > MaxLagTime {
		return fmt.Errorf("no RPC endpoint has answered for %s (the last head read was block %d, processed up to block %d): check the endpoints (GET /api/v1/ssv/{network}/sync shows their errors)", quiet.Round(time.Second), s.head, s.processed)
	}
	if s.checkFails >= 2 {
		// One failed check may be a race with the chain (a reorg between
		// two calls); the same blocks failing again is an endpoint
		// returning wrong or too few logs.
		return fmt.Errorf("the answers for the blocks after %d failed the sentry's checks %d times in a row (last: %s): an endpoint returns too few or wrong logs; they are read again after a back-off — add another --eth-rpc endpoint or check the node", s.processed, s.checkFails, s.checkErr)
	}
	target := int64(0)
	if s.head > s.cfg.FollowDistance {
		target = int64(s.head - s.cfg.FollowDistance)
	}
	if lag := target - s.processed; lag > MaxLagBlocks {
		return fmt.Errorf("last processed block %d is %d blocks behind head %d − follow distance %d (mode %s): check the endpoints' health (GET /api/v1/ssv/{network}/sync)", s.processed, lag, s.head, s.cfg.FollowDistance, s.mode)
	}
	if s.processed < target && !s.behindSince.IsZero() && now.Sub(s.behindSince) > MaxLagTime {
		return fmt.Errorf("last processed block %d has been behind head − follow distance (%d) for %s: check the endpoints' health (GET /api/v1/ssv/{network}/sync)", s.processed, target, now.Sub(s.behindSince).Round(time.Second))
	}
	if !s.tipTime.IsZero() && s.blockTime > 0 {
		expected := now.Add(-time.Duration(s.cfg.FollowDistance) * s.blockTime)
		if behind := expected.Sub(s.tipTime); behind > MaxLagTime {
			return fmt.Errorf("last processed block %d is from %s, %s before head − follow distance should be (%d blocks of %s): the endpoints are down or stuck on an old head; check that they are synced", s.processed, s.tipTime.UTC().Format(time.RFC3339), behind.Round(time.Second), s.cfg.FollowDistance, s.blockTime)
		}
	}
	return nil
}

// errFatal marks an error Run cannot go on from.
type errFatal struct{ error }

// Run follows the chain until ctx ends; it returns nil then. An error is
// one it cannot go on from: an unreadable cursor, endpoints on different
// chains.
func (s *Sentry) Run(ctx context.Context) error {
	defer func() {
		for _, ep := range s.eps {
			ep.close()
		}
	}()
	cd, err := s.cursor.load(s.cfg.Network, s.cfg.Contract)
	if err != nil {
		return fmt.Errorf("ssv sentry %s: %w", s.cfg.Network, err)
	}
	s.next = s.cfg.FromBlock
	if cd != nil {
		s.next = uint64(cd.Processed + 1)
		s.hashes = cd.Hashes
		s.chainID = cd.ChainID
		s.first = cd.First
		s.gen = cd.Gen
		s.prev, s.markerBefore = cd.PrevMarker, cd.MarkerBefore
	}
	if r := s.cfg.ReplayFrom; r != nil {
		if err := s.rewind(*r); err != nil {
			return err
		}
	}
	s.setProcessed()
	if err := s.checkChains(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if len(s.eps) == 1 && s.cfg.NoBloomCheck {
		s.log.Warn("ssv sentry: one RPC endpoint and no bloom check: a node that loses every log of a block in its log index goes unnoticed in history; give a second --eth-rpc to compare answers")
	} else if len(s.eps) == 1 {
		s.log.Info("ssv sentry: one RPC endpoint: history blocks without logs are checked against their blooms (on mainnet up to two calls per block); a second --eth-rpc compares answers instead, at one extra eth_getLogs per range")
	}
	s.log.Info("ssv sentry: starting", "contract", s.cfg.Contract.Hex(), "chain_id", s.chainID, "from_block", s.next,
		"resumed", cd != nil, "endpoints", strings.Join(s.names(), ","), "follow_distance", s.cfg.FollowDistance)

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.statusLoop(ctx)
	}()
	err = s.loop(ctx)
	cancel()
	wg.Wait()
	if s.sub != nil {
		s.sub.Unsubscribe()
	}
	if ctx.Err() != nil && err == nil || errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func (s *Sentry) names() []string {
	out := make([]string, len(s.eps))
	for i, ep := range s.eps {
		out[i] = ep.name
	}
	return out
}

// checkChains asks every endpoint its chain id: all that answer must
// agree (and match Config.ChainID and the cursor's). It retries until at
// least one answers; the others are checked before their first use.
func (s *Sentry) checkChains(ctx context.Context) error {
	reports := make([]retry.Reports, len(s.eps)) // one per endpoint: their errors differ
	for round := 1; ; round++ {
		// A node that is down at start: its first rounds warn, the rest
		// of a long wait mostly debug (retry.Reports).
		level := slog.LevelDebug
		ids := map[uint64][]string{}
		for i, ep := range s.eps {
			id, err := ep.chainIDCall(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				ep.mark(err)
				epLevel := slog.LevelDebug
				if reports[i].Warn(round, err) {
					epLevel, level = slog.LevelWarn, slog.LevelWarn
				}
				s.log.Log(ctx, epLevel, "ssv sentry: endpoint did not answer eth_chainId; it is checked again before it is used", "endpoint", ep.name, "err", err)
				continue
			}
			ep.mu.Lock()
			ep.chainID = id
			ep.mu.Unlock()
			// It answered: healthy until a call fails (a standby endpoint
			// is not shown unhealthy for never having been used).
			ep.mark(nil)
			ids[id] = append(ids[id], ep.name)
		}
		if len(ids) > 1 {
			var parts []string
			for id, names := range ids {
				parts = append(parts, fmt.Sprintf("%s report chain id %d", strings.Join(names, ", "), id))
			}
			sort.Strings(parts)
			return errFatal{fmt.Errorf("ssv sentry %s: the RPC endpoints are on different chains (%s): give endpoints of one chain only", s.cfg.Network, strings.Join(parts, "; "))}
		}
		for id, names := range ids {
			if err := s.acceptChain(id, strings.Join(names, ", ")); err != nil {
				return err
			}
			return nil
		}
		s.log.Log(ctx, level, "ssv sentry: no endpoint answered eth_chainId; retrying", "in", s.backoff, "rounds", round)
		if !sleep(ctx, s.nextBackoff()) {
			return ctx.Err()
		}
	}
}

func (s *Sentry) acceptChain(id uint64, who string) error {
	if s.cfg.ChainID != 0 && id != s.cfg.ChainID {
		return errFatal{fmt.Errorf("ssv sentry %s: %s report chain id %d, expected %d: give endpoints of network %s", s.cfg.Network, who, id, s.cfg.ChainID, s.cfg.Network)}
	}
	if s.chainID != 0 && id != s.chainID {
		return errFatal{fmt.Errorf("ssv sentry %s: %s report chain id %d but the cursor was written on chain %d: give endpoints of that chain, or remove the cursor in %s", s.cfg.Network, who, id, s.chainID, s.cfg.DataDir)}
	}
	s.chainID = id
	return nil
}

// current returns the endpoint in use, checking its chain id first if it
// did not answer at start. An endpoint of another chain is disabled.
func (s *Sentry) current(ctx context.Context) (*endpoint, error) {
	for range len(s.eps) {
		ep := s.eps[s.cur]
		ep.mu.Lock()
		disabled, id := ep.disabled, ep.chainID
		ep.mu.Unlock()
		if disabled == "" && id == 0 {
			got, err := ep.chainIDCall(ctx)
			if err != nil {
				return ep, err
			}
			ep.mu.Lock()
			if got != s.chainID {
				ep.disabled = fmt.Sprintf("reports chain id %d, not %d", got, s.chainID)
				disabled = ep.disabled
			} else {
				ep.chainID = got
			}
			ep.mu.Unlock()
			if disabled != "" {
				ep.mark(errors.New(disabled))
				s.log.Error("ssv sentry: endpoint is on another chain; not using it", "endpoint", ep.name, "reason", disabled)
			}
		}
		if disabled == "" {
			s.mu.Lock()
			s.lastEndpoint = ep.name
			s.mu.Unlock()
			return ep, nil
		}
		s.cur = (s.cur + 1) % len(s.eps)
	}
	return nil, errFatal{fmt.Errorf("ssv sentry %s: every RPC endpoint is on another chain than %d: give endpoints of network %s", s.cfg.Network, s.chainID, s.cfg.Network)}
}

func (s *Sentry) usable() int {
	n := 0
	for _, ep := range s.eps {
		ep.mu.Lock()
		if ep.disabled == "" {
			n++
		}
		ep.mu.Unlock()
	}
	return n
}

func (s *Sentry) nextBackoff() time.Duration {
	d := s.backoff
	s.backoff = min(2*s.backoff, s.cfg.RetryMax)
	return d
}

// ok records a successful call of ep.
func (s *Sentry) ok(ep *endpoint) {
	s.failsInRow, s.downRounds = 0, 0
	s.backoff = s.cfg.RetryMin
	if ep.mark(nil) {
		s.log.Info("ssv sentry: endpoint healthy", "endpoint", ep.name)
		s.kickStatus()
	}
	if s.m != nil {
		s.m.healthy.WithLabelValues(s.cfg.Network, ep.name).Set(1)
	}
}

// failover records ep's failure and moves to the next endpoint; once
// every endpoint failed in a row it waits (backoff, doubling).
func (s *Sentry) failover(ctx context.Context, ep *endpoint, err error) {
	if ep.mark(err) {
		s.kickStatus()
	}
	s.n.failovers.Add(1)
	if s.m != nil {
		s.m.healthy.WithLabelValues(s.cfg.Network, ep.name).Set(0)
		s.m.failovers.WithLabelValues(s.cfg.Network, ep.name).Inc()
	}
	s.cur = (s.cur + 1) % len(s.eps)
	s.failsInRow++
	if s.failsInRow >= max(1, s.usable()) {
		d := s.nextBackoff()
		s.downRounds++
		level := slog.LevelDebug
		if s.downReports.Warn(s.downRounds, err) {
			level = slog.LevelWarn
		}
		s.log.Log(ctx, level, "ssv sentry: endpoint failed; every endpoint failed in a row, waiting", "endpoint", ep.name, "err", err, "retry_in", d, "rounds", s.downRounds)
		sleep(ctx, d)
		s.failsInRow = 0
		return
	}
	level := slog.LevelWarn
	if s.downRounds >= retry.FirstWarnings {
		level = slog.LevelDebug // all down for a while: the waits above say so
	}
	s.log.Log(ctx, level, "ssv sentry: endpoint failed; moving to the next", "endpoint", ep.name, "err", err, "next", s.eps[s.cur].name)
}

// errPublish is a failed publish: retried after a wait, no failover.
type errPublish struct{ error }

// mismatch is an answer that failed a check; the range is read again from
// another endpoint.
func (s *Sentry) mismatch(ep *endpoint, check string, err error) error {
	s.n.mismatches.Add(1)
	if s.m != nil {
		s.m.mismatches.WithLabelValues(s.cfg.Network, ep.name, check).Inc()
	}
	s.mu.Lock()
	s.checkFails++
	s.checkErr = ep.name + ": " + err.Error()
	s.mu.Unlock()
	s.log.Warn("ssv sentry: answer failed a check; reading it again from another endpoint (or, with none, from this one after a back-off)", "endpoint", ep.name, "check", check, "err", err)
	return err
}

func (s *Sentry) loop(ctx context.Context) error {
	for ctx.Err() == nil {
		ep, err := s.current(ctx)
		if err != nil {
			var fatal errFatal
			if errors.As(err, &fatal) {
				return err
			}
			s.failover(ctx, ep, err)
			continue
		}
		head, err := ep.blockNumber(ctx)
		if err != nil {
			s.failover(ctx, ep, err)
			continue
		}
		s.ok(ep)
		ep.mu.Lock()
		ep.head = head
		ep.mu.Unlock()
		target := uint64(0)
		if head > s.cfg.FollowDistance {
			target = head - s.cfg.FollowDistance
		}
		s.setHead(head, target)
		if !s.anchored {
			if err := s.checkAnchor(ctx, ep, head); err != nil {
				s.retry(ctx, ep, err)
				continue
			}
		}
		if s.next > target {
			s.setMode(ModeLive)
			s.waitHead(ctx, ep)
			continue
		}
		mode := s.getMode()
		if mode == ModeLive && target-s.next+1 > liveGap {
			mode = ModeHistory
			s.setMode(mode)
		}
		if mode == ModeHistory {
			err = s.historyRange(ctx, ep, target)
			if err == nil && s.next > target {
				s.setMode(ModeLive)
			}
		} else {
			// A reorg deeper than the kept hashes resyncs from the first
			// block in history mode: the blocks are then read in ranges,
			// not one by one.
			for s.next <= target && err == nil && ctx.Err() == nil && s.getMode() == ModeLive {
				err = s.liveBlock(ctx, ep)
				s.setHead(head, target)
			}
		}
		if err == nil || ctx.Err() != nil {
			continue
		}
		s.retry(ctx, ep, err)
	}
	return nil
}

// retry handles a failed step of the loop: a publish failure waits and
// retries on the same endpoint (the bus is at fault, not the node); any
// other failure moves to the next endpoint.
func (s *Sentry) retry(ctx context.Context, ep *endpoint, err error) {
	var pe errPublish
	if errors.As(err, &pe) {
		s.log.Error("ssv sentry: publish failed; retrying", "err", err)
		sleep(ctx, s.nextBackoff())
		return
	}
	s.failover(ctx, ep, err)
}

// verifyKept re-reads, in one batch, the headers of every kept block
// before s.next: a changed one is a reorg (handled: s.next moves back to
// the fork), and it returns true. The tip's header alone would miss kept
// blocks of another branch than the tip's, which a reorg deeper than the
// follow distance during a range's reads, or a cursor written by an
// older valtrack, can leave.
func (s *Sentry) verifyKept(ctx context.Context, ep *endpoint) (bool, error) {
	var ns []uint64
	for _, b := range s.hashes {
		if b.Number < s.next {
			ns = append(ns, b.Number)
		}
	}
	if len(ns) == 0 {
		return false, nil
	}
	hs, err := ep.headers(ctx, ns)
	if err != nil {
		return false, err
	}
	for i := len(ns) - 1; i >= 0; i-- {
		if hs[i].Hash != s.hashes[i].Hash {
			return true, s.reorg(ctx, ep, ns[i])
		}
	}
	return false, nil
}

// historyRange reads logs from s.next to at most target with eth_getLogs.
func (s *Sentry) historyRange(ctx context.Context, ep *endpoint, target uint64) error {
	if moved, err := s.verifyKept(ctx, ep); moved || err != nil {
		return err
	}
	from := s.next
	to := min(from+s.rangeSize-1, target)
	logs, err := ep.logsRange(ctx, s.cfg.Contract, from, to)
	s.n.ranges.Add(1)
	if err != nil {
		big, busy := tooLarge(err), rateLimited(err)
		if s.m != nil {
			res := "error"
			switch {
			case big:
				res = "too_large"
			case busy:
				res = "rate_limited"
			}
			s.m.ranges.WithLabelValues(s.cfg.Network, ep.name, res).Inc()
		}
		if busy {
			// The range is not the problem: keep its size; failover moves
			// to another endpoint and waits once every one refused.
			s.n.rateLimited.Add(1)
			return fmt.Errorf("eth_getLogs %d..%d: rate limited: %w", from, to, err)
		}
		if to > from {
			s.rangeSize = max(1, (to-from+1)/2)
			s.okInRow = 0
			s.n.halvings.Add(1)
			s.n.rangeSize.Store(s.rangeSize)
			if s.m != nil {
				s.m.halvings.WithLabelValues(s.cfg.Network, ep.name).Inc()
				s.m.rangeSize.WithLabelValues(s.cfg.Network).Set(float64(s.rangeSize))
			}
			s.log.Debug("ssv sentry: eth_getLogs range halved", "endpoint", ep.name, "from", from, "to", to, "range", s.rangeSize, "err", err)
			if big {
				return nil
			}
		}
		return fmt.Errorf("eth_getLogs %d..%d: %w", from, to, err)
	}
	if s.m != nil {
		s.m.ranges.WithLabelValues(s.cfg.Network, ep.name, "ok").Inc()
	}
	byBlock, order, err := s.group(logs, from, to, nil)
	if err != nil {
		return s.mismatch(ep, "inconsistent", err)
	}
	headers := map[uint64]*header{}
	for _, n := range order {
		h, err := ep.header(ctx, n)
		if err != nil {
			return err
		}
		for _, l := range byBlock[n] {
			if l.BlockHash != h.Hash {
				return s.mismatch(ep, "block_hash", fmt.Errorf("log %d of block %d has block hash %s, the block's header %s", l.Index, n, l.BlockHash.Hex(), h.Hash.Hex()))
			}
		}
		if err := s.crossCheck(ctx, ep, h, len(byBlock[n]), true); err != nil {
			return err
		}
		headers[n] = h
	}
	compared, err := s.rangeCheck(ctx, ep, from, to, byBlock, headers)
	if err != nil {
		return err
	}
	// A range ending within the kept window of the target keeps the hash
	// of every block of the window, not only those with logs: else a
	// shallow reorg right after history finds no kept block unchanged
	// below it and resyncs the whole registry from the first block.
	keepFrom := to + 1 // none
	if keep := s.cfg.FollowDistance + KeepExtra; to+keep > target {
		keepFrom = from
		if to+1 > keep {
			keepFrom = max(from, to+1-keep)
		}
	}
	if !compared && !s.cfg.NoBloomCheck {
		// No second answer to compare with: the blocks the answer holds no
		// log of are checked against their blooms.
		if err := s.bloomCheck(ctx, ep, from, to, keepFrom, byBlock, headers); err != nil {
			return err
		}
	}
	window, err := s.window(ctx, ep, keepFrom, to, headers)
	if err != nil {
		return err
	}
	end, ok := headers[to]
	if !ok {
		if end, err = ep.header(ctx, to); err != nil {
			return err
		}
	}
	if err := s.recheck(ctx, ep, from, to, order, headers, end); err != nil {
		return err
	}
	// The answer passed every check: the range size may grow.
	s.okInRow++
	if s.okInRow >= s.cfg.GrowAfter && s.rangeSize < s.cfg.MaxRange {
		s.rangeSize = min(2*s.rangeSize, s.cfg.MaxRange)
		s.okInRow = 0
	}
	s.n.rangeSize.Store(s.rangeSize)
	if s.m != nil {
		s.m.rangeSize.WithLabelValues(s.cfg.Network).Set(float64(s.rangeSize))
	}
	for _, n := range order {
		if err := s.resolveVersions(ctx, ep, byBlock[n]); err != nil {
			return err
		}
	}
	// The chain of markers moves with s.next only: a range that fails is
	// published again from the same previous marker.
	prev := s.prev
	for _, n := range order {
		if err := s.publishBlock(ctx, ep, headers[n], byBlock[n], prev); err != nil {
			// Nothing of the range is taken as processed: it is read and
			// published again (the same message ids) from s.next.
			return err
		}
		prev = u64p(n)
	}
	// The range's end has its marker too, logs or not: the registry's
	// last block is then the sentry's processed block after every range
	// (its sync lag and health, a test waiting for a block), not the last
	// block that held a log.
	if _, ok := byBlock[to]; !ok {
		if err := s.publishBlock(ctx, ep, end, nil, prev); err != nil {
			return err
		}
		prev = u64p(to)
	}
	for _, n := range order {
		if n < keepFrom {
			s.remember(headers[n], true)
		}
	}
	for _, h := range window {
		_, logged := byBlock[uint64(h.Number)]
		s.remember(h, logged || uint64(h.Number) == to)
	}
	s.remember(end, true)
	s.next, s.prev = to+1, prev
	return s.advanced(ctx)
}

// recheck re-reads, in one batch, the headers of the blocks whose logs
// are to be published and of the range end, after every other read of
// the range: a reorg while the range was read (deeper than the follow
// distance) would otherwise publish the logs of one branch beside the
// other's hashes, and the next range's checks, on the new branch's
// hashes, would never see it. A changed one fails the range, which is
// read again, nothing of it published.
func (s *Sentry) recheck(ctx context.Context, ep *endpoint, from, to uint64, order []uint64, headers map[uint64]*header, end *header) error {
	ns := append(order[:len(order):len(order)], to)
	if len(order) > 0 && order[len(order)-1] == to {
		ns = ns[:len(order)]
	}
	hs, err := ep.headers(ctx, ns)
	if err != nil {
		return err
	}
	for i, n := range ns {
		was := end
		if h, ok := headers[n]; ok {
			was = h
		}
		if hs[i].Hash != was.Hash {
			return fmt.Errorf("block %d changed while blocks %d..%d were read (%s, now %s): a reorg deeper than the follow distance; reading the range again", n, from, to, was.Hash.Hex(), hs[i].Hash.Hex())
		}
	}
	return nil
}

// window returns the headers of blocks keepFrom..to, ascending: those in
// headers, the others read in one batch (and added to headers). They must
// chain by parent hash — a reorg between the reads would mix two
// branches in the kept hashes — else the range is read again.
func (s *Sentry) window(ctx context.Context, ep *endpoint, keepFrom, to uint64, headers map[uint64]*header) ([]*header, error) {
	if keepFrom > to {
		return nil, nil
	}
	var missing []uint64
	for n := keepFrom; n <= to; n++ {
		if _, ok := headers[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		hs, err := ep.headers(ctx, missing)
		if err != nil {
			return nil, err
		}
		for i, n := range missing {
			headers[n] = hs[i]
		}
	}
	out := make([]*header, 0, to-keepFrom+1)
	for n := keepFrom; n <= to; n++ {
		h := headers[n]
		if len(out) > 0 && h.ParentHash != out[len(out)-1].Hash {
			return nil, fmt.Errorf("the headers of blocks %d..%d do not chain at block %d (a reorg while the range was read): reading the range again", keepFrom, to, n)
		}
		out = append(out, h)
	}
	return out, nil
}

// liveBlock processes block s.next: its header, its logs when the bloom
// says the contract may have logged, its marker.
func (s *Sentry) liveBlock(ctx context.Context, ep *endpoint) error {
	n := s.next
	h, err := ep.header(ctx, n)
	if err != nil {
		return err
	}
	if prev, ok := s.hashOf(n - 1); n > 0 && ok && h.ParentHash != prev {
		return s.reorg(ctx, ep, n-1)
	}
	var logs []types.Log
	if h.Bloom.Test(s.cfg.Contract.Bytes()) {
		got, err := ep.logsBlock(ctx, s.cfg.Contract, h.Hash)
		if err != nil {
			return err
		}
		byBlock, _, err := s.group(got, n, n, &h.Hash)
		if err != nil {
			return s.mismatch(ep, "inconsistent", err)
		}
		logs = byBlock[n]
		if err := s.crossCheck(ctx, ep, h, len(logs), false); err != nil {
			return err
		}
	}
	if err := s.resolveVersions(ctx, ep, logs); err != nil {
		return err
	}
	if err := s.publishBlock(ctx, ep, h, logs, s.prev); err != nil {
		return err
	}
	s.remember(h, true)
	s.next, s.prev = n+1, u64p(n)
	return s.advanced(ctx)
}

// group checks an eth_getLogs answer and groups its logs by block, each
// block's by log index. Removed logs are ignored.
func (s *Sentry) group(logs []types.Log, from, to uint64, hash *common.Hash) (map[uint64][]types.Log, []uint64, error) {
	by := map[uint64][]types.Log{}
	var order []uint64
	for _, l := range logs {
		if l.Removed {
			continue
		}
		switch {
		case l.Address != s.cfg.Contract:
			return nil, nil, fmt.Errorf("the answer holds a log of %s, not of the contract", l.Address.Hex())
		case l.BlockNumber < from || l.BlockNumber > to:
			return nil, nil, fmt.Errorf("the answer for blocks %d..%d holds a log of block %d", from, to, l.BlockNumber)
		case hash != nil && l.BlockHash != *hash:
			return nil, nil, fmt.Errorf("the answer for block %s holds a log of block %s", hash.Hex(), l.BlockHash.Hex())
		}
		if _, ok := by[l.BlockNumber]; !ok {
			order = append(order, l.BlockNumber)
		}
		by[l.BlockNumber] = append(by[l.BlockNumber], l)
	}
	sort.Slice(order, func(i, j int) bool { return order[i] < order[j] })
	for n, ls := range by {
		sort.Slice(ls, func(i, j int) bool { return ls[i].Index < ls[j].Index })
		for i := 1; i < len(ls); i++ {
			if ls[i].Index == ls[i-1].Index {
				return nil, nil, fmt.Errorf("block %d has two logs of index %d", n, ls[i].Index)
			}
			if ls[i].BlockHash != ls[0].BlockHash {
				return nil, nil, fmt.Errorf("block %d's logs carry two block hashes", n)
			}
		}
	}
	return by, order, nil
}

// crossCheck compares the number of contract logs of a block in an answer
// with the block's receipts (or, where the endpoint has no
// eth_getBlockReceipts, with another endpoint's eth_getLogs of the block;
// with no other endpoint, an answer over a block range is compared with
// the endpoint's own eth_getLogs by block hash, which nodes answer from
// the receipts rather than from their log index: a block the range answer
// holds only part of is never taken as complete).
func (s *Sentry) crossCheck(ctx context.Context, ep *endpoint, h *header, have int, fromRange bool) error {
	want, err := ep.receiptLogs(ctx, s.cfg.Contract, h.Hash)
	source := "receipts"
	if err != nil {
		var rerr rpc.Error
		if !errors.As(err, &rerr) {
			return err // transport: fail over
		}
		other := s.other(ep)
		if other == nil && fromRange {
			other = ep
		}
		if other == nil {
			s.log.Debug("ssv sentry: no receipts to cross-check the block's logs with", "endpoint", ep.name, "block", uint64(h.Number), "err", err)
			return nil
		}
		logs, err2 := other.logsBlock(ctx, s.cfg.Contract, h.Hash)
		if err2 != nil {
			if other == ep {
				return err2 // the only check there is: read the range again
			}
			s.log.Debug("ssv sentry: could not cross-check the block's logs", "endpoint", ep.name, "block", uint64(h.Number), "receipts_err", err, "other", other.name, "err", err2)
			return nil
		}
		want, source = 0, "eth_getLogs of "+other.name
		if other == ep {
			source = "eth_getLogs by block hash"
		}
		for _, l := range logs {
			if !l.Removed && l.Address == s.cfg.Contract {
				want++
			}
		}
	}
	if want != have {
		return s.mismatch(ep, "log_count", fmt.Errorf("block %d (%s): %d contract logs in the answer, %d in the %s", uint64(h.Number), h.Hash.Hex(), have, want, source))
	}
	return nil
}

// rangeCheck compares a history answer with another endpoint's answer
// for the same range. The per-block check (crossCheck) covers only the
// blocks the answer holds logs of: a node that lost every log of a block
// — how the SSV node lost events — would pass it. A block the other
// endpoint has more logs of, on the same block hash, fails the answer,
// which is read again from the next endpoint; an other endpoint with fewer
// logs is counted and the answer, already checked against receipts, kept.
// With one endpoint, or when the other cannot answer, nothing is compared
// (compared false: bloomCheck then covers those blocks).
func (s *Sentry) rangeCheck(ctx context.Context, ep *endpoint, from, to uint64, have map[uint64][]types.Log, headers map[uint64]*header) (compared bool, err error) {
	other := s.other(ep)
	if other == nil {
		return false, nil
	}
	logs, err := other.logsRange(ctx, s.cfg.Contract, from, to)
	// A range over the other's limits says nothing of its health (the
	// range size follows the endpoint in use).
	if (err == nil || !tooLarge(err)) && other.mark(err) {
		s.kickStatus()
	}
	if err != nil {
		s.log.Debug("ssv sentry: could not compare the range with another endpoint", "endpoint", ep.name, "other", other.name, "from", from, "to", to, "err", err)
		return false, nil
	}
	theirs, order, err := s.group(logs, from, to, nil)
	if err != nil {
		s.log.Debug("ssv sentry: another endpoint's answer for the range is inconsistent", "other", other.name, "from", from, "to", to, "err", err)
		return false, nil
	}
	for _, n := range order {
		if len(theirs[n]) <= len(have[n]) {
			continue
		}
		h, ok := headers[n]
		if !ok {
			if h, err = ep.header(ctx, n); err != nil {
				return true, err
			}
		}
		if theirs[n][0].BlockHash != h.Hash {
			// The endpoints disagree on the block itself; the tip checks
			// and reorg handling own that, not a log count.
			s.log.Debug("ssv sentry: another endpoint has logs of another block at this height", "other", other.name, "block", n)
			continue
		}
		return true, s.mismatch(ep, "range_log_count", fmt.Errorf("block %d (%s): %d contract logs in the answer for blocks %d..%d, %d in %s's", n, h.Hash.Hex(), len(have[n]), from, to, len(theirs[n]), other.name))
	}
	for n, mine := range have {
		if len(theirs[n]) < len(mine) {
			s.n.mismatches.Add(1)
			if s.m != nil {
				s.m.mismatches.WithLabelValues(s.cfg.Network, other.name, "range_log_count").Inc()
			}
			s.log.Warn("ssv sentry: another endpoint returns too few logs; the answer checked against receipts is kept", "other", other.name, "block", n, "have", len(mine), "other_has", len(theirs[n]))
			break
		}
	}
	return true, nil
}

// bloomCheck covers, where no second endpoint's answer was compared, the
// blocks of a history range the answer holds no log of — which the
// per-block check (crossCheck) never sees: a node that lost every log of
// a block in its log index passes it. Each block's header is read (in
// batches), and a block whose bloom holds the contract address has its
// logs read by block hash, which nodes answer from the block's receipts,
// not from the log index a range query uses; any contract log there fails
// the answer (the range is read again after a back-off, and the endpoint
// shows the failed check). A bloom hit with no log is the bloom's false
// positive. It keeps the headers of block to and of blocks from keepFrom
// on in headers.
func (s *Sentry) bloomCheck(ctx context.Context, ep *endpoint, from, to, keepFrom uint64, have map[uint64][]types.Log, headers map[uint64]*header) error {
	var ns []uint64
	for n := from; n <= to; n++ {
		if _, ok := have[n]; !ok {
			ns = append(ns, n)
		}
	}
	if len(ns) == 0 {
		return nil
	}
	hs, err := ep.headers(ctx, ns)
	if err != nil {
		return err
	}
	var hits []*header
	var hashes []common.Hash
	for _, h := range hs {
		if h.Bloom.Test(s.cfg.Contract.Bytes()) {
			hits = append(hits, h)
			hashes = append(hashes, h.Hash)
		}
	}
	for _, h := range hs {
		if n := uint64(h.Number); n == to || n >= keepFrom {
			headers[n] = h
		}
	}
	s.n.bloomChecks.Add(uint64(len(hits)))
	if len(hits) == 0 {
		return nil
	}
	logs, err := ep.logsBlocks(ctx, s.cfg.Contract, hashes)
	if err != nil {
		return err
	}
	for i, h := range hits {
		n := 0
		for _, l := range logs[i] {
			if !l.Removed && l.Address == s.cfg.Contract && l.BlockHash == h.Hash {
				n++
			}
		}
		if n > 0 {
			return s.mismatch(ep, "bloom", fmt.Errorf("block %d (%s): no contract log in the answer for blocks %d..%d, but its bloom holds the contract and eth_getLogs of the block returns %d", uint64(h.Number), h.Hash.Hex(), from, to, n))
		}
	}
	return nil
}

// other is a usable endpoint other than ep, nil if none.
func (s *Sentry) other(ep *endpoint) *endpoint {
	for i := 1; i < len(s.eps); i++ {
		o := s.eps[(s.cur+i)%len(s.eps)]
		o.mu.Lock()
		ok := o.disabled == "" && o.chainID == s.chainID && o != ep
		o.mu.Unlock()
		if ok {
			return o
		}
	}
	return nil
}

// reorg walks back from block k over the kept hashes to the fork point,
// publishes the Reorg and moves s.next back to the first block to read
// again. A fork older than every kept hash has an unknown fork point: the
// registry is synced again from the first block (resync), since replaying
// only from the oldest kept block would keep what the abandoned branch
// held before it.
func (s *Sentry) reorg(ctx context.Context, ep *endpoint, k uint64) error {
	var first *blockHash
	var firstNew common.Hash
	match := -1
	for i := len(s.hashes) - 1; i >= 0; i-- {
		b := s.hashes[i]
		if b.Number > k {
			continue
		}
		h, err := ep.header(ctx, b.Number)
		if err != nil {
			return err
		}
		if h.Hash == b.Hash {
			match = i
			break
		}
		first, firstNew = &s.hashes[i], h.Hash
	}
	if first == nil {
		return s.mismatch(ep, "inconsistent", fmt.Errorf("block %d's parent is not the processed block %d, whose header is unchanged", k+1, k))
	}
	if match < 0 {
		return s.resync(ctx, ep, fmt.Sprintf("reorg deeper than the %d blocks kept (block %d changed, and every kept block before it)", s.cfg.FollowDistance+KeepExtra, first.Number))
	}
	// The generation moves only once the reorg is out: one retried after
	// a failed publish keeps its id, which the bus drops if the failed
	// try was stored after all.
	ev := &events.Reorg{V: events.SchemaVersion, Network: s.cfg.Network, FromBlock: first.Number,
		OldHash: first.Hash.Hex(), NewHash: firstNew.Hex(), Gen: s.gen + 1, Observer: s.observer(ep)}
	if err := s.publish(ctx, events.KindReorg, ev.MsgID(), ev); err != nil {
		return err
	}
	s.gen = ev.Gen
	s.countReorg()
	s.next = s.hashes[match].Number + 1
	s.hashes = s.hashes[:match+1]
	s.prev = s.chainAfter()
	s.log.Warn("ssv sentry: reorg of processed blocks; reading them again", "from_block", first.Number, "old_hash", ev.OldHash, "new_hash", ev.NewHash, "fork_after", s.next-1)
	return s.advanced(ctx)
}

func (s *Sentry) countReorg() {
	s.n.reorgs.Add(1)
	if s.m != nil {
		s.m.reorgs.WithLabelValues(s.cfg.Network).Inc()
	}
}

// checkAnchor runs once per Run, before anything is read: the chain must
// hold the cursor's first block (FromBlock) with its hash — else it is
// another chain under the same chain id and contract address (a restarted
// devnet) and the registry is synced again from the start — and the last
// processed block with its hash, else a reorg happened while the sentry
// was down. Without a cursor it records FromBlock's hash. An endpoint whose
// head is below the first block (a node still syncing, or a new chain not
// yet that long) is not compared: nothing is read until it is.
func (s *Sentry) checkAnchor(ctx context.Context, ep *endpoint, head uint64) error {
	if s.first == nil {
		if head < s.cfg.FromBlock {
			return nil
		}
		h, err := ep.header(ctx, s.cfg.FromBlock)
		if err != nil {
			return err
		}
		if s.next > s.cfg.FromBlock {
			s.log.Warn("ssv sentry: the cursor has no hash of its first block (an older valtrack wrote it); taking this chain's, only the last processed block is checked", "from_block", s.cfg.FromBlock)
		}
		s.first = &blockHash{Number: s.cfg.FromBlock, Hash: h.Hash, Time: uint64(h.Time)}
	} else {
		if head < s.first.Number {
			if !s.lowWarned {
				s.lowWarned = true
				s.log.Warn("ssv sentry: the endpoint's head is below the cursor's first block: a node still syncing, or another chain; waiting for it to get there", "endpoint", ep.name, "head", head, "first_block", s.first.Number)
			}
			return nil
		}
		h, err := ep.header(ctx, s.first.Number)
		if err != nil {
			return err
		}
		if h.Hash != s.first.Hash {
			return s.resync(ctx, ep, fmt.Sprintf("the chain is not the one the cursor was written on: its block %d is %s, the cursor's %s (a restarted devnet, or another chain of chain id %d)", s.first.Number, h.Hash.Hex(), s.first.Hash.Hex(), s.chainID))
		}
	}
	s.anchored = true
	if n := len(s.hashes); n > 0 && s.hashes[n-1].Number+1 == s.next && s.hashes[n-1].Number <= head {
		// Every kept block, not only the last: a cursor may hold blocks of
		// two branches (written by an older valtrack after a reorg during a
		// range's reads).
		moved, err := s.verifyKept(ctx, ep)
		if err != nil {
			if !moved {
				s.anchored = false
			}
			return err
		}
		if moved {
			return nil
		}
	}
	return s.advanced(ctx)
}

// resync rolls the registry back to the first block and syncs again from
// there: a Reorg from FromBlock (the consumer then rolls back every block
// and rebuilds an empty registry) and the cursor moved to FromBlock.
func (s *Sentry) resync(ctx context.Context, ep *endpoint, why string) error {
	from := s.cfg.FromBlock
	var old common.Hash
	if s.first != nil {
		from = min(from, s.first.Number)
		old = s.first.Hash
	}
	h, err := ep.header(ctx, from)
	if err != nil {
		return err
	}
	ev := &events.Reorg{V: events.SchemaVersion, Network: s.cfg.Network, FromBlock: from,
		OldHash: old.Hex(), NewHash: h.Hash.Hex(), Gen: s.gen + 1, Observer: s.observer(ep)}
	if err := s.publish(ctx, events.KindReorg, ev.MsgID(), ev); err != nil {
		return err
	}
	s.gen = ev.Gen
	s.countReorg()
	s.log.Error("ssv sentry: "+why+"; the registry is rolled back and synced again from the first block", "from_block", from, "was_processed", int64(s.next)-1, "endpoint", ep.name)
	s.first = &blockHash{Number: from, Hash: h.Hash, Time: uint64(h.Time)}
	s.next, s.hashes, s.anchored = from, nil, true
	s.prev, s.markerBefore = nil, nil // a new chain of markers from the start block, as the consumer's registry is emptied
	s.setMode(ModeHistory)
	return s.advanced(ctx)
}

// rewind moves the next block back to r (Config.ReplayFrom), forgetting
// the kept hashes from r on; those before it still guard the parent hash
// of r against a reorg that happened meanwhile.
func (s *Sentry) rewind(r uint64) error {
	if r < s.cfg.FromBlock {
		return errFatal{fmt.Errorf("ssv sentry %s: --ssv-replay-from %d is below the contract's start block %d: give a block from %d on", s.cfg.Network, r, s.cfg.FromBlock, s.cfg.FromBlock)}
	}
	if r >= s.next {
		s.log.Warn("ssv sentry: nothing to replay, the block is not processed yet", "replay_from", r, "next_block", s.next)
		return nil
	}
	s.log.Warn("ssv sentry: publishing processed blocks again (--ssv-replay-from); remove the flag once the replay is done, or every start replays", "from_block", r, "was_processed", int64(s.next)-1)
	s.next = r
	for len(s.hashes) > 0 && s.hashes[len(s.hashes)-1].Number >= r {
		s.hashes = s.hashes[:len(s.hashes)-1]
	}
	s.prev = s.chainAfter()
	return nil
}

// chainAfter is the previous marker of the block s.next after the kept
// hashes were cut back to it (a reorg, a replay): the last kept block
// with a marker, else the last marker forgotten with the oldest kept
// blocks (markerBefore). Every marker's block is kept (remember) and only
// the oldest are forgotten, so that is the last marker published before
// s.next. Without one — a replay from before that marker, a cursor
// written before markers were flagged — the next marker has no
// PrevMarker and the consumer does not check it: a guess could only be
// too high (a false gap) or too low (no check).
func (s *Sentry) chainAfter() *uint64 {
	for i := len(s.hashes) - 1; i >= 0; i-- {
		if s.hashes[i].Marker {
			return u64p(s.hashes[i].Number)
		}
	}
	if b := s.markerBefore; b != nil && *b < s.next {
		return u64p(*b)
	}
	return nil
}

func u64p(v uint64) *uint64 { return &v }

func (s *Sentry) hashOf(n uint64) (common.Hash, bool) {
	i := sort.Search(len(s.hashes), func(i int) bool { return s.hashes[i].Number >= n })
	if i < len(s.hashes) && s.hashes[i].Number == n {
		return s.hashes[i].Hash, true
	}
	return common.Hash{}, false
}

// remember keeps n's hash, and whether a marker of it was published, and
// forgets those older than FollowDistance + KeepExtra blocks.
func (s *Sentry) remember(h *header, marker bool) {
	n := uint64(h.Number)
	for len(s.hashes) > 0 && s.hashes[len(s.hashes)-1].Number >= n {
		s.hashes = s.hashes[:len(s.hashes)-1]
	}
	s.hashes = append(s.hashes, blockHash{Number: n, Hash: h.Hash, Time: uint64(h.Time), Marker: marker})
	keep := s.cfg.FollowDistance + KeepExtra
	drop := 0
	for drop < len(s.hashes)-1 && s.hashes[drop].Number+keep < n {
		if s.hashes[drop].Marker {
			s.markerBefore = u64p(s.hashes[drop].Number)
		}
		drop++
	}
	s.hashes = append(s.hashes[:0:0], s.hashes[drop:]...)
}

// advanced stores the cursor after s.next moved — once the bus has
// acknowledged every message published up to s.next, where the Publisher
// can say (domain.Flusher: its publish returns once a message is queued in
// memory, which a NATS outage and a stop can lose). The Publisher is this
// network's own view of the bus publisher (Env.PublisherFor), so the wait
// is for this sentry's messages, not other domains' or networks'. A cursor
// past messages still in the publisher's memory would, after an outage and
// a restart, never publish them again.
// Unacknowledged within AckWait, the cursor stays where it was (a restart
// publishes those blocks again, under the same ids) and the sentry goes
// on: the next block's advance waits for all of them again.
func (s *Sentry) advanced(ctx context.Context) error {
	s.setProcessed()
	if f, ok := s.cfg.Publisher.(domain.Flusher); ok && s.cursor != nil {
		fctx, cancel := context.WithTimeout(ctx, s.cfg.AckWait)
		err := f.Flush(fctx)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("ssv sentry: the bus has not acknowledged the published blocks; the cursor is not moved past them, so a restart publishes them again", "processed", int64(s.next)-1, "wait", s.cfg.AckWait, "err", err)
			}
			return nil
		}
	}
	d := &cursorData{Network: s.cfg.Network, Contract: s.cfg.Contract.Hex(), ChainID: s.chainID,
		Processed: int64(s.next) - 1, Hashes: s.hashes, First: s.first, Gen: s.gen, PrevMarker: s.prev, MarkerBefore: s.markerBefore}
	if err := s.cursor.store(d); err != nil {
		// The events are out; the next restart reads a little again (same ids).
		s.log.Error("ssv sentry: could not write the cursor; a restart will read these blocks again", "err", err)
	}
	return nil
}

var kindRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// publishBlock publishes a block's decodable logs, then its marker, which
// names prev, the block of the marker before it.
func (s *Sentry) publishBlock(ctx context.Context, ep *endpoint, h *header, logs []types.Log, prev *uint64) error {
	if uint64(h.Time) > 253402300799 {
		return s.mismatch(ep, "inconsistent", fmt.Errorf("block %d has time %d, after year 9999", uint64(h.Number), uint64(h.Time)))
	}
	obs := s.observer(ep)
	mk := &events.Block{V: events.SchemaVersion, Network: s.cfg.Network, Number: uint64(h.Number), Hash: h.Hash.Hex(),
		ParentHash: h.ParentHash.Hex(), Time: int64(h.Time) * 1000, Gen: s.gen, PrevMarker: prev, Observer: obs}
	skippedBytes := 0
	for _, l := range logs {
		ev, reason, label := s.decode(l, obs)
		if ev == nil {
			s.n.skipped.Add(1)
			if s.m != nil {
				s.m.skipped.WithLabelValues(s.cfg.Network, label).Inc()
			}
			s.log.Warn("ssv sentry: contract log skipped", "block", l.BlockNumber, "log_index", l.Index, "tx", l.TxHash.Hex(), "reason", reason)
			sk := events.Skipped{LogIndex: l.Index, TxHash: l.TxHash.Hex(), Reason: safe.String(reason, 512),
				DataLen: len(l.Data)}
			if len(l.Data) > 0 {
				sk.Data = hexutil.Encode(l.Data[:min(len(l.Data), events.MaxSkippedData)])
			}
			if len(l.Topics) > 0 {
				sk.Topic0 = l.Topics[0].Hex()
			}
			// The marker must fit a bus message: past the budget the
			// skipped logs are only counted (the logs above name them).
			if size := sk.Size(); len(mk.Skipped) < events.MaxSkipped && skippedBytes+size <= events.MaxSkippedBytes {
				mk.Skipped = append(mk.Skipped, sk)
				skippedBytes += size
			} else {
				mk.SkippedMore++
			}
			continue
		}
		if err := s.publishRaw(ctx, events.Kind(ev.Name), ev.MsgID(), ev.data); err != nil {
			return err
		}
		mk.Events++
		s.n.logs.Add(1)
		if s.m != nil {
			s.m.published.WithLabelValues(s.cfg.Network).Inc()
		}
	}
	if err := s.publish(ctx, events.KindBlock, mk.MsgID(), mk); err != nil {
		return err
	}
	s.n.blocks.Add(1)
	return nil
}

type encodedEvent struct {
	events.ContractEvent
	data []byte
}

// decode runs the decoder (a panic in it is a skipped log) and checks the
// event as the consumer will.
func (s *Sentry) decode(l types.Log, obs events.Observer) (ev *encodedEvent, reason, label string) {
	var (
		name string
		args json.RawMessage
		err  error
	)
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("the decoder panicked: %v", r)
			}
		}()
		name, args, err = s.cfg.Decoder(l)
	}()
	if v, ok := s.versions[upgradedImpl(l)]; ok && err == nil && name == upgradedEventName {
		args, err = withVersion(args, v)
	}
	if err != nil {
		label = "decode_error"
		switch {
		case errors.Is(err, ErrUnknownTopic):
			label = "unknown_topic"
		case errors.Is(err, ErrMalformed):
			label = "malformed"
		}
		return nil, err.Error(), label
	}
	kind := events.Kind(name)
	if !kindRE.MatchString(kind) || kind == events.KindBlock || kind == events.KindReorg || kind == events.KindSyncStatus {
		return nil, fmt.Sprintf("event name %q is not a subject token", safe.String(name, 80)), "invalid_event"
	}
	if len(args) > events.MaxArgs {
		return nil, fmt.Sprintf("decoded arguments of %d bytes, at most %d", len(args), events.MaxArgs), "invalid_event"
	}
	e := &encodedEvent{ContractEvent: events.ContractEvent{V: events.SchemaVersion, Network: s.cfg.Network, Name: name,
		Block: l.BlockNumber, BlockHash: l.BlockHash.Hex(), TxHash: l.TxHash.Hex(), TxIndex: l.TxIndex, LogIndex: l.Index,
		Contract: s.cfg.Contract.Hex(), Args: args, Gen: s.gen, Observer: obs}}
	data, err := json.Marshal(&e.ContractEvent)
	if err == nil {
		_, err = events.Decode(kind, data)
	}
	if err != nil {
		return nil, "refused: " + err.Error(), "invalid_event"
	}
	e.data = data
	return e, "", ""
}

// publish encodes ev, checks it as the consumer will, and publishes it.
func (s *Sentry) publish(ctx context.Context, kind, msgID string, ev any) error {
	data, err := json.Marshal(ev)
	if err == nil {
		_, err = events.Decode(kind, data)
	}
	if err != nil {
		return fmt.Errorf("%s event refused by its own checks: %w", kind, err)
	}
	return s.publishRaw(ctx, kind, msgID, data)
}

func (s *Sentry) publishRaw(ctx context.Context, kind, msgID string, data []byte) error {
	if err := s.cfg.Publisher.Publish(ctx, events.Subject(s.cfg.Network, kind), msgID, data); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return errPublish{fmt.Errorf("publish %s: %w", kind, err)}
	}
	return nil
}

func (s *Sentry) observer(ep *endpoint) events.Observer {
	return events.Observer{Endpoint: ep.name, SeenAt: time.Now().UnixMilli(), SentryID: s.cfg.SentryID}
}

func (s *Sentry) setProcessed() {
	tip, bt := s.tipTimes()
	s.mu.Lock()
	if p := int64(s.next) - 1; p != s.processed {
		s.checkFails, s.checkErr = 0, ""
	}
	s.processed = int64(s.next) - 1
	p := s.processed
	s.tipTime, s.blockTime = tip, bt
	s.mu.Unlock()
	if s.m != nil {
		s.m.processed.WithLabelValues(s.cfg.Network).Set(float64(p))
	}
}

// tipTimes are the processed block's header time (zero when its hash is
// not kept with one) and the block time measured over the kept headers
// (0 with fewer than two).
func (s *Sentry) tipTimes() (time.Time, time.Duration) {
	var tip time.Time
	var first, last *blockHash
	for i := range s.hashes {
		b := &s.hashes[i]
		if b.Time == 0 {
			continue
		}
		if first == nil {
			first = b
		}
		last = b
	}
	if last == nil || last.Number+1 != s.next {
		return tip, 0
	}
	tip = time.Unix(int64(min(last.Time, 253402300799)), 0)
	if first == last || last.Time < first.Time {
		return tip, 0
	}
	return tip, time.Duration(last.Time-first.Time) * time.Second / time.Duration(last.Number-first.Number)
}

func (s *Sentry) setHead(head, target uint64) {
	now := s.cfg.now()
	s.mu.Lock()
	s.head, s.haveHead, s.headAt = head, true, now
	if int64(target) > s.processed {
		if s.behindSince.IsZero() {
			s.behindSince = now
		}
	} else {
		s.behindSince = time.Time{}
	}
	moved := head >= s.pubHead+StatusHeadStep
	s.mu.Unlock()
	if moved {
		s.kickStatus()
	}
	if s.m != nil {
		s.m.head.WithLabelValues(s.cfg.Network).Set(float64(head))
	}
}

func (s *Sentry) setMode(m string) {
	s.mu.Lock()
	changed := s.mode != m
	s.mode = m
	s.mu.Unlock()
	if changed {
		s.log.Info("ssv sentry: mode", "mode", m, "processed", int64(s.next)-1)
		s.kickStatus()
	}
}

func (s *Sentry) getMode() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mode
}

func (s *Sentry) kickStatus() {
	select {
	case s.statusKick <- struct{}{}:
	default:
	}
}

// statusLoop publishes SyncStatus on a change of mode or endpoint health
// and when the head moved StatusHeadStep blocks — at most every
// StatusMinGap, so a fast chain or a flapping endpoint cannot flood the
// bus — and every StatusEvery.
func (s *Sentry) statusLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.StatusEvery)
	defer t.Stop()
	var last time.Time
	for {
		if !last.IsZero() {
			if wait := s.cfg.StatusMinGap - time.Since(last); wait > 0 && !sleep(ctx, wait) {
				return
			}
		}
		ev := s.status()
		if err := s.publish(ctx, events.KindSyncStatus, ev.MsgID(), ev); err != nil && ctx.Err() == nil {
			s.log.Warn("ssv sentry: sync status not published", "err", err)
		}
		last = time.Now()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.statusKick:
		}
	}
}

func (s *Sentry) status() *events.SyncStatus {
	s.mu.Lock()
	ev := &events.SyncStatus{V: events.SchemaVersion, Network: s.cfg.Network, Mode: s.mode, Head: s.head,
		Contract: s.cfg.Contract.Hex(), Observer: events.Observer{Endpoint: s.lastEndpoint, SeenAt: time.Now().UnixMilli(), SentryID: s.cfg.SentryID}}
	s.pubHead = s.head
	if s.processed > 0 {
		ev.Processed = uint64(s.processed)
	}
	s.mu.Unlock()
	for _, ep := range s.eps {
		ok, id, head, msg := ep.status()
		ev.Endpoints = append(ev.Endpoints, events.Endpoint{Name: ep.name, ChainID: id, Head: head, Healthy: ok, Error: msg})
	}
	return ev
}

// waitHead waits for a new head: a newHeads notification on a WebSocket
// endpoint (or NoHeadTimeout without one), else PollEvery.
func (s *Sentry) waitHead(ctx context.Context, ep *endpoint) {
	if !ep.ws {
		sleep(ctx, s.cfg.PollEvery)
		return
	}
	if s.sub == nil || s.subEp != ep || s.subEnded.Load() {
		if err := s.subscribe(ctx, ep); err != nil {
			// Poll meanwhile, and subscribe again soon: a subscription
			// that timed out once on a busy node is no reason to poll for
			// good.
			s.subWait = min(max(2*s.subWait, s.cfg.RetryMin), s.cfg.PollEvery)
			s.log.Warn("ssv sentry: newHeads subscription failed; polling, and subscribing again", "endpoint", ep.name, "err", err, "retry_in", s.subWait)
			sleep(ctx, s.subWait)
			return
		}
		s.subWait = 0
		// Read the head again: one may have come before the subscription.
		return
	}
	t := time.NewTimer(s.cfg.NoHeadTimeout)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-s.heads:
	case <-t.C:
		s.log.Warn("ssv sentry: no new head on the subscription; polling", "endpoint", ep.name, "waited", s.cfg.NoHeadTimeout)
	}
}

func (s *Sentry) subscribe(ctx context.Context, ep *endpoint) error {
	if s.sub != nil {
		s.sub.Unsubscribe()
		s.sub, s.subEp = nil, nil
	}
	c, err := ep.dial(ctx)
	if err != nil {
		return err
	}
	ch := make(chan json.RawMessage, 16)
	sctx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	sub, err := c.EthSubscribe(sctx, ch, "newHeads")
	if err != nil {
		return ep.scrub(fmt.Errorf("eth_subscribe newHeads: %w", err))
	}
	// Each subscription has its own ended flag: the goroutine of one
	// replaced (unsubscribed) must not mark its successor ended.
	ended := new(atomic.Bool)
	s.sub, s.subEp, s.subEnded = sub, ep, ended
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-sub.Err():
				// Subscription ended: wake the loop, which subscribes again.
				ended.Store(true)
				s.wake()
				return
			case <-ch:
				s.wake()
			}
		}
	}()
	return nil
}

func (s *Sentry) wake() {
	select {
	case s.heads <- struct{}{}:
	default:
	}
}

// sleep waits d or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
