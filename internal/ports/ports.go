// Package ports picks loopback ports for what valtrack starts and then
// connects to — devnet nodes, chopsticks, embedded servers — and for the
// tests that do the same.
//
// Binding port 0 and closing the listener, the usual trick, hands out a
// port of the kernel's ephemeral range, which the kernel gives again to the
// next socket that binds port 0 or connects out — often a node of the same
// devnet — before the program that was meant to have it binds it. The ports
// picked here lie below the ephemeral range
// (/proc/sys/net/ipv4/ip_local_port_range), where only explicit binds
// compete, at a random place so that concurrent pickers stay apart, and
// are checked free on TCP and UDP.
//
// A port is free until its program binds it, which for chopsticks is
// seconds after the pick; a second picker of the same process (the
// domains of `valtrack run --devnet` start their devnets concurrently)
// could find it free meanwhile. So a port handed out is not handed out
// again by this process for a while (hold).
package ports

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// span is how far below the ephemeral range ports are picked.
const span = 16000

// hold is how long a port handed out is kept from this process's other
// pickers: far longer than any program here takes to bind what it was
// given, and short enough that a long test run does not use up the range.
const hold = 2 * time.Minute

// picker hands out ports, each at most once per hold. It is process-wide
// (local) because the ports are: every picker of the process competes for
// the same ones.
type picker struct {
	mu     sync.Mutex
	handed map[int]time.Time // guarded by mu
	now    func() time.Time
}

var local = &picker{handed: map[int]time.Time{}, now: time.Now}

// Run is a port p with p..p+n-1 free on 127.0.0.1 (TCP and UDP), for a
// program that binds consecutive ports (a libp2p port and its discovery
// port), none of them handed out by this process within hold.
func Run(n int) (int, error) {
	if n < 1 || n > 100 {
		return 0, fmt.Errorf("ports: %d consecutive ports asked for; 1..100", n)
	}
	low := ephemeralLow()
	return local.run(n, max(1024, low-span), low)
}

// run picks n consecutive ports in from..to-1.
func (pk *picker) run(n, from, to int) (int, error) {
	pk.mu.Lock()
	defer pk.mu.Unlock()
	now := pk.now()
	for p, at := range pk.handed {
		if now.Sub(at) >= hold {
			delete(pk.handed, p)
		}
	}
	for range 500 {
		p := from + rand.IntN(to-n-from+1)
		ok := true
		for i := range n {
			if _, taken := pk.handed[p+i]; taken || Free(p+i) != nil {
				ok = false
				break
			}
		}
		if ok {
			for i := range n {
				pk.handed[p+i] = now
			}
			return p, nil
		}
	}
	return 0, fmt.Errorf("ports: no %d consecutive free ports on 127.0.0.1 in %d..%d", n, from, to-1)
}

// Pick is n distinct ports, each free on 127.0.0.1.
func Pick(n int) ([]int, error) {
	out := make([]int, 0, n)
	seen := map[int]bool{}
	for len(out) < n {
		p, err := Run(1)
		if err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// Addr is "127.0.0.1:PORT" with a free port.
func Addr() (string, error) {
	p, err := Run(1)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), nil
}

// Free binds TCP and UDP port p on 127.0.0.1 and releases them: nil when
// both could be bound.
func Free(p int) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	l.Close()
	u, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	return u.Close()
}

// ephemeralLow is the first port of the kernel's ephemeral range; Linux's
// default where it cannot be read.
func ephemeralLow() int {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil && v > 1024+200 {
				low = v
			}
		}
	}
	return low
}
