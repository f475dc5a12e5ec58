package rpctest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/valtrack/valtrack/internal/cosmos/rpc"
)

// ServeQueries runs rpc.NewQueryServer(f) on a loopback port until the
// test ends and returns its HOST:PORT: a cosmos-sdk node's gRPC server as
// far as the sentry's two queries go.
func ServeQueries(t testing.TB, f rpc.QueryFunc) string {
	t.Helper()
	return serveQueries(t, f)
}

// ServeQueriesTLS is ServeQueries over TLS with cert, as a public gRPC
// endpoint serves them.
func ServeQueriesTLS(t testing.TB, f rpc.QueryFunc, cert tls.Certificate) string {
	t.Helper()
	return serveQueries(t, f, grpc.Creds(credentials.NewServerTLSFromCert(&cert)))
}

func serveQueries(t testing.TB, f rpc.QueryFunc, opts ...grpc.ServerOption) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := rpc.NewQueryServer(f, 1<<10, opts...)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Stop(); <-done })
	return ln.Addr().String()
}

// SelfSigned makes a self-signed certificate for 127.0.0.1 and localhost,
// valid for a day, and a pool that trusts it.
func SelfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "valtrack test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// StakingQueries answers x/staking's validators (vals, in pages as
// StakingPages) and x/slashing's params (window, minDec as an 18-decimal
// integer string) over gRPC; every other method is not served.
func StakingQueries(vals []StakingValidator, window uint64, minDec string) rpc.QueryFunc {
	pages := StakingPages(vals)
	return func(method string, req []byte) ([]byte, bool, error) {
		switch method {
		case rpc.SlashingParamsPath:
			return SlashingParamsResponse(window, minDec), true, nil
		case rpc.StakingValidatorsPath:
			_, v := pages(method, req)
			return v, true, nil
		}
		return nil, false, nil
	}
}
