package analyzers_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/valtrack/valtrack/internal/analyze"
	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/cosmos/analyzers"
	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/cosmos/sink"
	"github.com/valtrack/valtrack/internal/cosmos/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

// dialects runs a test against SQLite and (with VALTRACK_TEST_POSTGRES)
// PostgreSQL.
func dialects(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	dialectsOpen(t, func(t *testing.T, open func() *store.DB) { fn(t, open()) })
}

// dialectsOpen gives the test a way to open several fresh databases.
func dialectsOpen(t *testing.T, fn func(t *testing.T, open func() *store.DB)) {
	for name, open := range map[string]func(testing.TB, ...store.Option) *store.DB{"sqlite": storetest.SQLite, "postgres": storetest.Postgres} {
		t.Run(name, func(t *testing.T) {
			fn(t, func() *store.DB { return open(t, store.WithMigrations(state.Migrations())) })
		})
	}
}

const (
	chainName = "testchain-1"
	genesisMs = int64(1_750_000_000_000)
	blockMs   = int64(6000)
)

func addr(i int) string { return fmt.Sprintf("%040X", i+1) }

func hashOf(h int64) string { return fmt.Sprintf("%064X", h) }

// behaviour of one validator at one height: its prevote and precommit in
// the commit round ("block", "nil" or "" for none) and its commit flag.
type behaviour struct {
	prevote, precommit string
	flag               byte // 'C', 'A', 'N'
}

var (
	signs   = behaviour{"block", "block", 'C'}
	offline = behaviour{"", "", 'A'}
)

// sim builds the events of a synthetic chain.
type sim struct {
	t     testing.TB
	vals  []events.Validator
	evs   []events.Event
	times map[int64]int64
}

func newSim(t testing.TB, powers ...int64) *sim {
	s := &sim{t: t, times: map[int64]int64{}}
	for i, p := range powers {
		s.vals = append(s.vals, events.Validator{Address: addr(i), PubKeyType: "tendermint/PubKeyEd25519", PubKey: fmt.Sprintf("key%d", i), VotingPower: p})
	}
	return s
}

func obs(at int64) events.Observer { return events.Observer{Endpoint: "node-a:26657", SeenAt: at} }

// set publishes the current validator set at h.
func (s *sim) set(h int64) {
	s.evs = append(s.evs, s.setEvent(h))
}

// setEvent is the current validator set at h, with its hash.
func (s *sim) setEvent(h int64) *events.ValidatorSet {
	return &events.ValidatorSet{V: 1, Chain: chainName, Height: h, ValidatorsHash: s.setHash(),
		Validators: append([]events.Validator(nil), s.vals...), Observer: obs(genesisMs + h*blockMs)}
}

// setHash stands for the header's validators_hash of the current set: a
// digest of its members and powers (the analyzer only compares hashes).
func (s *sim) setHash() string {
	d := sha256.New()
	for _, v := range s.vals {
		fmt.Fprintf(d, "%s/%d;", v.Address, v.VotingPower)
	}
	return strings.ToUpper(hex.EncodeToString(d.Sum(nil)))
}

// heightOpts shape one height.
type heightOpts struct {
	round      int32 // the commit round; rounds below it had a proposer and no block
	unobserved bool  // votes_observed false (a backfilled height)
	noCommit   bool
	interval   int64 // ms since the previous block (default blockMs)
	who        map[int]behaviour
}

// height publishes block, rounds, votes and commit of h.
func (s *sim) height(h int64, o heightOpts) {
	iv := o.interval
	if iv == 0 {
		iv = blockMs
	}
	tm := genesisMs + h*blockMs
	if p, ok := s.times[h-1]; ok {
		tm = p + iv
	}
	s.times[h] = tm
	n := len(s.vals)
	proposer := func(r int32) int { return int((h + int64(r)) % int64(n)) }
	for r := int32(0); r <= o.round; r++ {
		p := proposer(r)
		s.evs = append(s.evs, &events.NewRound{V: 1, Chain: chainName, Height: h, Round: r, ProposerAddress: addr(p), ProposerIndex: int32(p), Observer: obs(tm)})
		s.evs = append(s.evs, &events.NewRoundStep{V: 1, Chain: chainName, Height: h, Round: r, Step: "Propose", Observer: obs(tm)})
	}
	b := &events.Block{V: 1, Chain: chainName, Height: h, Time: tm, Hash: hashOf(h), ProposerAddress: addr(proposer(o.round)),
		ValidatorsHash: s.setHash(), VotesObserved: !o.unobserved, Source: events.SourceLive, Observer: obs(tm)}
	if o.unobserved {
		b.Source = events.SourceBackfill
	}
	s.evs = append(s.evs, b)
	c := &events.Commit{V: 1, Chain: chainName, Height: h, Round: o.round, BlockHash: hashOf(h), Source: events.SourceLive, Observer: obs(tm + blockMs)}
	for i, v := range s.vals {
		bh, ok := o.who[i]
		if !ok {
			bh = signs
		}
		if !o.unobserved {
			// Rounds that failed: everybody prevoted and precommitted nil;
			// the analyzer must judge only the commit round.
			for r := int32(0); r < o.round; r++ {
				for _, typ := range []string{events.Prevote, events.Precommit} {
					s.evs = append(s.evs, &events.Vote{V: 1, Chain: chainName, Height: h, Round: r, Type: typ, BlockHash: "", Timestamp: tm,
						ValidatorAddress: v.Address, ValidatorIndex: int32(i), Signature: "c2ln", Observer: obs(tm)})
				}
			}
			for typ, what := range map[string]string{events.Prevote: bh.prevote, events.Precommit: bh.precommit} {
				if what == "" {
					continue
				}
				hash := hashOf(h)
				if what == "nil" {
					hash = ""
				}
				s.evs = append(s.evs, &events.Vote{V: 1, Chain: chainName, Height: h, Round: o.round, Type: typ, BlockHash: hash, Timestamp: tm,
					ValidatorAddress: v.Address, ValidatorIndex: int32(i), Signature: "c2ln", Observer: obs(tm)})
			}
		}
		var flag uint8 = events.FlagCommit
		switch bh.flag {
		case 'A':
			flag = events.FlagAbsent
		case 'N':
			flag = events.FlagNil
		}
		sig := events.Signature{Flag: flag}
		if flag != events.FlagAbsent {
			sig.ValidatorAddress, sig.Timestamp = v.Address, tm
		}
		c.Signatures = append(c.Signatures, sig)
	}
	if !o.noCommit {
		s.evs = append(s.evs, c)
	}
}

// heights publishes from..to with the same options.
func (s *sim) heights(from, to int64, o heightOpts) {
	for h := from; h <= to; h++ {
		s.height(h, o)
	}
}

// take returns the events published so far and forgets them.
func (s *sim) take() []events.Event {
	evs := s.evs
	s.evs = nil
	return evs
}

// apply runs events through the sink as the consumer does: encoded,
// decoded by kind, applied in batches.
func apply(t testing.TB, sk *sink.Sink, evs []events.Event, batch int) {
	t.Helper()
	var cevs []consumer.Event
	for _, e := range evs {
		kind := events.Kind(e)
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		v, err := sk.Decode(kind, data)
		if err != nil {
			t.Fatalf("decode %s: %v", kind, err)
		}
		cevs = append(cevs, consumer.Event{Network: e.ChainName(), Kind: kind, MsgID: e.MsgID(), Value: v})
	}
	for len(cevs) > 0 {
		n := min(batch, len(cevs))
		if err := sk.Apply(context.Background(), cevs[:n]); err != nil {
			t.Fatalf("apply: %v", err)
		}
		cevs = cevs[n:]
	}
}

func newSink(t testing.TB, db *store.DB) *sink.Sink {
	sk, err := sink.New(sink.Config{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

// clock is a test clock moved by hand.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func newAnalyzer(t testing.TB, db *store.DB, ch analyzers.Chain, reg prometheus.Registerer, c *clock) analyze.Analyzer {
	t.Helper()
	return newAnalyzerLog(t, db, ch, reg, c, slog.New(slog.DiscardHandler))
}

func newAnalyzerLog(t testing.TB, db *store.DB, ch analyzers.Chain, reg prometheus.Registerer, c *clock, log *slog.Logger) analyze.Analyzer {
	t.Helper()
	return newAnalyzerCfg(t, ch, c, analyzers.Config{DB: db, Registerer: reg, Log: log})
}

// newAnalyzerCfg is the analyzer of ch on the hand clock c with the rest of
// cfg as given (Batch, LateVotes…; zero values take the defaults), for the
// tests that need more than a database, a registerer and a log.
func newAnalyzerCfg(t testing.TB, ch analyzers.Chain, c *clock, cfg analyzers.Config) analyze.Analyzer {
	t.Helper()
	if ch.Name == "" {
		ch.Name = chainName
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	cfg.Chains, cfg.Now = []analyzers.Chain{ch}, c.Now
	as, err := analyzers.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || as[0].Name != "cosmos/missed/"+chainName {
		t.Fatalf("analyzers %+v, want one cosmos/missed/%s", as, chainName)
	}
	return as[0]
}

func run(t testing.TB, a analyze.Analyzer) {
	t.Helper()
	if err := a.Run(context.Background()); err != nil {
		t.Fatalf("run %s: %v", a.Name, err)
	}
}

// stats is a validator's row of cosmos_validator_stats.
type stats struct {
	Signed, Missed, MissedPrevote, MissedPrecommit, SoloMissed, Proposed, MissedProposals     int64
	Consecutive, WindowSize, WindowMissed, BlocksToJail, TimeToJailMs, LastHeight, LastSigned int64
}

func readStats(t testing.TB, db *store.DB) map[string]stats {
	t.Helper()
	q := db.Query().SQL("SELECT address, signed, missed, missed_prevote, missed_precommit, solo_missed, proposed, missed_proposals, consecutive_missed, ",
		"window_size, window_missed, blocks_to_jail, time_to_jail_ms, last_height, last_signed_height FROM cosmos_validator_stats WHERE chain = ").Arg(chainName)
	rows, err := db.Reader().Query(q.String(), q.Args()...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]stats{}
	for rows.Next() {
		var a string
		var s stats
		if err := rows.Scan(&a, &s.Signed, &s.Missed, &s.MissedPrevote, &s.MissedPrecommit, &s.SoloMissed, &s.Proposed, &s.MissedProposals,
			&s.Consecutive, &s.WindowSize, &s.WindowMissed, &s.BlocksToJail, &s.TimeToJailMs, &s.LastHeight, &s.LastSigned); err != nil {
			t.Fatal(err)
		}
		out[a] = s
	}
	return out
}

// miss is a row of cosmos_misses.
type miss struct {
	Height                                    int64
	Address                                   string
	Index                                     int
	Prevote, Precommit, Flag                  int
	MissedPrevote, MissedPrecommit, MissedSig bool
	MissedProposals                           int
	Cause                                     string
	Solo, Incident                            bool
}

func readMisses(t testing.TB, db *store.DB) []miss {
	t.Helper()
	q := db.Query().SQL("SELECT height, validator_address, validator_index, prevote, precommit, commit_flag, missed_prevote, missed_precommit, ",
		"missed_signature, missed_proposals, cause, solo, incident FROM cosmos_misses WHERE chain = ").Arg(chainName).SQL(" ORDER BY height, validator_address")
	rows, err := db.Reader().Query(q.String(), q.Args()...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []miss
	for rows.Next() {
		var m miss
		if err := rows.Scan(&m.Height, &m.Address, &m.Index, &m.Prevote, &m.Precommit, &m.Flag, &m.MissedPrevote, &m.MissedPrecommit,
			&m.MissedSig, &m.MissedProposals, &m.Cause, &m.Solo, &m.Incident); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func count(t testing.TB, db *store.DB, table string) int {
	t.Helper()
	var n int
	if err := db.Reader().QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func cursor(t testing.TB, db *store.DB) int64 {
	t.Helper()
	var h int64
	if err := db.Reader().QueryRow("SELECT analyzed_height FROM cosmos_chains").Scan(&h); err != nil {
		t.Fatal(err)
	}
	return h
}
