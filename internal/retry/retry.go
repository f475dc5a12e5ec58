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

// Reports decides which failures of a client that reconnects forever are
// logged as warnings: an endpoint down for a day would otherwise write a
// WARN line per attempt (two a minute at a 30 s cap), burying everything
// else. The first FirstWarnings attempts of an outage warn, as does every
// failure whose text differs from the last one warned and every
// EveryWarning-th attempt after them (a reminder that it is still down);
// the rest are for debug logs. The zero value is ready; it is not safe for
// concurrent use (one per reconnect loop).
type Reports struct {
	last string
}

// FirstWarnings and EveryWarning shape Reports (see there).
const (
	FirstWarnings = 3
	EveryWarning  = 20
)

// Warn says whether the failure of attempt (1 for the first of an
// outage) is logged as a warning, and remembers its text when it is.
func (r *Reports) Warn(attempt int, err error) bool {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if attempt <= FirstWarnings || msg != r.last || attempt%EveryWarning == 0 {
		r.last = msg
		return true
	}
	return false
}
