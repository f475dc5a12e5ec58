package sink_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/valtrack/valtrack/internal/archive"
	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/polkadot/sink"
	"github.com/valtrack/valtrack/internal/polkadot/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

func newSink(t testing.TB, open func(testing.TB, ...store.Option) *store.DB, cfg sink.Config) (*sink.Sink, *state.Store) {
	t.Helper()
	st := state.New(open(t, store.WithMigrations(state.Migrations())))
	cfg.Store = st
	s, err := sink.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, st
}

var dialects = map[string]func(testing.TB, ...store.Option) *store.DB{"sqlite": storetest.SQLite, "postgres": storetest.Postgres}

// A redelivered batch changes nothing, and a validator's failed read keeps
// the last known value (with the error) through the sink.
func TestApplyIdempotentAndMerging(t *testing.T) {
	for name, open := range dialects {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s, st := newSink(t, open, sink.Config{})
			first := batch(t, s,
				events.KindChain, chainEvent(100, 7),
				events.KindValidator, validatorEvent("5Alice", 100, events.Got[uint32](30_000_000, 1)),
				events.KindValidator, validatorEvent("5Bob", 100, events.Got[uint32](0, 1)),
				events.KindEra, &events.Era{V: 1, Chain: chain, Era: 6, Validators: []string{"5Alice", "5Bob"}, Points: map[string]uint32{"5Alice": 40}, Total: 40, Complete: true, Block: 90},
				events.KindFault, &events.Fault{V: 1, Chain: chain, ID: "offence-99-1", Stash: "5Bob", Kind: events.FaultOffence, Reason: "offline in session 41", Block: 99, At: 5},
				events.KindTelemetry, &events.Telemetry{V: 1, Chain: chain, Name: "alice-node", Implementation: "Parity Polkadot", Version: "1.17.1", Online: true, At: 10},
			)
			if err := s.Apply(ctx, first); err != nil {
				t.Fatal(err)
			}
			failed := validatorEvent("5Alice", 101, events.Failed[uint32](errors.New("rpc: connection reset"), 2))
			second := batch(t, s, events.KindValidator, failed, events.KindChain, chainEvent(101, 7))
			if err := s.Apply(ctx, second); err != nil {
				t.Fatal(err)
			}
			before := dump(t, st)
			for _, b := range [][]consumer.Event{first, second, append(first, second...)} {
				if err := s.Apply(ctx, b); err != nil {
					t.Fatal(err)
				}
				if after := dump(t, st); after != before {
					t.Fatalf("a redelivered batch changed the state:\nbefore %s\nafter  %s", before, after)
				}
			}
			v, err := st.Validator(ctx, chain, "5Alice")
			if err != nil {
				t.Fatal(err)
			}
			if !v.Commission.Known || v.Commission.Value != 30_000_000 || v.Commission.Err != "rpc: connection reset" || v.Block != 101 {
				t.Errorf("commission after a failed read: %+v at block %d", v.Commission, v.Block)
			}
			if c, _ := st.Chain(ctx, chain); c == nil || c.Block != 101 {
				t.Errorf("chain: %+v", c)
			}
			if f, _ := st.FaultCounts(ctx, chain); f["5Bob"] != 1 {
				t.Errorf("fault counts: %v", f)
			}
		})
	}
}

// An event whose payload names another chain than its subject is refused
// (dead-lettered), not applied.
func TestApplyRefusesAChainMismatch(t *testing.T) {
	s, st := newSink(t, storetest.SQLite, sink.Config{})
	evs := batch(t, s, events.KindChain, chainEvent(1, 1))
	evs[0].Network = "kusama"
	err := s.Apply(context.Background(), evs)
	if !errors.Is(err, consumer.ErrRejected) {
		t.Fatalf("apply: %v, want ErrRejected", err)
	}
	if c, _ := st.Chain(context.Background(), chain); c != nil {
		t.Errorf("applied anyway: %+v", c)
	}
}

// The geo resolver fills what the feed left empty, keeps what it said, and
// the IP is not stored.
func TestTelemetryLocatedFromIP(t *testing.T) {
	ctx := context.Background()
	s, st := newSink(t, storetest.SQLite, sink.Config{Geo: testGeo(t)})
	evs := batch(t, s,
		events.KindTelemetry, &events.Telemetry{V: 1, Chain: chain, Name: "a", IP: "192.0.2.7", Online: true, At: 1},
		events.KindTelemetry, &events.Telemetry{V: 1, Chain: chain, Name: "b", IP: "192.0.2.8", Online: true, At: 1,
			Location: &events.Location{City: "Berlin", Lat: 52.5, Lon: 13.4}},
		events.KindTelemetry, &events.Telemetry{V: 1, Chain: chain, Name: "c", IP: "10.1.2.3", Online: true, At: 1},
	)
	if err := s.Apply(ctx, evs); err != nil {
		t.Fatal(err)
	}
	ns, err := st.TelemetryNodes(ctx, chain)
	if err != nil || len(ns) != 3 {
		t.Fatalf("nodes: %v, %v", ns, err)
	}
	a, b, c := ns[0].Location, ns[1].Location, ns[2].Location
	if a == nil || a.Country != "Germany" || a.Region != "Bavaria" || a.City != "Nuremberg" || a.Provider != "Hetzner Online GmbH" || a.ASN != 24940 || a.Lat != 49.45 {
		t.Errorf("located from the IP: %+v", a)
	}
	if b == nil || b.City != "Berlin" || b.Country != "Germany" || b.Lat != 52.5 {
		t.Errorf("the feed's city or coordinates were overwritten: %+v", b)
	}
	if c != nil {
		t.Errorf("a private address got a location: %+v", c)
	}
	for _, n := range ns {
		if n.IP != "" {
			t.Errorf("node %s: IP %q stored", n.Name, n.IP)
		}
	}
}

// Archive writes the four tables under parquet/polkadot/<chain>/, once per
// message.
func TestArchive(t *testing.T) {
	root := t.TempDir()
	w, err := archive.Open(archive.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	s, _ := newSink(t, storetest.SQLite, sink.Config{Archive: w})
	evs := batch(t, s,
		events.KindChain, chainEvent(1, 1),
		events.KindValidator, validatorEvent("5Alice", 1, events.Got[uint32](1, 1)),
		events.KindEra, &events.Era{V: 1, Chain: chain, Era: 1, Complete: true, Observer: events.Observer{SeenAt: 1_700_000_000_000}},
		events.KindFault, &events.Fault{V: 1, Chain: chain, ID: "f", Stash: "5Alice", Kind: events.FaultSlash, At: 1_700_000_000_000},
		events.KindTelemetry, &events.Telemetry{V: 1, Chain: chain, Name: "n", At: 1_700_000_000_000},
	)
	if err := s.Archive(evs); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{sink.TableValidators, sink.TableEras, sink.TableFaults, sink.TableTelemetry} {
		fs, _ := filepath.Glob(filepath.Join(root, "parquet", "polkadot", chain, table, "*", "*", "*.parquet"))
		if len(fs) != 1 {
			t.Errorf("table %s: %d files, want 1", table, len(fs))
		}
	}
	for _, ev := range evs[1:] {
		if !w.Contains(ev.MsgID) {
			t.Errorf("archive lacks %s", ev.MsgID)
		}
	}
}

// Decode refuses what it cannot read with a clear error, and makes strings
// safe.
func TestDecode(t *testing.T) {
	good := string(encodeEvent(t, validatorEvent("5Alice", 1, events.Got[uint32](1, 1))))
	for name, c := range map[string]struct {
		kind, data, want string
	}{
		"unknown kind":    {"block", `{}`, "unknown kind"},
		"future version":  {events.KindChain, `{"v":2,"chain":"westend"}`, "schema version 2"},
		"unknown field":   {events.KindFault, `{"v":1,"chain":"westend","id":"x","stash":"s","kind":"slash","surprise":1}`, "unknown field"},
		"trailing data":   {events.KindValidator, good + `{}`, "after the JSON"},
		"bad chain":       {events.KindEra, `{"v":1,"chain":"Not A Chain"}`, "chain"},
		"bad amount":      {events.KindValidator, strings.Replace(good, `"5000000000000"`, `"-5"`, 1), "planck amount"},
		"empty stash":     {events.KindValidator, strings.Replace(good, `"stash":"5Alice"`, `"stash":"\u0000"`, 1), "stash is empty"},
		"commission":      {events.KindValidator, strings.Replace(good, `"commission":{"value":1`, `"commission":{"value":1000000001`, 1), "above 100%"},
		"fault kind":      {events.KindFault, `{"v":1,"chain":"westend","id":"x","stash":"s","kind":"bad"}`, "fault kind"},
		"too many":        {events.KindEra, `{"v":1,"chain":"westend","validators":[` + strings.Repeat(`"a",`, sink.MaxValidators) + `"a"]}`, "at most"},
		"latitude":        {events.KindTelemetry, `{"v":1,"chain":"westend","name":"n","location":{"lat":91,"lon":0}}`, "latitude"},
		"negative time":   {events.KindFault, `{"v":1,"chain":"westend","id":"x","stash":"s","kind":"slash","at":-1}`, "unix millisecond"},
		"wrong type":      {events.KindChain, `{"v":1,"chain":"westend","block":"x"}`, "cannot unmarshal"},
		"not json at all": {events.KindChain, `nope`, "invalid character"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := sink.Decode(c.kind, []byte(c.data))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Decode: %v, want an error containing %q", err, c.want)
			}
		})
	}
	v, err := sink.Decode(events.KindTelemetry, []byte(`{"v":1,"chain":"westend","name":"bad\u0000name\u0007","version":"`+strings.Repeat("x", 1000)+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	n := v.(*events.Telemetry)
	if n.Name != "badname" || len(n.Version) != sink.MaxShort {
		t.Errorf("strings not made safe: %q, %d bytes", n.Name, len(n.Version))
	}
}
