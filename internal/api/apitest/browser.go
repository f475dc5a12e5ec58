package apitest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"
)

// ChromiumPath is Debian's headless-capable Chromium, which .ci/run
// installs.
const ChromiumPath = "/usr/bin/chromium"

// RenderDOM loads url in headless Chromium, lets the page's scripts run
// for up to five seconds of virtual time, and returns the DOM they left.
// The test skips where Chromium is not installed. The flags keep Chromium
// off the network beyond url: no background, component or sync traffic.
func RenderDOM(t testing.TB, url string) string {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		t.Skipf("%s not found (install it with apt-get install -y chromium): %v", ChromiumPath, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ChromiumPath, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir="+t.TempDir(), "--virtual-time-budget=5000", "--dump-dom", url)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("chromium did not finish within the deadline; stderr:\n%s", Tail(stderr.String()))
		}
		t.Fatalf("chromium: %v; stderr:\n%s", err, Tail(stderr.String()))
	}
	return stdout.String()
}

// Tail is the end of a long output, for a failure message.
func Tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}

// TextOf is the text directly inside the element of id in a rendered DOM
// (up to its first child tag), "(missing)" when there is no such element.
func TextOf(dom, id string) string {
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `"[^>]*>([^<]*)<`).FindStringSubmatch(dom)
	if m == nil {
		return "(missing)"
	}
	return m[1]
}
