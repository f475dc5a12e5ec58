package analyze

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

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

// A failing analyzer, a panicking one and one that hangs past its timeout
// do not stop or delay a healthy one; each outcome is counted.
func TestFailingAnalyzerDoesNotStopAnother(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var healthy, failing, panicking, hanging atomic.Int64
	as := []Analyzer{
		{Name: "test/failing", Every: 10 * time.Millisecond, Run: func(context.Context) error {
			failing.Add(1)
			return errors.New("store unreachable")
		}},
		{Name: "test/panicking", Every: 10 * time.Millisecond, Run: func(context.Context) error {
			panicking.Add(1)
			panic("bug")
		}},
		{Name: "test/hanging", Every: 10 * time.Millisecond, Timeout: 50 * time.Millisecond, Run: func(ctx context.Context) error {
			hanging.Add(1)
			<-ctx.Done()
			return ctx.Err()
		}},
		{Name: "test/healthy", Every: 10 * time.Millisecond, Run: func(context.Context) error {
			healthy.Add(1)
			return nil
		}},
	}
	reg := prometheus.NewRegistry()
	var logs syncBuffer
	done := make(chan error, 1)
	go func() { done <- Run(ctx, as, Options{Registerer: reg, Log: slog.New(slog.NewTextHandler(&logs, nil))}) }()
	deadline := time.Now().Add(10 * time.Second)
	for (healthy.Load() < 20 || hanging.Load() < 3) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if healthy.Load() < 20 || failing.Load() < 3 || panicking.Load() < 3 || hanging.Load() < 3 {
		t.Fatalf("runs: healthy %d, failing %d, panicking %d, hanging %d", healthy.Load(), failing.Load(), panicking.Load(), hanging.Load())
	}
	gather := func(name, analyzer, result string) float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, s := range mf.GetMetric() {
				ok := true
				for _, l := range s.GetLabel() {
					if (l.GetName() == "analyzer" && l.GetValue() != analyzer) || (l.GetName() == "result" && l.GetValue() != result) {
						ok = false
					}
				}
				if ok {
					if s.GetCounter() != nil {
						return s.GetCounter().GetValue()
					}
					return s.GetGauge().GetValue()
				}
			}
		}
		return 0
	}
	if gather("valtrack_analyzer_runs_total", "test/healthy", "ok") < 20 || gather("valtrack_analyzer_runs_total", "test/failing", "error") < 3 ||
		gather("valtrack_analyzer_runs_total", "test/panicking", "error") < 3 || gather("valtrack_analyzer_runs_total", "test/hanging", "error") < 3 {
		t.Error("run counters do not match the runs")
	}
	if gather("valtrack_analyzer_last_success_timestamp_seconds", "test/healthy", "") < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Error("healthy analyzer has no recent last success")
	}
	if gather("valtrack_analyzer_last_success_timestamp_seconds", "test/failing", "") != 0 {
		t.Error("failing analyzer has a last success")
	}
	out := logs.String()
	if strings.Count(out, `analyzer=test/failing`) != 1 || !strings.Contains(out, "store unreachable") ||
		!strings.Contains(out, "panicked") || !strings.Contains(out, "timeout") {
		t.Errorf("logs should hold one warning per failing analyzer with its cause:\n%s", out)
	}
}

func TestValidate(t *testing.T) {
	run := func(context.Context) error { return nil }
	for what, as := range map[string][]Analyzer{
		"bad name":      {{Name: "Bad Name", Every: time.Second, Run: run}},
		"twice":         {{Name: "a", Every: time.Second, Run: run}, {Name: "a", Every: time.Second, Run: run}},
		"zero interval": {{Name: "a", Run: run}},
		"no run":        {{Name: "a", Every: time.Second}},
	} {
		if err := Validate(as); err == nil {
			t.Errorf("%s: accepted", what)
		}
	}
	if err := Run(context.Background(), []Analyzer{{Name: "a", Run: run}}, Options{}); err == nil {
		t.Error("Run accepted an invalid analyzer")
	}
}
