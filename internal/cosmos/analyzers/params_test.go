package analyzers_test

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/valtrack/valtrack/internal/cosmos/analyzers"
	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/cosmos/state"
	"github.com/valtrack/valtrack/internal/store"
)

// Neither configured nor read from the chain: blocks and time to jail are
// unknown (JailUnknown, no gauge), not computed against a default; the
// warning naming the flag is logged once however many passes run; the
// window counters still count (over the default length); the parameters
// in force are stored as unknown. When the chain's parameters arrive, the
// projection starts.
func TestParamsUnknown(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		s := newSim(t, 10, 10, 10, 10)
		s.set(1)
		s.heights(1, 3, heightOpts{who: map[int]behaviour{3: offline}})
		sk := newSink(t, db)
		apply(t, sk, s.take(), 64)
		var logs bytes.Buffer
		reg := prometheus.NewRegistry()
		a := newAnalyzerLog(t, db, analyzers.Chain{}, reg, &clock{start}, slog.New(slog.NewTextHandler(&logs, nil)))
		run(t, a)
		s.heights(4, 5, heightOpts{who: map[int]behaviour{3: offline}})
		apply(t, sk, s.take(), 64)
		run(t, a)
		run(t, a)
		v := readStats(t, db)[addr(3)]
		if v.BlocksToJail != state.JailUnknown || v.TimeToJailMs != state.JailUnknown || v.WindowMissed != 5 || v.Missed != 5 {
			t.Errorf("stats %+v, want blocks and time to jail %d (unknown), 5 missed in the window", v, state.JailUnknown)
		}
		if n := strings.Count(logs.String(), "--cosmos-slashing "+chainName+"=WINDOW:MIN"); n != 1 {
			t.Errorf("warning logged %d times, want once:\n%s", n, logs.String())
		}
		labels := map[string]string{"chain": chainName, "address": addr(3), "moniker": ""}
		for _, name := range []string{"blocks_to_jail", "time_to_jail_seconds"} {
			if got, ok := gauge(t, reg, "valtrack_cosmos_"+name, labels); ok {
				t.Errorf("%s = %v with unknown parameters, want no series", name, got)
			}
		}
		if got, ok := gauge(t, reg, "valtrack_cosmos_missed_blocks", labels); !ok || got != 5 {
			t.Errorf("missed_blocks %v (present %v), want 5", got, ok)
		}
		chainLabel := map[string]string{"chain": chainName}
		for _, name := range []string{"params_signed_blocks_window", "params_min_signed_per_window"} {
			if got, ok := gauge(t, reg, "valtrack_cosmos_"+name, chainLabel); ok {
				t.Errorf("%s = %v with unknown parameters, want no series", name, got)
			}
		}
		if p, err := state.ParamsInForce(context.Background(), db, chainName); err != nil || p.Known() || p.SignedBlocksWindow != analyzers.DefaultSignedBlocksWindow {
			t.Errorf("params in force %+v, %v; want unknown over %d heights", p, err, analyzers.DefaultSignedBlocksWindow)
		}

		s.evs = append(s.evs, &events.Params{V: 1, Chain: chainName, SignedBlocksWindow: 20, MinSignedPerWindow: 0.5, Source: "abci", Observer: obs(genesisMs)})
		s.heights(6, 6, heightOpts{})
		apply(t, sk, s.take(), 64)
		run(t, a)
		// maxMissed = 20 - 10 = 10; 5 missed → 6 to go.
		if v := readStats(t, db)[addr(3)]; v.BlocksToJail != 6 {
			t.Errorf("blocks to jail %d once the chain's parameters are known, want 6", v.BlocksToJail)
		}
		if got, ok := gauge(t, reg, "valtrack_cosmos_blocks_to_jail", labels); !ok || got != 6 {
			t.Errorf("blocks_to_jail gauge %v (present %v), want 6", got, ok)
		}
		// The chain's parameters, as cosmos-validator-watcher exports them.
		if got, ok := gauge(t, reg, "valtrack_cosmos_params_signed_blocks_window", chainLabel); !ok || got != 20 {
			t.Errorf("params_signed_blocks_window %v (present %v), want 20", got, ok)
		}
		if got, ok := gauge(t, reg, "valtrack_cosmos_params_min_signed_per_window", chainLabel); !ok || got != 0.5 {
			t.Errorf("params_min_signed_per_window %v (present %v), want 0.5", got, ok)
		}
		if p, _ := state.ParamsInForce(context.Background(), db, chainName); p != (state.Params{SignedBlocksWindow: 20, MinSignedPerWindow: 0.5, Source: state.ParamsABCI}) {
			t.Errorf("params in force %+v", p)
		}
	})
}

// --cosmos-slashing NAME=W:0 is used as given, over what the chain says:
// a min signed of 0 never jails for downtime (JailNever, gauges +Inf).
func TestParamsConfiguredMinSignedZero(t *testing.T) {
	dialects(t, func(t *testing.T, db *store.DB) {
		s := newSim(t, 10, 10, 10, 10)
		s.set(1)
		s.evs = append(s.evs, &events.Params{V: 1, Chain: chainName, SignedBlocksWindow: 20, MinSignedPerWindow: 0.5, Source: "lcd", Observer: obs(genesisMs)})
		s.heights(1, 12, heightOpts{who: map[int]behaviour{3: offline}})
		apply(t, newSink(t, db), s.take(), 64)
		reg := prometheus.NewRegistry()
		run(t, newAnalyzer(t, db, analyzers.Chain{Window: 10, MinSigned: 0}, reg, &clock{start}))
		v := readStats(t, db)[addr(3)]
		if v.BlocksToJail != state.JailNever || v.TimeToJailMs != state.JailNever || v.WindowSize != 10 || v.WindowMissed != 10 {
			t.Errorf("stats %+v, want never jailed (%d) with the configured window of 10 fully missed", v, state.JailNever)
		}
		labels := map[string]string{"chain": chainName, "address": addr(3), "moniker": ""}
		for _, name := range []string{"blocks_to_jail", "time_to_jail_seconds"} {
			if got, ok := gauge(t, reg, "valtrack_cosmos_"+name, labels); !ok || !math.IsInf(got, 1) {
				t.Errorf("%s = %v (present %v), want +Inf", name, got, ok)
			}
		}
		if p, _ := state.ParamsInForce(context.Background(), db, chainName); p != (state.Params{SignedBlocksWindow: 10, MinSignedPerWindow: 0, Source: state.ParamsConfigured}) {
			t.Errorf("params in force %+v, want the configured 10:0", p)
		}
	})
}
