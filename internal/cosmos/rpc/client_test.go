package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/cosmos/rpc"
	"github.com/valtrack/valtrack/internal/cosmos/rpc/rpctest"
)

func TestClientAgainstFakeNode(t *testing.T) {
	vals := rpctest.MakeValidators("a", 250)
	n := rpctest.New("test-1", vals)
	defer n.Close()
	n.Produce(20)
	n.SetLowest(5)
	c, err := rpc.NewClient(n.URL()+"/?apikey=SECRETKEY123", rpc.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	s, err := c.Status(ctx)
	if err != nil || s.Network != "test-1" || s.LatestHeight != 20 || s.EarliestHeight != 5 {
		t.Fatalf("status %+v, %v", s, err)
	}

	// 250 validators at per_page 100: three pages, all of them read, in order.
	h, set, err := c.ValidatorSet(ctx, 12)
	if err != nil || h != 12 || len(set) != 250 {
		t.Fatalf("set of height %d with %d validators, %v", h, len(set), err)
	}
	for i, v := range set {
		if v.Address != vals[i].Address {
			t.Fatalf("validator %d is %s, want %s", i, v.Address, vals[i].Address)
		}
	}
	if set[1].PubKeyType != "cometbft/PubKeyBn254" {
		t.Errorf("unknown key type not kept: %q", set[1].PubKeyType)
	}

	cm, err := c.Commit(ctx, 10)
	if err != nil || !cm.Canonical || cm.Commit.Height != 10 || len(cm.Commit.Signatures) != 250 || cm.Block.Hash != rpctest.BlockHash("test-1", 10) {
		t.Fatalf("commit %+v, %v", cm, err)
	}
	if cm, err := c.Commit(ctx, 20); err != nil || cm.Canonical {
		t.Errorf("commit of the latest height: canonical=%v, %v", cm != nil && cm.Canonical, err)
	}

	_, err = c.Commit(ctx, 3)
	var na *rpc.HeightNotAvailableError
	if !errors.As(err, &na) || na.Height != 3 || na.Lowest != 5 {
		t.Errorf("pruned height: %v", err)
	}
	if _, err := c.Commit(ctx, 21); !errors.Is(err, rpc.ErrHeightInFuture) {
		t.Errorf("future height: %v", err)
	}

	b, err := c.Block(ctx, 11)
	if err != nil || b.Block.Height != 11 || b.LastCommit == nil || b.LastCommit.Height != 10 || b.Block.NumTxs != 2 {
		t.Errorf("block %+v, %v", b, err)
	}
}

func TestClientErrorsAndLimits(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big/status":
			fmt.Fprintf(w, `{"result":{"x":"%s"}}`, strings.Repeat("a", 4096))
		case "/html/status":
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html>bad gateway</html>")
		case "/slow/status":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		default:
			fmt.Fprint(w, `{"jsonrpc":"2.0","id":-1,"result":null}`)
		}
	}))
	defer srv.Close()
	ctx := context.Background()

	c, _ := rpc.NewClient(srv.URL+"/big", rpc.ClientOptions{MaxResponse: 1024})
	if _, err := c.Status(ctx); err == nil || !strings.Contains(err.Error(), "over 1024 bytes") {
		t.Errorf("oversize response: %v", err)
	}
	c, _ = rpc.NewClient(srv.URL+"/html", rpc.ClientOptions{})
	var se *rpc.HTTPStatusError
	if _, err := c.Status(ctx); !errors.As(err, &se) || se.Status != http.StatusBadGateway {
		t.Errorf("HTTP 502: %v", err)
	}
	c, _ = rpc.NewClient(srv.URL+"/slow?token=TOPSECRETTOKEN", rpc.ClientOptions{Timeout: 50 * time.Millisecond})
	_, err := c.Status(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow node: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "TOPSECRETTOKEN") {
		t.Errorf("error quotes the API key: %v", err)
	}
	c, _ = rpc.NewClient(srv.URL+"/null", rpc.ClientOptions{})
	if _, err := c.Status(ctx); err == nil {
		t.Error("a null result accepted")
	}
	if _, err := rpc.NewClient("ftp://x", rpc.ClientOptions{}); err == nil {
		t.Error("ftp endpoint accepted")
	}
	if r := rpc.Redact("https://user:pw@rpc.example.com:443/path?apikey=abc"); strings.Contains(r, "pw") || strings.Contains(r, "abc") {
		t.Errorf("redacted URL %s", r)
	}
}

// The set changes between pages: refused, not mixed.
func TestValidatorSetRefusesMixedPages(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		h := 10
		if calls > 1 {
			h = 11
		}
		var vs []string
		for i := range 100 {
			vs = append(vs, fmt.Sprintf(`{"address":"%04X%02X","pub_key":{"type":"t","value":"v"},"voting_power":"1"}`, calls, i))
		}
		fmt.Fprintf(w, `{"result":{"block_height":"%d","validators":[%s],"count":"100","total":"150"}}`, h, strings.Join(vs, ","))
	}))
	defer srv.Close()
	c, _ := rpc.NewClient(srv.URL, rpc.ClientOptions{})
	if _, _, err := c.ValidatorSet(context.Background(), 0); err == nil || !strings.Contains(err.Error(), "retry") {
		t.Errorf("pages of two heights: %v", err)
	}
	_ = events.KindVote
}
