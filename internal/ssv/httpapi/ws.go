package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/ssv/exporter"
	"github.com/valtrack/valtrack/internal/ssv/registry"
)

// serveQuery is the exporter's /query: one reply per request frame, on the
// same connection, until the client closes. A frame above QueryMaxBytes
// closes the connection with 1009 and a reason saying the bound.
func (h *handlers) serveQuery(ctx context.Context, conn *websocket.Conn, r *http.Request, _ api.Caller) error {
	network := r.PathValue("network")
	limit := h.o.QueryMaxBytes
	for {
		_, rd, err := conn.Reader(ctx)
		if err != nil {
			return closedOK(err)
		}
		buf, err := io.ReadAll(io.LimitReader(rd, limit+1))
		if err != nil {
			return closedOK(err)
		}
		if int64(len(buf)) > limit {
			return conn.Close(websocket.StatusMessageTooBig, fmt.Sprintf("message too big: a /query request is at most %d bytes", limit))
		}
		qctx, cancel := context.WithTimeout(ctx, h.rt.QueryTimeout())
		reply, qerr := h.q.Reply(qctx, network, buf)
		cancel()
		if qerr != nil {
			h.rt.Log().Error("SSV /query failed", "network", network, "err", qerr)
		}
		if reply == nil {
			return qerr
		}
		wctx, cancel := context.WithTimeout(ctx, h.o.WriteTimeout)
		err = conn.Write(wctx, websocket.MessageText, reply)
		cancel()
		if err != nil {
			return closedOK(err)
		}
	}
}

// closedOK: a connection the client closed (or that went away) ends the
// handler without an error to log.
func closedOK(err error) error {
	if websocket.CloseStatus(err) != -1 || errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// errStreamTooBig: a /stream client sent a frame over StreamMaxBytes.
var errStreamTooBig = errors.New("/stream client frame too big")

// serveStream is the exporter's /stream: every registry change of the
// network, pushed as it is applied. The client's frames are read (so that
// pongs are) and dropped; one above StreamMaxBytes closes the connection
// with 1009 and a reason saying the bound. The route's read limit is one
// byte more, so that it is this check, not the library's ("read limited
// at N+1 bytes"), that answers.
func (h *handlers) serveStream(ctx context.Context, conn *websocket.Conn, r *http.Request, _ api.Caller) error {
	from, _ := strconv.ParseUint(r.PathValue(streamFromKey), 10, 64)
	sub, leave := h.hub.join(r.PathValue("network"), from)
	defer leave()
	limit := h.o.StreamMaxBytes
	readDone := make(chan error, 1)
	go func() {
		for {
			_, rd, err := conn.Reader(ctx)
			if err != nil {
				readDone <- err
				return
			}
			n, err := io.Copy(io.Discard, io.LimitReader(rd, limit+1))
			if err != nil {
				readDone <- err
				return
			}
			if n > limit {
				readDone <- errStreamTooBig
				return
			}
		}
	}()
	for {
		// Everything queued for this client since its last round, or, when
		// the backlog no longer holds its next message, the close: the
		// fan-out never waits for a client, so one too far behind has
		// missed messages and must start again.
		msgs, wake, behind, ok := h.hub.pending(sub)
		if !ok {
			h.hub.slowClosed.Add(1)
			return conn.Close(websocket.StatusPolicyViolation, fmt.Sprintf("too slow: %d messages behind", behind))
		}
		for _, msg := range msgs {
			wctx, cancel := context.WithTimeout(ctx, h.o.WriteTimeout)
			err := conn.Write(wctx, websocket.MessageText, msg)
			cancel()
			if err != nil {
				return closedOK(err)
			}
		}
		readEnd := func(err error) error {
			if errors.Is(err, errStreamTooBig) {
				return conn.Close(websocket.StatusMessageTooBig, fmt.Sprintf("message too big: a /stream frame is at most %d bytes", limit))
			}
			return closedOK(err)
		}
		if len(msgs) > 0 {
			// More may have come during the writes; a client that is sent
			// to all the time is still heard.
			select {
			case err := <-readDone:
				return readEnd(err)
			default:
			}
			continue
		}
		select {
		case err := <-readDone:
			return readEnd(err)
		case <-ctx.Done():
			return nil
		case <-wake:
		}
	}
}

// hub runs one poller per network with /stream clients. The poller
// appends each change message to the network's backlog, a ring of the last
// QueueSize messages shared by its clients, and wakes them; each client's
// handler sends from its own position in it. The fan-out thus never waits
// for a client, however slow: a client that falls more than QueueSize
// messages behind finds its next message gone and is closed as too slow.
// A network's poller starts with its first client, from the registry's last
// change, and stops once it has had no client for StreamIdle. A client gets
// every change applied after its upgrade was accepted (the poller's
// position then), even one fanned out before its handler joined.
type hub struct {
	r   registry.Reader
	log *slog.Logger
	o   Options

	mu   sync.Mutex
	nets map[string]*netStream

	slowClosed atomic.Int64 // clients closed as too slow (tests read it)
	polls      atomic.Int64 // poll rounds (tests read it)
}

type netStream struct {
	subs   map[*subscriber]struct{}
	ready  chan struct{} // closed once the poller has its starting point
	cursor uint64        // seq of the last change fanned out
	// ring holds the last QueueSize messages: message number n (counted
	// from the poller's start) is ring[n % QueueSize]; total is how many
	// were appended.
	ring   []seqMsg
	total  uint64
	wake   chan struct{} // closed, and replaced, when a message is appended
	idleAt time.Time     // when the last client left (zero: has clients)
}

type seqMsg struct {
	seq uint64
	msg []byte
}

// subscriber is one /stream client's place in its network's backlog.
type subscriber struct {
	ns   *netStream
	next uint64 // number of the next message to send it
}

func newHub(r registry.Reader, log *slog.Logger, o Options) *hub {
	return &hub{r: r, log: log, o: o, nets: map[string]*netStream{}}
}

// start makes sure the network's poller runs and knows where it starts,
// and returns its position: the client about to be upgraded gets every
// change after it.
func (hb *hub) start(network string) (uint64, error) {
	hb.mu.Lock()
	ns := hb.nets[network]
	if ns == nil {
		ns = &netStream{subs: map[*subscriber]struct{}{}, ready: make(chan struct{}), idleAt: time.Now(),
			ring: make([]seqMsg, hb.o.QueueSize), wake: make(chan struct{})}
		hb.nets[network] = ns
		go hb.poll(network, ns)
	}
	hb.mu.Unlock()
	select {
	case <-ns.ready:
	case <-time.After(hb.o.WriteTimeout):
		return 0, fmt.Errorf("the registry of %s did not say its last change within %v", network, hb.o.WriteTimeout)
	}
	hb.mu.Lock()
	defer hb.mu.Unlock()
	return ns.cursor, nil
}

// join subscribes to a network's changes after seq from; leave unsubscribes.
func (hb *hub) join(network string, from uint64) (*subscriber, func()) {
	hb.mu.Lock()
	ns := hb.nets[network]
	if ns == nil {
		// The poller went idle between start and join (StreamIdle is far
		// longer than an upgrade, so this is rare): start another.
		hb.mu.Unlock()
		from, _ = hb.start(network)
		hb.mu.Lock()
		ns = hb.nets[network]
	}
	if ns == nil {
		// Still none (the registry does not answer): a stream of nothing,
		// as its poller would have been.
		ns = &netStream{subs: map[*subscriber]struct{}{}, ring: make([]seqMsg, hb.o.QueueSize), wake: make(chan struct{})}
	}
	s := &subscriber{ns: ns, next: ns.total}
	// Back over the backlog's messages after from (it is in seq order).
	for held := min(ns.total, uint64(len(ns.ring))); s.next > ns.total-held && ns.ring[(s.next-1)%uint64(len(ns.ring))].seq > from; {
		s.next--
	}
	ns.subs[s] = struct{}{}
	ns.idleAt = time.Time{}
	hb.mu.Unlock()
	return s, func() {
		hb.mu.Lock()
		defer hb.mu.Unlock()
		delete(ns.subs, s)
		if len(ns.subs) == 0 {
			ns.idleAt = time.Now()
		}
	}
}

// pending returns the messages for s since its last call, and the channel
// closed when more come. ok is false when s is more than the backlog
// behind (behind says how far): its next message is gone.
func (hb *hub) pending(s *subscriber) (msgs [][]byte, wake <-chan struct{}, behind uint64, ok bool) {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	ns := s.ns
	behind = ns.total - s.next
	if behind > uint64(len(ns.ring)) {
		return nil, nil, behind, false
	}
	for ; s.next < ns.total; s.next++ {
		msgs = append(msgs, ns.ring[s.next%uint64(len(ns.ring))].msg)
	}
	return msgs, ns.wake, 0, true
}

// idle reports (and, if so, ends) a poller that has had no client for
// StreamIdle.
func (hb *hub) idle(network string, ns *netStream) bool {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	if len(ns.subs) > 0 || ns.idleAt.IsZero() || time.Since(ns.idleAt) < hb.o.StreamIdle {
		return false
	}
	if hb.nets[network] == ns {
		delete(hb.nets, network)
	}
	return true
}

// poll reads the network's changes after the last one at its start and
// fans them out until it is idle. Store errors are logged and retried at
// the next interval.
func (hb *hub) poll(network string, ns *netStream) {
	ctx := context.Background()
	t := time.NewTicker(hb.o.PollInterval)
	defer t.Stop()
	for {
		qctx, cancel := context.WithTimeout(ctx, hb.o.WriteTimeout)
		c, err := hb.r.LastChange(qctx, network)
		cancel()
		if err == nil {
			hb.mu.Lock()
			ns.cursor = c
			hb.mu.Unlock()
			break
		}
		hb.log.Warn("SSV /stream: read the last change", "network", network, "err", err)
		<-t.C
		if hb.idle(network, ns) {
			return
		}
	}
	close(ns.ready)
	loggedErr, loggedRead := false, false
	for range t.C {
		if hb.idle(network, ns) {
			return
		}
		for {
			hb.polls.Add(1)
			hb.mu.Lock()
			cursor := ns.cursor
			hb.mu.Unlock()
			qctx, cancel := context.WithTimeout(ctx, hb.o.WriteTimeout)
			changes, err := hb.r.ChangesAfter(qctx, network, cursor, hb.o.PollBatch)
			cancel()
			if err != nil {
				if !loggedErr {
					hb.log.Warn("SSV /stream: read changes", "network", network, "after", cursor, "err", err)
					loggedErr = true
				}
				break
			}
			loggedErr = false
			failed := false
			for _, c := range changes {
				if c.Seq <= cursor {
					continue
				}
				qctx, cancel := context.WithTimeout(ctx, hb.o.WriteTimeout)
				msg, ok, err := exporter.StreamMessage(qctx, hb.r, network, c)
				cancel()
				if err != nil {
					// The store failed to read the item (busy or down): the
					// poller stays before this change and reads it again at
					// the next interval. Moving past it would lose it for
					// every client for good.
					if !loggedRead {
						hb.log.Warn("SSV /stream: read a changed item; retrying at the next poll", "network", network, "seq", c.Seq, "kind", c.Kind, "id", c.ID, "err", err)
						loggedRead = true
					}
					failed = true
					break
				}
				loggedRead = false
				cursor = c.Seq
				if !ok {
					msg = nil
				}
				hb.fanout(ns, c.Seq, msg)
			}
			if failed || len(changes) < hb.o.PollBatch {
				break
			}
		}
	}
}

// fanout advances the network's position to seq and appends msg (unless
// nil) to its backlog, waking its clients. It never waits for one: each
// sends from the backlog at its own pace (pending).
func (hb *hub) fanout(ns *netStream, seq uint64, msg []byte) {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	ns.cursor = seq
	if msg == nil {
		return
	}
	ns.ring[ns.total%uint64(len(ns.ring))] = seqMsg{seq, msg}
	ns.total++
	close(ns.wake)
	ns.wake = make(chan struct{})
}
