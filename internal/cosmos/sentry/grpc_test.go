package sentry

import (
	"errors"
	"log/slog"
	"net"
	"strings"
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
	pages := rpctest.StakingPages(staking)
	return rpctest.ServeQueries(t, func(method string, req []byte) ([]byte, bool, error) {
		switch method {
		case rpc.SlashingParamsPath:
			return rpctest.SlashingParamsResponse(200, "250000000000000000"), true, nil
		case rpc.StakingValidatorsPath:
			_, v := pages(method, req)
			return v, true, nil
		}
		return nil, false, nil
	})
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
