package bus

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/nats-io/nats.go/jetstream"
)

// The embedded server's default stream size. nats-server lets JetStream
// use 75% of the disk it finds free at start (plus what its store holds
// already), and every stream reserves its whole MaxBytes up front: four
// streams of a fixed 10 GiB need about 53 GB free, more than an ordinary
// laptop or a tmpfs has, and the start fails. So, unless MaxBytes is
// given, each stream gets an equal share of half that disk — the other
// half stays for the database, the archive and the rest of the machine —
// between MinAutoMaxBytes and DefaultMaxBytes.
const (
	// MinAutoMaxBytes is the floor of an automatic stream size: below it a
	// stream holds too little to ride out a consumer's restart.
	MinAutoMaxBytes = int64(64) << 20
	// autoShareDivisor: the streams together get 1/autoShareDivisor of
	// the disk.
	autoShareDivisor = 2
)

// AutoMaxBytes is the size each of streams streams gets when the disk
// under the store has free bytes available and the store already holds
// used bytes: (free+used)/2 split over the streams, between
// MinAutoMaxBytes and DefaultMaxBytes. The store's own bytes count as
// space, so that a restart does not size the streams smaller because they
// filled up.
func AutoMaxBytes(free, used int64, streams int) int64 {
	if streams < 1 {
		streams = 1
	}
	space := max(free, 0) + max(used, 0)
	per := space / autoShareDivisor / int64(streams)
	return min(max(per, MinAutoMaxBytes), DefaultMaxBytes)
}

// embeddedMaxBytes sizes the streams of the embedded server storing under
// dir. When the free space cannot be read it falls back to DefaultMaxBytes;
// a full disk is then reported by EnsureStream.
func embeddedMaxBytes(dir string, streams int) int64 {
	free, err := diskFree(dir)
	if err != nil {
		return DefaultMaxBytes
	}
	return AutoMaxBytes(free, dirBytes(dir), streams)
}

// dirBytes is the size of the files under dir (0 when it does not exist).
func dirBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // a file that vanished or cannot be read counts for nothing
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// errCodeStorageExhausted is JSStorageResourcesExceededErr, which the
// client names no constant for.
const errCodeStorageExhausted jetstream.ErrorCode = 10047

// isStorageExhausted reports JetStream's "insufficient storage resources
// available" (10047): the server cannot reserve a stream's MaxBytes.
func isStorageExhausted(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeStorageExhausted
}

// storageHint is what an operator does when the server cannot reserve a
// stream: the sizes asked for, in all, and the flag that sets them.
func storageHint(perStream int64, streams int, auto bool) string {
	if streams < 1 {
		streams = 1
	}
	how := "--bus-max-bytes"
	if auto {
		how = "sized from the free disk; --bus-max-bytes sets it"
	}
	return fmt.Sprintf("the server has no room for it: every stream reserves its size limit up front, here %s each (%s) for %d stream(s), %s in all; "+
		"give a smaller --bus-max-bytes (per stream, e.g. --bus-max-bytes %d), free disk space where the server stores its streams, "+
		"or raise the server's JetStream storage limit (max_file_store)",
		formatBytes(perStream), how, streams, formatBytes(perStream*int64(streams)), max(perStream/4, 1<<20))
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d bytes", n)
}
