package rpc_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/cosmos/rpc"
	"github.com/valtrack/valtrack/internal/cosmos/rpc/rpctest"
)

// The accepted forms, read as what they mean, and the refused ones, each
// refusal saying the forms that are accepted.
func TestParseGRPCAddress(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want rpc.GRPCEndpoint
		str  string
	}{
		{"127.0.0.1:9090", rpc.GRPCEndpoint{Host: "127.0.0.1", Port: 9090}, "127.0.0.1:9090"},
		{"grpc://node.example:9090", rpc.GRPCEndpoint{Host: "node.example", Port: 9090}, "node.example:9090"},
		{"tls://grpc.example.com:443", rpc.GRPCEndpoint{Host: "grpc.example.com", Port: 443, TLS: true}, "tls://grpc.example.com:443"},
		{"TLS://h:1", rpc.GRPCEndpoint{Host: "h", Port: 1, TLS: true}, "tls://h:1"},
		{"tls://[::1]:65535", rpc.GRPCEndpoint{Host: "::1", Port: 65535, TLS: true}, "tls://[::1]:65535"},
		{"localhost:09090", rpc.GRPCEndpoint{Host: "localhost", Port: 9090}, "localhost:9090"},
	} {
		got, err := rpc.ParseGRPCAddress(tc.in)
		if err != nil || got != tc.want || got.String() != tc.str {
			t.Errorf("ParseGRPCAddress(%q) = %+v (%q), %v; want %+v (%q)", tc.in, got, got.String(), err, tc.want, tc.str)
		}
	}
	for _, bad := range []string{
		"", "127.0.0.1", ":9090", "h:0", "h:65536", "h:-1", "h:+90", "h: 90", "h:0x50", "h:",
		"http://127.0.0.1:9090", "https://h:443", "dns:///h:9090", "unix:///tmp/s", "tls://", "tls://h", "grpc://:1",
		"tls://h:443/path", "h:9090/", "tls://h:443?key=x", "h:1#f", "tls://user:secret@h:443", "user@h:1",
		"tls:// h:443", "h\x00:1", "ho st:1", "[h]]:1", "tls://tls://h:1", "é:1",
	} {
		_, err := rpc.ParseGRPCAddress(bad)
		if err == nil {
			t.Errorf("ParseGRPCAddress(%q) accepted", bad)
			continue
		}
		if !strings.Contains(err.Error(), rpc.GRPCForms) {
			t.Errorf("refusal of %q does not say the accepted forms: %v", bad, err)
		}
		if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "key=x") {
			t.Errorf("refusal of %q quotes its userinfo or query: %v", bad, err)
		}
	}
}

// Never a panic; an accepted address written back (String) is read as the
// same endpoint, and is one of the accepted forms.
func FuzzParseGRPCAddress(f *testing.F) {
	for _, s := range []string{"127.0.0.1:9090", "tls://h:443", "grpc://[::1]:1", "tls://u@h:1", "h:1/p", "x://h:1", "[a:b]:9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := rpc.ParseGRPCAddress(s)
		if err != nil {
			if !strings.Contains(err.Error(), rpc.GRPCForms) {
				t.Fatalf("refusal without the forms: %v", err)
			}
			return
		}
		back, err := rpc.ParseGRPCAddress(e.String())
		if err != nil || back != e {
			t.Fatalf("%q → %+v → %q → %+v, %v", s, e, e.String(), back, err)
		}
		if e.Port < 1 || e.Port > 65535 || e.Host == "" {
			t.Fatalf("%q accepted as %+v", s, e)
		}
	})
}

// stakingServer answers five validators (pages of next_key) and slashing
// params (window 100, 0.5).
func stakingServer() (rpc.QueryFunc, []rpctest.StakingValidator) {
	vals := rpctest.Staking(rpctest.MakeValidators("tls", 5), "tls-")
	return rpctest.StakingQueries(vals, 100, "500000000000000000"), vals
}

// A tls:// client reads validators and params from a TLS server whose
// certificate it trusts, by IP and by name; a plaintext client against it
// fails within its timeout; a tls:// client with the system's roots fails
// on the certificate and says so.
func TestGRPCClientTLS(t *testing.T) {
	cert, roots := rpctest.SelfSigned(t)
	f, vals := stakingServer()
	addr := rpctest.ServeQueriesTLS(t, f, cert)
	_, port, _ := strings.Cut(addr, ":")
	ctx := context.Background()
	for _, a := range []string{"tls://" + addr, "tls://localhost:" + port} {
		c, err := rpc.NewGRPCClientRoots(a, 5*time.Second, roots)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		if c.Addr() != a {
			t.Errorf("Addr %q; want %q", c.Addr(), a)
		}
		all := grpcPages(t, c)
		if len(all) != 5 || all[4].Moniker != "tls-4" || all[0].PubKey != vals[0].PubKey {
			t.Errorf("%s: validators %+v", a, all)
		}
		if p, err := c.SlashingParams(ctx); err != nil || p.SignedBlocksWindow != 100 || p.MinSignedPerWindow != 0.5 {
			t.Errorf("%s: slashing params %+v, %v", a, p, err)
		}
	}

	plain := grpcClient(t, addr, 500*time.Millisecond)
	_, err := plain.SlashingParams(ctx)
	if err == nil || !(strings.Contains(err.Error(), "Unavailable") || strings.Contains(err.Error(), "DeadlineExceeded")) {
		t.Errorf("plaintext client against a TLS server: %v; want Unavailable or DeadlineExceeded", err)
	} else if strings.Contains(err.Error(), "Unavailable") && !strings.Contains(err.Error(), "tls://HOST:PORT") {
		t.Errorf("plaintext client against a TLS server: %v; want the hint to give tls://", err)
	}

	sys, err := rpc.NewGRPCClient("tls://"+addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sys.Close() })
	_, err = sys.SlashingParams(ctx)
	if err == nil || !strings.Contains(err.Error(), "x509: certificate signed by unknown authority") ||
		!strings.Contains(err.Error(), "CA the system trusts") || !strings.Contains(err.Error(), "tls://"+addr) {
		t.Errorf("a certificate the system does not trust: %v; want a certificate error naming the endpoint", err)
	}

	// tls:// against a plaintext server fails the handshake, and says so.
	p, _ := stakingServer()
	plainAddr := rpctest.ServeQueries(t, p)
	tc, err := rpc.NewGRPCClientRoots("tls://"+plainAddr, 5*time.Second, roots)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tc.Close() })
	if _, err := tc.SlashingParams(ctx); err == nil || !strings.Contains(err.Error(), "TLS handshake failed") {
		t.Errorf("tls:// client against a plaintext server: %v; want a TLS handshake failure", err)
	}
}
