package polkadot

import (
	"compress/gzip"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/program"
)

// westendMetadataHex is the westend 9320 runtime's metadata as
// state_getMetadata answers it.
func westendMetadataHex(t *testing.T) string {
	t.Helper()
	f, err := os.Open("scale/testdata/westend-dev-9320.scale.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return "0x" + hex.EncodeToString(raw)
}

// sendNode is a JSON-RPC node on loopback that answers what dialing and
// submitting need, refuses every extrinsic (so a send ends at once), and
// from a point on (hang) accepts requests and never answers the methods
// named, as a stuck endpoint does.
type sendNode struct {
	md string

	mu     sync.Mutex
	hang   map[string]bool // method → never answered; "*" every method
	calls  map[string]int
	srv    *httptest.Server
	stuck  chan struct{}
	closed bool
}

func newSendNode(t *testing.T, md string) *sendNode {
	n := &sendNode{md: md, hang: map[string]bool{}, calls: map[string]int{}, stuck: make(chan struct{})}
	n.srv = httptest.NewServer(http.HandlerFunc(n.serve))
	t.Cleanup(n.srv.Close)
	t.Cleanup(func() { close(n.stuck) }) // first: the stuck handlers return, then the server closes
	return n
}

func (n *sendNode) setHang(methods ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, m := range methods {
		n.hang[m] = true
	}
}

func (n *sendNode) count(method string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.calls[method]
}

func (n *sendNode) serve(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	_ = json.Unmarshal(body, &req)
	n.mu.Lock()
	n.calls[req.Method]++
	hang := n.hang["*"] || n.hang[req.Method]
	n.mu.Unlock()
	if hang {
		select {
		case <-n.stuck:
		case <-r.Context().Done():
		}
		return
	}
	var res any
	switch req.Method {
	case "chain_getBlockHash":
		res = "0x" + strings.Repeat("45", 32)
	case "system_properties":
		res = map[string]any{"ss58Format": 42, "tokenDecimals": 12, "tokenSymbol": "WND"}
	case "state_getRuntimeVersion":
		res = map[string]any{"specName": "westend", "implName": "parity-westend", "authoringVersion": 2, "specVersion": 9320,
			"implVersion": 0, "transactionVersion": 13, "apis": []any{}}
	case "state_getMetadata":
		res = n.md
	case "chain_getHeader":
		res = map[string]any{"parentHash": "0x" + strings.Repeat("00", 32), "number": "0x10"}
	case "system_accountNextIndex":
		res = 0
	case "author_submitExtrinsic":
		_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID,
			"error": map[string]any{"code": 1010, "message": "Invalid Transaction", "data": "Inability to pay some fees"}})
		return
	default:
		_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "error": map[string]any{"code": -32601, "message": "Method not found"}})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": res})
}

func devKey(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "alice.key")
	if err := os.WriteFile(p, []byte("//Alice\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// An endpoint that accepts and never answers holds a send no longer than
// the sender's per-call timeout: the call fails with that timeout named
// (not the pass's context, a minute here), and the next call goes
// to the next URL — whether the endpoint got stuck before the send (the
// runtime refresh) or on the submission itself.
func TestSenderCallTimeoutFailsOverToTheNextURL(t *testing.T) {
	md := westendMetadataHex(t)
	n := program.NominatorConfig{Account: "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", Key: devKey(t)}
	targets := []string{"5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	t.Run("stuck before the send", func(t *testing.T) {
		a, b := newSendNode(t, md), newSendNode(t, md)
		s := newSender(senderConfig{URLs: []string{a.srv.URL, b.srv.URL}, CallTimeout: 300 * time.Millisecond})
		defer s.close()
		if _, err := s.CallHash(ctx, targets); err != nil { // dials a
			t.Fatal(err)
		}
		a.setHang("*")
		_, err := s.Nominate(ctx, n, targets)
		if err == nil || !strings.Contains(err.Error(), "Invalid Transaction") {
			t.Fatalf("nominate with the first endpoint stuck: %v; want the second endpoint's answer", err)
		}
		if b.count("author_submitExtrinsic") != 1 || a.count("author_submitExtrinsic") != 0 {
			t.Fatalf("submitted %d times to the stuck endpoint, %d to the next: want it sent through the next",
				a.count("author_submitExtrinsic"), b.count("author_submitExtrinsic"))
		}
	})

	t.Run("stuck on the submission", func(t *testing.T) {
		a, b := newSendNode(t, md), newSendNode(t, md)
		a.setHang("author_submitExtrinsic")
		s := newSender(senderConfig{URLs: []string{a.srv.URL, b.srv.URL}, CallTimeout: 300 * time.Millisecond})
		defer s.close()
		_, err := s.Nominate(ctx, n, targets)
		if err == nil || !strings.Contains(err.Error(), "did not answer within 300ms") {
			t.Fatalf("nominate through a stuck endpoint: %v; want the per-call timeout", err)
		}
		if _, err = s.Nominate(ctx, n, targets); err == nil || !strings.Contains(err.Error(), "Invalid Transaction") {
			t.Fatalf("the next send: %v; want the next endpoint's answer", err)
		}
		if b.count("author_submitExtrinsic") != 1 {
			t.Fatalf("the next endpoint got %d submissions: want the retry sent through it", b.count("author_submitExtrinsic"))
		}
	})
}
