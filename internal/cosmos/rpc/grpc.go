package rpc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/valtrack/valtrack/internal/safe"
)

// MaxGRPCMessage bounds a gRPC answer (and the devnet's requests): a page
// of 200 validators with descriptions at their longest is ~750 kB.
const MaxGRPCMessage = 4 << 20

// maxGRPCHeaders bounds the headers (and so the status message) of a gRPC
// answer.
const maxGRPCHeaders = 64 << 10

// RawCodec is a gRPC codec of bytes already encoded: the cosmos-sdk
// queries are written and read by this package's own protobuf code
// (proto.go), so no generated cosmos-sdk types are needed. Messages are
// *[]byte (or []byte to send). Its name is "proto", the content subtype
// cosmos-sdk's gRPC server expects.
type RawCodec struct{}

func (RawCodec) Marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case []byte:
		return m, nil
	case *[]byte:
		return *m, nil
	}
	return nil, fmt.Errorf("raw codec: cannot send a %T", v)
}

func (RawCodec) Unmarshal(data []byte, v any) error {
	p, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("raw codec: cannot read into a %T", v)
	}
	*p = append((*p)[:0], data...) // data is the transport's buffer, reused after the call
	return nil
}

func (RawCodec) Name() string { return "proto" }

// CheckGRPCAddress says whether addr is HOST:PORT as --cosmos-grpc takes
// it (a port 1..65535, a host, no scheme).
func CheckGRPCAddress(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not HOST:PORT: %w", addr, err)
	}
	p, err := strconv.Atoi(port)
	if host == "" || err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("%q is not HOST:PORT with a host and a port 1 to 65535 (e.g. 127.0.0.1:9090)", addr)
	}
	return nil
}

// GRPCClient asks a cosmos-sdk node's gRPC server (plaintext, as
// cosmos-sdk serves it on :9090) the x/staking and x/slashing queries.
// Each call is bounded by Timeout and MaxGRPCMessage. Safe for concurrent
// use.
type GRPCClient struct {
	addr    string
	conn    *grpc.ClientConn
	timeout time.Duration
}

// NewGRPCClient checks addr (CheckGRPCAddress) and prepares a connection;
// nothing is dialled before the first call.
func NewGRPCClient(addr string, timeout time.Duration) (*GRPCClient, error) {
	if err := CheckGRPCAddress(addr); err != nil {
		return nil, fmt.Errorf("gRPC endpoint: %w", err)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		// The server's headers are bounded too: gRPC's default lets it
		// send 16 MiB of them.
		grpc.WithMaxHeaderListSize(maxGRPCHeaders),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(RawCodec{}), grpc.MaxCallRecvMsgSize(MaxGRPCMessage), grpc.MaxCallSendMsgSize(MaxGRPCMessage)))
	if err != nil {
		return nil, fmt.Errorf("gRPC endpoint %s: %w", addr, err)
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return &GRPCClient{addr: addr, conn: conn, timeout: timeout}, nil
}

// Addr is the endpoint's HOST:PORT (it holds no secret).
func (c *GRPCClient) Addr() string { return c.addr }

// Close closes the connection.
func (c *GRPCClient) Close() error { return c.conn.Close() }

// invoke calls method with req; a method the server does not have
// (Unimplemented: no such module) is ErrNotAvailable.
func (c *GRPCClient) invoke(ctx context.Context, method string, req []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var resp []byte
	if err := c.conn.Invoke(ctx, method, req, &resp); err != nil {
		if st, ok := status.FromError(err); ok {
			// The message is the server's text: bounded and made safe.
			err = fmt.Errorf("%s: %s", st.Code(), safe.String(st.Message(), 300))
			if st.Code() == codes.Unimplemented {
				err = fmt.Errorf("%w (%s)", ErrNotAvailable, err)
			}
		}
		return nil, fmt.Errorf("gRPC %s on %s: %w", method, c.addr, err)
	}
	return resp, nil
}

// StakingValidators reads one page of x/staking's validators, as
// Client.StakingValidators does over abci_query.
func (c *GRPCClient) StakingValidators(ctx context.Context, nextKey []byte, limit uint64) ([]StakingValidator, []byte, error) {
	b, err := c.invoke(ctx, StakingValidatorsPath, EncodeStakingValidatorsRequest(nextKey, limit))
	if err != nil {
		return nil, nil, err
	}
	vals, next, err := DecodeStakingValidators(b)
	if err != nil {
		return nil, nil, fmt.Errorf("gRPC %s on %s: %w", StakingValidatorsPath, c.addr, err)
	}
	return vals, next, nil
}

// SlashingParams reads x/slashing's parameters.
func (c *GRPCClient) SlashingParams(ctx context.Context) (*SlashingParams, error) {
	b, err := c.invoke(ctx, SlashingParamsPath, nil)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("gRPC %s on %s: an empty answer: %w", SlashingParamsPath, c.addr, ErrNotAvailable)
	}
	p, err := DecodeSlashingParams(b)
	if err != nil {
		return nil, fmt.Errorf("gRPC %s on %s: %w", SlashingParamsPath, c.addr, err)
	}
	return p, nil
}

// ErrBadRequest: a QueryFunc refuses the request (gRPC InvalidArgument).
var ErrBadRequest = errors.New("invalid request")

// QueryFunc answers a query: method the full gRPC method name (the
// abci_query path), req its request bytes. ok is false for a method it
// does not serve.
type QueryFunc func(method string, req []byte) (resp []byte, ok bool, err error)

// NewQueryServer is a gRPC server answering every method with f, in raw
// bytes (RawCodec), as a cosmos-sdk node's gRPC server answers its
// queries: a method f does not serve is Unimplemented, a request it
// refuses (ErrBadRequest) InvalidArgument. Requests are bounded by
// maxRequest, answers by MaxGRPCMessage.
func NewQueryServer(f QueryFunc, maxRequest int) *grpc.Server {
	handler := func(_ any, stream grpc.ServerStream) error {
		method, _ := grpc.MethodFromServerStream(stream)
		var req []byte
		if err := stream.RecvMsg(&req); err != nil {
			return err
		}
		resp, ok, err := f(method, req)
		switch {
		case !ok:
			return status.Errorf(codes.Unimplemented, "unknown method %s", method)
		case errors.Is(err, ErrBadRequest):
			return status.Error(codes.InvalidArgument, err.Error())
		case err != nil:
			return status.Error(codes.Internal, err.Error())
		}
		return stream.SendMsg(resp)
	}
	return grpc.NewServer(grpc.ForceServerCodec(RawCodec{}), grpc.MaxRecvMsgSize(maxRequest),
		grpc.MaxSendMsgSize(MaxGRPCMessage), grpc.UnknownServiceHandler(handler))
}
