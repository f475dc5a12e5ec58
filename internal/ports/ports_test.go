package ports

import (
	"net"
	"strconv"
	"testing"
)

// Picked ports are below the ephemeral range, free, consecutive where
// asked, distinct for Pick, and refused while something holds them.
func TestRunAndPick(t *testing.T) {
	low := ephemeralLow()
	p, err := Run(2)
	if err != nil {
		t.Fatal(err)
	}
	if p < 1024 || p+1 >= low {
		t.Fatalf("port %d outside 1024..%d", p, low-1)
	}
	for _, q := range []int{p, p + 1} {
		if err := Free(q); err != nil {
			t.Fatalf("picked port %d is not free: %v", q, err)
		}
	}
	ps, err := Pick(20)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, q := range ps {
		if seen[q] || q >= low {
			t.Fatalf("ports %v: %d repeated or in the ephemeral range", ps, q)
		}
		seen[q] = true
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(ps[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if Free(ps[0]) == nil {
		t.Fatalf("port %d is held, Free says it is free", ps[0])
	}
	u, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(ps[1]))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if Free(ps[1]) == nil {
		t.Fatalf("port %d is held on UDP, Free says it is free", ps[1])
	}
	if _, err := Run(0); err == nil {
		t.Fatal("Run(0) accepted")
	}
}
