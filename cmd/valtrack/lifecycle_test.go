package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/ports"

	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/bus"
	"github.com/valtrack/valtrack/internal/consumer"
	"github.com/valtrack/valtrack/internal/domain"
)

// childArgs is the environment variable that turns the test binary into
// valtrack: TestMain then runs the real main() with these arguments (JSON),
// so the signal handling and exit codes of main.go are what is tested.
const childArgs = "LIFECYCLE_TEST_VALTRACK_ARGS"

func TestMain(m *testing.M) {
	if a := os.Getenv(childArgs); a != "" {
		var args []string
		if err := json.Unmarshal([]byte(a), &args); err != nil {
			panic(err)
		}
		os.Args = append([]string{"valtrack"}, args...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestStrayArgumentsRefused: no command takes arguments, so a word that
// is not a flag is refused before the command starts — `--archive false`
// would otherwise leave "false" unread and the switch on.
func TestStrayArgumentsRefused(t *testing.T) {
	var leaves [][]string
	var walk func(path []string, c *cli.Command)
	walk = func(path []string, c *cli.Command) {
		if c.Action != nil && len(path) > 0 {
			leaves = append(leaves, path)
		}
		for _, sub := range c.Commands {
			if sub.Name != "help" {
				walk(append(slices.Clone(path), sub.Name), sub)
			}
		}
	}
	walk(nil, quietApp())
	if len(leaves) < 10 {
		t.Fatalf("only %d commands found: %v", len(leaves), leaves)
	}
	for _, path := range leaves {
		t.Run(strings.Join(path, " "), func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "data")
			args := append(append([]string{"valtrack"}, path...), "--data-dir", dataDir)
			if last := path[len(path)-1]; last == "stop" || last == "start" {
				args = append(args, "--validator", "0") // required by the devnet's stop and start
			}
			args = append(args, "false")
			err := quietApp().Run(canceled(), args)
			if err == nil || !strings.Contains(err.Error(), "takes no arguments, got \"false\"") || !strings.Contains(err.Error(), "--archive=false") {
				t.Fatalf("%v: %v, want the stray word refused with the switch's form", args, err)
			}
			if _, serr := os.Stat(dataDir); serr == nil {
				t.Error("the command started (it created --data-dir) before refusing the word")
			}
		})
	}
}

// quietApp is the CLI with its help output discarded (a refused flag
// prints the command's help; the tests read the error).
func quietApp() *cli.Command {
	app := newApp(domains())
	app.Writer, app.ErrWriter = io.Discard, io.Discard
	return app
}

// TestInvalidFlagsRefused gives every command each bad value of a flag it
// has and checks that the value is refused before the command starts (the
// data directory is not even created) with a message that names the flag
// and says what to give.
func TestInvalidFlagsRefused(t *testing.T) {
	bad := []struct {
		args []string
		hint string // what the message tells to give
	}{
		{[]string{"--progress-every", "-1s"}, "positive duration"},
		{[]string{"--progress-every", "-1"}, "duration with its unit"},
		{[]string{"--batch-size", "0"}, "1..100000"},
		{[]string{"--batch-size", "1000000"}, "1..100000"},
		{[]string{"--bus-max-age", "0"}, "positive duration"},
		{[]string{"--bus-max-bytes", "5"}, "at least 1048576"},
		{[]string{"--bus-duplicates", "-1s"}, "positive duration"},
		{[]string{"--bus-replicas", "9"}, "1..5"},
		{[]string{"--rate-per-ip", "-1"}, "positive rate"},
		{[]string{"--rate-per-key", "-1"}, "positive rate"},
		{[]string{"--rate-per-ip", "NaN"}, "positive rate"},
		{[]string{"--rate-per-key", "+Inf"}, "positive rate"},
		{[]string{"--http", "not an address"}, "HOST:PORT"},
		{[]string{"--http", ""}, "HOST:PORT"},
		{[]string{"--admin-http", "nope"}, "HOST:PORT"},
		{[]string{"--bus-listen", "nope"}, "HOST:PORT"},
		{[]string{"--log-level", "loud"}, "debug, info, warn or error"},
		{[]string{"--log-format", "xml"}, "text or json"},
		{[]string{"--p2p-port", "70000"}, "1..65534"},
		{[]string{"--dial-workers", "0"}, "1..4096"},
		{[]string{"--devnet-nodes", "0"}, "1..5000"},
		{[]string{"--estimate-window", "1s"}, "at least 1m0s"},
		{[]string{"--analyze-every", "0"}, "at least 100ms"},
		{[]string{"--history-retention", "0"}, "negative duration to keep it forever"},
		{[]string{"--data-dir", ""}, "give a directory"},
		{[]string{"--durable", ""}, "give"},
		{[]string{"--durable", "a.b"}, "without whitespace, '.'"},
		{[]string{"--durable", "x*"}, "without whitespace, '.'"},
		{[]string{"--cosmos", "bad name=http://127.0.0.1:26657"}, "letters, digits"},
		{[]string{"--cosmos", "c-1=ftp://127.0.0.1:26657"}, "http(s) RPC URL"},
		{[]string{"--cosmos", "/no/such/devnet"}, "NAME=RPC"},
		{[]string{"--cosmos-chain-id", "c-1"}, "NAME=VALUE"},
		{[]string{"--cosmos-lcd", "c-1=127.0.0.1:1317"}, "http(s) URL"},
		{[]string{"--cosmos-grpc", "c-1=http://127.0.0.1:9090"}, "is not grpc:// or tls://"},
		{[]string{"--cosmos-grpc", "c-1=127.0.0.1:0"}, "a port 1 to 65535"},
		{[]string{"--cosmos-grpc", "c-1=tls://user:hunter2@grpc.example.com:443"}, "no path, query or userinfo"},
		{[]string{"--cosmos-grpc", "c-1"}, "NAME=VALUE"},
		{[]string{"--cosmos-slashing", "c-1=100:1.5"}, "WINDOW:MIN"},
		{[]string{"--cosmos-slashing", "c-1=0:0.5"}, "WINDOW:MIN"},
		{[]string{"--cosmos-analyze-every", "10ms"}, "at least 100ms"},
		{[]string{"--alerts", "/no/such/alerts.yaml"}, "alerts"},
		{[]string{"--devnet-cosmos-validators", "0"}, "1..32"},
		{[]string{"--ssv", "Main Net"}, "lower-case letters"},
		{[]string{"--ssv-follow-distance", "5000"}, "1..1024"},
		{[]string{"--ssv-follow-distance", "0"}, "1..1024"},
		{[]string{"--ssv-beacon", "hoodi=127.0.0.1:5052"}, "http(s)://host:port"},
		{[]string{"--ssv-beacon-every", "1s"}, "at least 10s"},
		// Values only wrong beside others (or against what is built in):
		// refused by the domains' Check, still before anything opens.
		{[]string{"--history-retention", "1m"}, "shorter than --estimate-window"},
		{[]string{"--eth", "nope"}, "neither a built-in network"},
		{[]string{"--ssv", "nope"}, "--ssv-contract ADDRESS and --ssv-from-block N"},
		{[]string{"--ssv-contract", "0x00000000000000000000000000000000000000aa"}, "--ssv-from-block"},
		{[]string{"--ssv-replay-from", "5"}, "names a block of one network"},
		// Flags of a network that is not given: named, with what to add.
		{[]string{"--eth-rpc", "http://127.0.0.1:8545"}, "no --ssv network is given: add --ssv NAME"},
		{[]string{"--ssv-beacon", "http://127.0.0.1:5052"}, "no --ssv network is given: add --ssv NAME"},
		{[]string{"--polkadot-candidates", "/etc/hostname"}, "no chain is given: add --polkadot NAME=RPC"},
		{[]string{"--polkadot-send"}, "no chain is given: add --polkadot NAME=RPC"},
		{[]string{"--p2p-ip", "nonsense"}, "give an IPv4 address"},
		{[]string{"--bus-duplicates", "2m", "--bus-max-age", "1m"}, "longer than --bus-max-age 1m0s"},
	}
	commands := [][]string{{"run"}, {"consumer"}, {"sentry", "ethereum"}, {"sentry", "cosmos"}, {"sentry", "ssv"}, {"serve"}}
	tested := 0
	for _, c := range commands {
		has := flagNames(t, c)
		for _, b := range bad {
			flag := strings.TrimPrefix(b.args[0], "--")
			if !has[flag] {
				continue
			}
			tested++
			name := strings.Join(c, " ") + " " + strings.Join(b.args, "=")
			t.Run(name, func(t *testing.T) {
				dataDir := filepath.Join(t.TempDir(), "data")
				args := append([]string{"valtrack"}, c...)
				// The commands of a fleet would refuse to start without
				// --nats-url; give one so that only the bad value is wrong.
				if c[0] != "run" && c[0] != "serve" {
					args = append(args, "--nats-url", "nats://127.0.0.1:1")
				}
				if flag != "data-dir" {
					args = append(args, "--data-dir", dataDir)
				}
				args = append(args, b.args...)
				err := quietApp().Run(canceled(), args)
				checkRefused(t, err, b.args[0], b.hint)
				if err != nil && strings.Contains(err.Error(), "hunter2") {
					t.Errorf("the refusal quotes a password: %v", err)
				}
				if _, serr := os.Stat(dataDir); serr == nil {
					t.Errorf("%s: the command started (it created --data-dir) before refusing the value", name)
				}
			})
		}
	}
	if tested < 50 {
		t.Fatalf("only %d command/flag pairs tested: a flag was renamed?", tested)
	}
}

// TestDevnetInvalidFlagsRefused: `valtrack devnet ethereum` refuses the
// values its library would silently replace by a default (0), before it
// writes anything to --dir.
func TestDevnetInvalidFlagsRefused(t *testing.T) {
	for _, tc := range [][]string{
		{"--slot-duration", "0", "at least 100ms"},
		{"--slots-per-epoch", "0", "at least 1"},
		{"--nodes", "0", "1..5000"},
	} {
		dir := filepath.Join(t.TempDir(), "devnet")
		err := quietApp().Run(canceled(), []string{"valtrack", "devnet", "ethereum", "--dir", dir, tc[0], tc[1]})
		checkRefused(t, err, tc[0], tc[2])
		if _, serr := os.Stat(dir); serr == nil {
			t.Errorf("devnet %s %s: started (wrote --dir) before refusing", tc[0], tc[1])
		}
	}
}

// TestInvalidEnvRefused: a value from VALTRACK_<FLAG> is validated as the
// same value on the command line is (urfave/cli sets it through the flag,
// which runs the Validator), and the message names the variable.
func TestInvalidEnvRefused(t *testing.T) {
	for _, tc := range []struct {
		env, val, flag, hint string
	}{
		{"VALTRACK_BATCH_SIZE", "0", "--batch-size", "1..100000"},
		{"VALTRACK_PROGRESS_EVERY", "-5s", "--progress-every", "positive duration"},
		{"VALTRACK_HTTP", "not an address", "--http", "HOST:PORT"},
		{"VALTRACK_DEVNET_NODES", "0", "--devnet-nodes", "1..5000"},
		{"VALTRACK_LOG_LEVEL", "loud", "--log-level", "debug, info, warn or error"},
		{"VALTRACK_DATA_DIR", "", "--data-dir", "give a directory"},
	} {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv(tc.env, tc.val)
			args := []string{"valtrack", "run"}
			dataDir := filepath.Join(t.TempDir(), "data")
			if tc.flag != "--data-dir" {
				args = append(args, "--data-dir", dataDir)
			}
			err := quietApp().Run(canceled(), args)
			checkRefused(t, err, tc.flag, tc.hint)
			if err != nil && !strings.Contains(err.Error(), tc.env) {
				t.Errorf("the message does not name %s: %v", tc.env, err)
			}
			if _, serr := os.Stat(dataDir); serr == nil {
				t.Errorf("run started (created --data-dir) before refusing %s=%q", tc.env, tc.val)
			}
		})
	}
}

// canceled is the context of a command that must not start: were a value
// wrongly accepted, the command stops at its first step (after creating
// --data-dir, which the tests look for) instead of running.
func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

func checkRefused(t *testing.T, err error, flag, hint string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s was accepted", flag)
	}
	if !strings.Contains(err.Error(), flag) || !strings.Contains(err.Error(), hint) {
		t.Errorf("the message should name %s and say %q: %v", flag, hint, err)
	}
}

// flagNames are the flags of the command at path (and its parents').
func flagNames(t *testing.T, path []string) map[string]bool {
	t.Helper()
	cmd := newApp(domains())
	out := map[string]bool{}
	add := func(c *cli.Command) {
		for _, f := range c.Flags {
			for _, n := range f.Names() {
				out[n] = true
			}
		}
	}
	add(cmd)
	for _, p := range path {
		var next *cli.Command
		for _, s := range cmd.Commands {
			if s.Name == p {
				next = s
			}
		}
		if next == nil {
			t.Fatalf("no command %q", strings.Join(path, " "))
		}
		cmd = next
		add(cmd)
	}
	return out
}

// TestProgressNever: with every = 0 the progress loops return at once —
// they print nothing and make no ticker (time.NewTicker(0) panics) — while
// ctx is still live.
func TestProgressNever(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out strings.Builder
	log := slog.New(slog.NewTextHandler(&out, nil))
	called := false
	doms := []opened{{d: domains()[0], parts: &domain.Parts{Progress: func(context.Context) [][]any {
		called = true
		return [][]any{{"network", "x"}}
	}}}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		progress(ctx, 0, doms, nil, log)
		consumerProgress(ctx, 0, map[string]*consumer.Consumer{}, log)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("progress loops with every=0 kept running")
	}
	if called || out.Len() > 0 {
		t.Fatalf("every=0 printed progress: %q", out.String())
	}
}

// child is valtrack run as its own process (the real main()).
type child struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr strings.Builder
	done   chan struct{} // closed when the process has exited
}

func startChild(t *testing.T, args ...string) *child {
	t.Helper()
	a, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childArgs+"="+string(a))
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			c.mu.Lock()
			c.stderr.WriteString(sc.Text() + "\n")
			c.mu.Unlock()
		}
		// Wait after the whole pipe is read (Wait closes it), then reap.
		_ = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			_ = cmd.Process.Kill()
			<-c.done
		}
	})
	return c
}

func (c *child) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.String()
}

// waitOutput waits until stderr holds s.
func (c *child) waitOutput(t *testing.T, s string, within time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if strings.Contains(c.output(), s) {
			return
		}
		select {
		case <-c.done:
			t.Fatalf("valtrack exited before printing %q:\n%s", s, c.output())
		default:
		}
	}
	t.Fatalf("valtrack did not print %q within %s:\n%s", s, within, c.output())
}

// waitExit waits for the process to end and returns its exit code.
func (c *child) waitExit(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-c.done:
		return c.cmd.ProcessState.ExitCode()
	case <-time.After(within):
		t.Fatalf("valtrack did not exit within %s:\n%s", within, c.output())
		return -1
	}
}

// waitServing waits until the API on addr answers /healthz with 200.
func waitServing(t *testing.T, c *child, addr string) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case <-c.done:
			t.Fatalf("valtrack exited before serving:\n%s", c.output())
		default:
		}
		resp, err := client.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
	t.Fatalf("valtrack did not serve on %s:\n%s", addr, c.output())
}

func devnetArgs(dir, addr string) []string {
	return []string{"run", "--devnet", "--devnet-polkadot=false", "--devnet-nodes", "4", "--data-dir", dir, "--http", addr,
		"--log-level", "info", "--progress-every", "0", "--analyze-every", "1s"}
}

// TestCtrlC: one Ctrl-C stops valtrack cleanly (exit 0, its shutdown
// logged, no progress line with --progress-every 0); a second one, given
// while the first is shutting down, exits at once with 130.
func TestCtrlC(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a devnet")
	}
	t.Run("once", func(t *testing.T) {
		addr := freeAddr(t)
		c := startChild(t, devnetArgs(t.TempDir(), addr)...)
		waitServing(t, c, addr)
		start := time.Now()
		if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		code := c.waitExit(t, 60*time.Second)
		out := c.output()
		t.Logf("clean stop took %s", time.Since(start).Round(time.Millisecond))
		if code != 0 {
			t.Fatalf("exit code %d after one Ctrl-C, want 0:\n%s", code, out)
		}
		for _, want := range []string{"stopping cleanly; press Ctrl-C again to exit at once", "shutting down", "msg=stopped"} {
			if !strings.Contains(out, want) {
				t.Errorf("stderr lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "msg=progress") {
			t.Errorf("--progress-every 0 printed progress lines:\n%s", out)
		}
	})
	t.Run("twice", func(t *testing.T) {
		addr := freeAddr(t)
		c := startChild(t, devnetArgs(t.TempDir(), addr)...)
		waitServing(t, c, addr)
		// A client that has sent half a request holds the clean stop: the
		// API waits for it until its header timeout (5s). So the clean stop
		// cannot be what ends the process within the 3s below.
		slow, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer slow.Close()
		if _, err := slow.Write([]byte("GET /healthz HTTP/1.1\r\n")); err != nil {
			t.Fatal(err)
		}
		if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		// The second signal follows once the first is handled: two sent
		// back to back may reach the process as one.
		c.waitOutput(t, "stopping cleanly", 10*time.Second)
		if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		code := c.waitExit(t, 3*time.Second)
		if code != exitAtOnce {
			t.Fatalf("exit code %d after two Ctrl-C, want %d:\n%s", code, exitAtOnce, c.output())
		}
		if out := c.output(); !strings.Contains(out, "valtrack: exiting at once") {
			t.Errorf("stderr lacks the exit-at-once message:\n%s", out)
		}
	})
}

// settleGoroutines waits until the goroutine count is at most max and
// returns it; on a deadline it returns the count with every stack.
//
// Goroutines of CometBFT's libs/autofile are not counted: `run --devnet`
// starts the Cosmos devnet, and CometBFT v0.38's consensus WAL closes its
// file without stopping the autofile's close timer and SIGHUP goroutines
// (autofile.Group.Close calls closeFile, not Close; the WAL is unexported).
// They are two idle goroutines per validator started, owned by a library
// bug, not by valtrack; internal/cosmos/devnet's own test pins that number.
// Nor are go-ethereum's sender-cacher workers: a process-wide pool (one per
// CPU) that its core package starts once, on first use, by the SSV devnet.
func settleGoroutines(max int) (int, string) {
	var n int
	var stacks []string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if n, stacks = ownGoroutines(); n <= max {
			return n, ""
		}
	}
	return n, strings.Join(stacks, "\n\n")
}

// ownGoroutines counts the goroutines that are not CometBFT's autofile
// ones (see settleGoroutines), with their stacks.
func ownGoroutines() (int, []string) {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var own []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.TrimSpace(g) != "" && !strings.Contains(g, "github.com/cometbft/cometbft/libs/autofile.") &&
			!strings.Contains(g, "go-ethereum/core.(*txSenderCacher).cache") {
			own = append(own, g)
		}
	}
	return len(own), own
}

// goroutineSlack: measured, a stopped run leaves no goroutine at all — the
// count settles back to the baseline exactly. The slack of 2 is for
// goroutines of the runtime or of a library that end on their own timer
// rather than when their owner is closed (e.g. a connection's reader that
// exits on its next read deadline), which could outlast the 20s wait on a
// loaded machine; a leak per sentry, peer or consumer is many more.
const goroutineSlack = 2

// TestNoGoroutineOutlivesRun runs `valtrack run --devnet` in this process
// until its sentry has handshaken every devnet node (so connections,
// streams, consumers and analyzers are all live), stops it as Ctrl-C does,
// and checks that every goroutine it started is gone.
func TestNoGoroutineOutlivesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a devnet")
	}
	http.DefaultClient.CloseIdleConnections()
	base, _ := ownGoroutines()
	dir, addr := t.TempDir(), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- quietApp().Run(ctx, []string{"valtrack", "run", "--devnet", "--devnet-polkadot=false", "--devnet-nodes", "4", "--data-dir", dir,
			"--http", addr, "--log-level", "error", "--analyze-every", "1s", "--progress-every", "1s"})
	}()
	waitNodes(t, addr, 4, done)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v after Ctrl-C", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("run did not stop within 60s")
	}
	n, stacks := settleGoroutines(base + goroutineSlack)
	if stacks != "" {
		t.Fatalf("after run: %d goroutines, want at most %d (baseline %d); still running:\n%s", n, base+goroutineSlack, base, stacks)
	}
	t.Logf("after run: %d goroutines (baseline %d)", n, base)
}

// waitNodes waits until an in-process run's API reports n devnet nodes.
func waitNodes(t *testing.T, addr string, n int, done <-chan error) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var stats struct {
		Nodes int `json:"nodes"`
	}
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("run stopped early: %v", err)
		default:
		}
		resp, err := client.Get("http://" + addr + "/api/v1/ethereum/devnet/stats")
		if err != nil {
			continue
		}
		if resp.StatusCode == http.StatusOK {
			_ = json.NewDecoder(resp.Body).Decode(&stats)
		}
		resp.Body.Close()
		if stats.Nodes == n {
			return
		}
	}
	t.Fatalf("the API reports %d of %d devnet nodes", stats.Nodes, n)
}

// TestFailedStartReleases makes `valtrack run` fail half way and checks it
// leaves nothing open: no goroutine, the embedded bus of --data-dir shut
// down (the data dir opens again at once), the sentry's p2p ports free.
func TestFailedStartReleases(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a devnet")
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, tc := range []struct {
		name string
		args []string
		want string
		// reached is a path in --data-dir that shows how far the start got
		// before failing; "" for a failure before anything opened.
		reached string
	}{
		// The API's address is in use: refused before anything opens.
		{"http in use", []string{"--http", taken.Addr().String()}, "in use", ""},
		{"admin-http in use", []string{"--admin-http", taken.Addr().String()}, "in use", ""},
		// The keys file is missing: found by the API's constructor, after
		// the bus, store, archive, devnet and sentries are open.
		{"missing api keys", []string{"--api-keys", filepath.Join(t.TempDir(), "nosuch.keys")}, "API keys file", "devnet/truth.json"},
		// A GeoIP database that is not one: after the bus, store, archive.
		{"bad geoip", []string{"--geoip-city", writeFile(t, "city.mmdb", "not a database")}, "city.mmdb", "nats"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			http.DefaultClient.CloseIdleConnections()
			base, _ := ownGoroutines()
			dir := t.TempDir()
			p2p := freeP2PPort(t)
			args := append([]string{"valtrack", "run", "--devnet", "--devnet-polkadot=false", "--devnet-nodes", "4", "--data-dir", dir,
				"--http", freeAddr(t), "--p2p-ip", "127.0.0.1", "--p2p-port", strconv.Itoa(p2p), "--log-level", "error"}, tc.args...)
			err := quietApp().Run(context.Background(), args)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run: %v, want an error about %q", err, tc.want)
			}
			if tc.reached == "" {
				if _, serr := os.Stat(filepath.Join(dir, "nats")); serr == nil {
					t.Errorf("the bus was opened before the error: it is found before anything starts")
				}
			} else if _, serr := os.Stat(filepath.Join(dir, tc.reached)); serr != nil {
				t.Fatalf("the start failed before it opened %s; the test does not fail half way: %v", tc.reached, serr)
			}
			if n, stacks := settleGoroutines(base + goroutineSlack); stacks != "" {
				t.Fatalf("%d goroutines after the failed start, baseline %d; still running:\n%s", n, base, stacks)
			}
			// The slack is for timers of libraries, not for ours: none of
			// valtrack's own loops may be left.
			_, own := ownGoroutines()
			for _, g := range own {
				if strings.Contains(g, "valtrack/valtrack/internal/") && !strings.Contains(g, "lifecycle_test.go") {
					t.Fatalf("a goroutine of valtrack outlives the failed start:\n%s", g)
				}
			}
			for _, p := range []int{p2p, p2p + 1} {
				if err := ports.Free(p); err != nil {
					t.Errorf("p2p port %d still held after the failed start: %v", p, err)
				}
			}
			// The embedded bus is shut down: the same data dir opens again.
			b, err := bus.Open(context.Background(), bus.Config{DataDir: dir}, nil)
			if err != nil {
				t.Fatalf("the data dir's bus does not open again: %v", err)
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func writeFile(t *testing.T, name, content string) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// freeP2PPort is a port p with p and p+1 free on TCP and UDP (the
// sentry's libp2p and discovery ports).
func freeP2PPort(t *testing.T) int {
	t.Helper()
	p, err := ports.Run(2)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFleetHTTPInUse: the commands of a fleet bind --http before they
// connect to NATS, so an address in use is what they report, at once.
func TestFleetHTTPInUse(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, c := range [][]string{{"consumer"}, {"sentry", "ethereum"}} {
		args := append(append([]string{"valtrack"}, c...), "--nats-url", "nats://127.0.0.1:1",
			"--data-dir", t.TempDir(), "--http", taken.Addr().String(), "--log-level", "error")
		err := quietApp().Run(context.Background(), args)
		if err == nil || !containsAll(err.Error(), "--http", "in use") {
			t.Errorf("%s with --http in use: %v", strings.Join(c, " "), err)
		}
	}
}

// TestServeMetricsStops: the metrics listener of a fleet's commands
// answers until ctx ends — /healthz 503 naming the failing domain (its
// cause only in the log) while one is unhealthy (a sentry behind its
// chain), 200 once it is not — then serveMetrics returns with its
// listener closed.
func TestServeMetricsStops(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var behind atomic.Bool
	behind.Store(true)
	doms := []opened{{d: domains()[0], parts: &domain.Parts{Health: func(context.Context) error {
		if behind.Load() {
			return errors.New("12 blocks behind")
		}
		return nil
	}}}}
	done := make(chan error, 1)
	go func() {
		done <- serveMetrics(ctx, ln, newRegistry(), health(nil, nil, doms, nil), time.Millisecond, slog.New(slog.DiscardHandler))
	}()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func() (int, string) {
		resp, err := client.Get("http://" + ln.Addr().String() + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(body)
	}
	code, body := get()
	if code != http.StatusServiceUnavailable || !strings.Contains(body, `"failing":["ethereum"]`) || strings.Contains(body, "blocks behind") {
		t.Fatalf("/healthz = %d %s, want 503 naming ethereum and not the cause", code, body)
	}
	behind.Store(false)
	// The probe's result is served for the interval (1ms here).
	for deadline := time.Now().Add(5 * time.Second); ; {
		if code, body = get(); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz = %d %s once healthy, want 200", code, body)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serveMetrics returned %v after ctx ended", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serveMetrics did not return after ctx ended")
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("the metrics listener is still open")
	}
}

// TestAlertsFileErrorsPointToTheDoc: a missing or invalid --alerts file
// is refused with the file, the line and key, and docs/cosmos-alerts.md
// (which describes the file), not with a pointer to --help (which only
// names the flag).
func TestAlertsFileErrorsPointToTheDoc(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "alerts.yaml")
	if err := os.WriteFile(bad, []byte("rules:\n  window_missed_share: {warning: 5}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "none.yaml")
	for _, tc := range []struct{ file, want string }{
		{missing, "--alerts: alerts config " + missing + " does not exist: check the --alerts path (docs/cosmos-alerts.md describes the file and has an example)"},
		{bad, "--alerts: alerts config " + bad + `: line 2: rule window_missed_share, warning threshold: "5" is not a share of the window above 0 and at most 1 (0.05 is 5%); the keys and their values are described in docs/cosmos-alerts.md`},
	} {
		for _, c := range [][]string{{"run"}, {"consumer", "--nats-url", "nats://127.0.0.1:1"}} {
			args := append(append([]string{"valtrack"}, c...), "--data-dir", filepath.Join(dir, "data"), "--alerts", tc.file)
			err := quietApp().Run(canceled(), args)
			if err == nil || err.Error() != tc.want {
				t.Errorf("%s --alerts %s: %v\nwant %s", c[0], tc.file, err, tc.want)
			}
		}
	}
}
