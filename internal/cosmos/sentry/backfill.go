package sentry

import (
	"context"
	"errors"
	"time"

	"github.com/valtrack/valtrack/internal/cosmos/rpc"
)

type backfillResult struct {
	height int64
	commit *rpc.Commit
	ep     string
	at     time.Time
	err    error // *rpc.HeightNotAvailableError: pruned everywhere; else ctx ended
	// pruned: how many endpoints said the height is pruned (all asked),
	// ep the one that holds the least.
	pruned int
}

// backfill fetches /commit?height=h from the endpoints, healthy ones first,
// until one gives the canonical commit, retrying with backoff (up to 10 s)
// for as long as it takes. A height every endpoint has pruned comes back as
// a HeightNotAvailableError with the lowest height any of them holds.
func (s *Sentry) backfill(ctx context.Context, h int64) {
	r := backfillResult{height: h}
	wait := 100 * time.Millisecond
	for attempt := 0; ; attempt++ {
		var (
			pruned  *rpc.HeightNotAvailableError
			npruned int
			lastErr error
		)
		eps := s.healthyFirst(h)
		for _, ep := range eps {
			c, err := ep.client.Commit(ctx, h)
			if ctx.Err() != nil {
				return
			}
			var na *rpc.HeightNotAvailableError
			switch {
			case err == nil && c.ChainID != s.cfg.ChainID:
				lastErr = errors.New("commit of chain " + c.ChainID)
				continue
			case err == nil && !c.Canonical:
				lastErr = errors.New("commit not canonical yet")
				continue
			case err == nil:
				r.commit, r.ep, r.at = c, ep.name, time.Now()
				s.sendResult(ctx, r)
				return
			case errors.As(err, &na):
				npruned++
				if pruned == nil || na.Lowest < pruned.Lowest {
					pruned, r.ep = na, ep.name
				}
			default:
				lastErr = err
			}
		}
		if npruned == len(eps) && pruned != nil {
			r.err, r.pruned, r.at = pruned, npruned, time.Now()
			s.sendResult(ctx, r)
			return
		}
		if attempt%10 == 9 {
			s.log.Warn("cosmos sentry: backfill of a height keeps failing; retrying", "height", h, "attempts", attempt+1, "err", lastErr)
		}
		if !sleep(ctx, wait) {
			return
		}
		wait = min(2*wait, 10*time.Second)
	}
}

func (s *Sentry) sendResult(ctx context.Context, r backfillResult) {
	select {
	case s.results <- r:
	case <-ctx.Done():
	}
}
