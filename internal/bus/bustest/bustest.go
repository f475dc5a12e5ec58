// Package bustest opens buses for other packages' tests: an embedded one in
// a temporary directory, or one on the external server named by
// VALTRACK_TEST_NATS_URL with unique stream and subject prefixes.
package bustest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/bus"
)

// EnvNATSURL names the external NATS server for tests.
const EnvNATSURL = "VALTRACK_TEST_NATS_URL"

// Logger returns a logger for tests that prints warnings and errors.
func Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// Embedded opens an embedded bus in t.TempDir() and closes it at cleanup.
// Options in mod are applied to the config before opening.
func Embedded(t testing.TB, mod ...func(*bus.Config)) *bus.Bus {
	t.Helper()
	cfg := bus.Config{DataDir: t.TempDir(), Name: "test-" + t.Name(), MaxBytes: 256 << 20}
	for _, f := range mod {
		f(&cfg)
	}
	return open(t, cfg)
}

// External opens a bus on VALTRACK_TEST_NATS_URL (skipping the test without
// it) with a unique StreamPrefix and SubjectPrefix, and deletes the streams it
// made at cleanup.
func External(t testing.TB, mod ...func(*bus.Config)) *bus.Bus {
	t.Helper()
	url := os.Getenv(EnvNATSURL)
	if url == "" {
		t.Skip(EnvNATSURL + " is not set; skipping the external NATS test")
	}
	id := Unique()
	cfg := bus.Config{
		URL:           url,
		Name:          "test-" + t.Name(),
		StreamPrefix:  "T" + strings.ToUpper(id) + "_",
		SubjectPrefix: "t" + id + ".",
		MaxBytes:      64 << 20,
		MaxAge:        time.Hour,
		ReconnectWait: 100 * time.Millisecond,
	}
	for _, f := range mod {
		f(&cfg)
	}
	b := open(t, cfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		js := b.JetStream()
		names := js.StreamNames(ctx)
		var mine []string
		for n := range names.Name() {
			if strings.HasPrefix(n, cfg.StreamPrefix) {
				mine = append(mine, n)
			}
		}
		for _, n := range mine {
			if err := js.DeleteStream(ctx, n); err != nil {
				t.Errorf("delete test stream %s: %v", n, err)
			}
		}
	})
	return b
}

// Unique returns a random 12-hex-digit name part.
func Unique() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func open(t testing.TB, cfg bus.Config) *bus.Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, cfg, Logger())
	if err != nil {
		t.Fatalf("open test bus: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close test bus: %v", err)
		}
	})
	return b
}
