//go:build unix

package bus

import (
	"os"
	"syscall"
)

// diskFree is the space an unprivileged writer has on the file system of
// dir, which is created first as nats-server would.
func diskFree(dir string) (int64, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return 0, err
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}
