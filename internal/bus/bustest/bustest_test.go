package bustest_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/valtrack/valtrack/internal/bus"
	"github.com/valtrack/valtrack/internal/bus/bustest"
)

func TestEmbeddedIsUsable(t *testing.T) {
	b := bustest.Embedded(t, func(c *bus.Config) { c.StreamPrefix = "X_" })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.EnsureStream(ctx, "ethereum"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.JetStream().Stream(ctx, "X_ETHEREUM"); err != nil {
		t.Fatalf("stream X_ETHEREUM: %v", err)
	}
}

func TestExternalDeletesItsStreams(t *testing.T) {
	url := os.Getenv(bustest.EnvNATSURL)
	if url == "" {
		t.Skip(bustest.EnvNATSURL + " is not set")
	}
	var name string
	t.Run("user", func(t *testing.T) {
		b := bustest.External(t)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.EnsureStream(ctx, "ethereum"); err != nil {
			t.Fatal(err)
		}
		name = b.StreamName("ethereum")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	check, err := bus.Open(ctx, bus.Config{URL: url}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	if _, err := check.JetStream().Stream(ctx, name); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("stream %s after cleanup: %v, want ErrStreamNotFound", name, err)
	}
}
