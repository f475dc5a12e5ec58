package devnet

import (
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc"

	"github.com/valtrack/valtrack/internal/cosmos/rpc"
)

// Bounds of the devnet's gRPC listener: the requests are a few bytes, the
// answers at most a page of MaxPageLimit validators.
const (
	maxGRPCRequest  = 64 << 10
	grpcStopTimeout = 5 * time.Second
)

// grpcServer serves the queries on loopback over gRPC, as a cosmos-sdk
// node does on :9090, so valtrack's --cosmos-grpc path runs against a
// real gRPC server. The messages are the same bytes abci_query carries
// (rpc.NewQueryServer): no generated types.
type grpcServer struct {
	srv  *grpc.Server
	ln   net.Listener
	done chan struct{}
}

func serveGRPC(addr string, q *queries) (*grpcServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("devnet: listen for gRPC on %s: %w%s", addr, err, portHint(err))
	}
	s := &grpcServer{ln: ln, done: make(chan struct{}), srv: rpc.NewQueryServer(q.answer, maxGRPCRequest)}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Addr is the listener's HOST:PORT.
func (s *grpcServer) Addr() string { return s.ln.Addr().String() }

// close lets running calls finish, for a bounded time, then cuts them.
func (s *grpcServer) close() {
	stopped := make(chan struct{})
	go func() { s.srv.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(grpcStopTimeout):
		s.srv.Stop()
	}
	<-s.done
}
