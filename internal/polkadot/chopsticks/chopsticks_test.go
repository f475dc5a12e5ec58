package chopsticks

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"syscall"
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

// orphanEnv makes the test binary the process that starts chopsticks and
// dies without closing it (TestDiesWithItsParent).
const orphanEnv = "VALTRACK_CHOPSTICKS_ORPHAN_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(orphanEnv); dir != "" {
		spec, err := SpecPath("westend-dev.json")
		if err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		p, err := Start(ctx, Options{Genesis: spec, Dir: dir, ImportStorage: map[string]any{"Timestamp": map[string]any{"Now": 1700000000000}}})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		fmt.Println("pid", p.cmd.Process.Pid, "port", p.Port())
		os.Exit(0) // no Close: as a crash or a second Ctrl-C would
	}
	os.Exit(m.Run())
}

// A valtrack that dies without closing chopsticks (a crash, SIGKILL, a
// second Ctrl-C) takes it along: the kernel kills it and frees its port.
func TestDiesWithItsParent(t *testing.T) {
	if testing.Short() {
		t.Skip("runs chopsticks")
	}
	if runtime.GOOS != "linux" {
		t.Skip("only Linux kills a child with its parent")
	}
	if !Installed(DefaultPrefix()) {
		t.Skipf("chopsticks is not installed in %s (.ci/run installs it)", DefaultPrefix())
	}
	if _, err := SpecPath("westend-dev.json"); err != nil {
		t.Skip(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), orphanEnv+"="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("the parent failed: %v: %s", err, out)
	}
	var pid, port int
	if _, err := fmt.Sscanf(string(out), "pid %d port %d", &pid, &port); err != nil {
		t.Fatalf("the parent printed %q", out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			t.Fatalf("chopsticks (pid %d) still runs 10 s after its parent died", pid)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			l.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("port %d still taken after chopsticks died: %v", port, err)
		}
	}
}
