package chopsticks

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// The RPC client never reuses a connection idle for longer than Node's
// HTTP server keeps one (5 s): a call after a pause opens a new
// connection instead of writing to one the server may be closing.
func TestClientDropsIdleConnectionsBeforeNode(t *testing.T) {
	var opened atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"jsonrpc":"2.0","id":1,"result":"ok"}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	p := &Process{port: srv.Listener.Addr().(*net.TCPAddr).Port, client: newClient()}
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if _, err := p.Call(ctx, "system_chain"); err != nil {
			t.Fatal(err)
		}
	}
	if n := opened.Load(); n != 1 {
		t.Fatalf("back-to-back calls opened %d connections, want 1 (keep-alive)", n)
	}
	// Past the client's idle timeout but short of Node's 5 s.
	time.Sleep(newClient().Transport.(*http.Transport).IdleConnTimeout + 500*time.Millisecond)
	if _, err := p.Call(ctx, "system_chain"); err != nil {
		t.Fatal(err)
	}
	if n := opened.Load(); n != 2 {
		t.Fatalf("a call after an idle pause opened %d connections in all, want 2 (the idle one dropped)", n)
	}
}
