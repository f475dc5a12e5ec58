package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
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

// serveStream is the exporter's /stream: every registry change of the
// network, pushed as it is applied. The client's frames are read (so that
// pongs are) and dropped.
func (h *handlers) serveStream(ctx context.Context, conn *websocket.Conn, r *http.Request, _ api.Caller) error {
	sub, leave := h.hub.join(r.PathValue("network"))
	defer leave()
	readDone := make(chan error, 1)
	go func() {
		for {
			_, rd, err := conn.Reader(ctx)
			if err != nil {
				readDone <- err
				return
			}
			if _, err := io.Copy(io.Discard, rd); err != nil {
				readDone <- err
				return
			}
		}
	}()
	for {
		// A client found too slow is closed before anything else is sent.
		select {
		case <-sub.slow:
			return conn.Close(websocket.StatusPolicyViolation, sub.reason)
		default:
		}
		select {
		case <-sub.slow:
			return conn.Close(websocket.StatusPolicyViolation, sub.reason)
		case err := <-readDone:
			return closedOK(err)
		case <-ctx.Done():
			return nil
		case msg := <-sub.q:
			wctx, cancel := context.WithTimeout(ctx, h.o.WriteTimeout)
			err := conn.Write(wctx, websocket.MessageText, msg)
			cancel()
			if err != nil {
				return closedOK(err)
			}
		}
	}
}

// hub runs one poller per network with /stream clients, fanning each
// change message out to every client's queue.
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
	cancel context.CancelFunc
	ready  chan struct{} // closed once the poller has its starting point
}

type subscriber struct {
	q      chan []byte
	slow   chan struct{} // closed when the client fell QueueSize behind
	reason string        // set before slow is closed
	once   sync.Once
}

func newHub(r registry.Reader, log *slog.Logger, o Options) *hub {
	return &hub{r: r, log: log, o: o, nets: map[string]*netStream{}}
}

// join subscribes to a network's changes, starting its poller for the first
// client; leave stops the poller with the last. join returns once the
// poller knows where it starts (or has given up waiting for the store), so
// that a change applied after join is delivered.
func (hb *hub) join(network string) (*subscriber, func()) {
	s := &subscriber{q: make(chan []byte, hb.o.QueueSize), slow: make(chan struct{})}
	hb.mu.Lock()
	ns := hb.nets[network]
	if ns == nil {
		ctx, cancel := context.WithCancel(context.Background())
		ns = &netStream{subs: map[*subscriber]struct{}{}, cancel: cancel, ready: make(chan struct{})}
		hb.nets[network] = ns
		go hb.poll(ctx, network, ns)
	}
	ns.subs[s] = struct{}{}
	hb.mu.Unlock()
	select {
	case <-ns.ready:
	case <-time.After(5 * time.Second):
	}
	return s, func() {
		hb.mu.Lock()
		defer hb.mu.Unlock()
		delete(ns.subs, s)
		if len(ns.subs) == 0 && hb.nets[network] == ns {
			ns.cancel()
			delete(hb.nets, network)
		}
	}
}

// poll reads the network's changes after the last one at its start and
// fans them out until ctx ends. Store errors are logged and retried at the
// next interval.
func (hb *hub) poll(ctx context.Context, network string, ns *netStream) {
	var cursor uint64
	for {
		c, err := hb.r.LastChange(ctx, network)
		if err == nil {
			cursor = c
			break
		}
		hb.log.Warn("SSV /stream: read the last change", "network", network, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(hb.o.PollInterval):
		}
	}
	close(ns.ready)
	t := time.NewTicker(hb.o.PollInterval)
	defer t.Stop()
	loggedErr := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for ctx.Err() == nil {
			hb.polls.Add(1)
			changes, err := hb.r.ChangesAfter(ctx, network, cursor, hb.o.PollBatch)
			if err != nil {
				if !loggedErr && ctx.Err() == nil {
					hb.log.Warn("SSV /stream: read changes", "network", network, "after", cursor, "err", err)
					loggedErr = true
				}
				break
			}
			loggedErr = false
			for _, c := range changes {
				if c.Seq <= cursor {
					continue
				}
				cursor = c.Seq
				msg, ok, err := exporter.StreamMessage(ctx, hb.r, network, c)
				if err != nil {
					if ctx.Err() == nil {
						hb.log.Warn("SSV /stream: read a changed item; not sent", "network", network, "seq", c.Seq, "kind", c.Kind, "id", c.ID, "err", err)
					}
					continue
				}
				if ok {
					hb.fanout(ns, msg)
				}
			}
			if len(changes) < hb.o.PollBatch {
				break
			}
		}
	}
}

// fanout queues msg for every client of ns without waiting: a client whose
// queue is full is marked too slow (and closed by its handler).
func (hb *hub) fanout(ns *netStream, msg []byte) {
	hb.mu.Lock()
	defer hb.mu.Unlock()
	for s := range ns.subs {
		select {
		case s.q <- msg:
		default:
			s.once.Do(func() {
				s.reason = fmt.Sprintf("too slow: %d messages behind", len(s.q)+1)
				close(s.slow)
				hb.slowClosed.Add(1)
			})
		}
	}
}
