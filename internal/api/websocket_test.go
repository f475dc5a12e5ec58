package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// dialEcho connects to the test domain's echo route of base ("http://…").
func dialEcho(t *testing.T, ctx context.Context, base, key string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	o := &websocket.DialOptions{}
	if key != "" {
		o.HTTPHeader = http.Header{apiKeyHeader: {key}}
	}
	return websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/api/v1/testdom/echo", o)
}

func TestWebSocketEchoAndConnectionCap(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var conns []*websocket.Conn
	for i := 0; i < f.dom.wsMax; i++ {
		c, _, err := dialEcho(t, ctx, f.srv.URL, "")
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		defer c.CloseNow()
		<-f.dom.wsStarted
		conns = append(conns, c)
	}
	for i, c := range conns {
		msg := []byte("hello " + string(rune('a'+i)))
		if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
			t.Fatal(err)
		}
		typ, got, err := c.Read(ctx)
		if err != nil || typ != websocket.MessageText || string(got) != string(msg) {
			t.Fatalf("echo: %v %q %v, want %q", typ, got, err, msg)
		}
	}
	// Full: the next client gets a JSON 503 instead of an upgrade.
	_, resp, err := dialEcho(t, ctx, f.srv.URL, "")
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial beyond MaxConns: resp %v, err %v; want a 503", resp, err)
	}
	body, _ := io.ReadAll(resp.Body)
	var e errorBody
	if json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error, "too many open connections") {
		t.Errorf("503 body %q", body)
	}
	// A closed connection frees its slot.
	conns[0].Close(websocket.StatusNormalClosure, "")
	var c *websocket.Conn
	for c == nil {
		c, _, err = dialEcho(t, ctx, f.srv.URL, "")
		if err != nil && ctx.Err() != nil {
			t.Fatalf("no slot after a close: %v", err)
		}
	}
	defer c.CloseNow()
	// The upgrade goes through the key check like any limited route.
	if _, resp, err := dialEcho(t, ctx, f.srv.URL, keyWrong); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Errorf("dial with a wrong key: %v, %v; want a 401", resp, err)
	}
	// A message over the size limit closes the connection with 1009.
	<-f.dom.wsStarted
	if err := c.Write(ctx, websocket.MessageBinary, make([]byte, DefaultWSMaxMessageBytes+1)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Errorf("oversized message: %v, want close 1009", err)
	}
}

func TestWebSocketOverServeClosesOnShutdown(t *testing.T) {
	f := newFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.api.Serve(sctx, ln) }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, _, err := dialEcho(t, ctx, "http://"+ln.Addr().String(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	<-f.dom.wsStarted
	// Served by Serve's http.Server, whose deadlines the route clears.
	if err := c.Write(ctx, websocket.MessageText, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Read(ctx); err != nil {
		t.Fatal(err)
	}
	stop()
	_, _, err = c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("read after shutdown: %v, want close 1001 (going away)", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve returned %v after cancel, want nil", err)
		}
	case <-ctx.Done():
		t.Fatal("Serve did not return after cancel")
	}
	if _, _, err := dialEcho(t, ctx, "http://"+ln.Addr().String(), ""); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("dial after shutdown: %v, want a refused connection", err)
	}
}
