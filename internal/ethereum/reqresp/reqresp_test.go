package reqresp

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
)

// testWait bounds every wait in these tests so a bug fails instead of hanging.
const testWait = 10 * time.Second

func newHost(t *testing.T) host.Host {
	t.Helper()
	h, err := libp2p.New(
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.DisableRelay(),
	)
	if err != nil {
		t.Fatalf("new libp2p host: %v", err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

func connect(t *testing.T, from, to host.Host) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	if err := from.Connect(ctx, peer.AddrInfo{ID: to.ID(), Addrs: to.Addrs()}); err != nil {
		t.Fatalf("connect: %v", err)
	}
}

type statusEvent struct {
	from    peer.ID
	status  Status
	version int
}

// testHandler records what peers sent; block, when set, holds LocalStatus
// until closed (entered is signalled first).
type testHandler struct {
	status   Status
	metadata MetaData
	statuses chan statusEvent
	pings    chan uint64
	goodbyes chan uint64
	entered  chan struct{}
	block    chan struct{}
}

func newTestHandler(seed byte) *testHandler {
	st := sampleStatus()
	st.ForkDigest[0] = seed
	st.HeadSlot += uint64(seed)
	return &testHandler{
		status:   st,
		metadata: MetaData{SeqNumber: uint64(seed) + 10, Attnets: [8]byte{seed, 1}, Syncnets: 0x3, CustodyGroupCount: 4 + uint64(seed)},
		statuses: make(chan statusEvent, 16),
		pings:    make(chan uint64, 16),
		goodbyes: make(chan uint64, 16),
	}
}

func (h *testHandler) LocalStatus() Status {
	if h.block != nil {
		h.entered <- struct{}{}
		<-h.block
	}
	return h.status
}
func (h *testHandler) LocalMetaData() MetaData { return h.metadata }
func (h *testHandler) OnStatus(p peer.ID, s Status, v int) {
	h.statuses <- statusEvent{p, s, v}
}
func (h *testHandler) OnPing(_ peer.ID, seq uint64)       { h.pings <- seq }
func (h *testHandler) OnGoodbye(_ peer.ID, reason uint64) { h.goodbyes <- reason }

func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testWait):
		t.Fatal("handler was not called")
	}
	var zero T
	return zero
}

func shortOpts() Options {
	return Options{TTFBTimeout: 2 * time.Second, RespTimeout: 2 * time.Second}
}

func TestStatusBothWaysBothVersions(t *testing.T) {
	for _, version := range []int{1, 2} {
		a, b := newHost(t), newHost(t)
		ha, hb := newTestHandler(1), newTestHandler(2)
		Register(a, ha, shortOpts())
		Register(b, hb, shortOpts())
		if version == 1 {
			// Before connecting, so identify never advertises status/2.
			a.RemoveStreamHandler(ProtocolStatusV2)
			b.RemoveStreamHandler(ProtocolStatusV2)
		}
		connect(t, a, b)
		ctx := context.Background()
		for _, dir := range []struct {
			from, to   host.Host
			fromH, toH *testHandler
		}{{a, b, ha, hb}, {b, a, hb, ha}} {
			c := &Client{Host: dir.from, Opts: shortOpts()}
			theirs, v, err := c.Status(ctx, dir.to.ID(), dir.fromH.status)
			if err != nil {
				t.Fatalf("v%d status: %v", version, err)
			}
			want := dir.toH.status
			sent := dir.fromH.status
			if version == 1 {
				want.EarliestAvailableSlot, sent.EarliestAvailableSlot = 0, 0
			}
			if v != version || theirs != want {
				t.Fatalf("v%d: got version %d status %+v, want %+v", version, v, theirs, want)
			}
			ev := recv(t, dir.toH.statuses)
			if ev.from != dir.from.ID() || ev.version != version || ev.status != sent {
				t.Fatalf("v%d: server saw %+v, want status %+v from %s", version, ev, sent, dir.from.ID())
			}
		}
	}
}

func TestMetaDataV3AndV2OnlyServer(t *testing.T) {
	client := newHost(t)
	full, v2only := newHost(t), newHost(t)
	hf, h2 := newTestHandler(3), newTestHandler(4)
	Register(full, hf, shortOpts())
	Register(v2only, h2, shortOpts())
	v2only.RemoveStreamHandler(ProtocolMetaDataV3)
	connect(t, client, full)
	connect(t, client, v2only)
	c := &Client{Host: client, Opts: shortOpts()}

	m, v, err := c.MetaData(context.Background(), full.ID())
	if err != nil || v != 3 || m != hf.metadata {
		t.Fatalf("v3: got %+v v%d err %v, want %+v", m, v, err, hf.metadata)
	}
	m, v, err = c.MetaData(context.Background(), v2only.ID())
	want := h2.metadata
	want.CustodyGroupCount = 0
	if err != nil || v != 2 || m != want {
		t.Fatalf("v2: got %+v v%d err %v, want %+v", m, v, err, want)
	}
}

func TestPingAndGoodbye(t *testing.T) {
	a, b := newHost(t), newHost(t)
	hb := newTestHandler(5)
	Register(b, hb, shortOpts())
	connect(t, a, b)
	c := &Client{Host: a, Opts: shortOpts()}
	seq, err := c.Ping(context.Background(), b.ID(), 77)
	if err != nil || seq != hb.metadata.SeqNumber {
		t.Fatalf("ping: got %d err %v, want %d", seq, err, hb.metadata.SeqNumber)
	}
	if got := recv(t, hb.pings); got != 77 {
		t.Fatalf("server saw ping seq %d, want 77", got)
	}
	if err := c.Goodbye(context.Background(), b.ID(), GoodbyeTooManyPeers); err != nil {
		t.Fatalf("goodbye: %v", err)
	}
	if got := recv(t, hb.goodbyes); got != GoodbyeTooManyPeers {
		t.Fatalf("server saw goodbye reason %d, want %d", got, GoodbyeTooManyPeers)
	}
}

func TestStallingPeerTimesOutWhileOthersAnswer(t *testing.T) {
	client, good, staller := newHost(t), newHost(t), newHost(t)
	hg := newTestHandler(6)
	Register(good, hg, shortOpts())
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	for _, pid := range Protocols() {
		staller.SetStreamHandler(pid, func(s network.Stream) {
			<-release // accepts the stream, never answers
			_ = s.Reset()
		})
	}
	connect(t, client, good)
	connect(t, client, staller)
	c := &Client{Host: client, Opts: Options{TTFBTimeout: 300 * time.Millisecond, RespTimeout: 300 * time.Millisecond}}

	var wg sync.WaitGroup
	var stallErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _, stallErr = c.Status(context.Background(), staller.ID(), hg.status)
	}()
	theirs, _, err := c.Status(context.Background(), good.ID(), hg.status)
	if err != nil || theirs != hg.status {
		t.Fatalf("well-behaved peer: %v", err)
	}
	wg.Wait()
	if !errors.Is(stallErr, ErrTimeout) {
		t.Fatalf("stalling peer: err %v, want ErrTimeout", stallErr)
	}
}

func TestMisbehavingResponders(t *testing.T) {
	cases := []struct {
		name  string
		write func(s network.Stream)
		check func(t *testing.T, err error)
	}{
		{"garbage", func(s network.Stream) {
			_, _ = s.Write([]byte{CodeSuccess, StatusV2Size, 'n', 'o', 't', ' ', 's', 'n', 'a', 'p', 'p', 'y'})
		}, func(t *testing.T, err error) {
			if !errors.Is(err, ErrEncoding) {
				t.Fatalf("err %v, want ErrEncoding", err)
			}
		}},
		{"oversized length", func(s network.Stream) {
			_, _ = s.Write([]byte{CodeSuccess, 0x80, 0x80, 0x80, 0x05}) // 10 MiB
		}, func(t *testing.T, err error) {
			if !errors.Is(err, ErrLength) {
				t.Fatalf("err %v, want ErrLength", err)
			}
		}},
		{"error code", func(s network.Stream) {
			_ = WriteResponseChunk(s, CodeResourceUnavailable, []byte("no status for you\x00"))
		}, func(t *testing.T, err error) {
			var re *ResponseError
			if !errors.As(err, &re) || re.Code != CodeResourceUnavailable || re.Message != "no status for you?" {
				t.Fatalf("err %v, want ResponseError code 3", err)
			}
		}},
		{"closed without answer", func(s network.Stream) {}, func(t *testing.T, err error) {
			if !errors.Is(err, ErrEncoding) {
				t.Fatalf("err %v, want ErrEncoding", err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client, bad := newHost(t), newHost(t)
			bad.SetStreamHandler(ProtocolStatusV2, func(s network.Stream) {
				_, _ = io.Copy(io.Discard, io.LimitReader(s, 1024))
				tc.write(s)
				_ = s.Close()
			})
			connect(t, client, bad)
			c := &Client{Host: client, Opts: shortOpts()}
			_, _, err := c.Status(context.Background(), bad.ID(), sampleStatus())
			tc.check(t, err)
		})
	}
}

func TestServerAnswersInvalidRequest(t *testing.T) {
	client, server := newHost(t), newHost(t)
	Register(server, newTestHandler(7), shortOpts())
	connect(t, client, server)
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	s, err := client.NewStream(ctx, server.ID(), protocol.ID(ProtocolStatusV1))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(testWait))
	if err := WriteRequest(s, make([]byte, 10)); err != nil { // 10 is no Status size
		t.Fatal(err)
	}
	_ = s.CloseWrite()
	code, msg, err := ReadResponseChunk(s, StatusV1Size, StatusV1Size)
	if err != nil || code != CodeInvalidRequest || len(msg) == 0 {
		t.Fatalf("got code %d msg %q err %v, want invalid request", code, msg, err)
	}
}

func TestServerLimitsConcurrentStreamsPerPeer(t *testing.T) {
	client, server := newHost(t), newHost(t)
	hs := newTestHandler(8)
	hs.entered = make(chan struct{}, 8)
	hs.block = make(chan struct{})
	opts := Options{TTFBTimeout: testWait, RespTimeout: testWait, MaxConcurrentPerPeer: 2}
	Register(server, hs, opts)
	connect(t, client, server)
	c := &Client{Host: client, Opts: opts}

	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, _, err := c.Status(context.Background(), server.ID(), hs.status)
			errs <- err
		}()
	}
	recv(t, hs.entered)
	recv(t, hs.entered)
	// Both slots are held: the next stream is reset.
	if _, _, err := c.Status(context.Background(), server.ID(), hs.status); err == nil {
		t.Fatal("third concurrent stream was served")
	}
	close(hs.block)
	for range 2 {
		if err := recv(t, errs); err != nil {
			t.Fatalf("held request failed: %v", err)
		}
	}
	// Slots are released afterwards.
	if _, _, err := c.Status(context.Background(), server.ID(), hs.status); err != nil {
		t.Fatalf("after release: %v", err)
	}
}

func TestUnregisterStopsServing(t *testing.T) {
	client, server := newHost(t), newHost(t)
	Register(server, newTestHandler(9), shortOpts())
	Unregister(server)
	connect(t, client, server)
	c := &Client{Host: client, Opts: shortOpts()}
	if _, err := c.Ping(context.Background(), server.ID(), 1); err == nil {
		t.Fatal("ping served after Unregister")
	}
}
