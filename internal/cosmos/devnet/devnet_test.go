package devnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	dbm "github.com/cometbft/cometbft-db"

	"github.com/valtrack/valtrack/internal/devnetlock"
)

// Flags of a commit signature (CometBFT's BlockIDFlag).
const (
	flagAbsent = 1
	flagCommit = 2
)

// testLog sends the devnet's own lines (info) to the test log; CometBFT's,
// at debug, only with VALTRACK_TEST_COMETBFT_LOGS set.
func testLog(t *testing.T) *slog.Logger {
	level := slog.LevelInfo
	if os.Getenv("VALTRACK_TEST_COMETBFT_LOGS") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: level}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func startDevnet(t *testing.T, o Options) *Devnet {
	t.Helper()
	if o.Log == nil {
		o.Log = testLog(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	began := time.Now()
	d, err := Start(ctx, o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("%d validators started (a block stored, all peers connected) in %s", len(d.Info().Validators), time.Since(began).Round(time.Millisecond))
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return d
}

// getJSON GETs url and decodes the JSON answer, or the "result" of a
// CometBFT JSON-RPC answer when rpc is set.
func getJSON(url string, rpc bool, out any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	if !rpc {
		return json.Unmarshal(body, out)
	}
	var env struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Message string `json:"message"`
			Data    string `json:"data"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	if env.Error != nil {
		return fmt.Errorf("GET %s: %s %s", url, env.Error.Message, env.Error.Data)
	}
	return json.Unmarshal(env.Result, out)
}

// post POSTs to url and returns the status code and the decoded body.
func post(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("POST %s: decode the answer: %v", url, err)
	}
	return resp.StatusCode, body
}

type rpcStatus struct {
	SyncInfo struct {
		LatestBlockHeight string `json:"latest_block_height"`
		CatchingUp        bool   `json:"catching_up"`
	} `json:"sync_info"`
	ValidatorInfo struct {
		Address string `json:"address"`
	} `json:"validator_info"`
}

func height(rpc string) (int64, error) {
	var st rpcStatus
	if err := getJSON(rpc+"/status", true, &st); err != nil {
		return 0, err
	}
	return strconv.ParseInt(st.SyncInfo.LatestBlockHeight, 10, 64)
}

type signature struct {
	Flag    int    `json:"block_id_flag"`
	Address string `json:"validator_address"`
}

// commitAt is the last_commit of block h: the precommits for block h-1.
func commitAt(rpc string, h int64) ([]signature, error) {
	var b struct {
		Block struct {
			LastCommit struct {
				Signatures []signature `json:"signatures"`
			} `json:"last_commit"`
		} `json:"block"`
	}
	if err := getJSON(fmt.Sprintf("%s/block?height=%d", rpc, h), true, &b); err != nil {
		return nil, err
	}
	return b.Block.LastCommit.Signatures, nil
}

// waitFor polls cond until it holds, failing the test after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		ok, err := cond()
		if ok {
			return
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s (last error: %v)", what, limit, last)
}

// waitHeight waits until rpc reports a height of at least h and returns it.
func waitHeight(t *testing.T, rpc string, h int64, limit time.Duration) int64 {
	t.Helper()
	var got int64
	waitFor(t, limit, fmt.Sprintf("%s at height %d", rpc, h), func() (bool, error) {
		var err error
		got, err = height(rpc)
		return err == nil && got >= h, err
	})
	return got
}

var (
	hexAddress = regexp.MustCompile(`^[0-9A-F]{40}$`)
	loopback   = regexp.MustCompile(`^http://127\.0\.0\.1:[0-9]+$`)
)

// TestMissedVotes: a stopped validator's signature is absent from the
// commits made without it, and present again once it is started.
func TestMissedVotes(t *testing.T) {
	dir := t.TempDir()
	d := startDevnet(t, Options{Validators: 4, Dir: dir, BlockInterval: 500 * time.Millisecond})

	// chain.json, read as any other program would.
	raw, err := os.ReadFile(filepath.Join(dir, "chain.json"))
	if err != nil {
		t.Fatal(err)
	}
	var chain struct {
		ChainID    string `json:"chain_id"`
		Validators []struct {
			Index   *int   `json:"index"`
			Moniker string `json:"moniker"`
			Address string `json:"address"`
			RPC     string `json:"rpc"`
		} `json:"validators"`
		Control string `json:"control"`
	}
	if err := json.Unmarshal(raw, &chain); err != nil {
		t.Fatalf("chain.json: %v\n%s", err, raw)
	}
	t.Logf("chain.json:\n%s", raw)
	if chain.ChainID != DefaultChainID || len(chain.Validators) != 4 || !loopback.MatchString(chain.Control) {
		t.Fatalf("chain.json: chain_id %q, %d validators, control %q", chain.ChainID, len(chain.Validators), chain.Control)
	}
	for i, v := range chain.Validators {
		if v.Index == nil || *v.Index != i || v.Moniker == "" || !hexAddress.MatchString(v.Address) || !loopback.MatchString(v.RPC) {
			t.Fatalf("chain.json validator %d: %+v", i, v)
		}
	}
	rpc := chain.Validators[0].RPC

	// index is CometBFT's validator set order.
	var set struct {
		Validators []struct {
			Address     string `json:"address"`
			VotingPower string `json:"voting_power"`
		} `json:"validators"`
	}
	if err := getJSON(rpc+"/validators?height=1", true, &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Validators) != 4 {
		t.Fatalf("/validators: %d validators, want 4", len(set.Validators))
	}
	for i, v := range set.Validators {
		if v.Address != chain.Validators[i].Address || v.VotingPower != "10" {
			t.Fatalf("/validators[%d] = %s power %s, chain.json index %d is %s", i, v.Address, v.VotingPower, i, chain.Validators[i].Address)
		}
	}

	h0, err := height(rpc)
	if err != nil {
		t.Fatal(err)
	}
	waitHeight(t, rpc, h0+2, 20*time.Second)

	// Stop validator 3 through the control endpoint.
	const down = 3
	began := time.Now()
	code, body := post(t, fmt.Sprintf("%s/validators/%d/stop", chain.Control, down))
	if code != http.StatusOK || body["running"] != false {
		t.Fatalf("stop: %d %v", code, body)
	}
	t.Logf("validator %d stopped in %s", down, time.Since(began).Round(time.Millisecond))
	var st Status
	if err := getJSON(chain.Control+"/status", false, &st); err != nil {
		t.Fatal(err)
	}
	for i, v := range st.Validators {
		if v.Running != (i != down) {
			t.Fatalf("control /status after the stop: %+v", st.Validators)
		}
	}
	if _, err := height(chain.Validators[down].RPC); err == nil {
		t.Fatalf("the stopped validator's RPC %s still answers", chain.Validators[down].RPC)
	}

	// Commits made without it: block stopped+3 holds the precommits of
	// stopped+2, which it cannot have cast.
	stopped, err := height(rpc)
	if err != nil {
		t.Fatal(err)
	}
	last := waitHeight(t, rpc, stopped+4, 30*time.Second)
	for h := stopped + 3; h <= last; h++ {
		sigs, err := commitAt(rpc, h)
		if err != nil {
			t.Fatal(err)
		}
		if len(sigs) != 4 {
			t.Fatalf("block %d: %d signatures, want 4", h, len(sigs))
		}
		for i, s := range sigs {
			if i == down {
				if s.Flag != flagAbsent || s.Address != "" {
					t.Fatalf("block %d: the stopped validator's signature is %+v, want absent", h, s)
				}
			} else if s.Flag != flagCommit || s.Address != chain.Validators[i].Address {
				t.Fatalf("block %d: signature %d is %+v, want flag 2 from %s", h, i, s, chain.Validators[i].Address)
			}
		}
	}

	// Start it again: it catches up and signs.
	began = time.Now()
	code, body = post(t, fmt.Sprintf("%s/validators/%d/start", chain.Control, down))
	if code != http.StatusOK || body["running"] != true {
		t.Fatalf("start: %d %v", code, body)
	}
	t.Logf("validator %d started in %s", down, time.Since(began).Round(time.Millisecond))
	restarted, err := height(rpc)
	if err != nil {
		t.Fatal(err)
	}
	var signedAt int64
	waitFor(t, 30*time.Second, "the restarted validator signs a commit", func() (bool, error) {
		top, err := height(rpc)
		if err != nil {
			return false, err
		}
		for h := max(restarted+1, signedAt+1); h <= top; h++ {
			sigs, err := commitAt(rpc, h)
			if err != nil {
				return false, err
			}
			if len(sigs) == 4 && sigs[down].Flag == flagCommit && sigs[down].Address == chain.Validators[down].Address {
				signedAt = h
				return true, nil
			}
		}
		return false, fmt.Errorf("no signature up to height %d", top)
	})
	t.Logf("validator %d signs again in block %d (%s after its start; %d blocks)", down, signedAt, time.Since(began).Round(time.Millisecond), signedAt-restarted)
	var own rpcStatus
	if err := getJSON(chain.Validators[down].RPC+"/status", true, &own); err != nil {
		t.Fatal(err)
	}
	if own.ValidatorInfo.Address != chain.Validators[down].Address {
		t.Fatalf("restarted validator's /status address %s, want %s", own.ValidatorInfo.Address, chain.Validators[down].Address)
	}

	// After Close nothing answers.
	control := d.Info().Control
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := GetStatus(context.Background(), control); err == nil {
		t.Fatal("the control endpoint answers after Close")
	}
	if _, err := height(rpc); err == nil {
		t.Fatal("validator 0's RPC answers after Close")
	}
}

// TestControlErrors: refused requests get a JSON error and a status code
// that says why.
func TestControlErrors(t *testing.T) {
	d := startDevnet(t, Options{Validators: 2, Dir: t.TempDir(), BlockInterval: 500 * time.Millisecond})
	control := d.Info().Control
	for _, tc := range []struct {
		method, path string
		code         int
		says         string
	}{
		{"POST", "/validators/x/stop", http.StatusBadRequest, "not a number"},
		{"POST", "/validators/2/stop", http.StatusNotFound, "no such validator"},
		{"POST", "/validators/-1/start", http.StatusNotFound, "no such validator"},
		{"POST", "/validators/0/start", http.StatusConflict, "running"},
		{"GET", "/validators/0/stop", http.StatusMethodNotAllowed, "use POST"},
		{"POST", "/validators/0/pause", http.StatusNotFound, "unknown action"},
		{"POST", "/status", http.StatusMethodNotAllowed, "use GET"},
		{"GET", "/nothing", http.StatusNotFound, "no endpoint"},
	} {
		req, _ := http.NewRequest(tc.method, control+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body errorBody
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != tc.code || !strings.Contains(body.Error, tc.says) {
			t.Errorf("%s %s: %d %q (%v), want %d and %q", tc.method, tc.path, resp.StatusCode, body.Error, err, tc.code, tc.says)
		}
	}
	// Stopping twice: the second is a conflict, through the client too.
	ctx := context.Background()
	if _, err := ValidatorAction(ctx, control, "stop", 1); err != nil {
		t.Fatal(err)
	}
	_, err := ValidatorAction(ctx, control, "stop", 1)
	if ce, ok := err.(*ControlError); !ok || ce.StatusCode != http.StatusConflict || !strings.Contains(ce.Message, "stopped") {
		t.Fatalf("second stop: %v", err)
	}
	// A second devnet on the same directory is refused while this one runs.
	// (devnetlock, as the other devnets), with the message saying what to do.
	second, err := Start(ctx, Options{Dir: d.Dir()})
	if err == nil {
		second.Close()
		t.Fatal("a second devnet started on a running devnet's directory")
	}
	if !errors.Is(err, devnetlock.ErrRunning) {
		t.Fatalf("second Start on a running devnet's directory: %v, want devnetlock.ErrRunning", err)
	}
	for _, want := range []string{"a devnet is already running in " + d.Dir(), "stop it first, or give another directory"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	// The refused start left the running devnet's chain.json alone.
	if info, err := ReadChainInfo(d.Dir()); err != nil || info.Control != control {
		t.Errorf("chain.json after the refused start: control %q (%v), want %q", info.Control, err, control)
	}
}

// TestResume: a devnet closed and started again on its directory is the
// same chain, continued.
func TestResume(t *testing.T) {
	dir := t.TempDir()
	o := Options{Validators: 2, Dir: dir, ChainID: "resume-1", BlockInterval: 300 * time.Millisecond}
	d := startDevnet(t, o)
	first := d.Info()
	h := waitHeight(t, first.Validators[0].RPC, 3, 20*time.Second)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d = startDevnet(t, Options{Dir: dir})
	again := d.Info()
	if again.ChainID != "resume-1" || len(again.Validators) != 2 {
		t.Fatalf("resumed: %+v", again)
	}
	for i := range again.Validators {
		if again.Validators[i].Address != first.Validators[i].Address {
			t.Fatalf("resumed validator %d is %s, was %s", i, again.Validators[i].Address, first.Validators[i].Address)
		}
	}
	waitHeight(t, again.Validators[1].RPC, h+2, 20*time.Second)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	for _, bad := range []Options{
		{Dir: dir, Validators: 3},
		{Dir: dir, ChainID: "other-1"},
	} {
		if _, err := Start(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "holds") {
			t.Errorf("Start(%+v) on a chain of 2 validators named resume-1: %v", bad, err)
		}
	}
}

func TestOptionsRefused(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		says string
	}{
		{Options{}, "Dir is empty"},
		{Options{Dir: "x", Validators: MaxValidators + 1}, "give 1 to"},
		{Options{Dir: "x", Validators: -1}, "give 1 to"},
		{Options{Dir: "x", ChainID: "a.b"}, "letters, digits"},
		{Options{Dir: "x", ChainID: "-a"}, "letters, digits"},
		{Options{Dir: "x", ChainID: strings.Repeat("a", 51)}, "letters, digits"},
		{Options{Dir: "x", BlockInterval: time.Millisecond}, "at least"},
	} {
		if _, err := tc.o.withDefaults(); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%+v: %v, want %q", tc.o, err, tc.says)
		}
	}
}

// TestHalfMadeDirRefused: validator homes without a genesis are not
// silently overwritten.
func TestHalfMadeDirRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "validator-0"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Start(context.Background(), Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "no genesis.json") {
		t.Fatalf("Start: %v", err)
	}
	// The refused start does not keep the directory from the next one.
	release, err := devnetlock.Acquire(dir)
	if err != nil {
		t.Fatalf("the directory after a refused Start: %v", err)
	}
	release()
}

// TestCloseReleases: after Close every port is free again and no goroutine
// is left but CometBFT's two idle WAL file goroutines per node run (see
// Close).
func TestCloseReleases(t *testing.T) {
	http.DefaultClient.CloseIdleConnections()
	before := runtime.NumGoroutine()
	d := startDevnet(t, Options{Validators: 2, Dir: t.TempDir(), BlockInterval: 300 * time.Millisecond})
	info := d.Info()
	waitHeight(t, info.Validators[0].RPC, 2, 20*time.Second)
	if err := d.StopValidator(1); err != nil {
		t.Fatal(err)
	}
	if err := d.StartValidator(1); err != nil {
		t.Fatal(err)
	}
	const runs = 3 // two starts and a restart
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	http.DefaultClient.CloseIdleConnections()

	addrs := []string{strings.TrimPrefix(info.Control, "http://")}
	for _, v := range info.Validators {
		addrs = append(addrs, strings.TrimPrefix(v.RPC, "http://"), v.P2P)
	}
	for _, a := range addrs {
		l, err := net.Listen("tcp", a)
		if err != nil {
			t.Errorf("port still taken after Close: %v", err)
			continue
		}
		l.Close()
	}
	limit := before + 2*runs
	waitFor(t, 10*time.Second, fmt.Sprintf("at most %d goroutines after Close", limit), func() (bool, error) {
		n := runtime.NumGoroutine()
		return n <= limit, fmt.Errorf("%d goroutines (%d before Start)", n, before)
	})
}

// TestStartPortTaken: a validator whose port another program took
// meanwhile fails to start with a 500 that names the port, stays stopped,
// and starts once the port is free: the failed start released its stores.
// Four validators, so that the chain goes on without the stopped one (a
// halted chain's rounds grow long, and catching up with them is another
// matter).
func TestStartPortTaken(t *testing.T) {
	d := startDevnet(t, Options{Validators: 4, Dir: t.TempDir(), BlockInterval: 300 * time.Millisecond})
	info := d.Info()
	v := info.Validators[3]
	for _, port := range []string{v.P2P, strings.TrimPrefix(v.RPC, "http://")} {
		code, body := post(t, info.Control+"/validators/3/stop")
		if code != http.StatusOK {
			t.Fatalf("stop: %d %v", code, body)
		}
		squatter, err := net.Listen("tcp", port)
		if err != nil {
			t.Fatal(err)
		}
		code, body = post(t, info.Control+"/validators/3/start")
		squatter.Close()
		msg, _ := body["error"].(string)
		if code != http.StatusInternalServerError || !strings.Contains(msg, port) || !strings.Contains(msg, "address already in use") {
			t.Fatalf("start with %s taken: %d %v", port, code, body)
		}
		t.Logf("start with %s taken: %d %s", port, code, msg)
		st := d.Status()
		if st.Validators[3].Running {
			t.Fatalf("validator 3 runs after a failed start: %+v", st)
		}
		code, body = post(t, info.Control+"/validators/3/start")
		if code != http.StatusOK {
			t.Fatalf("start with %s free again: %d %v", port, code, body)
		}
		h, err := height(info.Validators[0].RPC)
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 30*time.Second, fmt.Sprintf("validator 3 at height %d", h+1), func() (bool, error) {
			st := d.Status()
			return st.Validators[3].Height > h, fmt.Errorf("heights %+v", st.Validators)
		})
	}
}

// TestGuardedDB: a closed store answers as an empty one instead of
// failing, which is what keeps a stopped node's stray readers from
// panicking.
func TestGuardedDB(t *testing.T) {
	raw, err := dbm.NewGoLevelDB("t", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	g := guard(raw)
	if err := g.Set([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if v, err := g.Get([]byte("k")); err != nil || string(v) != "v" {
		t.Fatalf("Get while open: %q %v", v, err)
	}
	b := g.NewBatch()
	if err := b.Set([]byte("b"), []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if err := g.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if v, err := g.Get([]byte("k")); err != nil || v != nil {
		t.Fatalf("Get after Close: %q %v", v, err)
	}
	if ok, err := g.Has([]byte("k")); err != nil || ok {
		t.Fatalf("Has after Close: %v %v", ok, err)
	}
	if err := g.Set([]byte("k"), []byte("w")); err != nil {
		t.Fatalf("Set after Close: %v", err)
	}
	if err := b.Write(); err != nil {
		t.Fatalf("batch Write after Close: %v", err)
	}
	it, err := g.Iterator(nil, nil)
	if err != nil || it.Valid() {
		t.Fatalf("Iterator after Close: valid %v, %v", it.Valid(), err)
	}
	// The real store was closed: it refuses reads.
	if _, err := raw.Get([]byte("k")); err == nil {
		t.Fatal("the underlying leveldb still reads after Close")
	}
}

// TestStopClosesWebsocket: a client subscribed over a validator's
// websocket sees the connection end when the validator stops, as it would
// when a real node's process ends, instead of a silent open socket.
func TestStopClosesWebsocket(t *testing.T) {
	d := startDevnet(t, Options{Validators: 2, Dir: t.TempDir(), BlockInterval: 300 * time.Millisecond})
	v := d.Info().Validators[1]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(v.RPC, "http")+"/websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	sub := `{"jsonrpc":"2.0","method":"subscribe","id":1,"params":{"query":"tm.event='NewBlock'"}}`
	if err := ws.Write(ctx, websocket.MessageText, []byte(sub)); err != nil {
		t.Fatal(err)
	}
	// The subscription's answer, then a NewBlock event.
	for i := 0; i < 2; i++ {
		if _, msg, err := ws.Read(ctx); err != nil {
			t.Fatalf("read message %d: %v", i, err)
		} else if i == 1 && !strings.Contains(string(msg), "NewBlock") {
			t.Fatalf("second message is not a NewBlock event: %.200s", msg)
		}
	}
	if err := d.StopValidator(1); err != nil {
		t.Fatal(err)
	}
	for {
		if _, _, err := ws.Read(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatal("the websocket stayed open for 30s after its validator stopped")
			}
			break
		}
	}
}
