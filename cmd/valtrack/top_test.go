package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

func TestTopInvalidFlagsRefused(t *testing.T) {
	for _, tc := range []struct {
		args []string
		flag string
		hint string
	}{
		{nil, "--cosmos", "give the chain to show"},
		{[]string{"--cosmos", ""}, "--cosmos", "give the chain to show"},
		{[]string{"--cosmos", "a chain"}, "--cosmos", "chain name of letters"},
		{[]string{"--cosmos", "devnet-1", "--api", "ftp://host"}, "--api", "base URL"},
		{[]string{"--cosmos", "devnet-1", "--api", "127.0.0.1:8080"}, "--api", "base URL"},
		{[]string{"--cosmos", "devnet-1", "--api", "http://h/?x=1"}, "--api", "without a query"},
		{[]string{"--cosmos", "devnet-1", "--refresh", "10ms"}, "--refresh", "at least 100ms"},
		{[]string{"--cosmos", "devnet-1", "--refresh", "1"}, "--refresh", "duration with its unit"},
		{[]string{"--cosmos", "devnet-1", "--timeout", "0s"}, "--timeout", "positive duration"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			err := quietApp().Run(canceled(), append([]string{"valtrack", "top"}, tc.args...))
			checkRefused(t, err, tc.flag, tc.hint)
		})
	}
}

// TestTopNeedsATerminal: with its output not a terminal (a pipe under go
// test), top says so instead of writing escape sequences into it.
func TestTopNeedsATerminal(t *testing.T) {
	err := quietApp().Run(canceled(), []string{"valtrack", "top", "--cosmos", "devnet-1"})
	if err == nil || !strings.Contains(err.Error(), "draws on a terminal") || !strings.Contains(err.Error(), "/api/v1/cosmos/devnet-1/consensus") {
		t.Errorf("top without a terminal: %v", err)
	}
}

func TestTopChainTakesNameOfRunForm(t *testing.T) {
	for in, want := range map[string]string{"devnet-1": "devnet-1", " osmosis-1 ": "osmosis-1", "devnet-1=http://127.0.0.1:26657": "devnet-1"} {
		if got, err := topChain(in); err != nil || got != want {
			t.Errorf("topChain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// topAPI is a fake valtrack API for devnet-1 whose power order (alpha,
// bravo, charlie, delta) differs from its misses order (charlie, delta,
// bravo, alpha).
func topAPI(t *testing.T) (*httptest.Server, func() []string) {
	t.Helper()
	var (
		mu   sync.Mutex
		keys []string
	)
	body := `{"chain":"devnet-1","height":4321,"round":1,"step":"Precommit","step_at":` + fmt.Sprint(time.Now().UnixMilli()) + `,
	 "proposer":{"address":"AAAA0000AAAA0000","moniker":"alpha"},
	 "total_power":100,"prevote_share":0.9,"precommit_share":0.6,"prevote_block_share":0.9,"precommit_block_share":0.6,
	 "validators":[
	  {"address":"DDDD0000DDDD0000","moniker":"delta","index":3,"voting_power":10,"prevote":"nil","precommit":"none","recent_missed":3,"recent":"SSSSSSSSSSSSSSSSSMMM"},
	  {"address":"AAAA0000AAAA0000","moniker":"alpha","index":0,"voting_power":40,"prevote":"block","precommit":"block","recent_missed":0,"recent":"SSSSSPSSSSSSSSSSSSSS"},
	  {"address":"CCCC0000CCCC0000","moniker":"charlie","index":2,"voting_power":20,"prevote":"block","precommit":"none","recent_missed":5,"recent":"SSSSSSSSSSSSSSSvcMMM"},
	  {"address":"BBBB0000BBBB0000","moniker":"bravo","index":1,"voting_power":30,"prevote":"block","precommit":"block","recent_missed":1,"recent":"SSSSSSSSSSSSSSSSSSSM"}]}`
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/cosmos/devnet-1/consensus", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get("X-API-KEY"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	})
	srv := httptest.NewServer(mux) // 127.0.0.1
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), keys...)
	}
}

// tmuxSession is a detached tmux session on a server of its own (-L), so
// that the test touches no other tmux of the machine.
type tmuxSession struct {
	t            *testing.T
	socket, name string
}

func (s *tmuxSession) tmux(args ...string) (string, error) {
	out, err := exec.Command("tmux", append([]string{"-u", "-f", "/dev/null", "-L", s.socket}, args...)...).CombinedOutput()
	return string(out), err
}

// capture returns the pane's text.
func (s *tmuxSession) capture() string {
	out, err := s.tmux("capture-pane", "-p", "-t", s.name)
	if err != nil {
		return ""
	}
	return out
}

// waitFor polls the pane until ok holds, for at most 30s.
func (s *tmuxSession) waitFor(what string, ok func(screen string) bool) string {
	s.t.Helper()
	var screen string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if screen = s.capture(); ok(screen) {
			return screen
		}
	}
	s.t.Fatalf("the pane never showed %s; it shows:\n%s", what, screen)
	return ""
}

// rowOf is the line of the pane that starts with name (-1: none).
func rowOf(screen, name string) int {
	// A moniker may hold spaces ("Val 3 (devnet)"): the row starts with
	// the whole name, then a space or its end.
	for i, ln := range strings.Split(screen, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimLeft(ln, " "), name); ok && (rest == "" || rest[0] == ' ') {
			return i
		}
	}
	return -1
}

// startTop builds valtrack and runs `valtrack top ARGS` in a detached
// 80x24 tmux session of its own; rc and stderr are the files that receive
// the exit code and the program's stderr. The test skips without tmux.
func startTop(t *testing.T, args ...string) (s *tmuxSession, rc, stderr string) {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "valtrack")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	rc, stderr = filepath.Join(dir, "rc"), filepath.Join(dir, "stderr")
	s = &tmuxSession{t: t, socket: fmt.Sprintf("valtrack-test-%d-%d", os.Getpid(), time.Now().UnixNano()), name: "top"}
	t.Cleanup(func() {
		_, _ = s.tmux("kill-session", "-t", s.name)
		_, _ = s.tmux("kill-server")
	})
	// The shell records the exit code; the session ends with the program.
	shell := fmt.Sprintf("%s top %s 2>%s; echo $? >%s", bin, strings.Join(args, " "), stderr, rc)
	cmd := exec.Command("tmux", "-u", "-f", "/dev/null", "-L", s.socket, "new-session", "-d", "-s", s.name, "-x", "80", "-y", "24", shell)
	cmd.Env = append(os.Environ(), "LANG=C.UTF-8", "TERM=xterm-256color")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	return s, rc, stderr
}

// TestTopInTmux runs the real binary in a real 80x24 terminal (tmux)
// against a fake API: it draws the chain, sorts on s, follows a resize
// and exits 0 on q.
func TestTopInTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it in tmux")
	}
	srv, keys := topAPI(t)
	s, rc, stderr := startTop(t, "--cosmos", "devnet-1", "--api", srv.URL, "--refresh", "200ms", "--api-key", "test-key-1234")

	screen := s.waitFor("height 4321 and all four validators", func(sc string) bool {
		return strings.Contains(sc, "height 4321") && rowOf(sc, "alpha") > 0 && rowOf(sc, "delta") > 0
	})
	lines := strings.Split(strings.TrimRight(screen, "\n"), "\n")
	if len(lines) > 24 {
		t.Errorf("the pane has %d lines, 24 expected", len(lines))
	}
	for i, ln := range lines {
		if n := utf8.RuneCountInString(ln); n > 80 {
			t.Errorf("line %d has %d cells: %q", i, n, ln)
		}
	}
	for _, want := range []string{"devnet-1", "round 1", "Precommit", "proposer alpha", "90.0%", "60.0%", "sort: power"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the pane lacks %q:\n%s", want, screen)
		}
	}
	if a, b, c, d := rowOf(screen, "alpha"), rowOf(screen, "bravo"), rowOf(screen, "charlie"), rowOf(screen, "delta"); !(a < b && b < c && c < d) {
		t.Errorf("not in power order (alpha %d, bravo %d, charlie %d, delta %d):\n%s", a, b, c, d, screen)
	}
	if got := keys(); len(got) == 0 || got[0] != "test-key-1234" {
		t.Errorf("--api-key not sent as X-API-KEY: %q", got)
	}

	if out, err := s.tmux("send-keys", "-t", s.name, "s"); err != nil {
		t.Fatalf("send-keys s: %v %s", err, out)
	}
	s.waitFor("the misses order charlie, delta, bravo, alpha", func(sc string) bool {
		c, d, b, a := rowOf(sc, "charlie"), rowOf(sc, "delta"), rowOf(sc, "bravo"), rowOf(sc, "alpha")
		return strings.Contains(sc, "sort: misses") && c > 0 && c < d && d < b && b < a
	})

	// A narrower terminal: the recent strip gives way, the votes stay.
	if out, err := s.tmux("resize-window", "-t", s.name, "-x", "50", "-y", "20"); err != nil {
		t.Fatalf("resize-window: %v %s", err, out)
	}
	s.waitFor("the 50-column layout", func(sc string) bool {
		return !strings.Contains(sc, "LAST 20") && strings.Contains(sc, "MISS") && rowOf(sc, "charlie") > 0
	})

	if out, err := s.tmux("send-keys", "-t", s.name, "q"); err != nil {
		t.Fatalf("send-keys q: %v %s", err, out)
	}
	var code []byte
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if b, err := os.ReadFile(rc); err == nil && len(b) > 0 {
			code = b
			break
		}
	}
	errOut, _ := os.ReadFile(stderr)
	if strings.TrimSpace(string(code)) != "0" {
		t.Fatalf("after q: exit code %q (want 0); stderr: %s", code, errOut)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, err := s.tmux("has-session", "-t", s.name); err != nil {
			break // the session ended with the program
		}
		if time.Now().After(deadline) {
			t.Fatal("the tmux session is still there after the program exited")
		}
	}
}
