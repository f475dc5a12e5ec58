package chopsticks

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// Start starts a real Westend runtime and Close stops it: system_chain
// answers, a block is built on request, and the port is closed after.
func TestStartWestendDev(t *testing.T) {
	if testing.Short() {
		t.Skip("runs chopsticks")
	}
	prefix := DefaultPrefix()
	if !Installed(prefix) {
		t.Skipf("chopsticks is not installed in %s (.ci/run installs it)", prefix)
	}
	spec, err := SpecPath("westend-dev.json")
	if err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p, err := Start(ctx, Options{Genesis: spec, Dir: t.TempDir(),
		ImportStorage: map[string]any{"Timestamp": map[string]any{"Now": 1700000000000}}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	res, err := p.Call(ctx, "system_chain")
	if err != nil {
		t.Fatal(err)
	}
	var name string
	if err := json.Unmarshal(res, &name); err != nil || name != "westend_dev" {
		t.Fatalf("system_chain = %s (%v), want westend_dev", res, err)
	}
	h1, err := p.NewBlock(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err = p.Call(ctx, "chain_getBlockHash")
	if err != nil {
		t.Fatal(err)
	}
	var head string
	_ = json.Unmarshal(res, &head)
	if head != h1 || len(h1) != 66 {
		t.Fatalf("head %s after dev_newBlock returned %s", head, h1)
	}
	if _, err := p.Call(ctx, "no_such_method"); err == nil {
		t.Fatal("an unknown method answered without error")
	}
	_ = p.Close()
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("chopsticks did not exit on Close")
	}
	cctx, ccancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer ccancel()
	if _, err := p.Call(cctx, "system_chain"); err == nil {
		t.Fatal("the RPC still answers after Close")
	}
}
