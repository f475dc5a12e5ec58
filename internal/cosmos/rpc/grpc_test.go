package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/cosmos/rpc"
	"github.com/valtrack/valtrack/internal/cosmos/rpc/rpctest"
)

func grpcClient(t *testing.T, addr string, timeout time.Duration) *rpc.GRPCClient {
	t.Helper()
	c, err := rpc.NewGRPCClient(addr, timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// grpcPages reads every page of x/staking's validators, 2 a page, by
// next_key (at most 10 pages).
func grpcPages(t *testing.T, c *rpc.GRPCClient) []rpc.StakingValidator {
	t.Helper()
	var all []rpc.StakingValidator
	var key []byte
	for n := 0; n < 10; n++ {
		got, next, err := c.StakingValidators(context.Background(), key, 2)
		if err != nil {
			t.Fatalf("%s page %d: %v", c.Addr(), n, err)
		}
		all, key = append(all, got...), next
		if len(key) == 0 {
			break
		}
	}
	return all
}

// Over gRPC the same bytes as over abci_query: pages by next_key, the
// slashing parameters, a missing method as ErrNotAvailable, a refused
// request and a garbage answer as other errors.
func TestGRPCClient(t *testing.T) {
	vals := rpctest.Staking(rpctest.MakeValidators("g", 5), "g-")
	pages := rpctest.StakingPages(vals)
	var garbage atomic.Bool
	addr := rpctest.ServeQueries(t, func(method string, req []byte) ([]byte, bool, error) {
		switch {
		case garbage.Load():
			return []byte{0x0a, 0x7f, 0x01}, true, nil
		case method == rpc.SlashingParamsPath:
			return rpctest.SlashingParamsResponse(100, "500000000000000000"), true, nil
		case method != rpc.StakingValidatorsPath:
			return nil, false, nil
		case len(req) == 0:
			return nil, true, rpc.ErrBadRequest
		}
		_, v := pages(method, req)
		return v, true, nil
	})
	c := grpcClient(t, addr, 5*time.Second)
	ctx := context.Background()
	all := grpcPages(t, c)
	if len(all) != 5 || all[4].Moniker != "g-4" || all[0].PubKey != vals[0].PubKey {
		t.Errorf("validators %+v", all)
	}
	if p, err := c.SlashingParams(ctx); err != nil || p.SignedBlocksWindow != 100 || p.MinSignedPerWindow != 0.5 {
		t.Errorf("slashing params %+v, %v", p, err)
	}
	if _, _, err := c.StakingValidators(ctx, nil, 0); err == nil || errors.Is(err, rpc.ErrNotAvailable) || !strings.Contains(err.Error(), "InvalidArgument") {
		t.Errorf("refused request: %v; want InvalidArgument", err)
	}
	garbage.Store(true)
	if _, _, err := c.StakingValidators(ctx, nil, 2); err == nil || !strings.Contains(err.Error(), rpc.StakingValidatorsPath) || !strings.Contains(err.Error(), addr) {
		t.Errorf("garbage answer: %v", err)
	}
}

// A server without the modules (no such method) is ErrNotAvailable; one
// that does not answer in time, an answer over the bound and a server
// that is not there are errors, none of them a hang.
func TestGRPCClientFailures(t *testing.T) {
	ctx := context.Background()
	none := grpcClient(t, rpctest.ServeQueries(t, func(string, []byte) ([]byte, bool, error) { return nil, false, nil }), 5*time.Second)
	if _, err := none.SlashingParams(ctx); !errors.Is(err, rpc.ErrNotAvailable) || !strings.Contains(err.Error(), "Unimplemented") {
		t.Errorf("no such method: %v; want ErrNotAvailable", err)
	}
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	slow := grpcClient(t, rpctest.ServeQueries(t, func(string, []byte) ([]byte, bool, error) { <-release; return nil, true, nil }), 100*time.Millisecond)
	if _, err := slow.SlashingParams(ctx); err == nil || !strings.Contains(err.Error(), "DeadlineExceeded") {
		t.Errorf("a server that does not answer: %v; want DeadlineExceeded", err)
	}
	big := grpcClient(t, rpctest.ServeQueries(t, func(string, []byte) ([]byte, bool, error) {
		return make([]byte, rpc.MaxGRPCMessage+1), true, nil
	}), 5*time.Second)
	if _, err := big.SlashingParams(ctx); err == nil || !strings.Contains(err.Error(), "ResourceExhausted") {
		t.Errorf("an answer over %d bytes: %v; want ResourceExhausted", rpc.MaxGRPCMessage, err)
	}
	// The server's message is its own text: bounded, control characters gone.
	loud := grpcClient(t, rpctest.ServeQueries(t, func(string, []byte) ([]byte, bool, error) {
		return nil, true, fmt.Errorf("%w: \x00%s", rpc.ErrBadRequest, strings.Repeat("x", 5000))
	}), 5*time.Second)
	if _, err := loud.SlashingParams(ctx); err == nil || len(err.Error()) > 500 || strings.ContainsRune(err.Error(), 0) {
		t.Errorf("a long message with a NUL: %d bytes: %q", len(fmt.Sprint(err)), err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	gone := ln.Addr().String()
	ln.Close()
	if _, _, err := grpcClient(t, gone, 5*time.Second).StakingValidators(ctx, nil, 1); err == nil || !strings.Contains(err.Error(), "Unavailable") {
		t.Errorf("nothing listening: %v; want Unavailable", err)
	}
	for _, bad := range []string{"http://127.0.0.1:9090", "127.0.0.1", ":9090", "h:0"} {
		if _, err := rpc.NewGRPCClient(bad, time.Second); err == nil {
			t.Errorf("NewGRPCClient(%q) accepted", bad)
		}
	}
}
