package state_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/polkadot/program"
	"github.com/valtrack/valtrack/internal/polkadot/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

const chain = "westend"

// dialects runs fn against a fresh, migrated database of each dialect
// (PostgreSQL only with VALTRACK_TEST_POSTGRES).
func dialects(t *testing.T, fn func(t *testing.T, s *state.Store)) {
	for name, open := range map[string]func(testing.TB, ...store.Option) *store.DB{"sqlite": storetest.SQLite, "postgres": storetest.Postgres} {
		t.Run(name, func(t *testing.T) {
			fn(t, state.New(open(t, store.WithMigrations(state.Migrations()))))
		})
	}
}

func put(t *testing.T, s *state.Store, fn func(*state.Tx) error) {
	t.Helper()
	if err := s.InTx(context.Background(), "test write", fn); err != nil {
		t.Fatal(err)
	}
}

func validator(block uint64, commission events.Fact[uint32]) *events.Validator {
	return &events.Validator{V: 1, Chain: chain, Stash: "5Alice", Block: block, Commission: commission,
		Active: events.Got(true, 1), Identity: events.Got(&events.Identity{Display: "alice", Judgements: []string{"Reasonable"}}, 1)}
}

// A failed read keeps the last known value with the error; a record of an
// older block changes nothing; the same record again is idempotent.
func TestValidatorMerge(t *testing.T) {
	dialects(t, func(t *testing.T, s *state.Store) {
		ctx := context.Background()
		put(t, s, func(tx *state.Tx) error { return tx.PutValidator(validator(10, events.Got[uint32](50_000_000, 100))) })
		failed := validator(11, events.Failed[uint32](errors.New("rpc timeout"), 200))
		failed.Identity = events.Failed[*events.Identity](errors.New("people chain down"), 200)
		for range 2 {
			put(t, s, func(tx *state.Tx) error { return tx.PutValidator(failed) })
		}
		v, err := s.Validator(ctx, chain, "5Alice")
		if err != nil || v == nil {
			t.Fatalf("validator: %v, %v", v, err)
		}
		if !v.Commission.Known || v.Commission.Value != 50_000_000 || v.Commission.Err != "rpc timeout" || v.Commission.At != 200 || v.Block != 11 {
			t.Errorf("commission after a failed read: %+v (block %d)", v.Commission, v.Block)
		}
		if !v.Identity.Known || v.Identity.Value.Display != "alice" || v.Identity.Err != "people chain down" {
			t.Errorf("identity after a failed read: %+v", v.Identity)
		}
		put(t, s, func(tx *state.Tx) error { return tx.PutValidator(validator(9, events.Got[uint32](1, 300))) })
		if v, _ = s.Validator(ctx, chain, "5Alice"); v.Commission.Value != 50_000_000 || v.Block != 11 {
			t.Errorf("an older block overwrote: %+v block %d", v.Commission, v.Block)
		}
		put(t, s, func(tx *state.Tx) error { return tx.PutValidator(validator(12, events.Got[uint32](7, 400))) })
		if v, _ = s.Validator(ctx, chain, "5Alice"); v.Commission.Value != 7 || v.Commission.Err != "" {
			t.Errorf("a newer known value did not replace: %+v", v.Commission)
		}
		if vs, err := s.Validators(ctx, chain, true); err != nil || len(vs) != 1 {
			t.Errorf("active validators: %d, %v", len(vs), err)
		}
	})
}

// A complete era overrides an incomplete one, never the reverse; era
// points cover the set with zeros.
func TestErasAndPoints(t *testing.T) {
	dialects(t, func(t *testing.T, s *state.Store) {
		ctx := context.Background()
		incomplete := &events.Era{V: 1, Chain: chain, Era: 5, Validators: []string{"A", "B"}, Points: map[string]uint32{"A": 20}, Total: 20, Block: 100}
		complete := &events.Era{V: 1, Chain: chain, Era: 5, Validators: []string{"A", "B"}, Points: map[string]uint32{"A": 80, "B": 40}, Total: 120, Complete: true, Block: 200}
		put(t, s, func(tx *state.Tx) error { return tx.PutEra(incomplete) })
		put(t, s, func(tx *state.Tx) error { return tx.PutEra(complete) })
		later := *incomplete
		later.Block = 300
		put(t, s, func(tx *state.Tx) error { return tx.PutEra(&later) })
		es, err := s.Eras(ctx, chain, 0, 0)
		if err != nil || len(es) != 1 || !es[0].Complete || es[0].Total != 120 {
			t.Fatalf("eras: %+v, %v", es, err)
		}
		put(t, s, func(tx *state.Tx) error {
			return tx.PutEra(&events.Era{V: 1, Chain: chain, Era: 6, Validators: []string{"A"}, Points: map[string]uint32{}, Complete: true, Block: 400})
		})
		for stash, want := range map[string][]state.EraPoint{
			"B": {{Era: 5, Points: 40, Active: true}, {Era: 6}},
			"A": {{Era: 5, Points: 80, Active: true}, {Era: 6, Active: true}},
		} {
			got, err := s.EraPoints(ctx, chain, stash)
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("era points of %s: %+v, %v; want %+v", stash, got, err, want)
			}
		}
	})
}

func TestFaultsAndTelemetry(t *testing.T) {
	dialects(t, func(t *testing.T, s *state.Store) {
		ctx := context.Background()
		f := &events.Fault{V: 1, Chain: chain, ID: "offence-1-2", Stash: "A", Kind: events.FaultOffence, Reason: "offline", At: 5}
		for range 2 {
			put(t, s, func(tx *state.Tx) error { return tx.AddFault(f) })
		}
		g := *f
		g.ID, g.At = "slash-3", 9
		put(t, s, func(tx *state.Tx) error { return tx.AddFault(&g) })
		fs, err := s.Faults(ctx, chain, "A", 0)
		if err != nil || len(fs) != 2 || fs[0].ID != "slash-3" {
			t.Errorf("faults: %+v, %v", fs, err)
		}
		if c, err := s.FaultCounts(ctx, chain); err != nil || c["A"] != 2 {
			t.Errorf("fault counts: %v, %v", c, err)
		}

		online := &events.Telemetry{V: 1, Chain: chain, Name: "alice", NetworkID: "12D3A", Online: true, IP: "203.0.113.9", At: 10}
		other := &events.Telemetry{V: 1, Chain: chain, Name: "alice", NetworkID: "12D3B", Online: false, At: 20}
		put(t, s, func(tx *state.Tx) error { return tx.PutTelemetry(online) })
		put(t, s, func(tx *state.Tx) error { return tx.PutTelemetry(other) })
		ns, err := s.TelemetryNodes(ctx, chain)
		if err != nil || len(ns) != 1 || !ns[0].Online || ns[0].NetworkID != "12D3A" {
			t.Fatalf("an offline second node replaced the online one: %+v, %v", ns, err)
		}
		if ns[0].IP != "" {
			t.Errorf("the IP was stored: %q", ns[0].IP)
		}
		same := *online
		same.Online, same.At = false, 30
		put(t, s, func(tx *state.Tx) error { return tx.PutTelemetry(&same) })
		old := *online
		old.At, old.Version = 1, "old"
		put(t, s, func(tx *state.Tx) error { return tx.PutTelemetry(&old) })
		if ns, _ = s.TelemetryNodes(ctx, chain); ns[0].Online || ns[0].At != 30 {
			t.Errorf("the node's own offline record did not win, or an older one did: %+v", ns[0])
		}
	})
}

func TestCandidatesScoresAndExplain(t *testing.T) {
	dialects(t, func(t *testing.T, s *state.Store) {
		ctx := context.Background()
		invalid := program.Validity{Status: program.Invalid, Checks: []program.Check{{Type: program.RuleCommission, Status: program.Invalid, Details: "too high"}}}
		err := s.PutCandidates(ctx, chain, []state.CandidateState{
			{Entry: program.Entry{Name: "Alice", Stash: "A"}, Validity: program.Validity{Status: program.Valid}, Rank: 3, Inclusion: 0.5, TelemetryMatch: program.Match{Node: "alice", How: "exact"}},
			{Entry: program.Entry{Name: "Bob", Stash: "B"}, Validity: invalid, Rank: 7},
			{Entry: program.Entry{Name: "Carol", Stash: "C"}, Validity: program.Validity{Status: program.Valid}, Rank: 1},
		})
		if err != nil {
			t.Fatal(err)
		}
		put(t, s, func(tx *state.Tx) error {
			return tx.PutTelemetry(&events.Telemetry{V: 1, Chain: chain, Name: "alice", Version: "1.17.1", Online: true, At: 1})
		})
		snap := func(at int64, a, c float64) *program.Snapshot {
			return &program.Snapshot{Chain: chain, Era: 9, Session: 40, At: at, Seed: 42, Weights: map[string]float64{"inclusion": 200},
				Stats: map[string]program.Stats{"inclusion": {Values: []float64{0.5, 0.9}, Q10: 0.54}, "unused": {}},
				Scores: []program.Score{
					{Stash: "A", Name: "Alice", Total: a, Aggregate: a, Randomness: 1, Components: []program.Component{{Name: "inclusion", Raw: 0.5, Value: a, Stats: "inclusion"}}},
					{Stash: "C", Name: "Carol", Total: c, Aggregate: c, Randomness: 1},
				}}
		}
		if id, err := s.SaveSnapshot(ctx, snap(100, 10, 20)); err != nil || id != 1 {
			t.Fatalf("first snapshot: %d, %v", id, err)
		}
		if id, err := s.SaveSnapshot(ctx, snap(200, 30, 20)); err != nil || id != 2 {
			t.Fatalf("second snapshot: %d, %v", id, err)
		}
		cs, err := s.Candidates(ctx, chain, state.CandidateFilter{})
		if err != nil || len(cs) != 3 {
			t.Fatalf("candidates: %v, %v", cs, err)
		}
		state.SortByTotal(cs)
		if cs[0].Entry.Stash != "A" || cs[0].Score.Total != 30 || cs[0].Telemetry == nil || cs[0].Telemetry.Version != "1.17.1" || cs[2].Score != nil {
			t.Errorf("by total: %+v", cs)
		}
		state.SortByRank(cs)
		if cs[0].Entry.Stash != "B" || cs[0].Validity.Checks[0].Details != "too high" {
			t.Errorf("by rank: %+v", cs[0])
		}
		if inv, err := s.Candidates(ctx, chain, state.CandidateFilter{Status: program.Invalid}); err != nil || len(inv) != 1 || inv[0].Entry.Name != "Bob" {
			t.Errorf("invalid: %+v, %v", inv, err)
		}
		e, err := s.Explain(ctx, chain, "A")
		if err != nil || e == nil || e.Score.SnapshotID != 2 || e.Snapshot.Seed != 42 || len(e.Stats) != 1 || e.Stats["inclusion"].Q10 != 0.54 {
			t.Errorf("explain: %+v, %v", e, err)
		}
		if e, err := s.Explain(ctx, chain, "B"); e != nil || err != nil {
			t.Errorf("explain of an unscored stash: %+v, %v", e, err)
		}
		if n, err := s.RemoveCandidates(ctx, chain, []string{"A", "C"}); err != nil || n != 1 {
			t.Errorf("remove: %d, %v", n, err)
		}
		for range 2 {
			if err := s.PutRankPeriod(ctx, chain, state.RankPeriod{Stash: "A", Period: 8, Eras: []uint32{8, 9}, Active: true, Rank: 4, At: 5}); err != nil {
				t.Fatal(err)
			}
		}
		if rl, err := s.RankLog(ctx, chain, "A"); err != nil || len(rl) != 1 || rl[0].Rank != 4 || !slices.Equal(rl[0].Eras, []uint32{8, 9}) {
			t.Errorf("rank log: %+v, %v", rl, err)
		}
		// Append-only: a different write of a logged period changes nothing.
		if err := s.PutRankPeriods(ctx, chain, []state.RankPeriod{{Stash: "A", Period: 8, Eras: []uint32{}, Active: false, Rank: 3, At: 6},
			{Stash: "A", Period: 10, Eras: []uint32{10}, Active: true, Rank: 5, At: 6}, {Stash: "C", Period: 6, Eras: []uint32{}, Rank: 0, At: 6}}); err != nil {
			t.Fatal(err)
		}
		if rl, err := s.RankLog(ctx, chain, "A"); err != nil || len(rl) != 2 || rl[0].Rank != 4 || rl[0].At != 5 || !rl[0].Active {
			t.Errorf("rank log after a rewrite attempt: %+v, %v: want period 8 as first written", rl, err)
		}
		heads, err := s.RankHeads(ctx, chain)
		if err != nil || len(heads) != 2 || heads["A"].Period != 10 || heads["A"].Rank != 5 || heads["C"].Period != 6 {
			t.Errorf("rank heads %+v, %v: want A at period 10 rank 5, C at period 6", heads, err)
		}
	})
}

// A proxy tx is executed at most once: a second attempt (after a restart)
// reports no change.
func TestRoundsNominationsProxy(t *testing.T) {
	dialects(t, func(t *testing.T, s *state.Store) {
		ctx := context.Background()
		id, err := s.StartRound(ctx, state.Round{Chain: chain, Era: 12, Started: 1, DryRun: true, Status: "started",
			Assignments: []program.Assignment{{Nominator: "N", Targets: []string{"A"}, Count: 1}}})
		if err != nil || id != 1 {
			t.Fatalf("start round: %d, %v", id, err)
		}
		if ok, err := s.UpdateRound(ctx, chain, id, "done", map[string]map[string]string{"N": {"A": "nominated"}}, 2); !ok || err != nil {
			t.Fatalf("update round: %v, %v", ok, err)
		}
		r, err := s.LastRound(ctx, chain)
		if err != nil || r.Status != "done" || r.Outcome["N"]["A"] != "nominated" || !r.DryRun || r.Assignments[0].Nominator != "N" {
			t.Errorf("last round: %+v, %v", r, err)
		}
		for range 2 {
			if err := s.AddNomination(ctx, state.Nomination{Chain: chain, ID: "r1-N", RoundID: id, Nominator: "N", Era: 12, Targets: []string{"A"}, At: 3, TxHash: "0x1"}); err != nil {
				t.Fatal(err)
			}
		}
		if ns, err := s.LatestNominations(ctx, chain); err != nil || len(ns) != 1 || ns[0].TxHash != "0x1" {
			t.Errorf("latest nominations: %+v, %v", ns, err)
		}
		m, err := s.Meta(ctx, chain)
		if err != nil || m.LastNominatedEra != 12 || m.LastRoundID != 1 {
			t.Errorf("meta: %+v, %v", m, err)
		}
		if err := s.SetRelease(ctx, chain, program.Release{Version: "1.17.1", Published: 9}, 10); err != nil {
			t.Fatal(err)
		}
		if m, _ = s.Meta(ctx, chain); m.Release == nil || m.Release.Version != "1.17.1" {
			t.Errorf("release: %+v", m.Release)
		}

		p := state.ProxyTx{Chain: chain, ID: "p1", Nominator: "N", Delegate: "D", CallHash: "0xc", Targets: []string{"A"}, AnnouncedBlock: 100, ExecuteAfter: 110, TxHashes: []string{"0xa"}, Created: 5}
		if err := s.AddProxyTx(ctx, p); err != nil {
			t.Fatal(err)
		}
		if pend, err := s.ProxyTxs(ctx, chain, true, 0); err != nil || len(pend) != 1 {
			t.Fatalf("pending: %+v, %v", pend, err)
		}
		if ok, err := s.FinishProxyTx(ctx, chain, "p1", state.ProxyExecuted, "", "0xe", 6); !ok || err != nil {
			t.Fatalf("execute: %v, %v", ok, err)
		}
		if ok, err := s.FinishProxyTx(ctx, chain, "p1", state.ProxyExecuted, "", "0xf", 7); ok || err != nil {
			t.Fatalf("executed twice: %v, %v", ok, err)
		}
		if ok, _ := s.FinishProxyTx(ctx, chain, "p1", state.ProxyCancelled, "late", "", 8); ok {
			t.Fatal("an executed tx was cancelled")
		}
		if _, err := s.FinishProxyTx(ctx, chain, "p1", state.ProxyAnnounced, "", "", 8); err == nil {
			t.Fatal("moved back to announced")
		}
		all, err := s.ProxyTxs(ctx, chain, false, 0)
		if err != nil || len(all) != 1 || all[0].State != state.ProxyExecuted || !slices.Equal(all[0].TxHashes, []string{"0xa", "0xe"}) {
			t.Errorf("proxy txs: %+v, %v", all, err)
		}
		if pend, _ := s.ProxyTxs(ctx, chain, true, 0); len(pend) != 0 {
			t.Errorf("still pending: %+v", pend)
		}
		if nets, err := s.Networks(ctx); err != nil || len(nets) != 0 {
			t.Errorf("networks without observations or candidates: %v, %v", nets, err)
		}
	})
}

// A sentry restart starts a new telemetry tracker whose first sighting is
// now: the stored, earlier one stays, so CONNECTION_TIME is not reset.
func TestTelemetryKeepsFirstSighting(t *testing.T) {
	dialects(t, func(t *testing.T, s *state.Store) {
		first := &events.Telemetry{V: 1, Chain: chain, Name: "bob", Online: true, DiscoveredAt: 100, At: 100}
		later := &events.Telemetry{V: 1, Chain: chain, Name: "bob", Online: true, DiscoveredAt: 5000, At: 5000}
		put(t, s, func(tx *state.Tx) error { return tx.PutTelemetry(first) })
		put(t, s, func(tx *state.Tx) error { return tx.PutTelemetry(later) })
		ns, err := s.TelemetryNodes(context.Background(), chain)
		if err != nil || len(ns) != 1 || ns[0].DiscoveredAt != 100 || ns[0].At != 5000 {
			t.Fatalf("nodes %+v (%v): want the latest record with the first sighting 100", ns, err)
		}
	})
}

// ErasFull gives the eras with their points, zero-point validators left
// out of Points but kept in Validators.
func TestErasFull(t *testing.T) {
	dialects(t, func(t *testing.T, s *state.Store) {
		e := &events.Era{V: 1, Chain: chain, Era: 7, Validators: []string{"A", "B"}, Points: map[string]uint32{"A": 40}, Total: 40, Complete: true, Block: 9}
		put(t, s, func(tx *state.Tx) error { return tx.PutEra(e) })
		got, err := s.ErasFull(context.Background(), chain, 0, 0)
		if err != nil || len(got) != 1 {
			t.Fatalf("eras %+v, %v", got, err)
		}
		g := got[0]
		if g.Era != 7 || !g.Complete || len(g.Validators) != 2 || g.Points["A"] != 40 || len(g.Points) != 1 || g.Total != 40 {
			t.Errorf("era %+v, want era 7 complete with A 40 points and B in the set without points", g)
		}
	})
}

// The program file's nominators are recorded: an unchanged set writes
// nothing, a changed one updates its row, one dropped from the file is
// marked removed (kept), and one listed again is configured again with
// its first recording kept.
func TestNominatorsSync(t *testing.T) {
	dialects(t, func(t *testing.T, s *state.Store) {
		ctx := context.Background()
		sync := func(at int64, want int64, ns ...state.Nominator) []state.Nominator {
			t.Helper()
			n, err := s.SyncNominators(ctx, chain, ns, at)
			if err != nil || n != want {
				t.Fatalf("sync at %d: %d rows changed, %v; want %d", at, n, err, want)
			}
			got, err := s.Nominators(ctx, chain)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		if got := sync(1, 0); len(got) != 0 {
			t.Fatalf("nominators before any: %+v", got)
		}
		a := state.Nominator{Account: "A", Proxy: true, ProxyDelay: 10, Delegate: "D"}
		b := state.Nominator{Account: "B"}
		got := sync(10, 2, b, a)
		want := []state.Nominator{
			{Chain: chain, Account: "A", Proxy: true, ProxyDelay: 10, Delegate: "D", Added: 10, Updated: 10},
			{Chain: chain, Account: "B", Added: 10, Updated: 10},
		}
		if !slices.Equal(got, want) {
			t.Fatalf("recorded %+v, want %+v", got, want)
		}
		if got := sync(20, 0, a, b); !slices.Equal(got, want) {
			t.Errorf("an unchanged set rewrote the rows: %+v", got)
		}
		a.ProxyDelay = 20
		got = sync(30, 2, a) // a changed, b dropped
		want = []state.Nominator{
			{Chain: chain, Account: "A", Proxy: true, ProxyDelay: 20, Delegate: "D", Added: 10, Updated: 30},
			{Chain: chain, Account: "B", Added: 10, Updated: 30, Removed: 30},
		}
		if !slices.Equal(got, want) {
			t.Fatalf("after a change and a removal %+v, want %+v", got, want)
		}
		if got := sync(40, 0, a); got[1].Removed != 30 {
			t.Errorf("a removed nominator's mark moved: %+v", got[1])
		}
		got = sync(50, 1, a, b)
		if got[1] != (state.Nominator{Chain: chain, Account: "B", Added: 10, Updated: 50}) {
			t.Errorf("listed again: %+v, want configured with its first recording kept", got[1])
		}
		got = sync(60, 2) // the file lists none
		if got[0].Removed != 60 || got[1].Removed != 60 {
			t.Errorf("an empty file did not mark every nominator removed: %+v", got)
		}
		if others, err := s.Nominators(ctx, "kusama"); err != nil || len(others) != 0 {
			t.Errorf("another chain's nominators: %+v, %v", others, err)
		}
	})
}

// RenewSendLease extends only the holder's own lease — a lapsed one too,
// which nobody took — and never takes one another process holds, lapsed
// or not, nor one released; HoldSendLease still takes a lapsed one.
func TestRenewSendLease(t *testing.T) {
	dialects(t, func(t *testing.T, s *state.Store) {
		ctx := context.Background()
		t0 := time.UnixMilli(1_000_000)
		const ttl = time.Minute
		if held, _, err := s.RenewSendLease(ctx, chain, "a", t0, ttl); err != nil || held {
			t.Fatalf("renewing a lease never taken: held %v, %v", held, err)
		}
		if held, _, err := s.HoldSendLease(ctx, chain, "a", t0, ttl); err != nil || !held {
			t.Fatalf("a taking the lease: %v %v", held, err)
		}
		// Renewed at 50 s: good until 110 s, so b cannot take it at 90 s.
		if held, _, err := s.RenewSendLease(ctx, chain, "a", t0.Add(50*time.Second), ttl); err != nil || !held {
			t.Fatalf("a renewing: %v %v", held, err)
		}
		if held, other, err := s.HoldSendLease(ctx, chain, "b", t0.Add(90*time.Second), ttl); err != nil || held || other != "a" {
			t.Fatalf("b at 90 s: held %v other %q %v; want a's renewed lease kept", held, other, err)
		}
		// Lapsed, nobody took it: a renews it.
		if held, _, err := s.RenewSendLease(ctx, chain, "a", t0.Add(5*time.Minute), ttl); err != nil || !held {
			t.Fatalf("a renewing its lapsed lease: %v %v", held, err)
		}
		// b takes it once lapsed; a's renewal then fails, naming b, even
		// after b's lapses.
		if held, _, err := s.HoldSendLease(ctx, chain, "b", t0.Add(7*time.Minute), ttl); err != nil || !held {
			t.Fatalf("b taking the lapsed lease: %v %v", held, err)
		}
		for _, at := range []time.Duration{7*time.Minute + time.Second, 20 * time.Minute} {
			if held, other, err := s.RenewSendLease(ctx, chain, "a", t0.Add(at), ttl); err != nil || held || other != "b" {
				t.Fatalf("a renewing at %v: held %v other %q %v; want refused, b named", at, held, other, err)
			}
		}
		if err := s.ReleaseSendLease(ctx, chain, "b", t0.Add(21*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if held, _, err := s.RenewSendLease(ctx, chain, "b", t0.Add(21*time.Minute), ttl); err != nil || held {
			t.Fatalf("b renewing a released lease: %v %v; want refused", held, err)
		}
	})
}

// SaveOpenRound writes a round only while the stored one is still
// started: a round another process finished is not reopened.
func TestSaveOpenRound(t *testing.T) {
	dialects(t, func(t *testing.T, s *state.Store) {
		ctx := context.Background()
		r := state.Round{Chain: chain, Era: 12, Started: 1, Status: "started", Assignments: []program.Assignment{{Nominator: "N", Targets: []string{"A"}, Count: 1}}}
		id, err := s.StartRound(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		r.ID, r.Reason, r.Updated = id, "sending stopped", 2
		save := func(r state.Round) int {
			t.Helper()
			res, err := s.SaveOpenRound(ctx, state.OpenRoundSave{Round: r, Others: []string{"N"}})
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		if res := save(r); res != state.RoundSaved {
			t.Fatalf("saving a started round: %d", res)
		}
		done := r
		done.Status, done.Reason, done.Updated = "done", "", 3
		if res := save(done); res != state.RoundSaved {
			t.Fatalf("finishing it: %d", res)
		}
		if res := save(r); res != state.RoundNotSaved {
			t.Fatalf("saving the stale started view over the done round: %d; want refused", res)
		}
		if last, _ := s.LastRound(ctx, chain); last.Status != "done" || last.Updated != 3 {
			t.Fatalf("round %+v: want done kept", last)
		}
	})
}

// Two processes saving one round each write only the nominators they
// dealt with, and one that lost the send lease only its sends: the new
// holder sent N2 and failed N3's send; the old holder, saving its stale
// view after — it sent N1, failed N2's send, has a note for N3 — adds its
// send of N1 and its reason (the holder gave none), not its status, not
// its view of N2 and N3.
func TestSaveOpenRoundMergesByLease(t *testing.T) {
	dialects(t, func(t *testing.T, s *state.Store) {
		ctx := context.Background()
		var as []program.Assignment
		for _, n := range []string{"N1", "N2", "N3"} {
			as = append(as, program.Assignment{Nominator: n, Targets: []string{"T-" + n}, Count: 1})
		}
		id, err := s.StartRound(ctx, state.Round{Chain: chain, Era: 12, Started: 1, Status: "started", Assignments: as})
		if err != nil {
			t.Fatal(err)
		}
		if held, _, err := s.HoldSendLease(ctx, chain, "b", time.UnixMilli(10), time.Minute); !held || err != nil {
			t.Fatalf("b taking the lease: %v %v", held, err)
		}
		b := state.Round{Chain: chain, ID: id, Status: "started", Updated: 20,
			Outcome:  map[string]map[string]string{"N2": {"T-N2": "nominated"}, "N3": {"T-N3": "not sent: boom (attempt 1 of 3)"}},
			Attempts: map[string]state.SendAttempts{"N3": {Count: 1, Last: 20, Error: "boom"}}}
		if res, err := s.SaveOpenRound(ctx, state.OpenRoundSave{Round: b, Holder: "b", Sent: []string{"N2"}, Others: []string{"N3"}}); res != state.RoundSaved || err != nil {
			t.Fatalf("the holder's save: %d %v", res, err)
		}
		a := state.Round{Chain: chain, ID: id, Status: "done", Reason: "stale", Updated: 30,
			Outcome: map[string]map[string]string{"N1": {"T-N1": "nominated"}, "N2": {"T-N2": "not sent: failed (attempt 1 of 3)"},
				"N3": {"T-N3": "not sent: sending stopped"}},
			Attempts: map[string]state.SendAttempts{"N2": {Count: 1, Last: 30, Error: "failed"}}}
		if res, err := s.SaveOpenRound(ctx, state.OpenRoundSave{Round: a, Holder: "a", Sent: []string{"N1"}, Others: []string{"N2", "N3"}}); res != state.RoundSendsSaved || err != nil {
			t.Fatalf("the old holder's save: %d %v; want only its sends saved", res, err)
		}
		got, err := s.LastRound(ctx, chain)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]map[string]string{"N1": {"T-N1": "nominated"}, "N2": {"T-N2": "nominated"}, "N3": {"T-N3": "not sent: boom (attempt 1 of 3)"}}
		if !reflect.DeepEqual(got.Outcome, want) {
			t.Errorf("outcome %v, want %v", got.Outcome, want)
		}
		if len(got.Attempts) != 1 || got.Attempts["N3"].Count != 1 {
			t.Errorf("attempts %+v: want only the holder's N3", got.Attempts)
		}
		if got.Status != "started" || got.Reason != "stale" {
			t.Errorf("status %q reason %q: want the holder's started, the old holder's reason where the holder gave none", got.Status, got.Reason)
		}
	})
}
