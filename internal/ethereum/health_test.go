package ethereum

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/analyze"
)

// A sentry with no peer is healthy for peerGrace from its start or from
// the last check that saw a peer, then unhealthy with what to check.
func TestHealthSentryWithoutPeers(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w := newHealthWatch(t0)
	if err := w.peers("mainnet", 0, t0.Add(peerGrace-time.Second)); err != nil {
		t.Errorf("within the grace after start: %v", err)
	}
	err := w.peers("mainnet", 0, t0.Add(peerGrace+time.Second))
	if err == nil || !strings.Contains(err.Error(), "sentry mainnet has had no connected peer since it started") || !strings.Contains(err.Error(), "--p2p-port") {
		t.Errorf("past the grace after start: %v", err)
	}
	t1 := t0.Add(time.Hour)
	if err := w.peers("mainnet", 3, t1); err != nil {
		t.Errorf("with peers: %v", err)
	}
	if err := w.peers("mainnet", 0, t1.Add(peerGrace-time.Second)); err != nil {
		t.Errorf("within the grace after the peers left: %v", err)
	}
	if err := w.peers("mainnet", 0, t1.Add(peerGrace+time.Minute)); err == nil || !strings.Contains(err.Error(), "for 6m0s") {
		t.Errorf("past the grace after the peers left: %v", err)
	}
	if err := w.peers("hoodi", 0, t1.Add(peerGrace+time.Minute)); err == nil {
		t.Error("a second network without a peer since the start is healthy")
	}
}

// An analyzer is judged from its first run: healthy while it succeeds,
// unhealthy (with its last error) once it has not succeeded for its
// timeout plus two intervals, and never when it is not run at all.
func TestHealthAnalyzerStalled(t *testing.T) {
	w := newHealthWatch(time.Now())
	fail := false
	as := w.watch([]analyze.Analyzer{
		{Name: "ethereum/estimate/mainnet", Every: 30 * time.Second, Run: func(context.Context) error {
			if fail {
				return errors.New("query estimate window: database is locked")
			}
			return nil
		}},
		{Name: "ethereum/prune", Every: time.Hour, Run: func(context.Context) error { return nil }},
	})
	est, limit := w.analyzers[0], 5*30*time.Second+stallRuns*30*time.Second
	if err := est.stalled(time.Now().Add(24 * time.Hour)); err != nil {
		t.Errorf("an analyzer never run is judged: %v", err)
	}
	if err := as[0].Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	ok := time.Now()
	if err := est.stalled(ok.Add(limit - time.Second)); err != nil {
		t.Errorf("within the limit after a success: %v", err)
	}
	fail = true
	if err := as[0].Run(context.Background()); err == nil {
		t.Fatal("the wrapped run lost its error")
	}
	err := est.stalled(ok.Add(limit + time.Minute))
	if err == nil || !strings.Contains(err.Error(), "analyzer ethereum/estimate/mainnet last succeeded") ||
		!strings.Contains(err.Error(), "database is locked") {
		t.Errorf("past the limit with failures: %v", err)
	}
	if err := w.analyzers[1].stalled(ok.Add(limit + time.Minute)); err != nil {
		t.Errorf("an analyzer never run (prune) is judged: %v", err)
	}
}
