package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/api/apitest"
	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/polkadot/program"
	"github.com/valtrack/valtrack/internal/polkadot/sink"
	"github.com/valtrack/valtrack/internal/polkadot/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

const (
	testChain = "westend"
	alice     = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
	bob       = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
	charlie   = "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y"
	dave      = "5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy" // the nominator
	eve       = "5HGjWAeFDfFCWPsjFQdVV2Msvz2XtMktvgocEZcCj68kUMaw" // a nominator of the file that has not nominated yet
	ferdie    = "5CiPPseXPECbkjWCa6MnjNokrgYjMqmKndv2rSnekmSK2DjL" // a nominator the file dropped before it nominated
)

type fixture struct {
	srv *httptest.Server
	st  *state.Store
}

// apply publishes payloads through the real sink (Decode then Apply), as
// the consumer would.
func apply(t testing.TB, s *sink.Sink, items ...any) {
	t.Helper()
	var evs []consumer.Event
	for i := 0; i < len(items); i += 2 {
		kind := items[i].(string)
		b, err := json.Marshal(items[i+1])
		if err != nil {
			t.Fatal(err)
		}
		v, err := s.Decode(kind, b)
		if err != nil {
			t.Fatalf("decode %s: %v", kind, err)
		}
		evs = append(evs, consumer.Event{Network: testChain, Kind: kind, MsgID: kind, Value: v})
	}
	if err := s.Apply(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
}

func val(stash string, commission uint32, stake events.Amount, identity string) *events.Validator {
	return &events.Validator{V: 1, Chain: testChain, Stash: stash, Block: 100,
		Intention: events.Got(true, 1), Commission: events.Got(commission, 1), Blocked: events.Got(false, 1), Active: events.Got(true, 1),
		SelfStake: events.Got(stake, 1), Identity: events.Got(&events.Identity{Display: identity, Judgements: []string{"KnownGood"}}, 1),
		NextKeys: events.Got(map[string]string{"beefy": "0x03bb", "grandpa": "0x88"}, 1), UnclaimedEras: events.Got([]uint32{3}, 1),
		ActiveNominators: events.Got([]events.Backer{{Who: dave, Value: "2000000000000"}}, 1), InactiveNominators: events.Got([]events.Backer{}, 1),
		Controller: events.Got(stash, 1), Payee: events.Got("Staked", 1)}
}

// newFixture serves a SQLite store filled by the real sink (chain, three
// validators, two eras, a fault, telemetry) and by the program's writes
// (three candidates: alice and charlie valid and scored, bob invalid; a
// snapshot; a dry-run round with a nomination; a pending proxy tx; the
// file's nominators: dave, who nominated, eve, bonded and nominating on
// chain but not yet by the program, and ferdie, dropped from the file).
func newFixture(t testing.TB) *fixture {
	ctx := context.Background()
	st := state.New(storetest.SQLite(t, store.WithMigrations(state.Migrations())))
	s, err := sink.New(sink.Config{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	nominator := &events.Validator{V: 1, Chain: testChain, Stash: dave, Block: 100, SelfStake: events.Got[events.Amount]("50000000000000", 1),
		Balance: events.Got[events.Amount]("60000000000000", 1), Payee: events.Got("Stash", 1), NominationTargets: events.Got([]string{alice, charlie}, 1), NominationEra: events.Got[uint32](7, 1)}
	apply(t, s,
		events.KindChain, &events.Chain{V: 1, Chain: testChain, SS58Prefix: 42, Decimals: 12, Token: "WND", Block: 100, ActiveEra: 8, CurrentEra: 8, Session: 48},
		events.KindValidator, val(alice, 30_000_000, "5000000000000", "Alice"),
		events.KindValidator, val(bob, 200_000_000, "1000000000000", "Bob"),
		events.KindValidator, val(charlie, 0, "3000000000000", "Charlie"),
		events.KindValidator, nominator,
		events.KindValidator, &events.Validator{V: 1, Chain: testChain, Stash: eve, Block: 100, SelfStake: events.Got[events.Amount]("20000000000000", 1),
			Balance: events.Got[events.Amount]("21000000000000", 1), Payee: events.Got("Staked", 1), Controller: events.Got(eve, 1),
			NominationTargets: events.Got([]string{bob}, 1), NominationEra: events.Got[uint32](5, 1)},
		events.KindEra, &events.Era{V: 1, Chain: testChain, Era: 6, Validators: []string{alice, bob}, Points: map[string]uint32{alice: 60}, Total: 60, Complete: true, Block: 80},
		events.KindEra, &events.Era{V: 1, Chain: testChain, Era: 7, Validators: []string{alice}, Points: map[string]uint32{alice: 20}, Total: 20, Block: 99},
		events.KindFault, &events.Fault{V: 1, Chain: testChain, ID: "offence-90-1", Stash: bob, Kind: events.FaultOffence, Reason: "Bob offline in session 40", Era: 6, Block: 90, At: 5},
		events.KindTelemetry, &events.Telemetry{V: 1, Chain: testChain, Name: "alice-node", Implementation: "Parity Polkadot", Version: "1.17.1", Online: true,
			DiscoveredAt: 11, OnlineSince: 12, OfflineWeek: 13, At: 20, Location: &events.Location{City: "Nuremberg", Region: "Bavaria", Country: "Germany", Provider: "Hetzner"}},
	)
	invalid := program.Validity{Status: program.Invalid, Checks: []program.Check{
		{Type: program.RuleCommission, Valid: false, Status: program.Invalid, Details: "Bob commission is set higher than the maximum allowed. Set: 20% Allowed: 5%", Known: true},
		{Type: program.RuleSelfStake, Valid: false, Status: program.Invalid, Details: "Bob has less than the minimum amount bonded: 1 is bonded.", Known: true},
		{Type: program.RuleOnline, Valid: true, Status: program.Unknown, Error: "no telemetry"},
	}}
	valid := program.Validity{Status: program.Valid, Checks: []program.Check{{Type: program.RuleCommission, Valid: true, Status: program.Valid, Known: true}}}
	if err := st.PutCandidates(ctx, testChain, []state.CandidateState{
		{Entry: program.Entry{Name: "Alice", Stash: alice, KusamaStash: "HNZata7iMYWmk5RvZRTiAsSDhV8366zq2YGb3tLH5Upf74F"}, Validity: valid, Rank: 2, Inclusion: 0.25, NominatedAt: 7,
			TelemetryMatch: program.Match{Node: "alice-node", How: "normalized"}},
		{Entry: program.Entry{Name: "Bob", Stash: bob}, Validity: invalid, Rank: 9, Faults: 1, TelemetryMatch: program.Match{Note: `no telemetry node named "Bob"`}},
		{Entry: program.Entry{Name: "Charlie", Stash: charlie}, Validity: valid, Rank: 1},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SaveSnapshot(ctx, &program.Snapshot{Chain: testChain, Era: 8, Session: 48, At: 1000, Seed: 7,
		Weights: map[string]float64{"inclusion": 200, "bonded": 50, "faults": 5, "location": 40, "client": 0},
		Stats: map[string]program.Stats{"inclusion": {Values: []float64{0, 0.25}, Q10: 0.025, Q90: 0.225, Lo: 0.05, Hi: 0.95}, "bonded": {Values: []float64{3e12, 5e12}}, "faults": {},
			"location": {Values: []float64{1, 1}, Min: 1, Max: 1, Q10: 1, Q90: 1, Mean: 1, Lo: 0, Hi: 1, Groups: []program.Group{{Name: "Nuremberg", NumberOfNodes: 1}, {Name: "Zurich", NumberOfNodes: 1}}}},
		Scores: []program.Score{
			{Stash: charlie, Name: "Charlie", Aggregate: 250, Randomness: 1.1, Total: 275,
				Components: []program.Component{{Name: "inclusion", Raw: 0, Scaled: 0, Factor: 1, Weight: 200, Value: 200, Stats: "inclusion"}, {Name: "bonded", Raw: 3e12, Weight: 50, Value: 50, Stats: "bonded"}}},
			{Stash: alice, Name: "Alice", Aggregate: 100, Randomness: 1.05, Total: 105,
				Components: []program.Component{{Name: "inclusion", Raw: 0.25, Scaled: 1, Factor: 0, Weight: 200, Value: 0, Stats: "inclusion"}, {Name: "unclaimed", Raw: 1, Factor: -1, Weight: 10, Value: -10}}},
		}}); err != nil {
		t.Fatal(err)
	}
	id, err := st.StartRound(ctx, state.Round{Chain: testChain, Era: 8, Started: 2000, DryRun: true, Status: "done",
		Assignments: []program.Assignment{{Nominator: dave, Targets: []string{charlie, alice}, Count: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddNomination(ctx, state.Nomination{Chain: testChain, ID: "1-" + dave, RoundID: id, Nominator: dave, Era: 8, Targets: []string{charlie, alice}, At: 2001, DryRun: true}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddProxyTx(ctx, state.ProxyTx{Chain: testChain, ID: "p-1", RoundID: id, Nominator: dave, Delegate: bob, CallHash: "0xca11", Targets: []string{charlie},
		AnnouncedBlock: 95, ExecuteAfter: 105, TxHashes: []string{"0xa1"}, Created: 1500}); err != nil {
		t.Fatal(err)
	}
	daveConf := state.Nominator{Account: dave, Proxy: true, ProxyDelay: 10}
	if _, err := st.SyncNominators(ctx, testChain, []state.Nominator{daveConf, {Account: eve}, {Account: ferdie}}, 900); err != nil {
		t.Fatal(err)
	}
	daveConf.Delegate = bob // a sending runner read the proxy's key
	if _, err := st.SyncNominators(ctx, testChain, []state.Nominator{daveConf, {Account: eve}}, 1000); err != nil {
		t.Fatal(err)
	}
	if err := st.SetNextNomination(ctx, testChain, 9, 86_402_001, 2002); err != nil {
		t.Fatal(err)
	}
	log := &apitest.SyncBuffer{}
	srv, err := api.New(api.Options{Log: slog.New(slog.NewTextHandler(log, nil)), Domains: []api.Domain{New(st, func() []string { return []string{testChain} })}, CacheTTL: -1})
	if err != nil {
		t.Fatalf("api.New: %v", err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &fixture{srv: hs, st: st}
}
