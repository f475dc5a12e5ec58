package httpapi

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/ssv/registry"
	"github.com/valtrack/valtrack/internal/ssv/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

// Mainnet size (late 2025: about 150,000 validators, 1,500 operators and
// owners) for BenchmarkNodeValidators.
const (
	mainValidators = 150_000
	mainOperators  = 1_500
	mainOwners     = 1_500
)

// mainOps are validator i's operators: clusters of 4 consecutive ids over
// the 1,500 operators, about 400 validators each.
func mainOps(i uint64) []uint64 {
	first := (i*4)%(mainOperators-3) + 1
	return []uint64{first, first + 1, first + 2, first + 3}
}

func mainOwner(i uint64) string { return fmt.Sprintf("0x%040x", i%mainOwners+1) }

// mainRegistry is the registry of BenchmarkNodeValidators: owners in turn
// (100 validators each), every 50th validator exited, every 100th removed
// (which the node's answer leaves out).
func mainRegistry() []registry.Validator {
	vs := make([]registry.Validator, 0, mainValidators)
	for i := uint64(1); i <= mainValidators; i++ {
		v := registry.Validator{Index: i, PublicKey: benchKey(i), Owner: mainOwner(i), OperatorIDs: mainOps(i),
			ClusterID: fmt.Sprintf("0x%064x", (i*4)%(mainOperators-3)+1), Status: registry.StatusActive, AddedBlock: i, UpdatedBlock: i}
		switch {
		case i%100 == 0:
			v.Status = registry.StatusRemoved
		case i%50 == 0:
			v.Status = registry.StatusExited
		}
		vs = append(vs, v)
	}
	return vs
}

// storeBeacon gives every validator a beacon-chain state, as a deployment
// with --ssv-beacon has: the answer's index and status come from the join.
func storeBeacon(tb testing.TB, db *store.DB, vs []registry.Validator) {
	tb.Helper()
	rows := make([][]any, 0, len(vs))
	for _, v := range vs {
		rows = append(rows, []any{testNet, v.PublicKey, int64(v.Index + 1_000_000), "active_ongoing", int64(32_000_000_000), false,
			int64(100), store.U64(^uint64(0)), int64(1_700_000_000_000)})
	}
	err := db.InTx(context.Background(), "store the beacon states", func(tx *sql.Tx) error {
		return db.InsertRows(context.Background(), tx, store.Insert{Table: "ssv_beacon_validators",
			Cols: []string{"network", "public_key", "beacon_index", "status", "balance_gwei", "slashed", "activation_epoch", "exit_epoch", "updated_at"}}, rows)
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// heapPeak samples the heap while a request runs, without stopping the
// world (runtime/metrics, unlike ReadMemStats, does not): the peak of the
// heap's objects (live and garbage not yet collected) and of the live heap
// the last GC marked. A handler that held its whole answer would show it
// in the live heap; one that streams shows about a page.
type heapPeak struct {
	objects, live atomic.Uint64
	stop          chan struct{}
	done          sync.WaitGroup
}

var heapSamples = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}

func heapNow() (objects, live uint64) {
	s := append([]metrics.Sample(nil), heapSamples...)
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

func startHeapPeak() *heapPeak {
	p := &heapPeak{stop: make(chan struct{})}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			o, l := heapNow()
			if o > p.objects.Load() {
				p.objects.Store(o)
			}
			if l > p.live.Load() {
				p.live.Store(l)
			}
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

func (p *heapPeak) end() (objects, live uint64) {
	close(p.stop)
	p.done.Wait()
	return p.objects.Load(), p.live.Load()
}

// countingDiscard counts what it is given and keeps none of it: the client
// side adds nothing to the heap measured.
type countingDiscard struct{ n int64 }

func (c *countingDiscard) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// BenchmarkNodeValidators: the SSV node's GET /v1/validators over a
// mainnet-size registry (150,000 validators, 1,500 operators, 1,500
// owners, each with its beacon state) in SQLite and, with
// VALTRACK_TEST_POSTGRES, PostgreSQL (analysed, as autovacuum leaves a
// table in service; SQLite is not, as valtrack never runs ANALYZE): the
// full answer, one owner, one operator and two owners, over HTTP on
// 127.0.0.1. It
// reports the body's bytes and the heap's peaks over the heap before the
// request, and fails when the live heap grows by more than half the body:
// the answer must be streamed.
func BenchmarkNodeValidators(b *testing.B) {
	vs := mainRegistry()
	want := map[string]int{}
	owner, owner2, operator := mainOwner(7), mainOwner(8), uint64(700)
	for _, v := range vs {
		if v.Status == registry.StatusRemoved {
			continue
		}
		want["all"]++
		if v.Owner == owner {
			want["owner"]++
		}
		if v.Owner == owner || v.Owner == owner2 {
			want["owners2"]++
		}
		for _, id := range v.OperatorIDs {
			if id == operator {
				want["operator"]++
			}
		}
	}
	queries := []struct{ name, q string }{
		{"all", ""},
		{"owner", "?owners=" + owner},
		{"operator", fmt.Sprintf("?operators=%d", operator)},
		{"owners2", "?owners=" + owner + "," + owner2},
	}
	for _, d := range []struct {
		name string
		open func(testing.TB, ...store.Option) *store.DB
	}{{"sqlite", storetest.SQLite}, {"postgres", storetest.Postgres}} {
		b.Run(d.name, func(b *testing.B) {
			db := d.open(b, store.WithMigrations(state.Migrations()))
			storeRegistry(b, db, vs)
			storeBeacon(b, db, vs)
			if d.name == "postgres" {
				err := db.InTx(context.Background(), "analyze", func(tx *sql.Tx) error {
					_, err := tx.ExecContext(context.Background(), "ANALYZE")
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			f := newFixtureWith(b, state.New(db), nil, Options{})
			for _, q := range queries {
				url := f.srv.URL + "/v1/validators" + q.q
				b.Run(q.name, func(b *testing.B) {
					// Once, unmeasured: the answer holds every match.
					code, body := getEncoded(b, url, "identity")
					var got struct {
						Data []nodeValidator `json:"data"`
					}
					if err := json.Unmarshal(body, &got); code != http.StatusOK || err != nil || len(got.Data) != want[q.name] {
						b.Fatalf("GET %s: %d, %d validators (%v), want %d", url, code, len(got.Data), err, want[q.name])
					}
					size := int64(len(body))
					body, got.Data = nil, nil
					runtime.GC()
					objects0, live0 := heapNow()
					peak := startHeapPeak()
					b.ReportAllocs()
					b.SetBytes(size)
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						req, err := http.NewRequest(http.MethodGet, url, nil)
						if err != nil {
							b.Fatal(err)
						}
						req.Header.Set("Accept-Encoding", "identity")
						resp, err := http.DefaultClient.Do(req)
						if err != nil {
							b.Fatal(err)
						}
						var c countingDiscard
						_, err = io.Copy(&c, resp.Body)
						resp.Body.Close()
						if err != nil || resp.StatusCode != http.StatusOK || c.n != size {
							b.Fatalf("GET %s: %d, %d bytes (%v), want %d", url, resp.StatusCode, c.n, err, size)
						}
					}
					b.StopTimer()
					objects, live := peak.end()
					grew := func(peak, base uint64) float64 { return float64(max(peak, base) - base) }
					b.ReportMetric(float64(size), "body-B")
					b.ReportMetric(grew(objects, objects0), "peak-heap-B")
					b.ReportMetric(grew(live, live0), "peak-live-B")
					if g := grew(live, live0); size > 4<<20 && g > float64(size)/2 {
						b.Errorf("the live heap grew by %.0f bytes for a body of %d: the answer is not streamed", g, size)
					}
				})
			}
		})
	}
}
