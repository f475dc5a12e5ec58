// Package benchkit is what the bench programs share.
package benchkit

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/valtrack/valtrack/internal/bus"
)

// Fail prints what failed and exits 1.
func Fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", what, err)
	os.Exit(1)
}

// TempDir makes a fresh directory under the system's temporary one.
func TempDir(prefix string) string {
	d, err := os.MkdirTemp("", prefix)
	if err != nil {
		panic(err)
	}
	return d
}

// OpenBus opens an embedded bus in dir (room for 4 GiB) with the stream of
// domain.
func OpenBus(ctx context.Context, dir, domain string, log *slog.Logger) (*bus.Bus, error) {
	b, err := bus.Open(ctx, bus.Config{DataDir: dir, MaxBytes: 4 << 30}, log)
	if err != nil {
		return nil, err
	}
	if err := b.EnsureStream(ctx, domain); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}
