package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"net/http"
	"os"
	"testing"
	"time"
)

// update rewrites docs/openapi.yaml: go test ./cmd/valtrack -run TestOpenAPIDocs -update
var update = flag.Bool("update", false, "rewrite docs/openapi.yaml from the served document")

// TestOpenAPIDocs: docs/openapi.yaml is the document `valtrack serve`
// serves with every registered domain's fragment merged in.
func TestOpenAPIDocs(t *testing.T) {
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- newApp(domains()).Run(ctx, []string{"valtrack", "serve", "--data-dir", t.TempDir(), "--http", addr, "--log-level", "warn"})
	}()
	var served []byte
	for deadline := time.Now().Add(30 * time.Second); served == nil; {
		if resp, err := http.Get("http://" + addr + "/openapi.yaml"); err == nil {
			if resp.StatusCode == http.StatusOK {
				served, _ = io.ReadAll(resp.Body)
			}
			resp.Body.Close()
		}
		if time.Now().After(deadline) {
			t.Fatal("valtrack serve did not answer /openapi.yaml")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	const docs = "../../docs/openapi.yaml"
	if *update {
		if err := os.WriteFile(docs, served, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(docs)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, served) {
		t.Fatal("docs/openapi.yaml differs from the document valtrack serves; run go test ./cmd/valtrack -run TestOpenAPIDocs -update")
	}
}
