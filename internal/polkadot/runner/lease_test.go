package runner

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

// logCount counts the log records whose message contains a string.
type logCount struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logCount) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCount) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Message)
	return nil
}
func (l *logCount) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCount) WithGroup(string) slog.Handler      { return l }
func (l *logCount) count(sub string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if strings.Contains(m, sub) {
			n++
		}
	}
	return n
}

// Two consumers sending on one store (PostgreSQL when
// VALTRACK_TEST_POSTGRES names one, else SQLite): only the holder of the
// chain's send lease starts the round and sends; the other records no
// round and sends nothing, and says so once. When the holder stops
// renewing, the other takes the lease over after its TTL — and, the round
// being done, sends nothing again.
func TestOneSenderPerChainByLease(t *testing.T) {
	var db *store.DB
	if os.Getenv(storetest.PostgresEnv) != "" {
		db = storetest.Postgres(t, store.WithMigrations(state.Migrations()))
	} else {
		db = storetest.SQLite(t, store.WithMigrations(state.Migrations()))
	}
	st, cfg := fixtureIn(t, state.New(db), 0, true)
	fc := goodChain()
	ctx := context.Background()
	clock := now
	mk := func(holder string, logs *logCount) *Runner {
		r, err := New(Config{Chain: chain, Store: st, Program: staticProgram{cfg}, Live: fc, Sender: fc, Send: true, LeaseHolder: holder,
			LeaseTTL: 5 * time.Minute, Log: slog.New(logs), Now: func() time.Time { return clock }})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	la, lb := &logCount{}, &logCount{}
	a, b := mk("consumer-a", la), mk("consumer-b", lb)
	if _, err := a.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		clock = clock.Add(time.Minute)
		p, err := b.Pass(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if p.Round != nil {
			t.Fatalf("the process without the lease has a round: %+v", p.Round)
		}
		if _, err := a.Pass(ctx); err != nil { // a renews
			t.Fatal(err)
		}
	}
	rs, _ := st.Rounds(ctx, chain, 10)
	if fc.count("nominate") != 1 || len(rs) != 1 || rs[0].Status != RoundDone {
		t.Fatalf("sent %v, rounds %+v: want one round, nominated once", fc.sent, rs)
	}
	if n := lb.count("another process holds the send lease"); n != 1 {
		t.Errorf("the process without the lease logged it %d times, want once", n)
	}
	if n := la.count("another process holds the send lease"); n != 0 {
		t.Errorf("the holder logged that another holds the lease")
	}
	// a stops; after the TTL b takes over, and the done round is not sent again.
	clock = clock.Add(6 * time.Minute)
	if _, err := b.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if lb.count("took the send lease") != 1 || fc.count("nominate") != 1 {
		t.Fatalf("after a's lease lapsed: logs %v, sent %v: want b to take the lease and send nothing more", lb.msgs, fc.sent)
	}
	if held, other, err := st.HoldSendLease(ctx, chain, "consumer-a", clock, time.Minute); err != nil || held || other != "consumer-b" {
		t.Fatalf("a asking again: held %v, other %q, %v: want b's lease kept", held, other, err)
	}
}
