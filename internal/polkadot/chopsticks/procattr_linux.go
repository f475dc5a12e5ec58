package chopsticks

import "syscall"

// procAttr puts chopsticks in its own process group (it spawns node
// children, and Close stops the group) and has the kernel kill it when
// valtrack dies without closing it — a second Ctrl-C exits at once, a
// crash or SIGKILL skips every deferred Close — instead of leaving it
// running on its port. (Pdeathsig fires when the thread that started it
// ends; Go's runtime ends threads only for goroutines locked to them,
// which this package never is.)
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
