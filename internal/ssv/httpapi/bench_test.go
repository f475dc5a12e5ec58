package httpapi

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/valtrack/valtrack/internal/ssv/registry"
	"github.com/valtrack/valtrack/internal/ssv/registry/registrytest"
)

const benchValidators = 10_000

// benchFixture: 10,000 validators over 500 operators (clusters of 4).
func benchFixture(b *testing.B) *fixture {
	fake := registrytest.New()
	for id := uint64(1); id <= 500; id++ {
		fake.PutOperator(testNet, registry.Operator{ID: id, Owner: ownerA, PublicKey: opKey(id), Fee: "1"})
	}
	for i := uint64(1); i <= benchValidators; i++ {
		first := (i*4)%497 + 1
		fake.PutValidator(testNet, registry.Validator{Index: i, PublicKey: benchKey(i), Owner: ownerA,
			OperatorIDs: []uint64{first, first + 1, first + 2, first + 3}, ClusterID: "0xc", Status: registry.StatusActive})
	}
	return newFixtureWith(b, fake, nil, Options{})
}

func benchKey(i uint64) string { return fmt.Sprintf("0x%096x", i) }

func benchQuery(b *testing.B, frame func(i int) string, wantItems int) {
	f := benchFixture(b)
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
			if n := strings.Count(string(reply), `"nodeId"`); n != 4*wantItems {
				b.Fatalf("reply has %d operator links, want %d: %.300s", n, 4*wantItems, reply)
			}
		}
	}
}

// BenchmarkQueryValidatorByKey: /query for one validator by public key.
func BenchmarkQueryValidatorByKey(b *testing.B) {
	benchQuery(b, func(i int) string {
		return `{"type":"validator","filter":{"publicKey":"` + strings.TrimPrefix(benchKey(uint64(i%benchValidators)+1), "0x") + `"}}`
	}, 1)
}

// BenchmarkQueryValidatorRange100: /query for 100 validators by index range.
func BenchmarkQueryValidatorRange100(b *testing.B) {
	benchQuery(b, func(i int) string {
		from := uint64(i*100%(benchValidators-100)) + 1
		return fmt.Sprintf(`{"type":"validator","filter":{"from":%d,"to":%d}}`, from, from+99)
	}, 100)
}

// BenchmarkQueryValidatorRange1000: /query for 1000 validators (a full reply).
func BenchmarkQueryValidatorRange1000(b *testing.B) {
	benchQuery(b, func(i int) string {
		from := uint64(i*1000%(benchValidators-1000)) + 1
		return fmt.Sprintf(`{"type":"validator","filter":{"from":%d,"to":%d}}`, from, from+999)
	}, 1000)
}
