package sync

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

// Endpoints that are down at start are asked their chain id forever, but a
// long wait does not log a warning per round: the first 3 rounds and every
// 20th warn, the rest are debug records.
func TestChainIDWaitWarnsOnlyOnSomeRounds(t *testing.T) {
	var urls []string
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		urls = append(urls, "http://"+ln.Addr().String())
		ln.Close() // nothing listens there now: every call is refused
	}
	logs := &syncBuf{}
	s, err := New(Config{Network: "testnet", Contract: contract, RPCs: urls, Decoder: testDecoder, Publisher: &memPublisher{},
		DataDir: t.TempDir(), Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		RetryMin: time.Millisecond, RetryMax: time.Millisecond, RequestTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	const waitMsg = "no endpoint answered eth_chainId; retrying"
	count := func(level, msg string) int {
		n := 0
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "level="+level) && strings.Contains(l, msg) {
				n++
			}
		}
		return n
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	waitFor(t, "45 rounds", func() bool { return count("WARN", waitMsg)+count("DEBUG", waitMsg) >= 45 })
	cancel()
	<-done
	rounds := count("WARN", waitMsg) + count("DEBUG", waitMsg)
	want := 3 + rounds/20
	if got := count("WARN", waitMsg); got != want {
		t.Fatalf("%d rounds logged %d warnings, want %d (the first 3 and every 20th)", rounds, got, want)
	}
	// Each endpoint's refusal likewise, per endpoint; the round cut short
	// by the stop may have logged its first endpoint's (a warning when it
	// is a 20th).
	if got, most := count("WARN", "did not answer eth_chainId"), 2*(3+(rounds+1)/20); got < 2*want || got > most {
		t.Errorf("%d rounds logged %d warnings of the endpoints' refusals, want %d to %d", rounds, got, 2*want, most)
	}
}
