package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestWebSocketRequestBefore: HandleWebSocketRequest's before check answers
// a refused request as a route's error, before the upgrade; a path value it
// sets reaches the handler with the request.
func TestWebSocketRequestBefore(t *testing.T) {
	dom := Domain{Name: "wsreq", Mount: func(rt *Router) {
		rt.HandleWebSocketRequest("GET /api/v1/wsreq/{name}", "/api/v1/wsreq/{name}", WSOptions{},
			func(r *http.Request) error {
				if r.PathValue("name") != "ok" {
					return NotFound("name", "no such name")
				}
				r.SetPathValue("checked", "yes")
				return nil
			},
			func(ctx context.Context, conn *websocket.Conn, r *http.Request, _ Caller) error {
				return conn.Write(ctx, websocket.MessageText, []byte(r.PathValue("name")+" "+r.PathValue("checked")))
			})
	}}
	s, err := New(Options{Log: slog.New(slog.DiscardHandler), Domains: []Domain{dom}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/v1/wsreq/"
	c, _, err := websocket.Dial(ctx, url+"ok", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if _, msg, err := c.Read(ctx); err != nil || string(msg) != "ok yes" {
		t.Fatalf("handler got %q, %v", msg, err)
	}
	_, resp, err := websocket.Dial(ctx, url+"nope", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("refused: %v %v; want 404", resp, err)
	}
	body, _ := io.ReadAll(resp.Body)
	var e errorBody
	if json.Unmarshal(body, &e) != nil || e.Parameter != "name" || e.Error != "no such name" {
		t.Fatalf("404 body %s", body)
	}
}
