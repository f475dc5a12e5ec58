package sentry

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/cosmos/rpc"
	"github.com/valtrack/valtrack/internal/cosmos/rpc/rpctest"
	"github.com/valtrack/valtrack/internal/retry"
)

// serveGRPC answers x/staking (staking) and x/slashing (window 200, 0.25)
// over gRPC on loopback, as a cosmos-sdk node's gRPC server does.
func serveGRPC(t *testing.T, staking []rpctest.StakingValidator) string {
	t.Helper()
	return rpctest.ServeQueries(t, rpctest.StakingQueries(staking, 200, "250000000000000000"))
}

// With a gRPC endpoint, names and slashing parameters come from it
// (source grpc), before abci_query, which is then not asked; an LCD that
// is down is passed over to it.
func TestMonikersOverGRPC(t *testing.T) {
	vals, staking := stakingChain()
	n := rpctest.New("test-1", vals)
	t.Cleanup(n.Close)
	n.SetABCIFunc(rpctest.StakingPages(staking))
	pub := &memPublisher{}
	cfg := testConfig(pub, n.URL())
	cfg.GRPC = serveGRPC(t, staking)
	cfg.LCD = "http://127.0.0.1:1"
	run(t, cfg)
	waitFor(t, "subscriptions", func() bool { return n.Subscribed() == 1 })
	n.Produce(1)
	waitFor(t, "150 names and the params", func() bool {
		return len(pub.of(t, events.KindValidatorInfo)) >= len(vals) && len(pub.of(t, events.KindParams)) >= 1
	})
	checkNames(t, infos(t, pub), vals, events.NameFromGRPC)
	p := pub.of(t, events.KindParams)[0].(*events.Params)
	if p.SignedBlocksWindow != 200 || p.MinSignedPerWindow != 0.25 || p.Source != ParamsFromGRPC || p.Endpoint != cfg.GRPC {
		t.Errorf("params %+v; want 200, 0.25 from gRPC %s", p, cfg.GRPC)
	}
	if c := n.ABCICallsFor(rpc.StakingValidatorsPath) + n.ABCICallsFor(rpc.SlashingParamsPath); c != 0 {
		t.Errorf("%d abci_query calls while gRPC answers", c)
	}
}

// A gRPC endpoint that is down is never fatal: the names come over
// abci_query, and its failures, one a read, are warnings only as
// retry.Reports says (the first of the outage, then every 20th), debug
// lines otherwise.
func TestGRPCDownFallsBackToABCI(t *testing.T) {
	vals, staking := stakingChain()
	n := rpctest.New("test-1", vals)
	t.Cleanup(n.Close)
	n.SetABCIFunc(rpctest.StakingPages(staking))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := ln.Addr().String()
	ln.Close()
	logs := &syncBuf{}
	pub := &memPublisher{}
	cfg := testConfig(pub, n.URL())
	cfg.GRPC = gone
	cfg.LCDEvery = 10 * time.Millisecond
	cfg.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	run(t, cfg)
	waitFor(t, "subscriptions", func() bool { return n.Subscribed() == 1 })
	n.Produce(1)
	waitFor(t, "150 names", func() bool { return len(pub.of(t, events.KindValidatorInfo)) >= len(vals) })
	checkNames(t, infos(t, pub), vals, events.NameFromABCI)
	const line = "validator names not read over gRPC"
	waitFor(t, "25 failed reads", func() bool { return strings.Count(logs.String(), line) >= 25 })
	var warns, all int
	for _, l := range strings.Split(logs.String(), "\n") {
		if !strings.Contains(l, line) {
			continue
		}
		all++
		if strings.Contains(l, "level=WARN") {
			warns++
		}
		if !strings.Contains(l, "endpoint="+gone) || !strings.Contains(l, "Unavailable") {
			t.Errorf("failure line without its endpoint or cause: %s", l)
		}
	}
	want := 0
	var r retry.Reports
	for k := 1; k <= all; k++ {
		if r.Warn(k, errors.New("the same failure")) {
			want++
		}
	}
	if warns != want || warns >= all {
		t.Errorf("%d of %d failed reads warned, want %d", warns, all, want)
	}
}

// An LCD and a gRPC endpoint of a chain without x/staking and x/slashing
// (HTTP 501, Unimplemented) are said once at info, per source and query,
// however often they are asked; nothing is warned about. With abci_query
// naming the validators, the names come from it, still without a warning;
// without it, the chain's lack of x/staking is said once too.
func TestNotAvailableSaidOnce(t *testing.T) {
	for _, abci := range []bool{false, true} {
		t.Run(map[bool]string{false: "no source", true: "abci_query answers"}[abci], func(t *testing.T) {
			vals, staking := stakingChain()
			n := rpctest.New("test-1", vals)
			t.Cleanup(n.Close)
			if abci {
				n.SetABCIFunc(rpctest.StakingPages(staking))
			}
			var lcdCalls atomic.Int64
			lcd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				lcdCalls.Add(1)
				w.WriteHeader(http.StatusNotImplemented)
				_, _ = w.Write([]byte(`{"code":12,"message":"unknown service"}`))
			}))
			t.Cleanup(lcd.Close)
			logs := &syncBuf{}
			pub := &memPublisher{}
			cfg := testConfig(pub, n.URL())
			cfg.LCD = lcd.URL
			cfg.GRPC = rpctest.ServeQueries(t, func(string, []byte) ([]byte, bool, error) { return nil, false, nil })
			cfg.LCDEvery = 10 * time.Millisecond
			cfg.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			run(t, cfg)
			waitFor(t, "subscriptions", func() bool { return n.Subscribed() == 1 })
			n.Produce(1)
			waitFor(t, "10 reads of names and of params", func() bool {
				return n.ABCICallsFor(rpc.StakingValidatorsPath) >= 10 && n.ABCICallsFor(rpc.SlashingParamsPath) >= 10 && lcdCalls.Load() >= 20
			})
			out := logs.String()
			for _, line := range []string{
				"the LCD endpoint does not serve validator names", "the LCD endpoint does not serve slashing parameters",
				"the gRPC endpoint does not serve validator names", "the gRPC endpoint does not serve slashing parameters",
			} {
				if c := strings.Count(out, line); c != 1 {
					t.Errorf("%q logged %d times, want once", line, c)
				}
			}
			if c, want := strings.Count(out, "answers no x/staking query"), map[bool]int{false: 1, true: 0}[abci]; c != want {
				t.Errorf("the chain's lack of x/staking said %d times, want %d", c, want)
			}
			if strings.Contains(out, "level=WARN") {
				t.Errorf("warnings for sources without the modules:\n%s", out)
			}
			if abci {
				checkNames(t, infos(t, pub), vals, events.NameFromABCI)
			}
		})
	}
}
