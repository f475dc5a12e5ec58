package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/valtrack/valtrack/internal/ssv/registry"
	"github.com/valtrack/valtrack/internal/ssv/registry/registrytest"
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

// behindMost is how many messages the furthest-behind client of the
// network's stream is behind.
func (hb *hub) behindMost(network string) uint64 {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	ns := hb.nets[network]
	if ns == nil {
		return 0
	}
	var most uint64
	for s := range ns.subs {
		most = max(most, ns.total-s.next)
	}
	return most
}

// TestStreamSlowReaderClosed: a client that stops reading never holds up
// the others. Changes are applied one at a time, each once the reading
// client has the previous one, so a slow client falls behind only when
// its connection is full. It falls more than a queue behind, and the
// reading client then still receives every further change — more than a
// queue's worth — while the slow one stays open (nothing waits for it, and
// it is closed when it next tries to catch up): what it was sent before
// it stopped, then close 1008 "too slow: N messages behind".
func TestStreamSlowReaderClosed(t *testing.T) {
	o := fastStream
	o.QueueSize = 16
	o.WriteTimeout = 5 * time.Minute // the slow client's blocked write does not time out during the test
	f := newFixture(t, nil, o)
	slow := dial(t, f.srv, "/stream")
	fast := dial(t, f.srv, "/stream")
	received := make(chan string, 1)
	go func() {
		for {
			_, b, err := fast.Read(context.Background())
			if err != nil {
				close(received)
				return
			}
			received <- string(b)
		}
	}()
	pad := strings.Repeat("p", 64<<10) // 64 KiB frames fill the slow client's socket buffers soon
	sent := 0
	apply := func() {
		t.Helper()
		sent++
		id := uint64(1000 + sent)
		f.fake.PutOperator(testNet, registry.Operator{ID: id, Owner: ownerA, PublicKey: pad, Fee: "1"})
		select {
		case msg, ok := <-received:
			if !ok || !strings.Contains(msg, fmt.Sprintf(`"from":%d,`, id)) {
				t.Fatalf("reading client, change %d: got %.60q (open %v)", sent, msg, ok)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("reading client did not get change %d (the slow one is %d behind): the fan-out waits", sent, f.h.hub.behindMost(testNet))
		}
	}
	for f.h.hub.behindMost(testNet) <= uint64(o.QueueSize) {
		if sent > 10000 {
			t.Fatalf("after %d changes of 64 KiB the client that does not read is not behind", sent)
		}
		apply()
	}
	behindAt := sent
	for range 4 * o.QueueSize {
		apply()
	}
	if n := f.h.hub.slowClosed.Load(); n != 0 {
		t.Fatalf("%d clients closed while the slow one's write is blocked", n)
	}
	t.Logf("the slow client fell more than %d behind at change %d; the reading client received %d more while it was open", o.QueueSize, behindAt, sent-behindAt)
	// The slow client reads at last: what the connection held, then the close.
	var err error
	n := 0
	for {
		if _, err = readFrame(t, slow, 30*time.Second); err != nil {
			break
		}
		n++
	}
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || !strings.HasPrefix(ce.Reason, "too slow: ") || !strings.HasSuffix(ce.Reason, " messages behind") {
		t.Fatalf("slow client after %d of %d messages: %v; want close 1008 too slow: … messages behind", n, sent, err)
	}
	if n >= behindAt {
		t.Fatalf("slow client read %d messages, but it fell behind at %d", n, behindAt)
	}
	if f.h.hub.slowClosed.Load() != 1 {
		t.Fatalf("slow clients closed: %d, want 1", f.h.hub.slowClosed.Load())
	}
	// The reading client is still served.
	apply()
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

// TestStreamBacklog: the hub's backlog of one network, without sockets. A
// client that joins gets the held messages after its starting seq (as far
// back as the backlog goes); fan-out returns at once whoever has not read;
// a client more than QueueSize behind is told how far, and nothing more.
func TestStreamBacklog(t *testing.T) {
	hb := newHub(registrytest.New(), nil, Options{QueueSize: 4}.withDefaults())
	ns := &netStream{subs: map[*subscriber]struct{}{}, ring: make([]seqMsg, 4), wake: make(chan struct{})}
	hb.nets[testNet] = ns
	msg := func(seq uint64) []byte { return []byte(fmt.Sprint(seq)) }
	for seq := uint64(1); seq <= 6; seq++ {
		hb.fanout(ns, seq, msg(seq))
	}
	hb.fanout(ns, 7, nil) // a change with no message moves the position only
	got := func(s *subscriber) string {
		msgs, _, behind, ok := hb.pending(s)
		if !ok {
			return fmt.Sprintf("too slow: %d behind", behind)
		}
		return string(bytes.Join(msgs, []byte(",")))
	}
	for _, tc := range []struct {
		from uint64
		want string
	}{{0, "3,4,5,6"}, {3, "4,5,6"}, {6, ""}, {7, ""}} {
		s, leave := hb.join(testNet, tc.from)
		if g := got(s); g != tc.want {
			t.Errorf("joined after %d: %q, want %q", tc.from, g, tc.want)
		}
		leave()
	}
	reader, leave := hb.join(testNet, 7)
	defer leave()
	idle, leave2 := hb.join(testNet, 7)
	defer leave2()
	for seq := uint64(8); seq <= 12; seq++ {
		hb.fanout(ns, seq, msg(seq))
		if g := got(reader); g != fmt.Sprint(seq) {
			t.Fatalf("reading client after %d: %q", seq, g)
		}
	}
	if g := got(idle); g != "too slow: 5 behind" {
		t.Errorf("client that did not read 5 messages with a backlog of 4: %q", g)
	}
}

// TestStreamSendsRemovals: an operator and a validator that a reorg's
// rebuild took out of the registry reach the clients as removals, in the
// exporter's shape (docs/ssv.md), after the messages that announced them.
func TestStreamSendsRemovals(t *testing.T) {
	f := newFixture(t, nil, fastStream)
	c := dial(t, f.srv, "/api/v1/ssv/"+testNet+"/stream")
	next := func(wantPrefix string) {
		t.Helper()
		m, err := readFrame(t, c, deliveryBound)
		if err != nil {
			t.Fatalf("waiting for %s: %v", wantPrefix, err)
		}
		if !strings.HasPrefix(m, wantPrefix) {
			t.Fatalf("got %s\nwant %s…", m, wantPrefix)
		}
	}
	// Each change is read once the previous message is in: a change is
	// sent with the item as the registry holds it when it is read.
	f.fake.PutOperator(testNet, registry.Operator{ID: 6, Owner: ownerA, PublicKey: opKey(6), Fee: "7", AddedBlock: 30, UpdatedBlock: 30})
	next(`{"type":"operator","filter":{"from":6,"to":6},"data":[{"publicKey":"` + opKey(6) + `"`)
	f.fake.PutValidator(testNet, registry.Validator{Index: 5, PublicKey: keyZ, Owner: ownerA, OperatorIDs: []uint64{1, 2, 3, 6}, ClusterID: "0xc3", Status: registry.StatusActive, AddedBlock: 31, UpdatedBlock: 31})
	next(`{"type":"validator","filter":{"from":5,"to":5},"data":[{"publicKey":"` + strings.Repeat("cc", 48) + `"`)
	f.fake.DropValidator(testNet, 5)
	next(`{"type":"validator","filter":{"from":5,"to":5},"data":[{"index":5,"status":"removed","gone":true}]}`)
	f.fake.DropOperator(testNet, 6)
	next(`{"type":"operator","filter":{"from":6,"to":6},"data":[{"index":6,"id":6,"removed":true,"gone":true}]}`)
}

// flakyReader fails reading operator failID while fails is above zero
// (the store busy), counting down once per read.
type flakyReader struct {
	*registrytest.Fake
	failID uint64
	fails  atomic.Int32
}

func (r *flakyReader) Operator(ctx context.Context, network string, id uint64) (*registry.Operator, error) {
	if id == r.failID && r.fails.Add(-1) >= 0 {
		return nil, errors.New("database is locked")
	}
	return r.Fake.Operator(ctx, network, id)
}

// TestStreamRetriesReadError: a changed item the store fails to read is
// read again at the next poll, and sent, before the changes after it —
// not skipped for good.
func TestStreamRetriesReadError(t *testing.T) {
	fake := registrytest.New()
	fillRegistry(fake, testNet)
	r := &flakyReader{Fake: fake, failID: 6}
	f := newFixtureWith(t, r, nil, fastStream)
	c := dial(t, f.srv, "/api/v1/ssv/"+testNet+"/stream")
	r.fails.Store(3)
	fake.PutOperator(testNet, registry.Operator{ID: 6, Owner: ownerA, PublicKey: opKey(6), Fee: "7"})
	fake.PutOperator(testNet, registry.Operator{ID: 7, Owner: ownerA, PublicKey: opKey(7), Fee: "8"})
	for _, id := range []string{"6", "7"} {
		m, err := readFrame(t, c, deliveryBound)
		if err != nil {
			t.Fatalf("operator %s not sent: %v", id, err)
		}
		if want := `{"type":"operator","filter":{"from":` + id + `,"to":` + id + `}`; !strings.HasPrefix(m, want) {
			t.Fatalf("got %s, want operator %s", m, id)
		}
	}
	if r.fails.Load() >= 0 {
		t.Fatalf("the failing read was tried %d times, want 4", 3-r.fails.Load())
	}
	if !strings.Contains(f.log.String(), "retrying at the next poll") {
		t.Fatalf("the read error is not logged:\n%s", f.log.String())
	}
}
