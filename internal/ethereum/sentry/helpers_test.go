package sentry

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/valtrack/valtrack/internal/ethereum/devnet"
	"github.com/valtrack/valtrack/internal/ethereum/events"
	"github.com/valtrack/valtrack/internal/ethereum/network"
	"github.com/valtrack/valtrack/internal/ethereum/reqresp"
)

// recorder is a Publisher keeping every event it is given.
type recorder struct {
	mu         sync.Mutex
	discovered map[string]events.PeerDiscovered   // node id → latest
	metadata   map[string]events.MetadataReceived // peer id → latest
	metaCount  map[string]int
	subs       []events.Subscription
	msgIDs     map[string]bool
}

func newRecorder() *recorder {
	return &recorder{
		discovered: map[string]events.PeerDiscovered{},
		metadata:   map[string]events.MetadataReceived{},
		metaCount:  map[string]int{},
		msgIDs:     map[string]bool{},
	}
}

func (r *recorder) Publish(_ context.Context, subject, msgID string, data []byte) error {
	_, kind, err := events.SplitSubject(subject)
	if err != nil {
		return err
	}
	v, err := events.Decode(kind, data)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgIDs[msgID] = true
	switch e := v.(type) {
	case *events.PeerDiscovered:
		if msgID != e.MsgID() {
			return fmt.Errorf("msg id %s is not the event's %s", msgID, e.MsgID())
		}
		r.discovered[e.ID] = *e
	case *events.MetadataReceived:
		r.metadata[e.PeerID] = *e
		r.metaCount[e.PeerID]++
	case *events.Subscription:
		r.subs = append(r.subs, *e)
	}
	return nil
}

func (r *recorder) hasDiscovered(nodeID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.discovered[nodeID]
	return ok
}

func (r *recorder) latestMetadata(peerID string) (events.MetadataReceived, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.metadata[peerID]
	return m, ok
}

func (r *recorder) subscriptions() []events.Subscription {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]events.Subscription(nil), r.subs...)
}

func startDevnet(t *testing.T, nodes int, validators string) *devnet.Devnet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := devnet.Start(ctx, devnet.Options{
		Nodes:         nodes,
		Dir:           t.TempDir(),
		SlotDuration:  time.Second,
		SlotsPerEpoch: 4,
		Seed:          11,
		Validators:    validators,
		Log:           slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// loadNetwork reads the devnet's files the way the command line would.
func loadNetwork(t *testing.T, d *devnet.Devnet) *network.Network {
	t.Helper()
	n, err := network.Load(d.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Bootnodes) == 0 {
		t.Fatal("devnet wrote no bootnodes")
	}
	return n
}

func testConfig(t *testing.T, n *network.Network, dataDir string) Config {
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("SENTRY_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return Config{
		Network:      n,
		DataDir:      dataDir,
		ListenIP:     "127.0.0.1",
		DiscPort:     0,
		TCPPort:      0,
		QUICPort:     0,
		DialWorkers:  16,
		DialTimeout:  3 * time.Second,
		SettleDelay:  300 * time.Millisecond,
		BackoffBase:  500 * time.Millisecond,
		BackoffMax:   2 * time.Second,
		SaveInterval: time.Second,
		IdentifyWait: 2 * time.Second,
		CrawlRequery: 2 * time.Second,
		SentryID:     "test-sentry",
		ReqResp:      reqresp.Options{TTFBTimeout: time.Second, RespTimeout: time.Second},
		Registerer:   prometheus.NewRegistry(),
		Log:          log,
	}
}

// runSentry starts Run in the background; the returned stop cancels it and
// waits for Run's result.
func runSentry(t *testing.T, s *Sentry) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				err = fmt.Errorf("Run did not return within 20s of cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func hexBytes(b []byte) string { return "0x" + hex.EncodeToString(b) }

func int64s(in []uint64) []int64 {
	out := make([]int64, 0, len(in))
	for _, v := range in {
		out = append(out, int64(v))
	}
	return out
}

func dump(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
