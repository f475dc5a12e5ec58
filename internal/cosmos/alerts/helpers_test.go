package alerts

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/valtrack/valtrack/internal/cosmos/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

const (
	chain = "testchain-1"
	addrA = "AAAA000000000000000000000000000000000001"
	addrB = "BBBB000000000000000000000000000000000002"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// forEachDB runs the test against SQLite and, with VALTRACK_TEST_POSTGRES,
// PostgreSQL.
func forEachDB(t *testing.T, f func(t *testing.T, open func(testing.TB) *store.DB)) {
	t.Run("sqlite", func(t *testing.T) {
		path := t.TempDir() + "/valtrack.db"
		f(t, func(tb testing.TB) *store.DB {
			db, err := store.Open(context.Background(), "sqlite://"+path, "", nil, store.WithMigrations(state.Migrations()))
			if err != nil {
				tb.Fatalf("open sqlite: %v", err)
			}
			tb.Cleanup(func() { db.Close() })
			return db
		})
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := storetest.PostgresDSN(t)
		f(t, func(tb testing.TB) *store.DB {
			db, err := store.Open(context.Background(), dsn, "", nil, store.WithMigrations(state.Migrations()))
			if err != nil {
				tb.Fatalf("open postgres: %v", err)
			}
			tb.Cleanup(func() { db.Close() })
			return db
		})
	})
}

// clock is the engine's Now, moved by the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}
func (c *clock) at(d time.Duration) {
	c.mu.Lock()
	c.t = t0.Add(d)
	c.mu.Unlock()
}

// sleeps records the waits between retries instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) list() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

type recorded struct {
	Path string
	Raw  []byte
	Body map[string]any
}

// receiver is a local HTTP server that records what it gets; respond picks
// the answer to the n-th request (0-based; nil: 200).
type receiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []recorded
	respond func(n int, w http.ResponseWriter, r *http.Request) bool
	got     chan struct{}
}

func newReceiver(t *testing.T, respond func(n int, w http.ResponseWriter, r *http.Request) bool) *receiver {
	rc := &receiver{respond: respond, got: make(chan struct{}, 1000)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		n := len(rc.reqs)
		var body map[string]any
		json.Unmarshal(raw, &body) //nolint:errcheck // checked by the tests that look at it
		rc.reqs = append(rc.reqs, recorded{Path: r.URL.Path, Raw: raw, Body: body})
		rc.mu.Unlock()
		rc.got <- struct{}{}
		if rc.respond != nil && rc.respond(n, w, r) {
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() []recorded {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]recorded(nil), rc.reqs...)
}

// waitCount waits (bounded) until the receiver has had n requests.
func (rc *receiver) waitCount(t *testing.T, n int) []recorded {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if r := rc.requests(); len(r) >= n {
			return r
		}
		select {
		case <-rc.got:
		case <-deadline:
			t.Fatalf("receiver got %d requests, want %d", len(rc.requests()), n)
		}
	}
}

type testEngine struct {
	*Engine
	clock  *clock
	sleeps *sleeps
	reg    *prometheus.Registry
}

// syncBuffer is a bytes.Buffer safe for the slog handler's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startEngine(t *testing.T, db *store.DB, cfgYAML string, c *clock, logs io.Writer) *testEngine {
	t.Helper()
	return startEngineAs(t, db, cfgYAML, c, logs, "", []string{chain})
}

// startEngineAs starts an engine that names itself holder (as a process
// sharing the store) and analyses chains.
func startEngineAs(t *testing.T, db *store.DB, cfgYAML string, c *clock, logs io.Writer, holder string, chains []string) *testEngine {
	t.Helper()
	cfg, err := ParseConfig([]byte(cfgYAML), "test.yaml")
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	if logs == nil {
		logs = io.Discard
	}
	te := &testEngine{clock: c, sleeps: &sleeps{}, reg: prometheus.NewRegistry()}
	te.Engine, err = newEngine(cfg, Deps{DB: db, Chains: chains, Holder: holder, Now: c.Now, Registerer: te.reg,
		Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}, te.sleeps.sleep)
	if err != nil {
		t.Fatalf("new engine: %v", err)
	}
	t.Cleanup(te.Close)
	return te
}

// passAt runs the chain's analyzer at t0+d.
func (te *testEngine) passAt(t *testing.T, d time.Duration) {
	t.Helper()
	te.clock.at(d)
	as := te.Analyzers()
	if len(as) != 1 || as[0].Name != "cosmos/alerts/"+chain {
		t.Fatalf("analyzers %+v, want one named cosmos/alerts/%s", as, chain)
	}
	if err := as[0].Run(context.Background()); err != nil {
		t.Fatalf("pass at +%s: %v", d, err)
	}
}

// flush waits (bounded) until no delivery is queued or running.
func (te *testEngine) flush(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !te.idle() {
		if time.Now().After(deadline) {
			t.Fatal("deliveries did not finish")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func exec(t *testing.T, db *store.DB, q *store.Query) {
	t.Helper()
	if err := db.InTx(context.Background(), "test insert", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(context.Background(), q.String(), q.Args()...)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// putValidator writes the validator's name and set membership.
func putValidator(t *testing.T, db *store.DB, addr, moniker string, inSet bool) {
	exec(t, db, db.Query().SQL("INSERT INTO cosmos_validators (chain, address, moniker, in_set, voting_power, updated_at) VALUES ").
		Row(chain, addr, moniker, inSet, 10, t0.UnixMilli()).
		SQL(" ON CONFLICT (chain, address) DO UPDATE SET moniker = excluded.moniker, in_set = excluded.in_set"))
}

type stats struct {
	consecutive, windowSize, windowMissed, blocksToJail, timeToJailMS int64
}

// putStats writes what the missed-vote analyzer would have derived.
func putStats(t *testing.T, db *store.DB, addr string, s stats) {
	exec(t, db, db.Query().SQL(`INSERT INTO cosmos_validator_stats (chain, address, signed, missed, missed_prevote,
		missed_precommit, solo_missed, proposed, missed_proposals, consecutive_missed, window_size, window_missed,
		blocks_to_jail, time_to_jail_ms, last_height, last_signed_height, updated_at) VALUES `).
		Row(chain, addr, 100, s.windowMissed, 0, 0, 0, 0, 0, s.consecutive, s.windowSize, s.windowMissed,
			s.blocksToJail, s.timeToJailMS, 1234, 1230, t0.UnixMilli()).
		SQL(` ON CONFLICT (chain, address) DO UPDATE SET consecutive_missed = excluded.consecutive_missed,
		window_size = excluded.window_size, window_missed = excluded.window_missed,
		blocks_to_jail = excluded.blocks_to_jail, time_to_jail_ms = excluded.time_to_jail_ms`))
}

func putMiss(t *testing.T, db *store.DB, addr string, height int64, cause string) {
	exec(t, db, db.Query().SQL(`INSERT INTO cosmos_misses (chain, height, validator_address, validator_index, voting_power,
		prevote, precommit, commit_flag, missed_prevote, missed_precommit, missed_signature, missed_proposals, cause, solo, incident) VALUES `).
		Row(chain, height, addr, 0, 10, 0, 0, 1, true, true, true, 0, cause, true, false))
}

// missing sets validator A in the set, missing n consecutive blocks.
func missing(t *testing.T, db *store.DB, n int64) {
	putStats(t, db, addrA, stats{consecutive: n, windowSize: 10000, windowMissed: n, blocksToJail: 5000 - n, timeToJailMS: (5000 - n) * 6000})
}
