package program

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"
)

// freshAge: a file modified this recently is re-hashed even when its mtime
// and size look unchanged, since an editor can rewrite it within the
// filesystem's mtime granularity without changing its size.
const freshAge = 2 * time.Second

// Watcher holds the program file's last good config and re-reads the file
// when it changes. A new version that does not parse is not applied: the
// last good config stays current and the error is exposed by Current.
type Watcher struct {
	path  string
	every time.Duration

	mu      sync.Mutex
	cfg     *Config
	err     error
	hash    [32]byte
	size    int64
	mtime   time.Time
	version uint64
}

// NewWatcher loads path (an error if it cannot: there is no last good
// config to fall back on) and polls it every `every` once Run is called.
func NewWatcher(path string, every time.Duration) (*Watcher, error) {
	if every <= 0 {
		return nil, fmt.Errorf("program file watcher: poll interval %v must be positive (e.g. 10s)", every)
	}
	w := &Watcher{path: path, every: every}
	if _, err := w.Poll(); err != nil {
		return nil, err
	}
	return w, nil
}

// Current is the last good config and the error of the latest read (nil
// when the file as it is now was applied).
func (w *Watcher) Current() (*Config, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cfg, w.err
}

// Version counts the configs applied (1 after NewWatcher): a caller can
// tell a new config from the one it already has.
func (w *Watcher) Version() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.version
}

// Run polls until ctx ends.
func (w *Watcher) Run(ctx context.Context) {
	t := time.NewTicker(w.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, _ = w.Poll() // the error is kept for Current
		}
	}
}

// Poll checks the file once: it reads it when its mtime or size changed
// (or it is fresh), and applies it when its hash changed and it parses.
// changed reports a new config applied.
func (w *Watcher) Poll() (changed bool, err error) {
	info, err := os.Stat(w.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, w.fail(fmt.Errorf("program file %s is missing", w.path), true)
		}
		return false, w.fail(fmt.Errorf("program file %s: %w", w.path, err), false)
	}
	w.mu.Lock()
	same := w.cfg != nil && info.Size() == w.size && info.ModTime().Equal(w.mtime) &&
		time.Since(info.ModTime()) > freshAge
	w.mu.Unlock()
	if same {
		return false, w.lastErr()
	}
	data, err := readConfig(w.path)
	if err != nil {
		// Removed between the stat and the open: still a missing file.
		if errors.Is(err, fs.ErrNotExist) {
			return false, w.fail(fmt.Errorf("program file %s is missing", w.path), true)
		}
		return false, w.fail(err, false) // readConfig's errors name the path
	}
	h := sha256.Sum256(data)
	w.mu.Lock()
	if w.cfg != nil && h == w.hash {
		// Touched but not changed: nothing to re-apply; a previous error
		// stands only if it was about these same bytes.
		w.size, w.mtime = info.Size(), info.ModTime()
		err := w.err
		w.mu.Unlock()
		return false, err
	}
	w.mu.Unlock()
	cfg, perr := Parse(data)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.size, w.mtime = info.Size(), info.ModTime()
	if perr != nil {
		w.err = w.advice(fmt.Errorf("program file %s: %w", w.path, perr), false)
		if w.cfg == nil {
			return false, w.err
		}
		// Remember the bad bytes' hash so they are not re-parsed every poll.
		w.hash = h
		return false, w.err
	}
	w.cfg, w.err, w.hash = cfg, nil, h
	w.version++
	return true, nil
}

// advice adds what to do to a failed read, which depends on whether a
// config was ever loaded: on the first load there is none to fall back on
// (the program cannot start), on a re-load the last good one stays. The
// caller holds w.mu; missing tells a vanished file from an unreadable or
// invalid one.
func (w *Watcher) advice(err error, missing bool) error {
	if w.cfg != nil && missing {
		return fmt.Errorf("%w; keeping the last good config until the file is back", err)
	}
	if w.cfg != nil {
		return fmt.Errorf("%w; keeping the last good config until the file is fixed", err)
	}
	if missing {
		return fmt.Errorf("%w; the polkadot program cannot start without it: create it (a candidates list, "+
			"see \"The program file\" in docs/polkadot.md) or give the right path to --polkadot-candidates", err)
	}
	return fmt.Errorf("%w; the polkadot program cannot start without a valid program file: fix it "+
		"(the format is in \"The program file\" in docs/polkadot.md) or give another path to --polkadot-candidates", err)
}

func (w *Watcher) fail(err error, missing bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	err = w.advice(err, missing)
	w.err = err
	// A vanished file must be re-read when it returns, even if it comes
	// back with the same size and mtime.
	// It is re-parsed then too, so its config is re-applied and this error
	// cleared.
	w.size, w.mtime, w.hash = -1, time.Time{}, [32]byte{}
	return err
}

func (w *Watcher) lastErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}
