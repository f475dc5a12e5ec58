//go:build !linux

package chopsticks

import "syscall"

// procAttr puts chopsticks in its own process group, which Close stops;
// only Linux can also have it killed when valtrack dies without closing it.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
