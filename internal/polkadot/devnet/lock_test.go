//go:build unix

package devnet

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/devnetlock"
)

// fakeChopsticks is an install whose chopsticks exits at once: Start gets
// past the directory's lock and fails right after, without Node.js.
func fakeChopsticks(t *testing.T) string {
	t.Helper()
	prefix := t.TempDir()
	bin := filepath.Join(prefix, "node_modules", ".bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "chopsticks"), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return prefix
}

func wantRunning(t *testing.T, err error, dir string) {
	t.Helper()
	if !errors.Is(err, devnetlock.ErrRunning) {
		t.Fatalf("second Start: %v, want devnetlock.ErrRunning", err)
	}
	for _, want := range []string{"a devnet is already running in " + dir, "stop it first, or give another directory"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// TestStartRefusesAHeldDirectory: while a devnet holds the directory a
// second Start is refused before it touches the directory's files; once
// the first stops, Start goes on to chopsticks, and a Start that fails
// there frees the directory again.
func TestStartRefusesAHeldDirectory(t *testing.T) {
	dir := t.TempDir()
	prefix := fakeChopsticks(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// The first devnet, as far as the directory can tell.
	release, err := devnetlock.Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	first := []byte(`{"rpc":"ws://127.0.0.1:1"}` + "\n")
	if err := os.WriteFile(filepath.Join(dir, InfoFile), first, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Start(ctx, Options{Dir: dir, Prefix: prefix})
	if err == nil {
		d.Close()
		t.Fatal("a second devnet started on the directory of a running one")
	}
	wantRunning(t, err, dir)
	if b, err := os.ReadFile(filepath.Join(dir, InfoFile)); err != nil || string(b) != string(first) {
		t.Errorf("the refused start changed %s: %q (%v)", InfoFile, b, err)
	}
	for _, f := range []string{"chopsticks.yml", "chopsticks.log", Spec} {
		if _, err := os.Stat(filepath.Join(dir, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the refused start wrote %s (%v)", f, err)
		}
	}

	// The first stops: the next Start is let in and fails at chopsticks.
	release()
	d, err = Start(ctx, Options{Dir: dir, Prefix: prefix})
	if err == nil {
		d.Close()
		t.Fatal("Start succeeded with a chopsticks that exits at once")
	}
	if errors.Is(err, devnetlock.ErrRunning) || !strings.Contains(err.Error(), "chopsticks exited") {
		t.Fatalf("Start after the first stopped: %v, want chopsticks' failure", err)
	}
	// …and that failed Start left the directory free.
	again, err := devnetlock.Acquire(dir)
	if err != nil {
		t.Fatalf("the directory after a failed Start: %v", err)
	}
	again()
}

// TestCloseFreesTheDirectory: a devnet's Close releases its lock, so the
// directory takes a new devnet; a second Close changes nothing.
func TestCloseFreesTheDirectory(t *testing.T) {
	dir := t.TempDir()
	release, err := devnetlock.Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	d := &Devnet{release: release}
	if _, err := devnetlock.Acquire(dir); !errors.Is(err, devnetlock.ErrRunning) {
		t.Fatalf("Acquire while the devnet runs: %v, want ErrRunning", err)
	}
	d.Close()
	d.Close()
	again, err := devnetlock.Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after Close: %v", err)
	}
	again()
}

// TestRunningDevnetRefusesASecondStart: the real thing, with chopsticks
// installed — the shared devnet holds its directory against a second one.
func TestRunningDevnetRefusesASecondStart(t *testing.T) {
	d := devnet(t)
	before, err := os.ReadFile(filepath.Join(d.Dir(), InfoFile))
	if err != nil {
		t.Fatal(err)
	}
	second, err := Start(ctxT(t), Options{Dir: d.Dir(), EraEvery: -1})
	if err == nil {
		second.Close()
		t.Fatal("a second devnet started on the directory of a running one")
	}
	wantRunning(t, err, d.Dir())
	if after, err := os.ReadFile(filepath.Join(d.Dir(), InfoFile)); err != nil || string(after) != string(before) {
		t.Errorf("the refused start changed %s (%v)", InfoFile, err)
	}
}
