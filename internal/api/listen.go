package api

import (
	"errors"
	"net"
	"strings"
	"syscall"
)

// ListenHint is what to do about an error of net.Listen, to follow it in
// parentheses; "" when there is nothing more to say than the error. It
// names the cause only when the error shows it: an "is the address in
// use?" on every failure sends the operator after the wrong problem.
func ListenHint(err error) string {
	var addrErr *net.AddrError
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return "the address is in use: stop the process listening there, or give another port"
	case errors.Is(err, syscall.EACCES):
		return "permission denied: ports below 1024 are privileged; give a port of 1024 or above (e.g. :8080), or grant the binary CAP_NET_BIND_SERVICE"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "the host is not an address of this machine: give one of its addresses, or leave the host out (e.g. :8080) to listen on every interface"
	case errors.As(err, &addrErr):
		return "not an address to listen on: give HOST:PORT or :PORT, e.g. :8080 or 127.0.0.1:8080"
	case errors.As(err, &dnsErr) && strings.Contains(dnsErr.Name, "/"):
		// A service name looked up as "tcp/NAME": the port, not the host.
		return "not a port: give HOST:PORT or :PORT with a port number, e.g. :8080 or 127.0.0.1:8080"
	case errors.As(err, &dnsErr):
		return "the host name does not resolve: give an IP address of this machine, or leave the host out (e.g. :8080)"
	}
	return ""
}

// ListenError wraps an error of net.Listen with what is listening
// (a flag, "api: listen on 127.0.0.1:80") and its hint, if any.
func ListenError(what string, err error) error {
	if h := ListenHint(err); h != "" {
		return &listenError{what: what, err: err, hint: h}
	}
	return &listenError{what: what, err: err}
}

type listenError struct {
	what, hint string
	err        error
}

func (e *listenError) Error() string {
	if e.hint == "" {
		return e.what + ": " + e.err.Error()
	}
	return e.what + ": " + e.err.Error() + " (" + e.hint + ")"
}

func (e *listenError) Unwrap() error { return e.err }
