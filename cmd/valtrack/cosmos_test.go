package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/valtrack/valtrack/internal/cosmos/devnet"
	"github.com/valtrack/valtrack/internal/cosmos/events"
	"github.com/valtrack/valtrack/internal/cosmos/rpc"
)

// These tests run a real CometBFT devnet (internal/cosmos/devnet) and
// valtrack as a child process watching it, and check what the issue asks
// valtrack to show: a stopped validator's misses, with causes, its alert
// reaching a webhook and resolving — across a restart of valtrack — and an
// endpoint's failure costing no height and inventing no miss.

func startCosmosDevnet(t *testing.T, validators int) *devnet.Devnet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dn, err := devnet.Start(ctx, devnet.Options{Validators: validators, Dir: filepath.Join(t.TempDir(), "chain")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dn.Close() })
	return dn
}

// getAPI decodes a GET of the child's API into out; false when it is not
// answering (yet).
func getAPI(t testing.TB, addr, path string, out any) bool {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + addr + path)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(out) == nil
}

type chainsView struct {
	Chains []struct {
		Chain          string `json:"chain"`
		LatestHeight   int64  `json:"latest_height"`
		AnalyzedHeight int64  `json:"analyzed_height"`
	} `json:"chains"`
}

// heights returns the chain's latest stored and analysed heights.
func heights(t *testing.T, addr, chain string) (latest, analyzed int64) {
	var v chainsView
	if getAPI(t, addr, "/api/v1/cosmos/chains", &v) {
		for _, c := range v.Chains {
			if c.Chain == chain {
				return c.LatestHeight, c.AnalyzedHeight
			}
		}
	}
	return 0, 0
}

// waitAnalyzed waits until the chain is analysed up to at least h.
func waitAnalyzed(t *testing.T, c *child, addr, chain string, h int64, within time.Duration) int64 {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, a := heights(t, addr, chain); a >= h {
			return a
		}
		select {
		case <-c.done:
			t.Fatalf("valtrack exited:\n%s", c.output())
		default:
		}
	}
	t.Fatalf("chain %s not analysed up to %d within %s:\n%s", chain, h, within, c.output())
	return 0
}

type miss struct {
	Height          int64  `json:"height"`
	Validator       string `json:"validator"`
	MissedPrevote   bool   `json:"missed_prevote"`
	MissedPrecommit bool   `json:"missed_precommit"`
	MissedSignature bool   `json:"missed_signature"`
	MissedProposals int    `json:"missed_proposals"`
	Cause           string `json:"cause"`
}

// absent: a signature or a vote is missing. A nil vote is a vote: a
// running validator casts one when it saw no majority in time, which a
// loaded machine makes happen now and then; it is not a miss an
// observer's gap or a stopped neighbour could have made up.
func (m miss) absent() bool {
	return m.MissedSignature || (m.MissedPrevote || m.MissedPrecommit) && m.Cause != "nil_vote"
}

func misses(t *testing.T, addr, chain, query string) []miss {
	var v struct {
		Misses []miss `json:"misses"`
	}
	if !getAPI(t, addr, "/api/v1/cosmos/"+chain+"/missed?limit=1000&"+query, &v) {
		return nil
	}
	return v.Misses
}

// hook is a local webhook receiver of alert notifications.
type hook struct {
	mu    sync.Mutex
	got   []map[string]any
	srv   *httptest.Server
	calls chan struct{}
}

func newHook(t *testing.T) *hook {
	h := &hook{calls: make(chan struct{}, 1000)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n map[string]any
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&n); err == nil {
			h.mu.Lock()
			h.got = append(h.got, n)
			h.mu.Unlock()
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// wait waits for a notification of key with status, returning when it came.
func (h *hook) wait(t *testing.T, c *child, key, status string, within time.Duration) time.Time {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		h.mu.Lock()
		for _, n := range h.got {
			if n["key"] == key && n["status"] == status {
				h.mu.Unlock()
				return time.Now()
			}
		}
		h.mu.Unlock()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	t.Fatalf("no %s notification of %s within %s; got %v\nvaltrack:\n%s", status, key, within, h.got, c.output())
	return time.Time{}
}

func writeAlerts(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "alerts.yaml")
	yaml := `channels:
  - {name: hook, type: webhook, url_env: VALTRACK_TEST_ALERT_HOOK}
rules:
  consecutive_missed: {warning: 2, critical: 50}
interval: 1s
resolve_after: 2s
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCosmosStoppedValidatorMissesAlertsAndResolves: on a 4-validator
// devnet, stop validator 3. Within 3 heights its missed prevotes,
// precommits and signatures are recorded with their cause (and no one
// else's), its consecutive-misses alert reaches the webhook; valtrack is
// restarted while the alert is open; the validator is started again and the
// restarted valtrack resolves the alert.
func TestCosmosStoppedValidatorMissesAlertsAndResolves(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT devnet")
	}
	dn := startCosmosDevnet(t, 4)
	info := dn.Info()
	chain := info.ChainID
	var v3 string
	for _, v := range info.Validators {
		if v.Index == 3 {
			v3 = v.Address
		}
	}
	h := newHook(t)
	t.Setenv("VALTRACK_TEST_ALERT_HOOK", h.srv.URL)
	data, addr := t.TempDir(), freeAddr(t)
	args := []string{"run", "--cosmos", dn.Dir(), "--data-dir", data, "--http", addr, "--alerts", writeAlerts(t), "--progress-every", "0"}
	c := startChild(t, args...)
	waitAnalyzed(t, c, addr, chain, 1, time.Minute)

	if err := dn.StopValidator(3); err != nil {
		t.Fatal(err)
	}
	stoppedAt, _ := heights(t, addr, chain)
	var got []miss
	var latestThen int64
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline) && len(got) == 0; time.Sleep(50 * time.Millisecond) {
		got = misses(t, addr, chain, "validator="+v3)
		latestThen, _ = heights(t, addr, chain)
	}
	if len(got) == 0 {
		t.Fatalf("no miss of validator 3 recorded within a minute:\n%s", c.output())
	}
	first := got[len(got)-1] // newest first
	if first.Height > stoppedAt+3 || latestThen > first.Height+3 {
		t.Errorf("first miss at height %d recorded when the chain was at %d (stopped at %d): want it within 3 heights", first.Height, latestThen, stoppedAt)
	}
	key := "consecutive_missed/" + chain + "/" + v3
	h.wait(t, c, key, "firing", time.Minute)

	// The API caches a view a few seconds: poll until the misses the alert
	// counted are served.
	full := 0
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && full < 2; time.Sleep(250 * time.Millisecond) {
		got, full = misses(t, addr, chain, "validator="+v3), 0
		for _, m := range got {
			if m.MissedSignature && m.MissedPrevote && m.MissedPrecommit && m.Cause == "no_vote" {
				full++
			}
		}
	}
	if full < 2 {
		t.Errorf("validator 3's misses %+v: want at least 2 heights with prevote, precommit and signature missed, cause no_vote", got)
	}
	for _, m := range misses(t, addr, chain, "") {
		if m.Validator != v3 && m.absent() {
			t.Errorf("validator %s missed at height %d (%+v), but only validator 3 was stopped", m.Validator, m.Height, m)
		}
	}

	checkTopOnDevnet(t, addr, chain)

	// Restart valtrack while the alert is open, bring the validator back:
	// the new process resolves the alert the old one fired.
	if err := c.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := c.waitExit(t, time.Minute); code != 130 && code != 0 {
		t.Fatalf("valtrack exited %d on Ctrl-C:\n%s", code, c.output())
	}
	if err := dn.StartValidator(3); err != nil {
		t.Fatal(err)
	}
	c2 := startChild(t, args...)
	h.wait(t, c2, key, "resolved", 2*time.Minute)
	var alerts struct {
		Alerts []struct {
			Key    string `json:"key"`
			Status string `json:"status"`
		} `json:"alerts"`
	}
	if !getAPI(t, addr, "/api/v1/cosmos/"+chain+"/alerts?all=true", &alerts) {
		t.Fatal("GET alerts failed")
	}
	for _, a := range alerts.Alerts {
		if a.Key == key && a.Status != "resolved" {
			t.Errorf("alert %s is %s after the resolve notification", a.Key, a.Status)
		}
	}
}

// TestCosmosEndpointFailover: two endpoints on different devnet nodes; the
// node behind one is stopped. Events keep flowing from the other, every
// height is analysed, and nobody but the stopped node's own validator has a
// miss (the observer's gap invents none).
func TestCosmosEndpointFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT devnet")
	}
	dn := startCosmosDevnet(t, 4)
	info := dn.Info()
	chain := info.ChainID
	var v0, rpc0, rpc1 string
	for _, v := range info.Validators {
		switch v.Index {
		case 0:
			v0, rpc0 = v.Address, v.RPC
		case 1:
			rpc1 = v.RPC
		}
	}
	// The oracle reads the same two endpoints as valtrack, on its own
	// connections: a vote either of them announced is one valtrack must
	// not call missed. A vote neither announced is a real miss a loaded
	// machine makes now and then (a prevote that reaches a node after it
	// committed the height is dropped unannounced), not the failover's.
	seen := watchVotes(t, rpc0, rpc1)
	data, addr := t.TempDir(), freeAddr(t)
	c := startChild(t, "run", "--cosmos", fmt.Sprintf("%s=%s,%s", chain, rpc0, rpc1), "--data-dir", data, "--http", addr, "--progress-every", "0")
	start := waitAnalyzed(t, c, addr, chain, 2, time.Minute)
	if err := dn.StopValidator(0); err != nil {
		t.Fatal(err)
	}
	stopped, _ := heights(t, addr, chain)
	end := waitAnalyzed(t, c, addr, chain, stopped+10, 2*time.Minute)
	seen.stop()

	for h := start; h <= end; h++ {
		var hv struct {
			Analyzed bool `json:"analyzed"`
			Observed bool `json:"observed"`
		}
		if !getAPI(t, addr, fmt.Sprintf("/api/v1/cosmos/%s/heights/%d", chain, h), &hv) || !hv.Analyzed {
			t.Errorf("height %d (between %d and %d) not analysed", h, start, end)
		}
	}
	for _, m := range misses(t, addr, chain, fmt.Sprintf("from=%d&to=%d", start, end)) {
		if m.Validator != v0 && m.absent() {
			if m.MissedPrevote && seen.saw(m.Height, m.Validator, "Prevote") ||
				m.MissedPrecommit && seen.saw(m.Height, m.Validator, "Precommit") {
				t.Errorf("validator %s missed at height %d (%+v), but an endpoint valtrack watches announced that vote", m.Validator, m.Height, m)
			}
			if m.MissedSignature && signedCommit(t, rpc1, m.Height, m.Validator) {
				t.Errorf("validator %s's signature called missing at height %d (%+v), but the canonical commit holds it", m.Validator, m.Height, m)
			}
		}
		if m.Cause == "observer_gap" && m.Height >= stopped {
			t.Errorf("height %d: validator %s's miss put down to an observer gap, but endpoint 1 watched throughout", m.Height, m.Validator)
		}
		if m.Validator == v0 && m.Cause == "observer_gap" {
			t.Errorf("height %d: validator 0's miss put down to an observer gap, but the other endpoint watched it", m.Height)
		}
	}
	if n := len(misses(t, addr, chain, fmt.Sprintf("validator=%s&from=%d&to=%d", v0, stopped+2, end))); n == 0 {
		t.Errorf("validator 0 was stopped at height %d, yet no miss of it is recorded up to %d", stopped, end)
	}
}

// voteOracle records every vote the endpoints it watches announce.
type voteOracle struct {
	mu    sync.Mutex
	votes map[string]bool // height/validator/type
	stop  func()
}

func (o *voteOracle) saw(height int64, validator, typ string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.votes[fmt.Sprintf("%d/%s/%s", height, validator, typ)]
}

// watchVotes subscribes to the endpoints and returns once each is
// connected; stop ends the subscriptions.
func watchVotes(t *testing.T, endpoints ...string) *voteOracle {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	o := &voteOracle{votes: map[string]bool{}}
	var wg sync.WaitGroup
	connected := make(chan struct{}, len(endpoints))
	for _, ep := range endpoints {
		sub, err := rpc.NewSubscriber(rpc.WSConfig{URL: ep, Buffer: 4096})
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		wg.Add(2)
		go func() { defer wg.Done(); _ = sub.Run(ctx) }()
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case it := <-sub.Items():
					if it.Connected {
						connected <- struct{}{}
					}
					if it.Event != nil && it.Event.Vote != nil {
						v := it.Event.Vote
						o.mu.Lock()
						o.votes[fmt.Sprintf("%d/%s/%s", v.Height, v.ValidatorAddress, v.Type)] = true
						o.mu.Unlock()
					}
				}
			}
		}()
	}
	var once sync.Once
	o.stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(o.stop)
	for range endpoints {
		select {
		case <-connected:
		case <-time.After(time.Minute):
			t.Fatal("the oracle's subscriptions did not connect within a minute")
		}
	}
	return o
}

// signedCommit: the canonical commit of height, read from endpoint, holds
// validator's signature for the block.
func signedCommit(t *testing.T, endpoint string, height int64, validator string) bool {
	t.Helper()
	cl, err := rpc.NewClient(endpoint, rpc.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := cl.Commit(ctx, height)
	if err != nil {
		t.Fatalf("commit of height %d from %s: %v", height, endpoint, err)
	}
	for _, s := range c.Commit.Signatures {
		if s.ValidatorAddress == validator {
			return s.Flag == events.FlagCommit
		}
	}
	return false
}

// checkTopOnDevnet runs `valtrack top` in a real 80x24 terminal (tmux)
// against the running valtrack of a devnet whose validator 3 is stopped:
// the view shows the chain's height and the four validators by their
// staking monikers, validator 3 with its missed signatures, sorts it
// first on s, and exits on q.
func checkTopOnDevnet(t *testing.T, addr, chain string) {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Log("tmux is not installed: valtrack top is not checked against the devnet")
		return // startTop would skip the whole test, alerts included
	}
	s, rc, _ := startTop(t, "--cosmos", chain, "--api", "http://"+addr, "--refresh", "300ms")
	v0, v1, v2, v3 := devnet.StakingMoniker(0), devnet.StakingMoniker(1), devnet.StakingMoniker(2), devnet.StakingMoniker(3)
	screen := s.waitFor("the devnet's height and its four validators, "+v3+" missing", func(sc string) bool {
		for _, v := range []string{v0, v1, v2, v3} {
			if rowOf(sc, v) < 0 {
				return false
			}
		}
		row := strings.Split(sc, "\n")[rowOf(sc, v3)]
		return strings.Contains(sc, chain) && strings.Contains(sc, "height ") && strings.Count(row, "✗") >= 2
	})
	for i, ln := range strings.Split(strings.TrimRight(screen, "\n"), "\n") {
		if n := utf8.RuneCountInString(ln); n > 80 || i >= 24 {
			t.Errorf("line %d (%d cells) does not fit 80x24: %q", i, n, ln)
		}
	}
	if out, err := s.tmux("send-keys", "-t", s.name, "s"); err != nil {
		t.Fatalf("send-keys s: %v %s", err, out)
	}
	s.waitFor(v3+" first when sorted by misses", func(sc string) bool {
		r3 := rowOf(sc, v3)
		for _, v := range []string{v0, v1, v2} {
			if r := rowOf(sc, v); r < 0 || r3 < 0 || r < r3 {
				return false
			}
		}
		return strings.Contains(sc, "sort: misses")
	})
	if out, err := s.tmux("send-keys", "-t", s.name, "q"); err != nil {
		t.Fatalf("send-keys q: %v %s", err, out)
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if b, err := os.ReadFile(rc); err == nil && strings.TrimSpace(string(b)) == "0" {
			return
		}
	}
	t.Errorf("valtrack top did not exit 0 on q")
}
