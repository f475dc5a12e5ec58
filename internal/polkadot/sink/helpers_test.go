package sink_test

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/geo"
	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/polkadot/sink"
	"github.com/valtrack/valtrack/internal/polkadot/state"
)

const chain = "westend"

// encodeEvent is what the sentry publishes: the payload's JSON.
func encodeEvent(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// batch decodes payloads (kind, value) with the sink's Decode, as the
// consumer does, into a batch.
func batch(t testing.TB, s *sink.Sink, items ...any) []consumer.Event {
	t.Helper()
	var evs []consumer.Event
	for i := 0; i < len(items); i += 2 {
		kind := items[i].(string)
		v, err := s.Decode(kind, encodeEvent(t, items[i+1]))
		if err != nil {
			t.Fatalf("decode %s: %v", kind, err)
		}
		evs = append(evs, consumer.Event{Network: chain, Kind: kind, MsgID: kind + "-" + string(rune('a'+i)), Value: v})
	}
	return evs
}

// dump is everything the sink's tables hold for chain, as JSON, to compare
// states.
func dump(t testing.TB, st *state.Store) string {
	t.Helper()
	ctx := context.Background()
	c, err := st.Chain(ctx, chain)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := st.Validators(ctx, chain, false)
	if err != nil {
		t.Fatal(err)
	}
	es, err := st.Eras(ctx, chain, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := st.Faults(ctx, chain, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := st.TelemetryNodes(ctx, chain)
	if err != nil {
		t.Fatal(err)
	}
	var pts [][]state.EraPoint
	for _, v := range vs {
		p, err := st.EraPoints(ctx, chain, v.Stash)
		if err != nil {
			t.Fatal(err)
		}
		pts = append(pts, p)
	}
	return string(encodeEvent(t, []any{c, vs, es, fs, ns, pts}))
}

// testGeo is a resolver over databases of documentation ranges only.
func testGeo(t testing.TB) *geo.Resolver {
	t.Helper()
	write := func(dbType string, cidr string, rec mmdbtype.Map) string {
		tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, IncludeReservedNetworks: true, RecordSize: 28})
		if err != nil {
			t.Fatal(err)
		}
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tree.Insert(n, rec); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), dbType+".mmdb")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tree.WriteTo(f); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		return path
	}
	en := func(s string) mmdbtype.Map { return mmdbtype.Map{"en": mmdbtype.String(s)} }
	city := write("GeoLite2-City", "192.0.2.0/24", mmdbtype.Map{
		"city":         mmdbtype.Map{"names": en("Nuremberg")},
		"country":      mmdbtype.Map{"iso_code": mmdbtype.String("DE"), "names": en("Germany")},
		"location":     mmdbtype.Map{"latitude": mmdbtype.Float64(49.45), "longitude": mmdbtype.Float64(11.07)},
		"subdivisions": mmdbtype.Slice{mmdbtype.Map{"iso_code": mmdbtype.String("BY"), "names": en("Bavaria")}},
	})
	asn := write("GeoLite2-ASN", "192.0.2.0/24", mmdbtype.Map{
		"autonomous_system_number":       mmdbtype.Uint32(24940),
		"autonomous_system_organization": mmdbtype.String("Hetzner Online GmbH"),
	})
	r, err := geo.Open(geo.Options{CityDB: city, ASNDB: asn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func chainEvent(block uint64, era uint32) *events.Chain {
	return &events.Chain{V: 1, Chain: chain, Genesis: "0xe143", SpecName: "westend", SpecVersion: 1_017_001, SS58Prefix: 42, Decimals: 12,
		Token: "WND", Block: block, BlockHash: "0xb1", ActiveEra: era, CurrentEra: era, Session: era * 6,
		SessionValidators: []string{"5Alice", "5Bob"}, ElectedStakes: []events.Amount{"1000", "2000"}, MaxNominations: 16,
		Observer: events.Observer{Endpoint: "127.0.0.1:8003", SeenAt: 1_700_000_000_000}}
}

func validatorEvent(stash string, block uint64, commission events.Fact[uint32]) *events.Validator {
	return &events.Validator{V: 1, Chain: chain, Stash: stash, Block: block, BlockHash: "0xb",
		Intention: events.Got(true, 1), Commission: commission, Blocked: events.Got(false, 1), Active: events.Got(true, 1),
		Controller: events.Got(stash, 1), SelfStake: events.Got[events.Amount]("5000000000000", 1), Payee: events.Got("Staked", 1),
		Balance:  events.Got[events.Amount]("9000000000000", 1),
		Identity: events.Got(&events.Identity{Display: stash + " id", Judgements: []string{"Reasonable"}}, 1),
		NextKeys: events.Got(map[string]string{"beefy": "0x02aa"}, 1), UnclaimedEras: events.Got([]uint32{}, 1),
		ActiveNominators: events.Got([]events.Backer{{Who: "5Nom", Value: "100"}}, 1), InactiveNominators: events.Got([]events.Backer{}, 1),
		Observer: events.Observer{Endpoint: "127.0.0.1:8003", SeenAt: 1_700_000_000_000 + int64(block)}}
}
