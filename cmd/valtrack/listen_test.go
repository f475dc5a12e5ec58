package main

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestSameListenAddr(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{":8080", ":8080", true},
		{":8080", "0.0.0.0:8080", true},
		{"[::]:8080", ":8080", true},
		{"0.0.0.0:8080", "127.0.0.1:8080", true}, // every interface holds loopback too
		{"127.0.0.1:8080", "127.0.0.1:8080", true},
		{"127.0.0.1:8080", "[::ffff:127.0.0.1]:8080", true},
		{"LocalHost:8080", "localhost:8080", true},
		{":http", ":80", true},
		{":8080", ":9090", false},
		{"127.0.0.1:8080", "127.0.0.2:8080", false},
		{"127.0.0.1:0", "127.0.0.1:0", false}, // a fresh port each
		{"bad", ":8080", false},               // the flag's validator refuses it
	} {
		if got := sameListenAddr(tc.a, tc.b); got != tc.same {
			t.Errorf("sameListenAddr(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
}

// TestAdminHTTPOnHTTPAddressRefused: run and serve refuse --admin-http on
// the address of --http before anything opens (the data dir is not made).
func TestAdminHTTPOnHTTPAddressRefused(t *testing.T) {
	_, port, err := net.SplitHostPort(freeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, command := range []string{"run", "serve"} {
		for _, pair := range [][2]string{
			{":" + port, "0.0.0.0:" + port},
			{"127.0.0.1:" + port, "127.0.0.1:" + port},
			{"[::]:" + port, ":" + port},
		} {
			dir := filepath.Join(t.TempDir(), "data")
			err := quietApp().Run(context.Background(), []string{"valtrack", command, "--data-dir", dir,
				"--http", pair[0], "--admin-http", pair[1], "--log-level", "error"})
			if err == nil {
				t.Fatalf("%s --http %s --admin-http %s: started", command, pair[0], pair[1])
			}
			if !containsAll(err.Error(), "--admin-http "+pair[1]+" is the address of --http "+pair[0],
				"the admin listener (/metrics, /healthz) must be a different address",
				"or leave --admin-http empty to serve /metrics and /healthz on --http") {
				t.Errorf("%s --http %s --admin-http %s: %v", command, pair[0], pair[1], err)
			}
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("%s: the data dir was made before the refusal", command)
			}
		}
	}
}

// TestListenInUseHint: an address in use is reported as such, by the flag
// that gave it.
func TestListenInUseHint(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, flags := range [][]string{
		{"--http", taken.Addr().String()},
		{"--http", freeAddr(t), "--admin-http", taken.Addr().String()},
	} {
		args := append([]string{"valtrack", "serve", "--data-dir", t.TempDir(), "--log-level", "error"}, flags...)
		err := quietApp().Run(context.Background(), args)
		flag := flags[len(flags)-2]
		if !errors.Is(err, syscall.EADDRINUSE) || !containsAll(err.Error(), flag+" "+taken.Addr().String()+": ",
			"(the address is in use: stop the process listening there, or give another port)") {
			t.Errorf("serve %s: %v; want EADDRINUSE naming the flag, with the in-use hint", strings.Join(flags, " "), err)
		}
	}
}
