package rpctest

import (
	"net"
	"testing"

	"github.com/valtrack/valtrack/internal/cosmos/rpc"
)

// ServeQueries runs rpc.NewQueryServer(f) on a loopback port until the
// test ends and returns its HOST:PORT: a cosmos-sdk node's gRPC server as
// far as the sentry's two queries go.
func ServeQueries(t testing.TB, f rpc.QueryFunc) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := rpc.NewQueryServer(f, 1<<10)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Stop(); <-done })
	return ln.Addr().String()
}
