package ethereum

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/api/apitest"
	"github.com/valtrack/valtrack/internal/domain"
)

// TestDevnetCommandNamesTheNextCommand: `ethereum` runs a devnet until
// its context ends and tells how to watch it with this very valtrack
// (domain.Invocation), not with a fixed `go run`.
func TestDevnetCommandNamesTheNextCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dn")
	d := Domain{Logger: func(*cli.Command) (*slog.Logger, error) { return slog.New(slog.DiscardHandler), nil }}
	cmd := d.DevnetCommand()
	var out apitest.SyncBuffer
	cmd.Writer, cmd.ErrWriter = &out, io.Discard
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- cmd.Run(ctx, []string{"ethereum", "--nodes", "3", "--dir", dir, "--bind", "127.0.0.1"})
	}()

	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "running until Ctrl-C") {
		select {
		case err := <-done:
			t.Fatalf("ethereum ended before it ran: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ethereum did not start within 60s:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	want := "next, in another terminal:\n  " + domain.Invocation() + " run --eth " + dir + "\n"
	if !strings.Contains(out.String(), want) {
		t.Errorf("printed\n%s\nwant it to hold %q", out.String(), want)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ethereum after Ctrl-C: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ethereum did not stop within 10s of Ctrl-C")
	}
}
