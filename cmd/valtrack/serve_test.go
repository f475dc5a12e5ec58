package main

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// TestServeAdminHTTP runs `valtrack serve` with and without --admin-http and
// checks where /metrics and /healthz answer.
func TestServeAdminHTTP(t *testing.T) {
	for _, separate := range []bool{false, true} {
		dir, addr, admin := t.TempDir(), freeAddr(t), freeAddr(t)
		args := []string{"valtrack", "serve", "--data-dir", dir, "--http", addr, "--log-level", "warn"}
		if separate {
			args = append(args, "--admin-http", admin)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- newApp(domains()).Run(ctx, args) }()
		status := func(base, path string) int {
			resp, err := http.Get("http://" + base + path)
			if err != nil {
				return 0
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		// Wait until both listeners answer (the store is migrated first).
		for deadline := time.Now().Add(30 * time.Second); ; {
			if status(addr, "/api/v1/networks") == 200 && (!separate || status(admin, "/healthz") == 200) {
				break
			}
			if time.Now().After(deadline) {
				cancel()
				t.Fatalf("--admin-http=%v: the API did not come up", separate)
			}
			time.Sleep(50 * time.Millisecond)
		}
		for _, path := range []string{"/metrics", "/healthz"} {
			want := 200
			if separate {
				want = 404
				if got := status(admin, path); got != 200 {
					t.Errorf("admin listener GET %s = %d, want 200", path, got)
				}
			}
			if got := status(addr, path); got != want {
				t.Errorf("--admin-http=%v: public GET %s = %d, want %d", separate, path, got, want)
			}
		}
		if separate {
			if got := status(admin, "/api/v1/networks"); got != 404 {
				t.Errorf("admin listener serves the API: GET /api/v1/networks = %d", got)
			}
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v after cancel", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not stop")
		}
	}
}

// TestServeWSOriginsMalformed: a --ws-origins pattern the WebSocket library
// could not match is refused at start, naming the flag and the pattern.
func TestServeWSOriginsMalformed(t *testing.T) {
	err := newApp(domains()).Run(context.Background(), []string{"valtrack", "serve", "--data-dir", t.TempDir(), "--http", freeAddr(t), "--ws-origins", "ok.example,[bad"})
	if err == nil || !containsAll(err.Error(), "--ws-origins", `"[bad"`) {
		t.Fatalf("serve --ws-origins ok.example,[bad: %v", err)
	}
}
