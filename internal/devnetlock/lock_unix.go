//go:build unix

package devnetlock

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// maxHolder bounds what is read of a lock file to name its holder: the
// file is ours, but anyone may have written into it.
const maxHolder = 64

func acquire(dir, name string) (func(), error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("devnet: open the directory's lock %s: %w (check the directory's permissions)", name, err)
	}
	// flock locks belong to the open file, so a second Acquire in this
	// same process is refused as one from another process is.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := holderOf(f)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, running(dir, holder)
		}
		return nil, fmt.Errorf("devnet: lock %s: %w", name, err)
	}
	// The holder's pid, for the refusal's message only: the lock, not the
	// pid, says whether a devnet runs.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	// Closing the file drops the lock; once, however often it is called.
	var once sync.Once
	return func() { once.Do(func() { f.Close() }) }, nil
}

// holderOf is "pid N" from a held lock's file, "" when it names none.
func holderOf(f *os.File) string {
	b, err := io.ReadAll(io.LimitReader(f, maxHolder))
	if err != nil {
		return ""
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return ""
	}
	return "pid " + strconv.Itoa(pid)
}
