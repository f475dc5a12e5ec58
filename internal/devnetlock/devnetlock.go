// Package devnetlock keeps two devnets off one directory. A devnet's
// directory holds the files that tell `valtrack run` where the devnet's
// nodes listen (ssv.json, bootstrap_nodes.txt, genesis.json, info.json …);
// a second devnet started on it would overwrite them with its own, and a
// later run against the directory would reach the second devnet's nodes
// (or none, once it stopped) while the first still runs.
//
// A devnet takes an exclusive lock on Dir/devnet.lock for as long as it
// runs. The operating system drops the lock when the process ends, however
// it ends, so the files of a devnet that stopped (or was killed) are stale
// and a new devnet replaces them; only a live one refuses the directory.
package devnetlock

import (
	"errors"
	"fmt"
	"path/filepath"
)

// FileName is the lock's file in a devnet's directory. It stays after the
// devnet stops; an unlocked file means nothing.
const FileName = "devnet.lock"

// ErrRunning is what Acquire's error wraps when a devnet holds dir.
var ErrRunning = errors.New("a devnet is already running")

// Acquire locks dir for a devnet until release is called (or the process
// ends); release may be called more than once. It fails, wrapping ErrRunning, while another devnet — of this
// process or another — holds dir. dir must exist.
func Acquire(dir string) (release func(), err error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("devnet: resolve directory %s: %w", dir, err)
	}
	return acquire(abs, filepath.Join(abs, FileName))
}

// running is the refusal, naming who holds the lock where known.
func running(dir, holder string) error {
	if holder == "" {
		holder = "lock " + filepath.Join(dir, FileName)
	}
	return fmt.Errorf("devnet: %w in %s (%s): stop it first, or give another directory", ErrRunning, dir, holder)
}
