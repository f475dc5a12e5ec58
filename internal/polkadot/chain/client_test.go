package chain

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeNode answers JSON-RPC on loopback from a method table.
func fakeNode(t *testing.T, answer func(method string, params []json.RawMessage) (any, *RPCError)) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage   `json:"id"`
			Method string            `json:"method"`
			Params []json.RawMessage `json:"params"`
		}
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &req); err != nil {
			http.Error(w, "bad", 400)
			return
		}
		res, rerr := answer(req.Method, req.Params)
		out := map[string]any{"jsonrpc": "2.0", "id": req.ID}
		if rerr != nil {
			out["error"] = rerr
		} else {
			out["result"] = res
		}
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(s.Close)
	return s
}

func genesisAnswer(genesis, name string) func(string, []json.RawMessage) (any, *RPCError) {
	return func(m string, _ []json.RawMessage) (any, *RPCError) {
		switch m {
		case "chain_getBlockHash":
			return genesis, nil
		case "system_chain":
			return name, nil
		case "system_name":
			return "fake", nil
		}
		return nil, &RPCError{Code: -32601, Message: "Method not found"}
	}
}

const g1 = "0x1111111111111111111111111111111111111111111111111111111111111111"
const g2 = "0x2222222222222222222222222222222222222222222222222222222222222222"

// Credentials in a URL never reach an error.
func TestSecretsStayOutOfErrors(t *testing.T) {
	c, err := NewClient([]string{"http://user:hunter2@127.0.0.1:1/rpc?apikey=SECRETKEY"}, ClientOptions{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Call(context.Background(), nil, "system_name")
	if err == nil {
		t.Fatal("a closed port answered")
	}
	for _, s := range []string{"hunter2", "SECRETKEY", "user:"} {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("error leaks %q: %v", s, err)
		}
	}
	for in, want := range map[string]string{
		"wss://a:b@host:443/x?apikey=k#f":   "wss://host:443/…",
		"wss://host:443/SECRETKEY":          "wss://host:443/…",
		"ws://127.0.0.1:9944":               "ws://127.0.0.1:9944",
		"https://127.0.0.1:9933/?apikey=k1": "https://127.0.0.1:9933",
	} {
		if got := SafeURL(in); got != want {
			t.Errorf("SafeURL(%s) = %s, want %s", in, got, want)
		}
	}
	if _, err := NewClient([]string{"ftp://127.0.0.1"}, ClientOptions{}); err == nil {
		t.Fatal("ftp scheme accepted")
	}
	if _, err := NewClient(nil, ClientOptions{}); err == nil {
		t.Fatal("no URL accepted")
	}
}

// An endpoint of another chain is refused with ErrOtherChain.
func TestOtherChainRefused(t *testing.T) {
	a := fakeNode(t, genesisAnswer(g1, "A"))
	b := fakeNode(t, genesisAnswer(g2, "B"))
	c, _ := NewClient([]string{a.URL, b.URL}, ClientOptions{Timeout: 5 * time.Second})
	err := c.Call(context.Background(), nil, "system_name")
	if !errors.Is(err, ErrOtherChain) || !strings.Contains(err.Error(), "remove it") {
		t.Fatalf("mixed chains: %v, want ErrOtherChain", err)
	}
	// Same genesis, different chain name (chopsticks' synthetic genesis).
	d := fakeNode(t, genesisAnswer(g1, "other"))
	c, _ = NewClient([]string{a.URL, d.URL}, ClientOptions{Timeout: 5 * time.Second})
	if err := c.Call(context.Background(), nil, "system_name"); !errors.Is(err, ErrOtherChain) {
		t.Fatalf("same genesis, other name: %v, want ErrOtherChain", err)
	}
}

// A failing endpoint is skipped for the next; the failover is counted;
// an answered RPC error is returned without failing over.
func TestFailover(t *testing.T) {
	var broken atomic.Bool
	good := genesisAnswer(g1, "A")
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if broken.Load() {
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close()
			return
		}
		w.WriteHeader(200)
		body, _ := io.ReadAll(r.Body)
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		_ = json.Unmarshal(body, &req)
		res, _ := good(req.Method, nil)
		_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": res})
	}))
	defer flaky.Close()
	second := fakeNode(t, good)
	c, _ := NewClient([]string{flaky.URL, second.URL}, ClientOptions{Timeout: 5 * time.Second})
	var name string
	if err := c.Call(context.Background(), &name, "system_name"); err != nil || name != "fake" {
		t.Fatalf("first call: %q %v", name, err)
	}
	if c.Endpoint() != strings.TrimPrefix(flaky.URL, "http://") {
		t.Fatalf("first call answered by %s, want the first URL", c.Endpoint())
	}
	broken.Store(true)
	if err := c.Call(context.Background(), &name, "system_name"); err != nil {
		t.Fatalf("after the first endpoint broke: %v", err)
	}
	if c.Endpoint() != strings.TrimPrefix(second.URL, "http://") || c.Stats().Failovers < 1 {
		t.Fatalf("endpoint %s, stats %+v: want the second URL and a failover", c.Endpoint(), c.Stats())
	}
	before := c.Stats().Failovers
	var rerr *RPCError
	if err := c.Call(context.Background(), nil, "no_such"); !errors.As(err, &rerr) || c.Stats().Failovers != before {
		t.Fatalf("RPC error: %v, failovers %d→%d", err, before, c.Stats().Failovers)
	}
}

// A response above the size bound is refused; garbage is an error.
func TestResponseBounds(t *testing.T) {
	big := strings.Repeat("a", 4096)
	s := fakeNode(t, func(m string, _ []json.RawMessage) (any, *RPCError) {
		if m == "system_name" {
			return big, nil
		}
		return genesisAnswer(g1, "A")(m, nil)
	})
	c, _ := NewClient([]string{s.URL}, ClientOptions{Timeout: 5 * time.Second, MaxResp: 1024})
	if err := c.Call(context.Background(), nil, "system_name"); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("oversized response: %v", err)
	}
	junk := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("{\"id\":")) }))
	defer junk.Close()
	c, _ = NewClient([]string{junk.URL}, ClientOptions{Timeout: 5 * time.Second})
	if err := c.Call(context.Background(), nil, "system_name"); err == nil {
		t.Fatal("truncated JSON accepted")
	}
}

// A node that never answers costs one timeout, then an error.
func TestCallTimeout(t *testing.T) {
	stop := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer hang.Close()
	defer close(stop) // before Close, which waits for the handlers
	c, _ := NewClient([]string{hang.URL}, ClientOptions{Timeout: 300 * time.Millisecond})
	if err := c.Call(context.Background(), nil, "system_name"); err == nil {
		t.Fatal("a hanging node answered")
	}
	if s := c.Stats(); s.Errors == 0 {
		t.Fatalf("stats %+v: the timeout is not counted", s)
	}
}

func TestHeaderNumber(t *testing.T) {
	for in, want := range map[string]uint64{"0x0": 0, "0x1f": 31, "0x00000002": 2} {
		if n, err := (Header{Number: in}).BlockNumber(); err != nil || n != want {
			t.Errorf("%s → %d %v", in, n, err)
		}
	}
	for _, in := range []string{"", "0x", "0xzz", "0x11111111111111111"} {
		if _, err := (Header{Number: in}).BlockNumber(); err == nil {
			t.Errorf("%q parsed", in)
		}
	}
}
