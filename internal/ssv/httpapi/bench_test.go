package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/ssv/events"
	"github.com/valtrack/valtrack/internal/ssv/registry"
	"github.com/valtrack/valtrack/internal/ssv/registry/registrytest"
	"github.com/valtrack/valtrack/internal/ssv/sink"
	"github.com/valtrack/valtrack/internal/ssv/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

const (
	benchValidators = 10_000
	benchOperators  = 500
)

// benchOps are validator i's operators: clusters of 4 over 500 operators.
func benchOps(i uint64) []uint64 {
	first := (i*4)%497 + 1
	return []uint64{first, first + 1, first + 2, first + 3}
}

func benchKey(i uint64) string { return fmt.Sprintf("0x%096x", i) }

// benchFake: 10,000 validators over 500 operators in the in-memory fake.
func benchFake(testing.TB) registry.Reader {
	fake := registrytest.New()
	for id := uint64(1); id <= benchOperators; id++ {
		fake.PutOperator(testNet, registry.Operator{ID: id, Owner: ownerA, PublicKey: opKey(id), Fee: "1"})
	}
	for i := uint64(1); i <= benchValidators; i++ {
		fake.PutValidator(testNet, registry.Validator{Index: i, PublicKey: benchKey(i), Owner: ownerA,
			OperatorIDs: benchOps(i), ClusterID: "0xc", Status: registry.StatusActive})
	}
	return fake
}

// benchSQLite: the same registry in a migrated SQLite database, stored by
// the real sink from OperatorAdded and ValidatorAdded events (100 owners,
// 500 events a block, 2,000 a batch; no signature check: the shares are
// zeros), read through state.New.
func benchSQLite(tb testing.TB) registry.Reader {
	db := storetest.SQLite(tb, store.WithMigrations(state.Migrations()))
	sk, err := sink.New(sink.Config{DB: db})
	if err != nil {
		tb.Fatal(err)
	}
	var block uint64
	parent := fmt.Sprintf("0x%064x", 0)
	var pending []consumer.Event
	// emit adds a block of events (name, args) and its marker.
	emit := func(names []string, args []map[string]any) {
		block++
		hash := fmt.Sprintf("0x%064x", block)
		for i, name := range names {
			raw, err := json.Marshal(args[i])
			if err != nil {
				tb.Fatal(err)
			}
			ce := &events.ContractEvent{V: 1, Network: testNet, Name: name, Block: block, BlockHash: hash,
				TxHash: fmt.Sprintf("0x%032x%032x", block, i), TxIndex: uint(i), LogIndex: uint(i), Contract: ownerB, Args: raw}
			pending = append(pending, consumer.Event{Network: testNet, Kind: events.Kind(name), MsgID: ce.MsgID(), Value: ce})
		}
		m := &events.Block{V: 1, Network: testNet, Number: block, Hash: hash, ParentHash: parent, Time: int64(block) * 12000, Events: len(names)}
		parent = hash
		pending = append(pending, consumer.Event{Network: testNet, Kind: events.KindBlock, MsgID: m.MsgID(), Value: m})
		if len(pending) >= 2000 {
			if err := sk.Apply(context.Background(), pending); err != nil {
				tb.Fatal(err)
			}
			pending = nil
		}
	}
	var names []string
	var args []map[string]any
	for id := uint64(1); id <= benchOperators; id++ {
		names = append(names, "OperatorAdded")
		args = append(args, map[string]any{"operatorId": fmt.Sprint(id), "owner": ownerA, "publicKey": opKey(id), "fee": "1"})
	}
	emit(names, args)
	shares := "0x" + strings.Repeat("00", 96+4*(48+256))
	for i := uint64(1); i <= benchValidators; i += 500 {
		names, args = names[:0], args[:0]
		for k := i; k < i+500; k++ {
			var ids []string
			for _, id := range benchOps(k) {
				ids = append(ids, fmt.Sprint(id))
			}
			names = append(names, "ValidatorAdded")
			args = append(args, map[string]any{"owner": fmt.Sprintf("0x%040x", k%100+1), "operatorIds": ids, "publicKey": benchKey(k), "shares": shares,
				"cluster": map[string]any{"validatorCount": "1", "networkFeeIndex": "0", "index": "0", "active": true, "balance": "1000"}})
		}
		emit(names, args)
	}
	if len(pending) > 0 {
		if err := sk.Apply(context.Background(), pending); err != nil {
			tb.Fatal(err)
		}
	}
	c, err := state.New(db).Counts(context.Background(), testNet)
	if err != nil || c.Validators != benchValidators || c.Operators != benchOperators {
		tb.Fatalf("the sink stored %+v (%v), want %d validators and %d operators", c, err, benchValidators, benchOperators)
	}
	return state.New(db)
}

// benchQuery times /query frames over one WebSocket to a real HTTP server
// on 127.0.0.1, per registry: the in-memory fake (the baseline) and SQLite.
// The first reply must hold want times the string count.
func benchQuery(b *testing.B, frame func(i int) string, count string, want int) {
	for _, r := range []struct {
		name string
		open func(testing.TB) registry.Reader
	}{{"fake", benchFake}, {"sqlite", benchSQLite}} {
		b.Run(r.name, func(b *testing.B) {
			f := newFixtureWith(b, r.open(b), nil, Options{})
			c := dial(b, f.srv, "/api/v1/ssv/"+testNet+"/query")
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := c.Write(ctx, websocket.MessageText, []byte(frame(i))); err != nil {
					b.Fatal(err)
				}
				_, reply, err := c.Read(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if i == 0 {
					if n := strings.Count(string(reply), count); n != want {
						b.Fatalf("reply has %d of %s, want %d: %.300s", n, count, want, reply)
					}
				}
			}
		})
	}
}

// BenchmarkQueryValidatorByKey: /query for one validator by public key.
func BenchmarkQueryValidatorByKey(b *testing.B) {
	benchQuery(b, func(i int) string {
		return `{"type":"validator","filter":{"publicKey":"` + strings.TrimPrefix(benchKey(uint64(i%benchValidators)+1), "0x") + `"}}`
	}, `"nodeId"`, 4)
}

// BenchmarkQueryValidatorRange100: /query for 100 validators by index range.
func BenchmarkQueryValidatorRange100(b *testing.B) {
	benchQuery(b, func(i int) string {
		from := uint64(i*100%(benchValidators-100)) + 1
		return fmt.Sprintf(`{"type":"validator","filter":{"from":%d,"to":%d}}`, from, from+99)
	}, `"nodeId"`, 400)
}

// BenchmarkQueryValidatorRange1000: /query for 1000 validators (a full reply).
func BenchmarkQueryValidatorRange1000(b *testing.B) {
	benchQuery(b, func(i int) string {
		from := uint64(i*1000%(benchValidators-1000)) + 1
		return fmt.Sprintf(`{"type":"validator","filter":{"from":%d,"to":%d}}`, from, from+999)
	}, `"nodeId"`, 4000)
}

// BenchmarkQueryOperatorRange100: /query for 100 operators by id range
// (each holding about 80 validators).
func BenchmarkQueryOperatorRange100(b *testing.B) {
	benchQuery(b, func(i int) string {
		from := uint64(i*100%(benchOperators-100)) + 1
		return fmt.Sprintf(`{"type":"operator","filter":{"from":%d,"to":%d}}`, from, from+99)
	}, `"validator_count"`, 100)
}
