package rpc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
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

// GRPCForms are the forms of a gRPC endpoint that --cosmos-grpc and a
// devnet's chain.json take, said in every refusal.
const GRPCForms = "HOST:PORT or grpc://HOST:PORT (plaintext, as cosmos-sdk serves :9090) or tls://HOST:PORT (TLS with the system's root CAs, as public endpoints serve :443), a port 1 to 65535"

// GRPCEndpoint is a parsed gRPC endpoint: a host, a port, and whether it
// is reached over TLS.
type GRPCEndpoint struct {
	Host string // a name or an IP address (IPv6 without brackets)
	Port int
	TLS  bool
}

// HostPort is the endpoint's HOST:PORT (IPv6 in brackets).
func (e GRPCEndpoint) HostPort() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// String is the endpoint as ParseGRPCAddress reads it back: HOST:PORT in
// plaintext, tls://HOST:PORT over TLS. It holds no secret (a host and a
// port only), so logs and events may carry it.
func (e GRPCEndpoint) String() string {
	if e.TLS {
		return "tls://" + e.HostPort()
	}
	return e.HostPort()
}

// ParseGRPCAddress reads a gRPC endpoint in one of GRPCForms. Any other
// scheme, a path, a query, userinfo, a host with spaces or control
// characters, or a port that is not 1..65535 in digits is refused.
func ParseGRPCAddress(addr string) (GRPCEndpoint, error) {
	bad := func(why string) (GRPCEndpoint, error) {
		return GRPCEndpoint{}, fmt.Errorf("%q: %s; give %s (e.g. 127.0.0.1:9090 or tls://grpc.example.com:443)", shownAddr(addr), why, GRPCForms)
	}
	var e GRPCEndpoint
	rest := addr
	if scheme, after, ok := strings.Cut(addr, "://"); ok {
		switch strings.ToLower(scheme) {
		case "tls":
			e.TLS = true
		case "grpc":
		default:
			return bad("the scheme " + safe.String(scheme, 20) + " is not grpc:// or tls://")
		}
		rest = after
	}
	if i := strings.IndexAny(rest, "/?#@\\"); i >= 0 {
		return bad(fmt.Sprintf("%q is not allowed (no path, query or userinfo)", rest[i]))
	}
	host, port, err := net.SplitHostPort(rest)
	if err != nil {
		return bad("not HOST:PORT")
	}
	if host == "" || strings.ContainsFunc(host, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '[' || r == ']' || r >= utf8.RuneSelf }) {
		return bad("no host, or a host with spaces, brackets, control or non-ASCII characters")
	}
	p, err := strconv.Atoi(port)
	if err != nil || port == "" || strings.Trim(port, "0123456789") != "" || p < 1 || p > 65535 {
		return bad("the port is not 1 to 65535")
	}
	e.Host, e.Port = host, p
	return e, nil
}

// shownAddr is addr as a refusal may quote it: a userinfo, path, query
// or fragment is where a key would be, so each is cut to "…".
func shownAddr(addr string) string {
	prefix, rest := "", addr
	if i := strings.Index(addr, "://"); i >= 0 {
		prefix, rest = addr[:i+3], addr[i+3:]
	}
	tail := ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest, tail = rest[:i], "…"
	}
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		rest = "…@" + rest[i+1:]
	}
	return safe.String(prefix+rest+tail, 100)
}

// GRPCClient asks a cosmos-sdk node's gRPC server (plaintext, as
// cosmos-sdk serves it on :9090, or TLS, as public endpoints serve it)
// the x/staking and x/slashing queries. Each call is bounded by Timeout
// and MaxGRPCMessage. Safe for concurrent use.
type GRPCClient struct {
	addr    string // GRPCEndpoint.String()
	tls     bool
	conn    *grpc.ClientConn
	timeout time.Duration
}

// NewGRPCClient parses addr (ParseGRPCAddress) and prepares a connection;
// nothing is dialled before the first call. A tls:// endpoint is verified
// against the system's root CAs for its host.
func NewGRPCClient(addr string, timeout time.Duration) (*GRPCClient, error) {
	return newGRPCClient(addr, timeout, nil)
}

// newGRPCClient is NewGRPCClient trusting roots instead of the system's
// root CAs when roots is not nil: only tests give it, for a server with a
// certificate of their own.
func newGRPCClient(addr string, timeout time.Duration, roots *x509.CertPool) (*GRPCClient, error) {
	e, err := ParseGRPCAddress(addr)
	if err != nil {
		return nil, fmt.Errorf("gRPC endpoint %w", err)
	}
	creds := insecure.NewCredentials()
	if e.TLS {
		creds = credentials.NewTLS(&tls.Config{ServerName: e.Host, RootCAs: roots, MinVersion: tls.VersionTLS12})
	}
	// "dns:///" so that a host named like a gRPC resolver (unix, passthrough…)
	// is still a host; DNS is what grpc.NewClient uses by default.
	conn, err := grpc.NewClient("dns:///"+e.HostPort(), grpc.WithTransportCredentials(creds),
		// The server's headers are bounded too: gRPC's default lets it
		// send 16 MiB of them.
		grpc.WithMaxHeaderListSize(maxGRPCHeaders),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(RawCodec{}), grpc.MaxCallRecvMsgSize(MaxGRPCMessage), grpc.MaxCallSendMsgSize(MaxGRPCMessage)))
	if err != nil {
		return nil, fmt.Errorf("gRPC endpoint %s: %w", e, err)
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return &GRPCClient{addr: e.String(), tls: e.TLS, conn: conn, timeout: timeout}, nil
}

// Addr is the endpoint as GRPCEndpoint.String writes it: HOST:PORT, or
// tls://HOST:PORT (it holds no secret).
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
			err = fmt.Errorf("%s: %s%s", st.Code(), safe.String(st.Message(), 300), c.transportHint(st))
			if st.Code() == codes.Unimplemented {
				err = fmt.Errorf("%w (%s)", ErrNotAvailable, err)
			}
		}
		return nil, fmt.Errorf("gRPC %s on %s: %w", method, c.addr, err)
	}
	return resp, nil
}

// transportHint says what to do when the connection failed on TLS: a
// certificate not trusted (or not for the host), or TLS spoken to one side
// and plaintext to the other. grpc gives these as text only.
func (c *GRPCClient) transportHint(st *status.Status) string {
	if st.Code() != codes.Unavailable {
		return ""
	}
	switch msg := st.Message(); {
	case c.tls && strings.Contains(msg, "handshake"):
		return " (the TLS handshake failed: the endpoint's certificate must be for its host and signed by a CA the system trusts; an endpoint that serves plaintext is given as HOST:PORT, without tls://)"
	case !c.tls && strings.Contains(msg, "server preface"):
		return " (the server closed the plaintext connection; an endpoint that serves TLS, as public ones on port 443 do, is given as tls://HOST:PORT)"
	}
	return ""
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
// maxRequest, answers by MaxGRPCMessage. opts are added (such as
// grpc.Creds for TLS).
func NewQueryServer(f QueryFunc, maxRequest int, opts ...grpc.ServerOption) *grpc.Server {
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
	return grpc.NewServer(append([]grpc.ServerOption{grpc.ForceServerCodec(RawCodec{}), grpc.MaxRecvMsgSize(maxRequest),
		grpc.MaxSendMsgSize(MaxGRPCMessage), grpc.UnknownServiceHandler(handler)}, opts...)...)
}
