package api

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
)

func TestListenOnAddressInUseSaysSo(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	s, err := New(Options{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	addr := taken.Addr().String()
	for name, serve := range map[string]func(context.Context, string) error{
		"public": s.ListenAndServe, "admin": s.ListenAndServeAdmin,
	} {
		err := serve(context.Background(), addr)
		if err == nil {
			t.Fatalf("%s: listening on a taken port succeeded", name)
		}
		if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), addr) ||
			!strings.Contains(err.Error(), "(the address is in use: stop the process listening there, or give another port)") {
			t.Errorf("%s: %v; want EADDRINUSE naming %s with the in-use hint", name, err, addr)
		}
	}
}

func TestListenOnUnparsableAddressSaysWhatToGive(t *testing.T) {
	s, err := New(Options{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{"127.0.0.1", "127.0.0.1:notaport", "127.0.0.1:99999"} {
		err := s.ListenAndServe(context.Background(), addr)
		if err == nil {
			t.Fatalf("listening on %q succeeded", addr)
		}
		if !strings.Contains(err.Error(), "give HOST:PORT or :PORT") || !strings.Contains(err.Error(), "e.g. :8080 or 127.0.0.1:8080)") || strings.Contains(err.Error(), "in use") {
			t.Errorf("%q: %v; want the address hint and no word of an address in use", addr, err)
		}
	}
}

// TestListenHint covers the errors a test cannot provoke on any machine
// (a privileged port is free to root) with errors of net.Listen's shape.
func TestListenHint(t *testing.T) {
	bind := func(errno syscall.Errno) error {
		return &net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("bind", errno)}
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{bind(syscall.EADDRINUSE), "the address is in use"},
		{bind(syscall.EACCES), "ports below 1024 are privileged; give a port of 1024 or above (e.g. :8080)"},
		{bind(syscall.EADDRNOTAVAIL), "the host is not an address of this machine"},
		{&net.OpError{Op: "listen", Net: "tcp", Err: &net.AddrError{Err: "missing port in address", Addr: "x"}}, "give HOST:PORT or :PORT"},
		{&net.OpError{Op: "listen", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "nosuch"}}, "the host name does not resolve"},
		{&net.OpError{Op: "listen", Net: "tcp", Err: &net.DNSError{Err: "unknown port", Name: "tcp/http-alt-typo"}}, "not a port: give HOST:PORT or :PORT with a port number"},
		{bind(syscall.EMFILE), ""},
	} {
		got := ListenHint(tc.err)
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("ListenHint(%v) = %q, want %q", tc.err, got, tc.want)
		}
		if tc.want != "in use" && strings.Contains(got, "in use") && !errors.Is(tc.err, syscall.EADDRINUSE) {
			t.Errorf("ListenHint(%v) speaks of an address in use", tc.err)
		}
		msg := ListenError("--http :80", tc.err).Error()
		if !strings.HasPrefix(msg, "--http :80: "+tc.err.Error()) || (tc.want == "") != !strings.HasSuffix(msg, ")") {
			t.Errorf("ListenError = %q", msg)
		}
		if !errors.Is(ListenError("x", tc.err), tc.err) {
			t.Errorf("ListenError does not wrap %v", tc.err)
		}
	}
}
