// Command cosmosalert measures the time from a validator's absence to its
// alert: it starts a 4-validator cosmos devnet, runs `valtrack run --cosmos
// <devnet dir>` as a child process with an alerts file whose only channel
// is a webhook to a receiver in this program, stops validator 3 and times
// the first analyzer record of its miss (GET /api/v1/cosmos/<chain>/missed,
// polled every 50 ms) and the webhook's firing notification of its
// consecutive_missed rule; then starts it again and times the resolve
// notification. Each run uses a fresh devnet and data directory.
//
//	go build -o /tmp/valtrack ./cmd/valtrack && go run ./bench/cosmosalert -valtrack /tmp/valtrack -runs 3
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/valtrack/valtrack/internal/ports"

	"github.com/valtrack/valtrack/internal/cosmos/devnet"
)

const victim = 3 // the validator stopped

func main() {
	bin := flag.String("valtrack", "", "the valtrack binary (default: built from ./cmd/valtrack into a temp dir)")
	runs := flag.Int("runs", 3, "measurements, each on a fresh devnet")
	interval := flag.Duration("block-interval", devnet.DefaultBlockInterval, "the devnet's timeout_commit")
	keep := flag.Bool("keep", false, "keep the temp dirs (valtrack's log is valtrack.log there)")
	flag.Parse()
	if *bin == "" {
		dir, err := os.MkdirTemp("", "valtrack-bin-")
		if err != nil {
			fail(err)
		}
		defer os.RemoveAll(dir)
		*bin = filepath.Join(dir, "valtrack")
		fmt.Fprintln(os.Stderr, "building valtrack…")
		if out, err := exec.Command("go", "build", "-o", *bin, "./cmd/valtrack").CombinedOutput(); err != nil {
			fail(fmt.Errorf("go build ./cmd/valtrack: %v\n%s", err, out))
		}
	}
	fmt.Println("| run | block interval | stop → first miss in the API | stop → firing webhook | blocks stop → firing | start → resolved webhook | blocks start → resolved |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for i := 1; i <= *runs; i++ {
		r, err := measure(*bin, *interval, *keep)
		if err != nil {
			fail(fmt.Errorf("run %d: %w", i, err))
		}
		fmt.Printf("| %d | %s | %s (height %d, miss %d after the stop height %d) | %s | %d | %s | %d |\n", i,
			r.blockInterval.Round(time.Millisecond), r.firstMiss.Round(time.Millisecond), r.missHeight, r.missHeight-r.stopHeight, r.stopHeight,
			r.firing.Round(time.Millisecond), r.firingBlocks, r.resolved.Round(time.Millisecond), r.resolvedBlocks)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "cosmosalert:", err)
	os.Exit(1)
}

// result of one run; durations from the stop (or start) of the validator.
type result struct {
	blockInterval                time.Duration
	stopHeight, missHeight       int64
	firstMiss, firing, resolved  time.Duration
	firingBlocks, resolvedBlocks int64
}

// notification is the part of the webhook body read here
// (alerts.Notification).
type notification struct {
	Rule      string `json:"rule"`
	Validator string `json:"validator"`
	Status    string `json:"status"`
	Kind      string `json:"kind"`
}

// receiver is the webhook: it hands over the consecutive_missed
// notifications of one validator with their arrival time.
type receiver struct {
	addr string
	mu   sync.Mutex
	got  chan arrival
}

type arrival struct {
	n  notification
	at time.Time
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	var n notification
	if err := json.NewDecoder(r.Body).Decode(&n); err == nil && n.Rule == "consecutive_missed" && strings.EqualFold(n.Validator, rc.addr) {
		select {
		case rc.got <- arrival{n, at}:
		default:
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) wait(status string, limit time.Duration) (time.Time, error) {
	deadline := time.After(limit)
	for {
		select {
		case a := <-rc.got:
			if a.n.Status == status {
				return a.at, nil
			}
		case <-deadline:
			return time.Time{}, fmt.Errorf("no %s notification of consecutive_missed within %s", status, limit)
		}
	}
}

func freeAddr() (string, error) { return ports.Addr() }

func measure(bin string, interval time.Duration, keep bool) (_ *result, err error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "valtrack-cosmosalert-")
	if err != nil {
		return nil, err
	}
	if keep {
		fmt.Fprintln(os.Stderr, "dir:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	dn, err := devnet.Start(ctx, devnet.Options{Validators: 4, Dir: filepath.Join(dir, "devnet"), BlockInterval: interval})
	if err != nil {
		return nil, err
	}
	defer dn.Close()
	info := dn.Info()
	rc := &receiver{addr: info.Validators[victim].Address, got: make(chan arrival, 16)}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	alertsFile := filepath.Join(dir, "alerts.yaml")
	if err := os.WriteFile(alertsFile, []byte("channels:\n  - {name: bench, type: webhook, url_env: BENCH_HOOK_URL}\n"), 0o600); err != nil {
		return nil, err
	}
	api, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "valtrack.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "run", "--cosmos", filepath.Join(dir, "devnet"), "--data-dir", filepath.Join(dir, "data"),
		"--http", api, "--alerts", alertsFile)
	cmd.Env = append(os.Environ(), "BENCH_HOOK_URL="+hook.URL)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	base := "http://" + api + "/api/v1/cosmos/"
	chain := info.ChainID

	// analysed: the chain is in the API with analyzed_height > 0
	if err := until(90*time.Second, exited, func() (bool, error) {
		var resp struct {
			Chains []struct {
				Chain          string `json:"chain"`
				AnalyzedHeight int64  `json:"analyzed_height"`
			} `json:"chains"`
		}
		if err := get(base+"chains", &resp); err != nil {
			return false, nil
		}
		for _, c := range resp.Chains {
			if c.Chain == chain && c.AnalyzedHeight > 0 {
				return true, nil
			}
		}
		return false, nil
	}); err != nil {
		return nil, fmt.Errorf("wait for the analysis: %w (log: %s)", err, logf.Name())
	}
	time.Sleep(5 * time.Second) // a few heights analysed in the steady state

	r := &result{}
	h0, t0 := chainHeight(dn), time.Now()
	r.stopHeight = h0
	if err := dn.StopValidator(victim); err != nil {
		return nil, err
	}
	// the first analyzer record of the miss, polled every 50 ms; the
	// limit changes on every poll so that the API's response cache
	// (5 s) does not hide a new row
	missed := make(chan error, 1)
	go func() {
		i := 0
		missed <- until(2*time.Minute, exited, func() (bool, error) {
			i++
			var resp struct {
				Misses []struct {
					Height int64 `json:"height"`
				} `json:"misses"`
			}
			if err := get(fmt.Sprintf("%s%s/missed?validator=%s&limit=%d", base, chain, rc.addr, 100+i%900), &resp); err != nil {
				return false, nil
			}
			for _, m := range resp.Misses {
				if m.Height > h0 {
					r.firstMiss, r.missHeight = time.Since(t0), m.Height
					return true, nil
				}
			}
			return false, nil
		}, 50*time.Millisecond)
	}()
	t1, err := rc.wait("firing", 2*time.Minute)
	if err != nil {
		return nil, err
	}
	r.firing, r.firingBlocks = t1.Sub(t0), chainHeight(dn)-h0
	if err := <-missed; err != nil {
		return nil, fmt.Errorf("first miss: %w", err)
	}

	h2, t2 := chainHeight(dn), time.Now()
	if err := dn.StartValidator(victim); err != nil {
		return nil, err
	}
	t3, err := rc.wait("resolved", 3*time.Minute)
	if err != nil {
		return nil, err
	}
	r.resolved, r.resolvedBlocks = t3.Sub(t2), chainHeight(dn)-h2
	// the block interval over the whole measurement
	if h := chainHeight(dn); h > h0 {
		r.blockInterval = time.Since(t0) / time.Duration(h-h0)
	}
	return r, nil
}

// chainHeight is the highest height a running validator has stored.
func chainHeight(dn *devnet.Devnet) int64 {
	var h int64
	for _, v := range dn.Status().Validators {
		h = max(h, v.Height)
	}
	return h
}

func get(url string, out any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// until polls cond (every 200 ms, or every[0]) until it holds, limit
// passes or the child exits.
func until(limit time.Duration, exited <-chan struct{}, cond func() (bool, error), every ...time.Duration) error {
	step := 200 * time.Millisecond
	if len(every) > 0 {
		step = every[0]
	}
	deadline := time.Now().Add(limit)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", limit)
		}
		select {
		case <-exited:
			return errors.New("valtrack exited")
		case <-time.After(step):
		}
	}
}
