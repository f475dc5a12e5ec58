// Package retry holds the reconnection delay every long-lived client of
// valtrack uses (the CometBFT WebSocket subscriber, the telemetry feed):
// exponential from a minimum, capped, with jitter so that many clients
// cut off together do not come back together.
package retry

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff is min·2^attempt capped at max, with jitter in [½, 1] of it.
func Backoff(attempt int, lo, hi time.Duration) time.Duration {
	d := hi
	if attempt >= 0 && attempt < 30 && lo > 0 {
		d = min(lo<<attempt, hi)
	}
	if d <= 0 {
		return 0
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// Sleep waits d or until ctx ends; false when ctx ended.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
