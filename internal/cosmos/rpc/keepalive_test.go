package rpc_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/valtrack/valtrack/internal/cosmos/rpc"
	"github.com/valtrack/valtrack/internal/cosmos/rpc/rpctest"
)

// mute is a WebSocket node that answers the four subscriptions and then
// never reads again, so it answers no ping (a pong is written by the
// reader). With talk it keeps sending a vote every 20 ms, so only the
// pings can tell the connection is broken; without, it says nothing.
func mute(t *testing.T, talk bool) (url string, conns func() int) {
	t.Helper()
	var mu sync.Mutex
	n := 0
	addr := rpctest.MakeValidators("k", 1)[0].Address
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		mu.Lock()
		n++
		mu.Unlock()
		ctx := r.Context()
		ids := map[string]json.RawMessage{}
		for len(ids) < len(rpc.Queries) {
			_, data, err := c.Read(ctx)
			if err != nil {
				return
			}
			var req struct {
				ID     json.RawMessage `json:"id"`
				Params struct {
					Query string `json:"query"`
				} `json:"params"`
			}
			if json.Unmarshal(data, &req) != nil {
				return
			}
			ids[req.Params.Query] = req.ID
			if c.Write(ctx, websocket.MessageText, []byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":{}}`, req.ID))) != nil {
				return
			}
		}
		// From here on nothing is read: pings go unanswered.
		for h := int64(1); talk; h++ {
			msg := fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":{"query":"tm.event='Vote'","data":%s}}`,
				ids["tm.event='Vote'"], rpctest.VoteJSON(h, 0, 1, addr, 0))
			if c.Write(ctx, websocket.MessageText, []byte(msg)) != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
		<-ctx.Done()
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	}
}

// A node that keeps sending events but stops answering pings: the client's
// ping gets no pong within PingTimeout, it ends the connection saying so,
// and reconnects. ReadTimeout and StallTimeout are a minute, and events
// keep coming, so nothing but the keepalive can end it within the wait.
func TestSubscriberReconnectsWithoutPong(t *testing.T) {
	url, conns := mute(t, true)
	logs := &syncLog{}
	s, _ := start(t, rpc.WSConfig{URL: url, PingEvery: 100 * time.Millisecond, PingTimeout: 300 * time.Millisecond,
		ReadTimeout: time.Minute, StallTimeout: time.Minute, Log: slog.New(slog.NewTextHandler(logs, nil))})
	if it := nextEvent(t, s); it.Event.Vote == nil || it.Session != 1 {
		t.Fatalf("first event %+v, want a vote of session 1", it)
	}
	waitFor(t, "a second session after an unanswered ping", func() bool { return s.Stats().Sessions >= 2 && conns() >= 2 })
	if !strings.Contains(logs.String(), "no pong within 300ms") {
		t.Errorf("log %q: want the unanswered ping as the cause", logs.String())
	}
}

// A node that goes silent and answers no ping, pinged too rarely to
// notice (PingEvery a minute): nothing arrives for ReadTimeout, and the
// client reconnects.
func TestSubscriberReadTimeoutReconnects(t *testing.T) {
	url, conns := mute(t, false)
	logs := &syncLog{}
	s, _ := start(t, rpc.WSConfig{URL: url, PingEvery: time.Minute, PingTimeout: time.Minute,
		ReadTimeout: 300 * time.Millisecond, StallTimeout: time.Minute, Log: slog.New(slog.NewTextHandler(logs, nil))})
	waitFor(t, "a second session after the read timeout", func() bool { return s.Stats().Sessions >= 2 && conns() >= 2 })
	if !strings.Contains(logs.String(), "read timeout 300ms") {
		t.Errorf("log %q: want the read timeout as the cause", logs.String())
	}
}

type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
