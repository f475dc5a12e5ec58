//go:build unix

package devnetlock

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A held directory is refused with the message that says what to do and
// who holds it; once released (the devnet stopped) it is taken again.
func TestAcquireRefusesAHeldDirectory(t *testing.T) {
	dir := t.TempDir()
	release, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(dir)
	if !errors.Is(err, ErrRunning) {
		t.Fatalf("second Acquire: %v, want ErrRunning", err)
	}
	for _, want := range []string{"a devnet is already running in " + dir, "pid " + strconv.Itoa(os.Getpid()), "stop it first, or give another directory"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	release()
	again, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after release: %v", err)
	}
	again()
}

// A lock file left by a devnet that ended (here: written, never locked)
// does not refuse the directory.
func TestAcquireTakesAStaleLock(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte("999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	release, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire over a stale lock file: %v", err)
	}
	release()
}
