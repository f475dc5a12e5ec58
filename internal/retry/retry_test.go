package retry

import (
	"context"
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
