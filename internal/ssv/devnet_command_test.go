package ssv

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/domain"
	"github.com/valtrack/valtrack/internal/ssv/devnet"
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

func runDevnetCommand(ctx context.Context, out io.Writer, args ...string) error {
	cmd := DevnetCommand()
	cmd.Writer = out
	cmd.ErrWriter = io.Discard
	return cmd.Run(ctx, append([]string{"ssv"}, args...))
}

// TestDevnetCommand: `ssv` runs a devnet until its context ends and
// prints ssv.json as written.
func TestDevnetCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dn")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- runDevnetCommand(ctx, &out, "--dir", dir, "--block-interval", "100ms") }()

	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "running until Ctrl-C") {
		select {
		case err := <-done:
			t.Fatalf("ssv ended before it ran: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ssv did not start within 30s:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	info, err := devnet.ReadInfo(dir)
	if err != nil {
		t.Fatal(err)
	}
	printed := out.String()
	start := strings.Index(printed, "{")
	end := strings.LastIndex(printed, "}")
	var got devnet.Info
	if start < 0 || end < start || json.Unmarshal([]byte(printed[start:end+1]), &got) != nil || got != info {
		t.Fatalf("printed %q, want ssv.json's contents %+v", printed, info)
	}
	// The next command, with this very valtrack.
	if want := "next, in another terminal:\n  " + domain.Invocation() + " run --ssv-dir " + dir + "\n"; !strings.Contains(printed, want) {
		t.Errorf("printed\n%s\nwant it to hold %q", printed, want)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ssv after Ctrl-C: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ssv did not stop within 10s of its context ending")
	}
}

func TestDevnetCommandFlags(t *testing.T) {
	for _, args := range [][]string{{"--block-interval", "1ms"}, {"--event-every", "0"}} {
		err := runDevnetCommand(context.Background(), io.Discard, append(args, "--dir", t.TempDir())...)
		if err == nil || !strings.Contains(err.Error(), "give") {
			t.Errorf("%v: %v, want a refusal saying what to give", args, err)
		}
	}
}
