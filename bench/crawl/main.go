// Command bench-crawl measures the Ethereum sentry on a local devnet: the
// time until every node is discovered, the time until 99% are handshaken,
// and the sentry's resident memory per tracked peer. The devnet runs in a
// child process (this program re-executed as "bench-crawl devnet") so the
// resident set measured is the sentry's alone.
//
//	go run ./bench/crawl -nodes 500
//	go run ./bench/crawl -nodes 200 -progress 1s   # counts on stderr as it goes
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/valtrack/valtrack/internal/ethereum/devnet"
	"github.com/valtrack/valtrack/internal/ethereum/events"
	"github.com/valtrack/valtrack/internal/ethereum/network"
	"github.com/valtrack/valtrack/internal/ethereum/sentry"
)

const readyLine = "DEVNET READY"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "devnet" {
		if err := runDevnet(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench-crawl devnet:", err)
			os.Exit(1)
		}
		return
	}
	if err := runBench(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench-crawl:", err)
		os.Exit(1)
	}
}

// runDevnet is the child: it starts the devnet, says so on stdout and runs
// until its stdin closes (the parent exiting closes it too).
func runDevnet(args []string) error {
	fs := flag.NewFlagSet("devnet", flag.ContinueOnError)
	nodes := fs.Int("nodes", 500, "devnet nodes")
	dir := fs.String("dir", "", "devnet directory")
	slot := fs.Duration("slot", 2*time.Second, "slot duration")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	d, err := devnet.Start(ctx, devnet.Options{Nodes: *nodes, Dir: *dir, SlotDuration: *slot, SlotsPerEpoch: 8, Log: slog.New(slog.DiscardHandler)})
	cancel()
	if err != nil {
		return err
	}
	defer d.Close()
	fmt.Println(readyLine)
	io.Copy(io.Discard, os.Stdin)
	return nil
}

// counter is the sentry's Publisher here: it notes who was discovered and
// handshaken, and when.
type counter struct {
	mu         sync.Mutex
	discovered map[string]bool
	handshaken map[string]bool
	events     int
}

func (c *counter) Publish(_ context.Context, subject, _ string, data []byte) error {
	_, kind, err := events.SplitSubject(subject)
	if err != nil {
		return err
	}
	v, err := events.Decode(kind, data)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events++
	switch e := v.(type) {
	case *events.PeerDiscovered:
		c.discovered[e.ID] = true
	case *events.MetadataReceived:
		c.handshaken[e.PeerID] = true
	}
	return nil
}

func (c *counter) progress(truth *devnet.Truth) (disc, hs int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range truth.Nodes {
		if c.discovered[n.NodeID] {
			disc++
		}
		if c.handshaken[n.PeerID] {
			hs++
		}
	}
	return disc, hs
}

func runBench(args []string) error {
	fs := flag.NewFlagSet("bench-crawl", flag.ContinueOnError)
	nodes := fs.Int("nodes", 500, "devnet nodes")
	slot := fs.Duration("slot", 2*time.Second, "devnet slot duration")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after this long")
	workers := fs.Int("workers", sentry.DefaultDialWorkers, "sentry dial workers")
	progress := fs.Duration("progress", 0, "print discovered/handshaken counts to stderr this often (0: never)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "bench-crawl-")
	if err != nil {
		return fmt.Errorf("create temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	devDir, dataDir := filepath.Join(tmp, "devnet"), filepath.Join(tmp, "sentry")

	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable to start the devnet child: %w", err)
	}
	child := exec.Command(self, "devnet", "-nodes", strconv.Itoa(*nodes), "-dir", devDir, "-slot", slot.String())
	child.Stderr = os.Stderr
	stdin, err := child.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		return err
	}
	startDev := time.Now()
	if err := child.Start(); err != nil {
		return fmt.Errorf("start devnet child: %w", err)
	}
	defer func() {
		stdin.Close()
		child.Wait()
	}()
	if err := waitReady(stdout, 5*time.Minute); err != nil {
		return fmt.Errorf("devnet child: %w", err)
	}
	devnetUp := time.Since(startDev)

	net, err := network.Load(devDir)
	if err != nil {
		return err
	}
	truth, err := devnet.ReadTruth(devDir)
	if err != nil {
		return err
	}

	runtime.GC()
	rssBefore, err := vmRSS()
	if err != nil {
		return err
	}
	var msBefore runtime.MemStats
	runtime.ReadMemStats(&msBefore)

	pub := &counter{discovered: map[string]bool{}, handshaken: map[string]bool{}}
	s, err := sentry.New(sentry.Config{
		Network:     net,
		DataDir:     dataDir,
		ListenIP:    "127.0.0.1",
		DiscPort:    0,
		TCPPort:     0,
		QUICPort:    0,
		DialWorkers: *workers,
		SentryID:    "bench",
		Registerer:  prometheus.NewRegistry(),
		Log:         slog.New(slog.DiscardHandler),
	}, pub)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- s.Run(ctx) }()

	total := len(truth.Nodes)
	need99 := (total*99 + 99) / 100
	var tDisc, tHS, tAll time.Duration
	deadline := time.After(*timeout)
	var lastProgress time.Duration
loop:
	for {
		select {
		case <-deadline:
			break loop
		case <-time.After(100 * time.Millisecond):
		}
		disc, hs := pub.progress(truth)
		el := time.Since(start)
		if *progress > 0 && el-lastProgress >= *progress {
			lastProgress = el
			st := s.Stats()
			fmt.Fprintf(os.Stderr, "%6.1fs discovered %d handshaken %d dialed %d; crawl: swept %d queries %d failed %d\n",
				el.Seconds(), disc, hs, st.Dialed, st.Crawl.Swept, st.Crawl.Queries, st.Crawl.QueryFailures)
		}
		if tDisc == 0 && disc == total {
			tDisc = el
		}
		if tHS == 0 && hs >= need99 {
			tHS = el
		}
		if tAll == 0 && hs == total {
			tAll = el
		}
		if tDisc != 0 && tAll != 0 {
			break
		}
		if tDisc != 0 && tHS != 0 && el > tHS+30*time.Second {
			break // the last 1% may be unreachable; do not wait forever
		}
	}
	time.Sleep(2 * time.Second) // let the settle-delayed events land
	runtime.GC()
	rssAfter, _ := vmRSS()
	var msAfter runtime.MemStats
	runtime.ReadMemStats(&msAfter)
	st := s.Stats()
	disc, hs := pub.progress(truth)
	cancel()
	if err := <-done; err != nil {
		return fmt.Errorf("sentry: %w", err)
	}

	tracked := max(st.Discovered, 1)
	fmt.Printf("\n## Crawl benchmark: %d-node devnet (slot %s), %d dial workers, GOMAXPROCS %d\n\n", total, *slot, *workers, runtime.GOMAXPROCS(0))
	fmt.Println("| metric | value |")
	fmt.Println("|---|---|")
	fmt.Printf("| devnet start (child process) | %s |\n", devnetUp.Round(time.Millisecond))
	fmt.Printf("| nodes discovered | %d / %d |\n", disc, total)
	fmt.Printf("| time until every node discovered | %s |\n", fmtDur(tDisc))
	fmt.Printf("| nodes handshaken | %d / %d |\n", hs, total)
	fmt.Printf("| time until 99%% handshaken | %s |\n", fmtDur(tHS))
	fmt.Printf("| time until 100%% handshaken | %s |\n", fmtDur(tAll))
	fmt.Printf("| dials / failures | %d / %v |\n", st.Dialed, st.Failed)
	fmt.Printf("| discv5 FINDNODE/ENR requests / failed | %d / %d |\n", st.Crawl.Queries, st.Crawl.QueryFailures)
	fmt.Printf("| events published | %d |\n", st.Published)
	fmt.Printf("| sentry RSS before → after | %s → %s |\n", mib(rssBefore), mib(rssAfter))
	fmt.Printf("| RSS per tracked peer | %s |\n", kib(float64(rssAfter-rssBefore)/float64(tracked)))
	fmt.Printf("| Go heap in use per tracked peer | %s |\n", kib(float64(int64(msAfter.HeapInuse)-int64(msBefore.HeapInuse))/float64(tracked)))
	return nil
}

func waitReady(r io.Reader, limit time.Duration) error {
	found := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if sc.Text() == readyLine {
				found <- nil
				io.Copy(io.Discard, r)
				return
			}
		}
		found <- errors.New("exited before it was ready")
	}()
	select {
	case err := <-found:
		return err
	case <-time.After(limit):
		return fmt.Errorf("not ready after %s", limit)
	}
}

// vmRSS reads the resident set size of this process from /proc.
func vmRSS() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read /proc/self/status (Linux only): %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) == 0 {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmRSS %q: %w", v, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, errors.New("no VmRSS in /proc/self/status")
}

func fmtDur(d time.Duration) string {
	if d == 0 {
		return "not reached"
	}
	return d.Round(10 * time.Millisecond).String()
}

func mib(b int64) string   { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
func kib(b float64) string { return fmt.Sprintf("%.1f KiB", b/1024) }
