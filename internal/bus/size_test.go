package bus_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/bus"
	"github.com/valtrack/valtrack/internal/bus/bustest"
)

func TestAutoMaxBytesSplitsHalfTheDiskBetweenFloorAndCap(t *testing.T) {
	const gib = int64(1) << 30
	for _, c := range []struct {
		name       string
		free, used int64
		streams    int
		want       int64
	}{
		{"README case: 24 GiB free, 4 domains", 24 * gib, 0, 4, 3 * gib},
		{"the store's own bytes count as space", 20 * gib, 4 * gib, 4, 3 * gib},
		{"a big disk is capped", 1000 * gib, 0, 4, bus.DefaultMaxBytes},
		{"one stream", 8 * gib, 0, 1, 4 * gib},
		{"0 streams count as 1", 8 * gib, 0, 0, 4 * gib},
		{"a tiny disk gets the floor", 100 << 20, 0, 4, bus.MinAutoMaxBytes},
		{"negative inputs are no space", -1, -1, 2, bus.MinAutoMaxBytes},
	} {
		if got := bus.AutoMaxBytes(c.free, c.used, c.streams); got != c.want {
			t.Errorf("%s: AutoMaxBytes(%d, %d, %d) = %d, want %d", c.name, c.free, c.used, c.streams, got, c.want)
		}
	}
	// Together the streams never ask for more than nats-server's own
	// default limit (75% of the space) unless the floor forces it.
	for _, free := range []int64{2 * gib, 24 * gib, 53 * gib, 200 * gib} {
		for n := 1; n <= 4; n++ {
			if total := bus.AutoMaxBytes(free, 0, n) * int64(n); total > free/4*3 {
				t.Errorf("%d streams on %d free reserve %d, over 75%% of the disk", n, free, total)
			}
		}
	}
}

func TestEmbeddedDefaultSizeFitsFourStreams(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b := bustest.Embedded(t, func(c *bus.Config) { c.MaxBytes = 0; c.Streams = 4 })
	for _, d := range []string{"ethereum", "cosmos", "ssv", "polkadot"} {
		if err := b.EnsureStream(ctx, d); err != nil {
			t.Fatalf("ensure stream %s with the size from the free disk: %v", d, err)
		}
	}
	got := b.StreamConfig("cosmos").MaxBytes
	if got < bus.MinAutoMaxBytes || got > bus.DefaultMaxBytes {
		t.Fatalf("automatic MaxBytes = %d, want within %d..%d", got, bus.MinAutoMaxBytes, bus.DefaultMaxBytes)
	}
}

func TestEnsureStreamOnAFullServerNamesTheTotalAndTheFlag(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// 1 PiB per stream is more than any test machine has.
	b := bustest.Embedded(t, func(c *bus.Config) { c.MaxBytes = 1 << 50; c.Streams = 2 })
	err := b.EnsureStream(ctx, "cosmos")
	if err == nil {
		t.Fatal("ensure a 1 PiB stream: no error")
	}
	for _, want := range []string{"COSMOS", "1048576.0 GiB each", "2 stream(s)", "2097152.0 GiB in all", "--bus-max-bytes", "max_file_store"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
