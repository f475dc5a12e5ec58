// Package chopsticks runs chopsticks (npm @acala-network/chopsticks), a
// real Substrate runtime executed offline from a raw chain spec, on
// loopback: the Polkadot devnet and the tests' chain. It installs the npm
// package on first use, starts one process per chain, waits until its
// JSON-RPC answers, and drives it (dev_newBlock, dev_setStorage).
package chopsticks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/valtrack/valtrack/internal/ports"

	"gopkg.in/yaml.v3"
)

// Package is the npm package and version valtrack drives (its RPC
// behaviour is what the devnet and tests were checked against).
const Package = "@acala-network/chopsticks@1.5.1"

// DefaultPrefix is where chopsticks is installed when no prefix is given:
// $VALTRACK_CHOPSTICKS_DIR, else valtrack/chopsticks in the user's cache
// directory (one 270 MB install serves every devnet and test run).
func DefaultPrefix() string {
	if d := os.Getenv("VALTRACK_CHOPSTICKS_DIR"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "valtrack", "chopsticks")
	}
	return filepath.Join(os.TempDir(), "valtrack-chopsticks")
}

func bin(prefix string) string { return filepath.Join(prefix, "node_modules", ".bin", "chopsticks") }

// Installed reports whether prefix holds an install.
func Installed(prefix string) bool {
	st, err := os.Stat(bin(prefix))
	return err == nil && !st.IsDir()
}

// NodeAvailable says whether Node.js and npm are installed, and what to do
// when they are not.
func NodeAvailable() error {
	for _, b := range []string{"node", "npm"} {
		if _, err := exec.LookPath(b); err != nil {
			return fmt.Errorf("%s is not installed: the Polkadot devnet runs chopsticks on Node.js (install Node.js 20 or later with npm, e.g. apt-get install nodejs npm)", b)
		}
	}
	return nil
}

// Install installs Package under prefix unless it is there; npm's output
// goes to out (progress on a first install of about two minutes).
func Install(ctx context.Context, prefix string, out io.Writer) error {
	if Installed(prefix) {
		return nil
	}
	if err := NodeAvailable(); err != nil {
		return err
	}
	if err := os.MkdirAll(prefix, 0o755); err != nil {
		return fmt.Errorf("chopsticks install directory: %w", err)
	}
	if out == nil {
		out = io.Discard
	}
	fmt.Fprintf(out, "installing %s into %s (first use; about two minutes)…\n", Package, prefix)
	cmd := exec.CommandContext(ctx, "npm", "install", "--prefix", prefix, "--no-audit", "--no-fund", Package)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm install %s into %s: %w (is the npm registry reachable? set VALTRACK_CHOPSTICKS_DIR to an existing install)", Package, prefix, err)
	}
	if !Installed(prefix) {
		return fmt.Errorf("npm install %s into %s finished but %s is missing", Package, prefix, bin(prefix))
	}
	return nil
}

// SpecPath finds a raw chain spec by file name (westend-dev.json, …):
// under $VALTRACK_SUBSTRATE_SPECS, else in a shared/substrate directory
// beside or above the working directory.
func SpecPath(name string) (string, error) {
	var dirs []string
	if d := os.Getenv("VALTRACK_SUBSTRATE_SPECS"); d != "" {
		dirs = append(dirs, d)
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			dirs = append(dirs, filepath.Join(d, "shared", "substrate"), filepath.Join(d, "..", "shared", "substrate"))
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return filepath.Clean(p), nil
		}
	}
	return "", fmt.Errorf("raw chain spec %s not found: set VALTRACK_SUBSTRATE_SPECS to the directory holding it", name)
}

// Options configure Start.
type Options struct {
	// Prefix is the install (DefaultPrefix when empty); it must be
	// installed (Install).
	Prefix string
	// Genesis is the raw chain spec file.
	Genesis string
	// Port on 127.0.0.1; 0 picks a free one.
	Port int
	// Dir holds the config and the log (chopsticks.log); required.
	Dir string
	// ImportStorage is chopsticks' import-storage (pallet JSON), e.g. a
	// pinned Timestamp.Now and Babe.CurrentSlot so the first block cannot
	// straddle a slot boundary.
	ImportStorage map[string]any
	// Ready bounds the wait for the RPC (default 3 minutes).
	Ready time.Duration
	Log   *slog.Logger
}

// Process is a running chopsticks.
type Process struct {
	port   int
	cmd    *exec.Cmd
	done   chan struct{}
	err    error
	log    string
	client *http.Client
	once   sync.Once
}

// Start starts chopsticks in manual block mode and waits until its RPC
// answers system_chain.
func Start(ctx context.Context, o Options) (*Process, error) {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix()
	}
	if !Installed(o.Prefix) {
		return nil, fmt.Errorf("chopsticks is not installed in %s: run `valtrack devnet polkadot` once (it installs it) or set VALTRACK_CHOPSTICKS_DIR", o.Prefix)
	}
	if o.Dir == "" || o.Genesis == "" {
		return nil, errors.New("chopsticks: Dir and Genesis are required")
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	if o.Port == 0 {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		o.Port = p
	}
	if o.Ready <= 0 {
		o.Ready = 3 * time.Minute
	}
	gen, err := filepath.Abs(o.Genesis)
	if err != nil {
		return nil, err
	}
	cfg := map[string]any{"genesis": gen, "host": "127.0.0.1", "port": o.Port, "build-block-mode": "Manual"}
	if len(o.ImportStorage) > 0 {
		cfg["import-storage"] = o.ImportStorage
	}
	y, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(o.Dir, "chopsticks.yml")
	if err := os.WriteFile(cfgPath, y, 0o644); err != nil {
		return nil, err
	}
	logPath := filepath.Join(o.Dir, "chopsticks.log")
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin(o.Prefix), "-c", cfgPath)
	cmd.Dir = o.Dir
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start chopsticks: %w", err)
	}
	p := &Process{port: o.Port, cmd: cmd, done: make(chan struct{}), log: logPath, client: newClient()}
	go func() {
		p.err = cmd.Wait()
		lf.Close()
		close(p.done)
	}()
	rctx, cancel := context.WithTimeout(ctx, o.Ready)
	defer cancel()
	for {
		cctx, ccancel := context.WithTimeout(rctx, 3*time.Second)
		_, err := p.Call(cctx, "system_chain")
		ccancel()
		if err == nil {
			return p, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("chopsticks exited before its RPC answered (%v); see %s", p.err, logPath)
		case <-rctx.Done():
			_ = p.Close()
			if err := ctx.Err(); err != nil {
				// Stopped (Ctrl-C, or another domain failed to start), not
				// slow: callers tell the two apart with errors.Is.
				return nil, fmt.Errorf("chopsticks start stopped before its RPC answered: %w", err)
			}
			return nil, fmt.Errorf("chopsticks did not answer on 127.0.0.1:%d within %s; see %s", o.Port, o.Ready, logPath)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func freePort() (int, error) { return ports.Run(1) }

// newClient is the HTTP client for chopsticks' RPC. Node's HTTP server
// closes a keep-alive connection after 5 s idle (server.keepAliveTimeout's
// default), and a POST sent on a connection the server is closing fails
// with "connection reset by peer" and is not retried by net/http, because
// a POST is not idempotent. The devnet calls every few seconds, so the
// race is common under load; dropping idle connections well before Node
// does removes it.
func newClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.IdleConnTimeout = 2 * time.Second
	return &http.Client{Timeout: 60 * time.Second, Transport: t}
}

// Port is the RPC port on 127.0.0.1.
func (p *Process) Port() int { return p.port }

// URL is the WebSocket RPC URL.
func (p *Process) URL() string { return "ws://127.0.0.1:" + strconv.Itoa(p.port) }

// HTTPURL is the HTTP RPC URL (same port).
func (p *Process) HTTPURL() string { return "http://127.0.0.1:" + strconv.Itoa(p.port) }

// LogPath is chopsticks' log file.
func (p *Process) LogPath() string { return p.log }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// RPCError is a JSON-RPC error answer.
type RPCError struct {
	Method  string
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *RPCError) Error() string {
	return fmt.Sprintf("chopsticks %s: %s (code %d)", e.Method, e.Message, e.Code)
}

// Call makes one JSON-RPC call over HTTP and returns its result.
func (p *Process) Call(ctx context.Context, method string, params ...any) (json.RawMessage, error) {
	if params == nil {
		params = []any{}
	}
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.HTTPURL(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("chopsticks %s: %w", method, err)
	}
	defer resp.Body.Close()
	var out struct {
		Result json.RawMessage `json:"result"`
		Error  *RPCError       `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&out); err != nil {
		return nil, fmt.Errorf("chopsticks %s: HTTP %d: %w", method, resp.StatusCode, err)
	}
	if out.Error != nil {
		out.Error.Method = method
		return nil, out.Error
	}
	return out.Result, nil
}

// NewBlock builds one block (dev_newBlock) and returns its hash. opts are
// dev_newBlock's parameters (count, unsafeBlockHeight…), nil for none.
func (p *Process) NewBlock(ctx context.Context, opts map[string]any) (string, error) {
	var res json.RawMessage
	var err error
	if opts == nil {
		res, err = p.Call(ctx, "dev_newBlock")
	} else {
		res, err = p.Call(ctx, "dev_newBlock", opts)
	}
	if err != nil {
		return "", err
	}
	var h string
	if err := json.Unmarshal(res, &h); err != nil {
		return "", fmt.Errorf("dev_newBlock: result %s: %w", res, err)
	}
	return h, nil
}

// SetStorage sets storage (dev_setStorage): pallet JSON
// ({"System":{"Account":[[["5Grw…"],{…}]]}}) or raw [[key, value]] pairs.
func (p *Process) SetStorage(ctx context.Context, storage any) error {
	_, err := p.Call(ctx, "dev_setStorage", storage)
	return err
}

// Close stops chopsticks and its children.
func (p *Process) Close() error {
	p.once.Do(func() {
		pgid := p.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.done
		}
	})
	return nil
}
