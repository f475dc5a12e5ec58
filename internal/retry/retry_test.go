package retry

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	lo, hi := 100*time.Millisecond, 5*time.Second
	for attempt, full := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond} {
		for range 50 {
			if d := Backoff(attempt, lo, hi); d < full/2 || d > full {
				t.Fatalf("attempt %d: %s, want within [%s, %s]", attempt, d, full/2, full)
			}
		}
	}
	for _, attempt := range []int{10, 29, 30, 1000} {
		if d := Backoff(attempt, lo, hi); d < hi/2 || d > hi {
			t.Errorf("attempt %d: %s, want capped at %s (with jitter)", attempt, d, hi)
		}
	}
	if d := Backoff(0, 0, 0); d != 0 {
		t.Errorf("zero bounds: %s", d)
	}
}

func TestSleep(t *testing.T) {
	if !Sleep(context.Background(), time.Millisecond) {
		t.Error("Sleep reported a cancellation that did not happen")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Sleep(ctx, time.Hour) {
		t.Error("Sleep did not return false on a cancelled context")
	}
}

// An outage with the same error warns on its first attempts and then on
// every EveryWarning-th only; a different error warns at once, and a new
// outage (attempt 1 again) warns from the start.
func TestReportsWarnsOnFirstChangedAndPeriodicFailures(t *testing.T) {
	var r Reports
	down := errors.New("dial tcp 127.0.0.1:1: connection refused")
	var warned []int
	for attempt := 1; attempt <= 45; attempt++ {
		err := down
		if attempt == 30 {
			err = errors.New("status 503")
		}
		if r.Warn(attempt, err) {
			warned = append(warned, attempt)
		}
	}
	// 1–3: the first; 20, 40: reminders; 30: another error, 31: back to
	// the first error, which differs from the last warned (30's).
	if got, want := fmt.Sprint(warned), "[1 2 3 20 30 31 40]"; got != want {
		t.Fatalf("warned at attempts %s, want %s", got, want)
	}
	if !r.Warn(1, down) {
		t.Error("the first attempt of a new outage was not warned")
	}
}
