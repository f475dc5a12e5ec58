package e2e

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/valtrack/valtrack/internal/bus"
	"github.com/valtrack/valtrack/internal/bus/bustest"
	"github.com/valtrack/valtrack/internal/ethereum/events"
	"github.com/valtrack/valtrack/internal/ethereum/network"
	"github.com/valtrack/valtrack/internal/ethereum/reqresp"
	"github.com/valtrack/valtrack/internal/ethereum/sentry"
)

// tee publishes every event to several publishers.
type tee []*bus.Publisher

func (t tee) Publish(ctx context.Context, subject, id string, data []byte) error {
	var errs []error
	for _, p := range t {
		errs = append(errs, p.Publish(ctx, subject, id, data))
	}
	return errors.Join(errs...)
}

// drain reads every event of the ethereum stream of b.
func drain(t *testing.T, b *bus.Bus, want int) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	got := map[string]string{}
	done := make(chan struct{})
	go func() {
		_ = b.Consume(ctx, bus.ConsumeConfig{Domain: events.Domain, Durable: "drain", BatchSize: 500, MaxWait: 100 * time.Millisecond},
			func(_ context.Context, batch []*bus.Msg) error {
				mu.Lock()
				defer mu.Unlock()
				for _, m := range batch {
					got[m.MsgID] = m.Subject + " " + string(m.Data)
				}
				if len(got) >= want {
					select {
					case <-done:
					default:
						close(done)
					}
				}
				return nil
			})
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
	cancel()
	mu.Lock()
	defer mu.Unlock()
	return got
}

// TestExternalNATSReceivesSameEvents: a sentry publishing to the embedded
// bus and to the external NATS server (VALTRACK_TEST_NATS_URL) at once; both
// streams end up with exactly the same events.
func TestExternalNATSReceivesSameEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a devnet")
	}
	ext := bustest.External(t)
	emb := bustest.Embedded(t)
	ctx := context.Background()
	for _, b := range []*bus.Bus{ext, emb} {
		if err := b.EnsureStream(ctx, events.Domain); err != nil {
			t.Fatal(err)
		}
	}
	dn := startDevnet(t, 12, "0:50%,1-20:50%", 31)
	n, err := network.Load(dn.Dir())
	if err != nil {
		t.Fatal(err)
	}
	pe, pm := ext.NewPublisher(testLog()), emb.NewPublisher(testLog())
	s, err := sentry.New(sentry.Config{Network: n, DataDir: filepath.Join(t.TempDir(), "sentry"), ListenIP: "127.0.0.1",
		SettleDelay: 200 * time.Millisecond, ReqResp: reqresp.Options{TTFBTimeout: time.Second, RespTimeout: time.Second},
		SentryID: "tee", Registerer: prometheus.NewRegistry(), Log: testLog()}, tee{pe, pm})
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(sctx) }()
	deadline := time.Now().Add(60 * time.Second)
	for s.Stats().Handshaken < 12 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // some subscription changes too
	stop()
	<-done
	if s.Stats().Handshaken < 12 {
		t.Fatalf("only %d of 12 nodes handshaken", s.Stats().Handshaken)
	}
	for _, p := range []*bus.Publisher{pe, pm} {
		if err := p.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	published := s.Stats().Published
	a, b := drain(t, ext, published), drain(t, emb, published)
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("external stream holds %d events, embedded %d (sentry published %d)", len(a), len(b), published)
	}
	for id, v := range b {
		if a[id] != v {
			t.Fatalf("event %s differs or is missing on the external server", id)
		}
	}
}
