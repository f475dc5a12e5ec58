// Package analyze schedules the analyzers of every domain: each named
// analyzer runs on its own interval, in its own goroutine, with its own
// deadline. A failing, panicking or slow analyzer never delays or skips the
// others; its failures are logged and counted, and its duration and last
// success are metrics.
package analyze

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Analyzer is one periodic job. Run should cost in proportion to what
// changed since its previous run (keep state between runs, read only new
// rows): it runs every Every for as long as the process lives.
type Analyzer struct {
	// Name identifies it in logs and metrics, e.g. "ethereum/estimate/mainnet".
	Name  string
	Every time.Duration
	// Timeout bounds one run (default 5×Every, at least 30s).
	Timeout time.Duration
	Run     func(ctx context.Context) error
}

// Names carry network names (Cosmos chain ids may have capitals), so case
// is allowed; spaces and other punctuation are not (they are metric labels).
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_./-]{0,127}$`)

// Options configure Run.
type Options struct {
	Registerer prometheus.Registerer // nil: no metrics
	Log        *slog.Logger
}

type metrics struct {
	runs        *prometheus.CounterVec
	duration    *prometheus.GaugeVec
	lastSuccess *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "valtrack_analyzer_runs_total",
			Help: "Analyzer runs, by analyzer and result (ok, error)."}, []string{"analyzer", "result"}),
		duration: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "valtrack_analyzer_duration_seconds",
			Help: "Duration of the last run, by analyzer."}, []string{"analyzer"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "valtrack_analyzer_last_success_timestamp_seconds",
			Help: "Unix time of the last successful run, by analyzer."}, []string{"analyzer"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.runs, m.duration, m.lastSuccess} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("analyzers: register metrics: %w", err)
			}
		}
	}
	return m, nil
}

// Validate checks a set of analyzers before any runs.
func Validate(as []Analyzer) error {
	seen := map[string]bool{}
	for _, a := range as {
		switch {
		case !nameRE.MatchString(a.Name):
			return fmt.Errorf("analyzer %q: name must be letters, digits and . _ / - (no spaces)", a.Name)
		case seen[a.Name]:
			return fmt.Errorf("analyzer %q registered twice", a.Name)
		case a.Every <= 0:
			return fmt.Errorf("analyzer %s: interval %s must be positive", a.Name, a.Every)
		case a.Timeout < 0:
			return fmt.Errorf("analyzer %s: negative timeout %s", a.Name, a.Timeout)
		case a.Run == nil:
			return fmt.Errorf("analyzer %s: no Run", a.Name)
		}
		seen[a.Name] = true
	}
	return nil
}

// Run runs every analyzer at once and then on its interval until ctx is
// done. It returns only after every run in progress has finished.
func Run(ctx context.Context, as []Analyzer, o Options) error {
	if err := Validate(as); err != nil {
		return err
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	for _, a := range as {
		wg.Go(func() { loop(ctx, a, m, o.Log.With("analyzer", a.Name)) })
	}
	wg.Wait()
	return nil
}

func loop(ctx context.Context, a Analyzer, m *metrics, log *slog.Logger) {
	t := time.NewTicker(a.Every)
	defer t.Stop()
	failing := false
	for {
		err := once(ctx, a, m)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !failing:
			log.Warn("analyzer failed; retrying at its next interval", "every", a.Every, "err", err)
			failing = true
		case err != nil:
			log.Debug("analyzer still failing", "err", err)
		case failing:
			log.Info("analyzer recovered")
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// once runs a one time, recording the outcome.
func once(ctx context.Context, a Analyzer, m *metrics) (err error) {
	timeout := a.Timeout
	if timeout == 0 {
		timeout = max(5*a.Every, 30*time.Second)
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("analyzer panicked: %v", p)
		}
		m.duration.WithLabelValues(a.Name).Set(time.Since(start).Seconds())
		if err != nil {
			if errors.Is(rctx.Err(), context.DeadlineExceeded) {
				err = fmt.Errorf("%w (run exceeded its %s timeout)", err, timeout)
			}
			m.runs.WithLabelValues(a.Name, "error").Inc()
			return
		}
		m.runs.WithLabelValues(a.Name, "ok").Inc()
		m.lastSuccess.WithLabelValues(a.Name).SetToCurrentTime()
	}()
	return a.Run(rctx)
}
