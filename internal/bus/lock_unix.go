//go:build unix

package bus

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockStore takes an exclusive lock on the embedded server's store
// directory, held until the returned release is called. nats-server does
// not lock its store itself: two processes on one directory (a second
// `valtrack run`, or `valtrack dlq` beside a running one) would both write
// the same stream files and corrupt them.
func lockStore(dir string) (release func(), err error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create the embedded bus's directory %s: %w (check --data-dir and its permissions)", dir, err)
	}
	name := filepath.Join(dir, storeLockName)
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("open the embedded bus's lock %s: %w (check --data-dir and its permissions)", name, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is locked by another valtrack process using the same data directory; stop that one first, or give this one a data directory of its own", ErrStoreInUse, dir)
		}
		return nil, fmt.Errorf("lock the embedded bus's directory %s: %w", dir, err)
	}
	// Closing the file releases the lock; the file itself stays, empty.
	return func() { f.Close() }, nil
}
