package cosmos

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/cosmos/devnet"
	"github.com/valtrack/valtrack/internal/domain"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// run runs `cosmos ARGS…` as its own root command and returns what it
// printed.
func run(ctx context.Context, out io.Writer, args ...string) error {
	cmd := DevnetCommand()
	cmd.Writer = out
	cmd.ErrWriter = io.Discard
	return cmd.Run(ctx, append([]string{"cosmos"}, args...))
}

func runOut(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out syncBuffer
	err := run(ctx, &out, args...)
	return out.String(), err
}

// TestDevnetCommand: `cosmos` runs a devnet until its context ends, and
// `cosmos stop|start|status` act on it from chain.json alone.
func TestDevnetCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dn")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, &out, "--validators", "2", "--dir", dir, "--block-interval", "300ms") }()

	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "running until Ctrl-C") {
		select {
		case err := <-done:
			t.Fatalf("cosmos ended before it ran: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("cosmos did not start within 60s:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	info, err := devnet.ReadChainInfo(dir)
	if err != nil {
		t.Fatal(err)
	}
	printed := out.String()
	for _, v := range info.Validators {
		if !strings.Contains(printed, v.RPC) {
			t.Errorf("the RPC URL of validator %d (%s) is not printed:\n%s", v.Index, v.RPC, printed)
		}
	}
	if !strings.Contains(printed, filepath.Join(dir, "chain.json")) {
		t.Errorf("where chain.json is, is not printed:\n%s", printed)
	}
	if info.GRPC == "" || !strings.Contains(printed, "grpc: "+info.GRPC+" ") || !strings.Contains(printed, `"`+info.Validators[0].StakingMoniker+`"`) {
		t.Errorf("the gRPC listener %q or the staking monikers are not printed:\n%s", info.GRPC, printed)
	}
	// The next commands, with this very valtrack.
	vt := domain.Invocation()
	for _, want := range []string{vt + " run --cosmos " + dir + "\n", vt + " devnet cosmos stop --dir " + dir + " --validator 1\n"} {
		if !strings.Contains(printed, "\n  "+want) {
			t.Errorf("printed\n%s\nwant it to hold %q", printed, want)
		}
	}

	got, err := runOut(t, "stop", "--dir", dir, "--validator", "1")
	if err != nil || !strings.Contains(got, "validator 1 ("+info.Validators[1].Address+") stopped") {
		t.Fatalf("stop: %v\n%s", err, got)
	}
	got, err = runOut(t, "status", "--dir", dir)
	if err != nil || !strings.Contains(got, info.Validators[1].Address+"  stopped") || !strings.Contains(got, "running, height") {
		t.Fatalf("status: %v\n%s", err, got)
	}
	if _, err = runOut(t, "stop", "--dir", dir, "--validator", "1"); err == nil || !strings.Contains(err.Error(), "already stopped") {
		t.Fatalf("second stop: %v", err)
	}
	if _, err = runOut(t, "start", "--dir", dir, "--validator", "5"); err == nil || !strings.Contains(err.Error(), "no such validator") {
		t.Fatalf("start of validator 5 of 2: %v", err)
	}
	got, err = runOut(t, "start", "--dir", dir, "--validator", "1")
	if err != nil || !strings.Contains(got, "validator 1 ("+info.Validators[1].Address+") started") {
		t.Fatalf("start: %v\n%s", err, got)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("cosmos: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("cosmos did not stop within 30s of its context's end")
	}

	if _, err = runOut(t, "stop", "--dir", dir, "--validator", "1"); err == nil || !strings.Contains(err.Error(), "no devnet is running for "+dir+": start it with `"+vt+" devnet cosmos --dir "+dir+"`") {
		t.Fatalf("stop after the devnet ended: %v", err)
	}
	empty := t.TempDir()
	if _, err = runOut(t, "status", "--dir", empty); err == nil || !strings.Contains(err.Error(), "no cosmos devnet in "+empty) {
		t.Fatalf("status of an empty directory: %v", err)
	}
	if _, err = runOut(t, "stop", "--dir", dir); err == nil || !strings.Contains(err.Error(), "validator") {
		t.Fatalf("stop without --validator: %v", err)
	}
}
