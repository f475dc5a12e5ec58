package sink_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/valtrack/valtrack/internal/archive"
	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/cosmos/sink"
	"github.com/valtrack/valtrack/internal/cosmos/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

const chain = "testchain-1"

func dialects(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	for name, open := range map[string]func(testing.TB, ...store.Option) *store.DB{"sqlite": storetest.SQLite, "postgres": storetest.Postgres} {
		t.Run(name, func(t *testing.T) { fn(t, open(t, store.WithMigrations(state.Migrations()))) })
	}
}

func addr(i int) string { return fmt.Sprintf("%040X", i+1) }

func obs(endpoint string, at int64) events.Observer {
	return events.Observer{Endpoint: endpoint, SeenAt: at}
}

func batch(evs ...events.Event) []consumer.Event {
	out := make([]consumer.Event, len(evs))
	for i, e := range evs {
		out[i] = consumer.Event{Network: e.ChainName(), Kind: events.Kind(e), MsgID: e.MsgID(), Value: e}
	}
	return out
}

func mustApply(t testing.TB, sk *sink.Sink, evs []consumer.Event) {
	t.Helper()
	if err := sk.Apply(context.Background(), evs); err != nil {
		t.Fatalf("apply: %v", err)
	}
}

func newSink(t testing.TB, db *store.DB, w *archive.Writer) *sink.Sink {
	t.Helper()
	sk, err := sink.New(sink.Config{DB: db, Archive: w})
	if err != nil {
		t.Fatal(err)
	}
	return sk
}

// dump is every row of a table, as text, in key order.
func dump(t testing.TB, db *store.DB, table, order string) []string {
	t.Helper()
	rows, err := db.Reader().Query("SELECT * FROM " + table + " ORDER BY " + order)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(vals...))
	}
	return out
}

func vote(h int64, typ string, v int, hash, endpoint string, seen int64) *events.Vote {
	return &events.Vote{V: 1, Chain: chain, Height: h, Round: 0, Type: typ, BlockHash: hash, Timestamp: seen, ValidatorAddress: addr(v),
		ValidatorIndex: int32(v), Signature: "c2ln", Observer: obs(endpoint, seen)}
}

// Observations keep their first copy, a block's votes count as observed if
// any copy watched them, a commit's flags are one character per index, and
// a redelivered batch changes no row.
func TestApplyFirstWinsAndIdempotent(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		sk := newSink(t, db, nil)
		backfill := &events.Block{V: 1, Chain: chain, Height: 7, Time: 1000, Hash: "AA", ProposerAddress: addr(0), ValidatorsHash: "BB",
			VotesObserved: false, Source: events.SourceBackfill, Observer: obs("a", 10)}
		live := *backfill
		live.VotesObserved, live.Source, live.Observer = true, events.SourceLive, obs("b", 20)
		first := batch(
			vote(7, events.Prevote, 0, "AA", "a", 10), vote(7, events.Prevote, 0, "AA", "b", 11), // the same vote seen twice
			vote(7, events.Precommit, 1, "", "a", 12),
			&events.NewRound{V: 1, Chain: chain, Height: 7, Round: 0, ProposerAddress: addr(0), Observer: obs("a", 9)},
			&events.NewRoundStep{V: 1, Chain: chain, Height: 7, Round: 0, Step: "Propose", Observer: obs("a", 9)},
			backfill,
			&events.Commit{V: 1, Chain: chain, Height: 7, Round: 0, BlockHash: "AA", Source: events.SourceLive, Observer: obs("a", 30),
				Signatures: []events.Signature{{Flag: events.FlagCommit}, {Flag: events.FlagAbsent}, {Flag: events.FlagNil}}},
		)
		mustApply(t, sk, first)
		mustApply(t, sk, batch(&live, vote(7, events.Prevote, 0, "AA", "c", 5)))
		tables := map[string]string{"cosmos_votes": "height, round, type, validator_address", "cosmos_rounds": "height, round",
			"cosmos_steps": "height, round, step", "cosmos_blocks": "height", "cosmos_commits": "height"}
		before := map[string][]string{}
		for tb, order := range tables {
			before[tb] = dump(t, db, tb, order)
		}
		var endpoint string
		if err := db.Reader().QueryRow("SELECT endpoint FROM cosmos_votes WHERE type = 1").Scan(&endpoint); err != nil || endpoint != "a" {
			t.Errorf("prevote observed by %q (%v), want the first observer a", endpoint, err)
		}
		var observed bool
		var src, flags string
		if err := db.Reader().QueryRow("SELECT votes_observed, source FROM cosmos_blocks").Scan(&observed, &src); err != nil || !observed || src != events.SourceBackfill {
			t.Errorf("block: votes_observed %v source %s (%v), want true (a live copy watched it) and the first copy's source", observed, src, err)
		}
		if err := db.Reader().QueryRow("SELECT flags FROM cosmos_commits").Scan(&flags); err != nil || flags != "CAN" {
			t.Errorf("flags %q (%v), want CAN", flags, err)
		}
		// Redelivery: the whole first batch, then the backfilled block alone.
		mustApply(t, sk, first)
		mustApply(t, sk, batch(backfill))
		for tb, order := range tables {
			if after := dump(t, db, tb, order); strings.Join(after, "\n") != strings.Join(before[tb], "\n") {
				t.Errorf("%s changed on redelivery:\n%v\nwas\n%v", tb, after, before[tb])
			}
		}
		if n := len(before["cosmos_votes"]); n != 2 {
			t.Errorf("%d votes, want 2", n)
		}
	})
}

// A status moniker names a validator until the staking module (lcd or
// abci) does, and never replaces a staking one; jailing comes from staking.
func TestValidatorNames(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		sk := newSink(t, db, nil)
		info := func(moniker, source, op string, jailed bool, at int64) *events.ValidatorInfo {
			return &events.ValidatorInfo{V: 1, Chain: chain, Address: addr(0), Moniker: moniker, OperatorAddress: op, Jailed: jailed, Source: source, Observer: obs("a", at)}
		}
		check := func(wantMoniker, wantSource, wantOp string, wantJailed bool) {
			t.Helper()
			var m, s, op string
			var j bool
			if err := db.Reader().QueryRow("SELECT moniker, moniker_source, operator_address, jailed FROM cosmos_validators WHERE address = '"+addr(0)+"'").Scan(&m, &s, &op, &j); err != nil {
				t.Fatal(err)
			}
			if m != wantMoniker || s != wantSource || op != wantOp || j != wantJailed {
				t.Errorf("name %q from %q, operator %q, jailed %v; want %q, %q, %q, %v", m, s, op, j, wantMoniker, wantSource, wantOp, wantJailed)
			}
		}
		mustApply(t, sk, batch(info("node-name", "status", "", false, 1)))
		check("node-name", "status", "", false)
		mustApply(t, sk, batch(info("Registered", "lcd", "cosmosvaloper1x", true, 2)))
		check("Registered", "lcd", "cosmosvaloper1x", true)
		mustApply(t, sk, batch(info("other-node", "status", "", false, 3)))
		check("Registered", "lcd", "cosmosvaloper1x", true)
		// The same rule inside one batch.
		mustApply(t, sk, batch(info("Renamed", "lcd", "", false, 4), info("n", "status", "", false, 5)))
		check("Renamed", "lcd", "cosmosvaloper1x", false)
		// abci (x/staking over abci_query) is the staking module too: it
		// replaces an lcd name and sets jailing, and a status name never
		// replaces it, across batches and inside one.
		mustApply(t, sk, batch(info("OverABCI", "abci", "cosmosvaloper1y", true, 6)))
		check("OverABCI", "abci", "cosmosvaloper1y", true)
		mustApply(t, sk, batch(info("node-again", "status", "", false, 7)))
		check("OverABCI", "abci", "cosmosvaloper1y", true)
		mustApply(t, sk, batch(info("BackToLCD", "lcd", "", false, 8)))
		check("BackToLCD", "lcd", "cosmosvaloper1y", false)
		mustApply(t, sk, batch(info("ABCI2", "abci", "", true, 9), info("n", "status", "", false, 10)))
		check("ABCI2", "abci", "cosmosvaloper1y", true)
		// Another validator: a status name, then an abci one, then a
		// status hint again, all in one batch.
		b := func(moniker, source string, at int64) *events.ValidatorInfo {
			e := info(moniker, source, "", false, at)
			e.Address = addr(1)
			return e
		}
		mustApply(t, sk, batch(b("node-b", "status", 11), b("StakingB", "abci", 12), b("late-hint", "status", 13)))
		var m, src string
		if err := db.Reader().QueryRow("SELECT moniker, moniker_source FROM cosmos_validators WHERE address = '"+addr(1)+"'").Scan(&m, &src); err != nil || m != "StakingB" || src != "abci" {
			t.Errorf("second validator: %q from %q (%v), want StakingB from abci", m, src, err)
		}
	})
}

// An endpoint's latest status wins, healthy_at is the last healthy one's
// seen_at, and an older status redelivered changes nothing; parameters
// likewise.
func TestEndpointsAndParams(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		sk := newSink(t, db, nil)
		st := func(healthy bool, at int64) *events.EndpointStatus {
			return &events.EndpointStatus{V: 1, Chain: chain, Healthy: healthy, Height: at, Observer: obs("node-a:26657", at)}
		}
		check := func(wantHealthy bool, wantAt, wantHealthyAt int64) {
			t.Helper()
			var h bool
			var at, hat int64
			if err := db.Reader().QueryRow("SELECT healthy, updated_at, healthy_at FROM cosmos_endpoints").Scan(&h, &at, &hat); err != nil {
				t.Fatal(err)
			}
			if h != wantHealthy || at != wantAt || hat != wantHealthyAt {
				t.Errorf("healthy %v at %d, healthy_at %d; want %v, %d, %d", h, at, hat, wantHealthy, wantAt, wantHealthyAt)
			}
		}
		mustApply(t, sk, batch(st(true, 100)))
		check(true, 100, 100)
		old := batch(st(true, 200), st(false, 300))
		mustApply(t, sk, old)
		check(false, 300, 200)
		mustApply(t, sk, batch(st(true, 150)))
		check(false, 300, 200)
		mustApply(t, sk, old)
		check(false, 300, 200)

		p := func(w int64, at int64) *events.Params {
			return &events.Params{V: 1, Chain: chain, SignedBlocksWindow: w, MinSignedPerWindow: 0.05, Source: "lcd", Observer: obs("lcd", at)}
		}
		mustApply(t, sk, batch(p(10000, 2), p(100, 1)))
		mustApply(t, sk, batch(p(100, 1)))
		var w int64
		if err := db.Reader().QueryRow("SELECT signed_blocks_window FROM cosmos_params").Scan(&w); err != nil || w != 10000 {
			t.Errorf("window %d (%v), want 10000 (the latest)", w, err)
		}
	})
}

// Pruned ranges are stored as ranges (a million heights is one row), the
// first report of a range kept, a redelivery changing nothing, and
// overlapping ranges of two sentries both kept; a range of pruned sets
// beside a range of blocks of the same heights, with its hash.
func TestPrunedHeights(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		sk := newSink(t, db, nil)
		p := func(from, to int64, at int64) *events.PrunedHeights {
			return &events.PrunedHeights{V: 1, Chain: chain, From: from, To: to, LowestAvailable: to + 1, Endpoints: 2, Observer: obs("node-a:26657", at)}
		}
		sets := p(5, 1000004, 4)
		sets.What, sets.ValidatorsHash = events.PrunedValidatorSet, "AB12"
		first := batch(p(5, 1000004, 1), p(5, 1000004, 2), p(900, 1200000, 3), sets)
		mustApply(t, sk, first)
		mustApply(t, sk, first)
		rows, err := db.Reader().Query("SELECT from_height, to_height, lowest_available, endpoints, what || ':' || validators_hash || ' ' || endpoint, seen_at FROM cosmos_pruned_heights ORDER BY from_height, what")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var from, to, lowest, seen int64
			var n int
			var ep string
			if err := rows.Scan(&from, &to, &lowest, &n, &ep, &seen); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%d..%d<%d n%d %s@%d", from, to, lowest, n, ep, seen))
		}
		want := []string{"5..1000004<1000005 n2 blocks: node-a:26657@1", "5..1000004<1000005 n2 validator_set:AB12 node-a:26657@4",
			"900..1200000<1200001 n2 blocks: node-a:26657@3"}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("pruned rows %q, want %q", got, want)
		}
	})
}

func set(h int64, powers ...int64) *events.ValidatorSet {
	s := &events.ValidatorSet{V: 1, Chain: chain, Height: h, Observer: obs("a", h)}
	for i, p := range powers {
		if p > 0 {
			s.Validators = append(s.Validators, events.Validator{Address: addr(i), PubKeyType: "ed25519", PubKey: fmt.Sprint("k", i), VotingPower: p})
		}
	}
	return s
}

func changes(t *testing.T, db *store.DB) []string {
	t.Helper()
	rows, err := db.Reader().Query("SELECT height, address, change, old_power, new_power FROM cosmos_validator_changes ORDER BY height, address")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var h, o, n int64
		var a, c string
		if err := rows.Scan(&h, &a, &c, &o, &n); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d %s %s %d>%d", h, a[len(a)-1:], c, o, n))
	}
	return out
}

// Sets arrive out of order (a backfill): one between two stored sets takes
// over the changes of the next, and one identical to the next makes that
// one redundant. in_set follows the latest stored set.
func TestValidatorSetsOutOfOrder(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		sk := newSink(t, db, nil)
		mustApply(t, sk, batch(set(1, 10, 10, 10), set(20, 10, 0, 10, 10)))
		want := []string{"20 2 removed 10>0", "20 4 added 0>10"}
		if got := changes(t, db); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("changes %v, want %v", got, want)
		}
		mustApply(t, sk, batch(set(10, 10, 30, 10))) // validator 1's power changed at 10
		want = []string{"10 2 power 10>30", "20 2 removed 30>0", "20 4 added 0>10"}
		if got := changes(t, db); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("after a backfilled set at 10: changes %v, want %v", got, want)
		}
		mustApply(t, sk, batch(set(15, 10, 0, 10, 10), set(12, 10, 30, 10))) // 15 is 20's set; 12 is 10's
		want = []string{"10 2 power 10>30", "15 2 removed 30>0", "15 4 added 0>10"}
		if got := changes(t, db); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("after a backfilled set at 15: changes %v, want %v", got, want)
		}
		if got := dump(t, db, "cosmos_validator_sets", "height"); len(got) != 3 {
			t.Errorf("stored sets %v, want 1, 10 and 15", got)
		}
		rows, err := db.Reader().Query("SELECT address, in_set, voting_power, first_height FROM cosmos_validators ORDER BY address")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var a string
			var in bool
			var p, f int64
			if err := rows.Scan(&a, &in, &p, &f); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%s %v %d %d", a[len(a)-1:], in, p, f))
		}
		wantV := []string{"1 true 10 1", "2 false 0 1", "3 true 10 1", "4 true 10 15"}
		if strings.Join(got, "|") != strings.Join(wantV, "|") {
			t.Errorf("validators %v, want %v", got, wantV)
		}
	})
}

// Something that is not a cosmos event is refused (dead-lettered by the
// consumer), not retried.
func TestRejectsForeignValues(t *testing.T) {
	db := storetest.SQLite(t, store.WithMigrations(state.Migrations()))
	err := newSink(t, db, nil).Apply(context.Background(), []consumer.Event{{Network: chain, Kind: "vote", MsgID: "x", Value: "not an event"}})
	if !errors.Is(err, consumer.ErrRejected) {
		t.Errorf("apply of a foreign value: %v, want ErrRejected", err)
	}
}

// The archive gets one row per vote, round, step, block and commit, with
// ctop's columns, and an event it holds is not written twice.
func TestArchive(t *testing.T) {
	db := storetest.SQLite(t, store.WithMigrations(state.Migrations()))
	root := t.TempDir()
	w, err := archive.Open(archive.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	sk := newSink(t, db, w)
	evs := batch(vote(3, events.Precommit, 2, "AA", "a", 1_750_000_000_000),
		&events.NewRound{V: 1, Chain: chain, Height: 3, ProposerAddress: addr(1), ProposerIndex: 1, Observer: obs("a", 1_750_000_000_000)},
		&events.NewRoundStep{V: 1, Chain: chain, Height: 3, Step: "Commit", Observer: obs("a", 1_750_000_000_000)},
		&events.Block{V: 1, Chain: chain, Height: 3, Time: 1_750_000_000_000, Hash: "AA", Source: events.SourceLive, Observer: obs("a", 1_750_000_000_000)},
		&events.Commit{V: 1, Chain: chain, Height: 3, BlockHash: "AA", Source: events.SourceLive, Observer: obs("a", 1_750_000_000_000),
			Signatures: []events.Signature{{Flag: events.FlagAbsent}, {Flag: events.FlagCommit}}})
	for range 2 {
		if err := sk.Archive(evs); err != nil {
			t.Fatal(err)
		}
		if err := w.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	files := func(table string) []string {
		fs, _ := filepath.Glob(filepath.Join(root, "parquet", "cosmos", chain, table, "*", "*", "*.parquet"))
		return fs
	}
	for _, table := range []string{sink.TableRounds, sink.TableSteps, sink.TableBlocks, sink.TableCommits} {
		if len(files(table)) == 0 {
			t.Errorf("no %s file", table)
		}
	}
	fs := files(sink.TableVotes)
	var votes []sink.VoteRow
	for _, f := range fs {
		rows, err := parquet.ReadFile[sink.VoteRow](f)
		if err != nil {
			t.Fatal(err)
		}
		votes = append(votes, rows...)
	}
	if len(votes) != 1 {
		t.Fatalf("%d archived votes, want 1", len(votes))
	}
	v := votes[0]
	if v.Network != chain || v.Height != 3 || v.Type != events.Precommit || v.BlockID != "AA" || v.ValidatorAddress != addr(2) ||
		v.ValidatorIndex != 2 || v.Signature != "c2ln" || v.Endpoint != "a" || v.SeenAt != 1_750_000_000_000 {
		t.Errorf("archived vote %+v", v)
	}
	var commits []sink.CommitRow
	for _, f := range files(sink.TableCommits) {
		rows, err := parquet.ReadFile[sink.CommitRow](f)
		if err != nil {
			t.Fatal(err)
		}
		commits = append(commits, rows...)
	}
	if len(commits) != 1 || commits[0].Flags != "AC" {
		t.Errorf("archived commits %+v, want one with flags AC", commits)
	}
}
