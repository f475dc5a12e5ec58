package ports

import (
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
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

// Concurrent pickers of one process never get the same port while it is
// held, even though it is still free (nothing binds it here): a range of
// ten ports gives ten distinct ones to ten goroutines, then none, and the
// ports come back once hold has passed.
func TestPickersOfOneProcessStayApart(t *testing.T) {
	from, err := Run(10)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	pk := &picker{handed: map[int]time.Time{}, now: func() time.Time { return now }}
	got := make(chan int, 10)
	errs := make(chan error, 10)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			p, err := pk.run(1, from, from+10)
			if err != nil {
				errs <- err
				return
			}
			got <- p
		})
	}
	wg.Wait()
	close(got)
	close(errs)
	for err := range errs {
		t.Fatalf("a picker found no port of ten for ten pickers: %v", err)
	}
	seen := map[int]bool{}
	for p := range got {
		if seen[p] || p < from || p >= from+10 {
			t.Fatalf("port %d handed out twice or outside %d..%d", p, from, from+9)
		}
		seen[p] = true
	}
	if p, err := pk.run(1, from, from+10); err == nil {
		t.Fatalf("an eleventh picker got port %d, already handed out and held", p)
	}
	now = now.Add(hold)
	if _, err := pk.run(1, from, from+10); err != nil {
		t.Fatalf("after hold the ports are not handed out again: %v", err)
	}
}
