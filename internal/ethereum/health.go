package ethereum

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/valtrack/valtrack/internal/analyze"
)

// What /healthz holds against the Ethereum domain. A sentry without a
// single peer observes nothing, and an analyzer that stopped succeeding
// leaves the estimates frozen while every other part answers; both are
// silent without a check.
const (
	// peerGrace is how long a sentry may have no connected peer — from its
	// start, or since a health check last saw one — before it is
	// unhealthy: a fresh sentry needs a few minutes of discovery, and
	// peers come and go.
	peerGrace = 5 * time.Minute
	// stallRuns is how many intervals past its timeout an analyzer may go
	// without a success.
	stallRuns = 2
)

// healthWatch is the state the health check keeps between calls.
type healthWatch struct {
	mu        sync.Mutex
	start     time.Time
	peersSeen map[string]time.Time // network → last check that saw a peer
	analyzers []*watchedAnalyzer
}

func newHealthWatch(now time.Time) *healthWatch {
	return &healthWatch{start: now, peersSeen: map[string]time.Time{}}
}

// peers judges one sentry by its connected peers now.
func (w *healthWatch) peers(network string, connected int, now time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if connected > 0 {
		w.peersSeen[network] = now
		return nil
	}
	last, ok := w.peersSeen[network]
	if !ok {
		last = w.start
	}
	if gone := now.Sub(last); gone > peerGrace {
		what := "since it started " + gone.Round(time.Second).String() + " ago"
		if ok {
			what = "for " + gone.Round(time.Second).String()
		}
		return fmt.Errorf("sentry %s has had no connected peer %s: check that its --p2p-port is reachable, its network's bootnodes answer, and the log's dial failures", network, what)
	}
	return nil
}

// watchedAnalyzer records when its analyzer was first run and last
// succeeded.
type watchedAnalyzer struct {
	name        string
	every       time.Duration
	timeout     time.Duration
	mu          sync.Mutex
	firstRun    time.Time
	lastSuccess time.Time
	lastErr     error
}

// watch wraps each analyzer's Run to record its outcome. An analyzer that
// is never run (a consumer given --analyzers=false) is never judged.
func (w *healthWatch) watch(as []analyze.Analyzer) []analyze.Analyzer {
	out := make([]analyze.Analyzer, len(as))
	for i, a := range as {
		// The analyze package's default timeout, which bounds a healthy run.
		timeout := a.Timeout
		if timeout == 0 {
			timeout = max(5*a.Every, 30*time.Second)
		}
		wa := &watchedAnalyzer{name: a.Name, every: a.Every, timeout: timeout}
		w.analyzers = append(w.analyzers, wa)
		run := a.Run
		a.Run = func(ctx context.Context) error {
			wa.mu.Lock()
			if wa.firstRun.IsZero() {
				wa.firstRun = time.Now()
			}
			wa.mu.Unlock()
			err := run(ctx)
			wa.mu.Lock()
			if err == nil {
				wa.lastSuccess = time.Now()
			}
			wa.lastErr = err
			wa.mu.Unlock()
			return err
		}
		out[i] = a
	}
	return out
}

// stalled fails when the analyzer has not succeeded for longer than a run
// may take plus stallRuns intervals, counted from its first run.
func (wa *watchedAnalyzer) stalled(now time.Time) error {
	wa.mu.Lock()
	defer wa.mu.Unlock()
	if wa.firstRun.IsZero() {
		return nil
	}
	since, what := wa.lastSuccess, "last succeeded"
	if since.IsZero() {
		since, what = wa.firstRun, "has not succeeded since its first run"
	}
	limit := wa.timeout + stallRuns*wa.every
	if age := now.Sub(since); age > limit {
		why := "its run has not finished (stuck on the database?)"
		if wa.lastErr != nil {
			why = "last error: " + wa.lastErr.Error()
		}
		what += " " + age.Round(time.Second).String() + " ago"
		return fmt.Errorf("analyzer %s %s (it runs every %s); %s", wa.name, what, wa.every, why)
	}
	return nil
}

// health fails while a sentry of this process has had no peer for longer
// than peerGrace, or an analyzer of this process has stalled.
func (in *instance) health(context.Context) error {
	now := time.Now()
	var errs []error
	for i, s := range in.sentries {
		if err := in.watch.peers(in.nets[i].Name, s.Stats().Connected, now); err != nil {
			errs = append(errs, err)
		}
	}
	for _, wa := range in.watch.analyzers {
		if err := wa.stalled(now); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
