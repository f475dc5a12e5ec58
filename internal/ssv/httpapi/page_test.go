package httpapi

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestPageSection: the page at / carries the SSV section, which loads
// nothing from elsewhere and inserts data only as text.
func TestPageSection(t *testing.T) {
	f := newFixture(t, nil, Options{})
	resp, err := f.srv.Client().Get(f.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<section id="ssv"`, `id="ssv-operators"`, `id="ssv-sizes"`, "/summary"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if regexp.MustCompile(`(src|href)\s*=\s*["']?(https?:)?//|https?://`).MatchString(sectionHTML + sectionJS) {
		t.Error("the section refers to an external URL")
	}
	if strings.Contains(sectionJS, "innerHTML") || strings.Contains(sectionJS, "insertAdjacentHTML") {
		t.Error("the section inserts HTML; data must go in as text")
	}
}

const chromiumPath = "/usr/bin/chromium"

// TestPageRendersCounts renders the page in headless Chromium against the
// fixture and checks what the section shows: the counts, validators by
// status, clusters by size and the sync state.
func TestPageRendersCounts(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("%s not found (install it with apt-get install -y chromium): %v", chromiumPath, err)
	}
	f := newFixture(t, nil, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromiumPath, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir="+t.TempDir(), "--virtual-time-budget=5000", "--dump-dom", f.srv.URL+"/")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("chromium did not finish within the deadline; stderr:\n%s", tail(stderr.String()))
		}
		t.Fatalf("chromium: %v; stderr:\n%s", err, tail(stderr.String()))
	}
	dom := stdout.String()
	card := func(id string) string {
		m := regexp.MustCompile(`id="` + id + `"[^>]*>([^<]*)<`).FindStringSubmatch(dom)
		if m == nil {
			return "(missing)"
		}
		return m[1]
	}
	if s := card("ssv-status"); !strings.HasPrefix(s, "updated ") {
		t.Fatalf("status %q; DOM:\n%s", s, tail(dom))
	}
	for id, want := range map[string]string{"ssv-operators": "4", "ssv-validators": "4", "ssv-clusters": "2", "ssv-invalid": "1",
		"ssv-block": "100", "ssv-head": "108", "ssv-lag": "8"} {
		if got := card(id); got != want {
			t.Errorf("%s shows %q, want %q", id, got, want)
		}
	}
	for _, want := range []string{"<td>active</td><td>2</td>", "<td>exited</td><td>1</td>", "<td>removed</td><td>1</td>",
		"<td>4 operators</td><td>2</td>", "<td>rpc-1</td><td>healthy</td>", "<td>connection refused</td>"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered section lacks %s", want)
		}
	}
}

func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}
