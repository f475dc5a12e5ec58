package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Defaults of WSOptions.
const (
	DefaultWSMaxConns        = 100
	DefaultWSPingInterval    = 30 * time.Second
	DefaultWSPingTimeout     = 10 * time.Second
	DefaultWSMaxMessageBytes = 64 << 10
)

// WSOptions are the limits of one WebSocket route; zero means the default.
type WSOptions struct {
	// Limited checks the API key and the rate limit on the upgrade request,
	// as for Router.Handle.
	Limited bool
	// MaxConns bounds the route's open connections; a client beyond it gets a
	// 503 JSON error instead of an upgrade.
	MaxConns int
	// PingInterval is how often the server pings; a peer that does not answer
	// within PingTimeout is disconnected. Pongs are read by the handler's
	// reads: a handler that only writes must call conn.CloseRead.
	PingInterval, PingTimeout time.Duration
	// MaxMessageBytes bounds a message the client sends.
	MaxMessageBytes int64
	// OriginPatterns are the origins besides the server's own whose browser
	// pages may connect: host patterns (path.Match, case-insensitive, e.g.
	// "explorer.example.org" or "*.example.org"), "scheme://host" patterns,
	// or "*" for any origin. By default only same-origin pages may; clients
	// that send no Origin header (not browsers) always may. Options.WSOrigins,
	// when set, replaces this for every route.
	OriginPatterns []string
}

// WSHandler serves one WebSocket connection until it returns. ctx is done
// when the client goes away or the server shuts down; the connection is
// closed after the handler returns.
type WSHandler func(ctx context.Context, conn *websocket.Conn, c Caller) error

// wsRegistry tracks the open WebSocket connections so that shutdown can close
// them: http.Server.Shutdown does not wait for (or close) hijacked ones.
type wsRegistry struct {
	mu      sync.Mutex
	closing bool
	conns   map[*websocket.Conn]context.CancelFunc
	wg      sync.WaitGroup
}

// add registers a connection; false once the server is shutting down.
func (reg *wsRegistry) add(c *websocket.Conn, cancel context.CancelFunc) bool {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if reg.closing {
		return false
	}
	if reg.conns == nil {
		reg.conns = make(map[*websocket.Conn]context.CancelFunc)
	}
	reg.conns[c] = cancel
	reg.wg.Add(1)
	return true
}

func (reg *wsRegistry) isClosing() bool {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	return reg.closing
}

func (reg *wsRegistry) remove(c *websocket.Conn) {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if _, ok := reg.conns[c]; ok {
		delete(reg.conns, c)
		reg.wg.Done()
	}
}

// shutdown closes every connection with 1001 (going away) and waits, up to
// ctx, for their handlers to return.
func (reg *wsRegistry) shutdown(ctx context.Context) error {
	reg.mu.Lock()
	reg.closing = true
	for c, cancel := range reg.conns {
		// The close handshake first: cancelling the handler's context would
		// make coder/websocket drop the connection without a close frame.
		go func() {
			c.Close(websocket.StatusGoingAway, "server shutting down")
			cancel()
		}()
	}
	reg.mu.Unlock()
	done := make(chan struct{})
	go func() { reg.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WSRequestHandler is a WSHandler that also gets the upgrade request, for a
// route whose handler needs its path values or query (a {network}). The
// request's body and writer are gone; read only its URL, path values and
// headers.
type WSRequestHandler func(ctx context.Context, conn *websocket.Conn, r *http.Request, c Caller) error

// HandleWebSocket registers a WebSocket route. The connection is long-lived:
// the server's read and write timeouts are cleared for it, and it has its own
// limits instead (o). Metrics count the upgrade (status 101) under route.
func (rt *Router) HandleWebSocket(pattern, route string, o WSOptions, h WSHandler) {
	rt.HandleWebSocketRequest(pattern, route, o, nil, func(ctx context.Context, conn *websocket.Conn, _ *http.Request, c Caller) error {
		return h(ctx, conn, c)
	})
}

// HandleWebSocketRequest is HandleWebSocket for a handler that needs the
// upgrade request. before, when not nil, runs before the upgrade (and before
// a connection slot is taken); an error it returns answers the request as a
// route's error does (e.g. a 404 for an unknown {network}), and no
// WebSocket is opened. It may set path values on r for the handler.
func (rt *Router) HandleWebSocketRequest(pattern, route string, o WSOptions, before func(r *http.Request) error, h WSRequestHandler) {
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultWSMaxConns
	}
	if o.PingInterval <= 0 {
		o.PingInterval = DefaultWSPingInterval
	}
	if o.PingTimeout <= 0 {
		o.PingTimeout = DefaultWSPingTimeout
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = DefaultWSMaxMessageBytes
	}
	s := rt.s
	log := rt.Log()
	if s.o.WSOrigins != nil {
		o.OriginPatterns = s.o.WSOrigins
	}
	if err := checkOriginPatterns(o.OriginPatterns); err != nil {
		// A route's own patterns are code; routes() turns this into New's error.
		panic(fmt.Sprintf("WebSocket route %s: %v", route, err))
	}
	accept := acceptOptions(o.OriginPatterns)
	slots := make(chan struct{}, o.MaxConns)
	rt.mux.Handle(pattern, s.wrap(route, o.Limited, func(w http.ResponseWriter, r *http.Request, c Caller) error {
		if before != nil {
			if err := before(r); err != nil {
				return err
			}
		}
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
		default:
			return Errorf(http.StatusServiceUnavailable, "", "too many open connections on this endpoint (at most %d); retry later", o.MaxConns)
		}
		// The server's deadlines are set on the connection before the handler
		// runs and survive the hijack; a WebSocket would be cut after them.
		rc := http.NewResponseController(w)
		if err := rc.SetReadDeadline(time.Time{}); err != nil {
			return err
		}
		if err := rc.SetWriteDeadline(time.Time{}); err != nil {
			return err
		}
		conn, err := websocket.Accept(w, r, accept)
		if err != nil {
			// Accept has answered the client (400, 403, …).
			return nil
		}
		conn.SetReadLimit(o.MaxMessageBytes)
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		if !s.ws.add(conn, cancel) {
			conn.Close(websocket.StatusGoingAway, "server shutting down")
			return nil
		}
		defer s.ws.remove(conn)
		go pingLoop(ctx, conn, o.PingInterval, o.PingTimeout)
		err = h(ctx, conn, r, c)
		status, reason := websocket.StatusNormalClosure, ""
		switch {
		case err == nil, ctx.Err() != nil, websocket.CloseStatus(err) != -1:
		case errors.Is(err, context.DeadlineExceeded):
			status, reason = websocket.StatusTryAgainLater, "timed out"
		default:
			log.Error("WebSocket handler failed", "route", route, "err", err)
			status, reason = websocket.StatusInternalError, InternalErrorMessage
		}
		if s.ws.isClosing() {
			status, reason = websocket.StatusGoingAway, "server shutting down"
		}
		conn.Close(status, reason)
		return nil
	}))
}

// AnyOrigin in OriginPatterns (or Options.WSOrigins) lets every origin's
// pages connect.
const AnyOrigin = "*"

// SameOrigin is ParseWSOrigins's word for an empty list: same-origin pages
// only.
const SameOrigin = "same-origin"

// ParseWSOrigins reads a comma-separated list of origin patterns (a
// command-line flag): "" is nil (each route's own patterns), SameOrigin an
// empty list (same-origin pages only), "*" any origin. A malformed pattern
// is an error naming it.
func ParseWSOrigins(v string) ([]string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	if strings.EqualFold(v, SameOrigin) {
		return []string{}, nil
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	if err := checkOriginPatterns(out); err != nil {
		return nil, err
	}
	return out, nil
}

// checkOriginPatterns refuses a pattern that coder/websocket could not
// match (it would answer every cross-origin upgrade with 403), up front.
func checkOriginPatterns(ps []string) error {
	for _, p := range ps {
		if strings.EqualFold(p, SameOrigin) {
			return fmt.Errorf("origin pattern %q: give it alone (same-origin pages only), not in a list", p)
		}
		if _, err := path.Match(strings.ToLower(p), "x"); err != nil || p == "" {
			return fmt.Errorf("origin pattern %q is not a host pattern: give a host (explorer.example.org), a path.Match pattern (*.example.org), scheme://host, or * for any origin", p)
		}
	}
	return nil
}

// acceptOptions turns origin patterns into coder/websocket's options. "*"
// is its InsecureSkipVerify (the library's advice over a "*" pattern):
// the origin check guards a route against pages of other sites acting with
// the visitor's ambient credentials, and the API has none — keys travel in a
// header, which a browser's WebSocket cannot set — so public read-only
// routes lose nothing by it.
func acceptOptions(patterns []string) *websocket.AcceptOptions {
	for _, p := range patterns {
		if p == AnyOrigin {
			return &websocket.AcceptOptions{InsecureSkipVerify: true}
		}
	}
	return &websocket.AcceptOptions{OriginPatterns: patterns}
}

// pingLoop disconnects a peer that stops answering pings: a connection whose
// other end vanished (no FIN, no RST) would otherwise hold its slot forever.
func pingLoop(ctx context.Context, conn *websocket.Conn, every, timeout time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, timeout)
		err := conn.Ping(pctx)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				conn.Close(websocket.StatusPolicyViolation, "ping timeout")
			}
			return
		}
	}
}
