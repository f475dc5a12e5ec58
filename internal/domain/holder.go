package domain

import (
	"os"
	"path/filepath"
)

// Holder names this process where processes sharing a store take turns or
// announce what they do (a send lease, a heartbeat of the chains whose
// alerts it evaluates): its host and absolute data directory. It is the
// same across restarts, so a restarted process recognises its own rows
// (and takes a lease back at once rather than waiting for it to lapse),
// and differs between processes, which run on other hosts or data
// directories (they must not share one: its sentry cursors and archive
// are the process's own).
func Holder(dataDir string) string {
	host, _ := os.Hostname()
	if abs, err := filepath.Abs(dataDir); err == nil {
		dataDir = abs
	}
	return host + ":" + dataDir
}
