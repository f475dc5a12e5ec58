package rpc_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/cosmos/rpc"
)

// levels counts the records of each level whose message contains sub.
type levels struct {
	mu  sync.Mutex
	sub string
	n   map[slog.Level]int
}

func (l *levels) Enabled(context.Context, slog.Level) bool { return true }
func (l *levels) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, l.sub) {
		l.mu.Lock()
		l.n[r.Level]++
		l.mu.Unlock()
	}
	return nil
}
func (l *levels) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *levels) WithGroup(string) slog.Handler      { return l }
func (l *levels) count(lv slog.Level) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n[lv]
}

// An endpoint that stays down is retried forever, but only the first
// attempts of the outage and every 20th are warnings; the others are
// debug records, so a day-long outage does not fill the log.
func TestEndpointDownWarnsOnlyOnSomeAttempts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now: every dial is refused
	h := &levels{sub: "connection ended; reconnecting", n: map[slog.Level]int{}}
	s, err := rpc.NewSubscriber(rpc.WSConfig{URL: url, BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond,
		DialTimeout: time.Second, Log: slog.New(h)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	waitFor(t, "45 reconnection attempts", func() bool { return h.count(slog.LevelWarn)+h.count(slog.LevelDebug) >= 45 })
	cancel()
	<-done
	warn, debug := h.count(slog.LevelWarn), h.count(slog.LevelDebug)
	attempts := warn + debug
	// Attempts 1–3, then 20, 40, 60, …: the same refusal every time.
	want := 3 + attempts/20
	if warn != want {
		t.Fatalf("%d attempts logged %d warnings, want %d (the first 3 and every 20th)", attempts, warn, want)
	}
	if got := s.Stats().Reconnects; got < uint64(attempts) {
		t.Errorf("counted %d reconnects, want every one of the %d attempts", got, attempts)
	}
}
