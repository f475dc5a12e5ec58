package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/valtrack/valtrack/internal/archive"
	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/cosmos/analyzers"
	cosmosevents "github.com/valtrack/valtrack/internal/cosmos/events"
	cosmossink "github.com/valtrack/valtrack/internal/cosmos/sink"
	cosmosstate "github.com/valtrack/valtrack/internal/cosmos/state"
	"github.com/valtrack/valtrack/internal/store"
)

// cosmosBench is a replay of a recorded devnet: the recording's complete
// heights, copied as often as needed to reach the asked number of events,
// each copy shifted by the recording's span of heights (and of time), under
// a chain name of its own.
type cosmosBench struct {
	chain                   string
	work                    []msg
	votes                   int
	firstHeight, lastHeight int64
	log                     *slog.Logger
}

// recorded is one decoded event of the recording.
type recorded struct {
	kind string
	ev   cosmosevents.Event
}

// loadRecording reads the JSON lines of -record, decodes every event with
// the domain's decoder and drops repeated message ids (the stream would).
func loadRecording(path string) ([]recorded, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	seen := map[string]bool{}
	var out []recorded
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if seen[l.ID] {
			continue
		}
		seen[l.ID] = true
		kind := l.Subject[strings.LastIndexByte(l.Subject, '.')+1:]
		ev, err := cosmosevents.Decode(kind, l.Data)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, l.ID, err)
		}
		out = append(out, recorded{kind, ev})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// complete keeps the heights from the first to the last that have both a
// block and a commit (a copy then follows the one before it without a
// height the analyzer would wait for), and moves validator sets stored
// before the first into it.
func complete(rec []recorded) (out []recorded, lo, hi int64, err error) {
	blocks, commits := map[int64]bool{}, map[int64]bool{}
	for _, r := range rec {
		switch e := r.ev.(type) {
		case *cosmosevents.Block:
			blocks[e.Height] = true
		case *cosmosevents.Commit:
			commits[e.Height] = true
		}
	}
	for h := range blocks {
		if commits[h] {
			if lo == 0 || h < lo {
				lo = h
			}
			if h > hi {
				hi = h
			}
		}
	}
	if lo == 0 {
		return nil, 0, 0, fmt.Errorf("the recording holds no height with both its block and commit")
	}
	var sets []*cosmosevents.ValidatorSet
	for _, r := range rec {
		h := cosmosevents.HeightOf(r.ev)
		if set, ok := r.ev.(*cosmosevents.ValidatorSet); ok && h < lo {
			sets = append(sets, set)
			continue
		}
		if h != 0 && (h < lo || h > hi) {
			continue
		}
		out = append(out, r)
	}
	if len(sets) > 0 {
		// the latest set before lo is the one in effect at lo
		last := sets[len(sets)-1]
		for _, s := range sets {
			if s.Height > last.Height {
				last = s
			}
		}
		last.Height = lo
		out = append([]recorded{{cosmosevents.KindValidatorSet, last}}, out...)
	}
	return out, lo, hi, nil
}

// shifted is a copy of ev under chain, dh heights and dt ms later. It
// returns nil for the events that name no height or time (validator names,
// parameters): one copy of those is the truth, more would be the same
// message id.
func shifted(ev cosmosevents.Event, chain string, dh, dt int64, first bool) cosmosevents.Event {
	obs := func(o cosmosevents.Observer) cosmosevents.Observer {
		o.SeenAt += dt
		return o
	}
	switch e := ev.(type) {
	case *cosmosevents.Vote:
		c := *e
		c.Chain, c.Height, c.Timestamp, c.Observer = chain, c.Height+dh, c.Timestamp+dt, obs(c.Observer)
		return &c
	case *cosmosevents.NewRound:
		c := *e
		c.Chain, c.Height, c.Observer = chain, c.Height+dh, obs(c.Observer)
		return &c
	case *cosmosevents.NewRoundStep:
		c := *e
		c.Chain, c.Height, c.Observer = chain, c.Height+dh, obs(c.Observer)
		return &c
	case *cosmosevents.Block:
		c := *e
		c.Chain, c.Height, c.Time, c.Observer = chain, c.Height+dh, c.Time+dt, obs(c.Observer)
		return &c
	case *cosmosevents.Commit:
		c := *e
		c.Chain, c.Height, c.Observer = chain, c.Height+dh, obs(c.Observer)
		c.Signatures = append([]cosmosevents.Signature(nil), e.Signatures...)
		for i := range c.Signatures {
			if c.Signatures[i].Timestamp != 0 {
				c.Signatures[i].Timestamp += dt
			}
		}
		return &c
	case *cosmosevents.ValidatorSet:
		c := *e
		c.Chain, c.Height, c.Observer = chain, c.Height+dh, obs(c.Observer)
		return &c
	case *cosmosevents.EndpointStatus:
		c := *e
		c.Chain, c.Observer = chain, obs(c.Observer)
		if c.Height != 0 {
			c.Height += dh
		}
		if c.LatestBlockTime != 0 {
			c.LatestBlockTime += dt
		}
		return &c
	case *cosmosevents.ValidatorInfo:
		if !first {
			return nil
		}
		c := *e
		c.Chain = chain
		return &c
	case *cosmosevents.Params:
		if !first {
			return nil
		}
		c := *e
		c.Chain = chain
		return &c
	}
	return nil
}

func newCosmosBench(path string, n int, log *slog.Logger) (*cosmosBench, error) {
	rec, err := loadRecording(path)
	if err != nil {
		return nil, err
	}
	rec, lo, hi, err := complete(rec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	span := hi - lo + 1
	var t0, t1 int64
	for _, r := range rec {
		if b, ok := r.ev.(*cosmosevents.Block); ok {
			if t0 == 0 || b.Time < t0 {
				t0 = b.Time
			}
			t1 = max(t1, b.Time)
		}
	}
	// a copy's time span, one mean block interval included, so that
	// the block after a copy's last comes one interval later
	dur := (t1 - t0) + (t1-t0)/max(span-1, 1)
	cb := &cosmosBench{chain: fmt.Sprintf("bench-%d", time.Now().UnixNano()%1e9), log: log}
	// the last height of the replay with both its block and commit is
	// where the analyzer is caught up (a cut copy ends in a partial one)
	blocks, commits := map[int64]bool{}, map[int64]bool{}
	for k := int64(0); len(cb.work) < n; k++ {
		for _, r := range rec {
			if len(cb.work) == n {
				break
			}
			ev := shifted(r.ev, cb.chain, k*span, k*dur, k == 0)
			if ev == nil {
				continue
			}
			data, err := json.Marshal(ev)
			if err != nil {
				return nil, err
			}
			if r.kind == cosmosevents.KindVote {
				cb.votes++
			}
			switch e := ev.(type) {
			case *cosmosevents.Block:
				blocks[e.Height] = true
			case *cosmosevents.Commit:
				commits[e.Height] = true
			}
			if h := cosmosevents.HeightOf(ev); h != 0 && (cb.firstHeight == 0 || h < cb.firstHeight) {
				cb.firstHeight = h
			}
			cb.work = append(cb.work, msg{cosmosevents.Subject(cb.chain, r.kind), ev.MsgID(), data})
		}
		if k == 0 && len(cb.work) == 0 {
			return nil, fmt.Errorf("%s: nothing to replay", path)
		}
	}
	for h := range blocks {
		if commits[h] && h > cb.lastHeight {
			cb.lastHeight = h
		}
	}
	fmt.Fprintf(os.Stderr, "cosmos: recording of %d events, heights %d..%d (%d), replayed as %d events (%d votes) up to height %d of chain %s\n",
		len(rec), lo, hi, span, len(cb.work), cb.votes, cb.lastHeight, cb.chain)
	return cb, nil
}

func (cb *cosmosBench) bench() *bench {
	return &bench{
		stream: cosmosevents.Domain, work: cb.work, migrations: cosmosstate.Migrations(),
		sink: func(db *store.DB, arch *archive.Writer) (consumer.Sink, error) {
			return cosmossink.New(cosmossink.Config{DB: db, Archive: arch})
		},
		after:   cb.analyse,
		cleanup: cb.cleanup,
	}
}

// analyse times the missed-vote analyzer over the stored replay: passes
// (of analyzers.DefaultBatch heights) until it has caught up.
func (cb *cosmosBench) analyse(ctx context.Context, db *store.DB) (string, error) {
	as, err := analyzers.New(analyzers.Config{DB: db, Chains: []analyzers.Chain{{Name: cb.chain}}, SkipAfter: time.Millisecond, Log: cb.log})
	if err != nil {
		return "", err
	}
	a := as[0]
	start := time.Now()
	passes := 0
	var p cosmosstate.Progress
	for p.AnalyzedHeight < cb.lastHeight {
		if time.Since(start) > 10*time.Minute {
			return "", fmt.Errorf("analyzer: at height %d of %d after 10 minutes", p.AnalyzedHeight, cb.lastHeight)
		}
		if err := a.Run(ctx); err != nil {
			return "", err
		}
		passes++
		if p, err = cosmosstate.ProgressOf(ctx, db, cb.chain); err != nil {
			return "", err
		}
	}
	took := time.Since(start)
	heights := p.AnalyzedHeight - cb.firstHeight + 1
	var misses int64
	q := db.Query().SQL("SELECT count(*) FROM cosmos_misses WHERE chain = ").Arg(cb.chain)
	if err := db.Reader().QueryRowContext(ctx, q.String(), q.Args()...).Scan(&misses); err != nil {
		return "", err
	}
	return fmt.Sprintf("| missed-vote analyzer over the stored replay (%d heights, %d passes, %s, %d miss rows) | %.0f heights/s |",
		heights, passes, took.Round(time.Millisecond), misses, float64(heights)/took.Seconds()), nil
}

// cleanup deletes the replay's chain from the cosmos tables (-db).
func (cb *cosmosBench) cleanup(ctx context.Context, db *store.DB) error {
	tables := []string{"cosmos_votes", "cosmos_rounds", "cosmos_steps", "cosmos_blocks", "cosmos_commits", "cosmos_validator_sets",
		"cosmos_set_members", "cosmos_validator_changes", "cosmos_validators", "cosmos_endpoints", "cosmos_params",
		"cosmos_heights", "cosmos_misses", "cosmos_validator_stats", "cosmos_chains"}
	return db.InTx(ctx, "bench cleanup", func(tx *sql.Tx) error {
		for _, t := range tables {
			q := db.Query().SQL("DELETE FROM " + t + " WHERE chain = ").Arg(cb.chain)
			if _, err := tx.ExecContext(ctx, q.String(), q.Args()...); err != nil {
				return err
			}
		}
		return nil
	})
}
