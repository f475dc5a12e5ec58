package runner

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/polkadot/program"
	"github.com/valtrack/valtrack/internal/polkadot/state"
)

// putTelemetry stores every candidate's node as a sentry republishes it
// at `at`, its feed last up at feedAt; alpha's node as online or not.
func putTelemetry(t *testing.T, st *state.Store, at, feedAt time.Time, alphaOnline bool) {
	t.Helper()
	err := st.InTx(context.Background(), "telemetry", func(tx *state.Tx) error {
		for _, n := range names {
			node := &events.Telemetry{V: 1, Chain: chain, Name: n, Implementation: "Parity Polkadot", Version: "1.0.0-abc",
				Online: true, DiscoveredAt: now.Add(-30 * 24 * time.Hour).UnixMilli(), OnlineSince: now.Add(-time.Hour).UnixMilli(),
				Week: "2026-W49", FeedAt: feedAt.UnixMilli(), At: at.UnixMilli()}
			if n == "alpha" && !alphaOnline {
				node.Online, node.OnlineSince, node.OfflineSince = false, 0, feedAt.Add(-time.Minute).UnixMilli()
			}
			if err := tx.PutTelemetry(node); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Telemetry records whose feed has been down longer than TelemetryStale
// are frozen, not the present: ONLINE, CLIENT_UPGRADE, the offline time
// and the other telemetry checks are unknown with why, each keeping its
// last known verdict, instead of judged on them (alpha's frozen record
// says offline); once the feed reports again they are judged.
func TestStaleTelemetryFeedIsUnknownNotJudged(t *testing.T) {
	st, cfg := fixture(t, 0)
	ctx := context.Background()
	putTelemetry(t, st, now, now, true)
	clock := now
	r := newRunner(t, st, cfg, nil, false)
	r.cfg.Now = func() time.Time { return clock }
	if p, err := r.Pass(ctx); err != nil || p.Valid != len(names) {
		t.Fatalf("live feed: pass %+v, %v: want every candidate valid", p, err)
	}
	// The feed went down at now+1m with alpha's node just gone; the sentry
	// keeps republishing the frozen records. 20 minutes later:
	clock = now.Add(21 * time.Minute)
	putTelemetry(t, st, clock, now.Add(time.Minute), false)
	p, err := r.Pass(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Invalid != 0 {
		t.Fatalf("pass %+v: no candidate may turn invalid on a stale feed", p)
	}
	for _, typ := range []string{program.RuleOnline, program.RuleClientUpgrade, program.RuleOffline} {
		status, ch := checkOf(t, st, "stash-alpha", typ)
		if status == program.Invalid || ch.Status != program.Unknown || !ch.Valid || !ch.Known || !strings.Contains(ch.Error, "down or silent since") {
			t.Fatalf("alpha's %s on a stale feed: %s, %+v: want unknown with why, the last verdict (valid) kept", typ, status, ch)
		}
	}
	// The feed is back and reports alpha offline: judged.
	clock = clock.Add(time.Minute)
	putTelemetry(t, st, clock, clock, false)
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ch := checkOf(t, st, "stash-alpha", program.RuleOnline); ch.Status != program.Invalid {
		t.Fatalf("alpha's ONLINE with the feed back: %+v: want invalid (its node is offline)", ch)
	}
}
