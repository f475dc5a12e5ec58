package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestSSVBuiltinChainID: a built-in network's endpoints must report its
// chain id — mainnet's contract on a hoodi RPC would sync nothing and
// report healthy — and valtrack stops with what to do.
func TestSSVBuiltinChainID(t *testing.T) {
	// A JSON-RPC endpoint of hoodi (chain id 560048) on loopback.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(string(body), `"eth_chainId"`) {
			_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"result":"0x88bb0"}`)
			return
		}
		_, _ = io.WriteString(w, `{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"not here"}}`)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := quietApp().Run(ctx, []string{"valtrack", "run", "--data-dir", t.TempDir(), "--http", freeAddr(t), "--log-level", "error",
		"--ssv", "mainnet", "--eth-rpc", srv.URL})
	if err == nil || !containsAll(err.Error(), "report chain id 560048, expected 1", "give endpoints of network mainnet") {
		t.Fatalf("mainnet on a hoodi endpoint: %v", err)
	}
}
