package httpapi

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/valtrack/valtrack/internal/ssv/registry"
)

const deliveryBound = 5 * time.Second

var fastStream = Options{PollInterval: 10 * time.Millisecond}

// readFrame reads one frame within the bound.
func readFrame(t testing.TB, c *websocket.Conn, bound time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	_, b, err := c.Read(ctx)
	return string(b), err
}

// TestStreamPushesChanges: an operator and a validator applied after the
// clients connect reach every client, as the exporter's messages, in
// order; what was applied before they connected is not replayed.
func TestStreamPushesChanges(t *testing.T) {
	f := newFixture(t, nil, fastStream)
	a := dial(t, f.srv, "/api/v1/ssv/"+testNet+"/stream")
	b := dial(t, f.srv, "/stream")
	f.fake.PutOperator(testNet, registry.Operator{ID: 6, Owner: ownerA, PublicKey: opKey(6), Fee: "7", AddedBlock: 30, UpdatedBlock: 30})
	f.fake.PutValidator(testNet, registry.Validator{Index: 5, PublicKey: keyZ, Owner: ownerA, OperatorIDs: []uint64{1, 2, 3, 6}, ClusterID: "0xc3", Status: registry.StatusActive, AddedBlock: 31, UpdatedBlock: 31})
	wantOp := `{"type":"operator","filter":{"from":6,"to":6},"data":[{"publicKey":"` + opKey(6) + `","name":"","ownerAddress":"` + ownerA + `","index":6,"id":6,"owner":"` + ownerA + `","public_key":"` + opKey(6) + `","fee":"7","private":false,"validator_count":0,"removed":false,"added_block":30,"updated_block":30}]}`
	wantVal := `{"type":"validator","filter":{"from":5,"to":5},"data":[{"publicKey":"` + strings.Repeat("cc", 48) + `","operators":` + links(1, 2, 3, 6) + `,"index":5,"public_key":"` + keyZ + `","owner":"` + ownerA + `","operator_ids":[1,2,3,6],"cluster_id":"0xc3","status":"active","liquidated":false,"added_block":31,"updated_block":31}]}`
	for name, c := range map[string]*websocket.Conn{"network path": a, "exporter path": b} {
		for _, want := range []string{wantOp, wantVal} {
			got, err := readFrame(t, c, deliveryBound)
			if err != nil {
				t.Fatalf("%s: no change within %v: %v", name, deliveryBound, err)
			}
			if got != want {
				t.Errorf("%s:\n got %s\nwant %s", name, got, want)
			}
		}
	}
}

// TestStreamSlowReaderClosed: a client that never reads falls QueueSize
// behind and is closed with 1008 "too slow: N messages behind", while a
// client that reads gets every message.
func TestStreamSlowReaderClosed(t *testing.T) {
	o := fastStream
	// Room enough that a reading client on a loaded machine never falls a
	// whole queue behind for the grace; the one that never reads does.
	o.QueueSize = 256
	o.SlowGrace = 2 * time.Second
	f := newFixture(t, nil, o)
	slow := dial(t, f.srv, "/stream")
	fast := dial(t, f.srv, "/stream")
	var (
		mu       sync.Mutex
		received int
		fastErr  error
	)
	fastDone := make(chan struct{})
	go func() {
		defer close(fastDone)
		for {
			_, _, err := fast.Read(context.Background())
			mu.Lock()
			if err != nil {
				fastErr = err
				mu.Unlock()
				return
			}
			received++
			mu.Unlock()
		}
	}()
	// Apply changes in rounds until the slow client's socket buffers and
	// queue are full (how much the kernel buffers varies).
	sent := 0
	pad := strings.Repeat("p", 2000) // a large public key makes each frame ~4 KiB
	deadline := time.Now().Add(60 * time.Second)
	for f.h.hub.slowClosed.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the slow client was not closed after %d messages", sent)
		}
		for i := 0; i < 200; i++ {
			sent++
			f.fake.PutOperator(testNet, registry.Operator{ID: uint64(1000 + sent), Owner: ownerA, PublicKey: pad, Fee: "1"})
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The fast client keeps receiving all of it.
	waitFor(t, 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return received == sent || fastErr != nil
	})
	mu.Lock()
	if fastErr != nil || received != sent {
		t.Fatalf("fast client: received %d of %d, err %v", received, sent, fastErr)
	}
	mu.Unlock()
	// The slow client now reads what the kernel buffered, then the close.
	var err error
	n := 0
	for {
		if _, err = readFrame(t, slow, 10*time.Second); err != nil {
			break
		}
		n++
	}
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || !strings.HasPrefix(ce.Reason, "too slow: ") || !strings.HasSuffix(ce.Reason, " messages behind") {
		t.Fatalf("slow client after %d of %d messages: %v; want close 1008 too slow: … messages behind", n, sent, err)
	}
	if n >= sent {
		t.Fatalf("slow client read all %d messages", n)
	}
	t.Logf("%d changes; slow client got %d before %q", sent, n, ce.Reason)
	// The fast client is still served.
	f.fake.PutOperator(testNet, registry.Operator{ID: 999_999, Owner: ownerA, PublicKey: "k", Fee: "1"})
	waitFor(t, deliveryBound, func() bool { mu.Lock(); defer mu.Unlock(); return received == sent+1 })
}

func waitFor(t testing.TB, bound time.Duration, cond func() bool) {
	t.Helper()
	end := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("condition not met within %v", bound)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStreamThousandClients: a change reaches each of 1000 concurrent
// clients within the bound.
func TestStreamThousandClients(t *testing.T) {
	const n = 1000
	f := newFixture(t, nil, fastStream)
	conns := make([]*websocket.Conn, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 50)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(f.srv.URL, "http")+"/stream", nil)
			if err != nil {
				errs <- fmt.Errorf("client %d: dial: %w", i, err)
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	defer func() {
		for _, c := range conns {
			c.CloseNow()
		}
	}()
	start := time.Now()
	f.fake.PutOperator(testNet, registry.Operator{ID: 77, Owner: ownerA, PublicKey: opKey(77), Fee: "1"})
	want := `{"type":"operator","filter":{"from":77,"to":77},`
	got := make(chan error, n)
	for i, c := range conns {
		go func() {
			msg, err := readFrame(t, c, deliveryBound)
			if err == nil && !strings.HasPrefix(msg, want) {
				err = fmt.Errorf("got %s", msg)
			}
			if err != nil {
				err = fmt.Errorf("client %d: %w", i, err)
			}
			got <- err
		}()
	}
	for range conns {
		if err := <-got; err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d clients received the change within %v", n, time.Since(start))
}

// TestStreamPingTimeout: a client that does not answer pings (it never
// reads, so its pongs are never sent) is closed after PingInterval +
// PongTimeout; a client that reads stays connected through many pings.
func TestStreamPingTimeout(t *testing.T) {
	o := fastStream
	o.PingInterval, o.PongTimeout = 50*time.Millisecond, 100*time.Millisecond
	f := newFixture(t, nil, o)
	mute := dial(t, f.srv, "/stream")
	alive := dial(t, f.srv, "/stream")
	aliveErr := make(chan error, 1)
	go func() {
		_, _, err := alive.Read(context.Background())
		aliveErr <- err
	}()
	time.Sleep(time.Second) // 20 ping intervals
	select {
	case err := <-aliveErr:
		t.Fatalf("the client that answers pings was closed: %v", err)
	default:
	}
	_, err := readFrame(t, mute, 10*time.Second)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != "ping timeout" {
		t.Fatalf("the client that never answered: %v; want close 1008 ping timeout", err)
	}
	// The live one still gets changes.
	f.fake.PutOperator(testNet, registry.Operator{ID: 88, Owner: ownerA, PublicKey: "k", Fee: "1"})
	if err := <-aliveErr; err != nil {
		t.Fatalf("live client: %v", err)
	}
}

// TestStreamClientFrameCap: a client frame above StreamMaxBytes (1024, the
// exporter's) closes the connection with 1009 and a reason saying the
// bound; frames up to it are read and dropped.
func TestStreamClientFrameCap(t *testing.T) {
	f := newFixture(t, nil, fastStream)
	c := dial(t, f.srv, "/stream")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(strings.Repeat("x", 1024))); err != nil {
		t.Fatal(err)
	}
	f.fake.PutOperator(testNet, registry.Operator{ID: 99, Owner: ownerA, PublicKey: "k", Fee: "1"})
	if msg, err := readFrame(t, c, deliveryBound); err != nil || !strings.Contains(msg, `"from":99`) {
		t.Fatalf("after a 1024-byte frame: %q %v", msg, err)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte(strings.Repeat("x", 1025))); err != nil {
		t.Fatal(err)
	}
	_, err := readFrame(t, c, 10*time.Second)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusMessageTooBig || ce.Reason != "message too big: a /stream frame is at most 1024 bytes" {
		t.Fatalf("after a 1025-byte frame: %v; want close 1009 \"message too big: a /stream frame is at most 1024 bytes\"", err)
	}
	// A frame far above the bound (1 MiB) is not read whole: the same close.
	c2 := dial(t, f.srv, "/stream")
	_ = c2.Write(ctx, websocket.MessageText, []byte(strings.Repeat("x", 1<<20)))
	_, err = readFrame(t, c2, 10*time.Second)
	if !errors.As(err, &ce) || ce.Code != websocket.StatusMessageTooBig || ce.Reason != "message too big: a /stream frame is at most 1024 bytes" {
		t.Fatalf("after a 1 MiB frame: %v; want close 1009 with the bound", err)
	}
}

// TestStreamPollerStops: the network's poller stops when its last client
// leaves, and a new client starts another.
func TestStreamPollerStops(t *testing.T) {
	o := fastStream
	o.StreamIdle = 50 * time.Millisecond
	f := newFixture(t, nil, o)
	c := dial(t, f.srv, "/stream")
	waitFor(t, deliveryBound, func() bool { return f.h.hub.polls.Load() > 0 })
	c.Close(websocket.StatusNormalClosure, "")
	waitFor(t, deliveryBound, func() bool {
		f.h.hub.mu.Lock()
		defer f.h.hub.mu.Unlock()
		return len(f.h.hub.nets) == 0
	})
	p := f.h.hub.polls.Load()
	time.Sleep(100 * time.Millisecond)
	if d := f.h.hub.polls.Load() - p; d > 1 {
		t.Fatalf("%d polls after the last client left", d)
	}
	c2 := dial(t, f.srv, "/stream")
	f.fake.PutOperator(testNet, registry.Operator{ID: 100, Owner: ownerA, PublicKey: "k", Fee: "1"})
	if msg, err := readFrame(t, c2, deliveryBound); err != nil || !strings.Contains(msg, `"from":100`) {
		t.Fatalf("new client: %q %v", msg, err)
	}
}
