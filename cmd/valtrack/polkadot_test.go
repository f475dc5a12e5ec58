package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/chain"
	"github.com/valtrack/valtrack/internal/polkadot/chopsticks"
	"github.com/valtrack/valtrack/internal/polkadot/devnet"
	"github.com/valtrack/valtrack/internal/polkadot/program"
)

// The Polkadot program against a real Westend runtime (chopsticks,
// internal/polkadot/devnet) and valtrack as a child process: candidates
// of the devnet's file get the validity its truth.json says, with the
// reasons; scores come with snapshots; ranks grow across eras; a dry-run
// round is recorded and sends nothing. The RPC is then cut: no candidate
// turns invalid, the chain checks say unknown with the error, and recover
// when it is back. Then valtrack sends: a round through the time-delay
// proxy is announced, valtrack is killed in the middle of the delay, and
// the restarted one executes it once — the nomination is in chain state.

type pdCheck struct {
	Type    string `json:"type"`
	Valid   bool   `json:"valid"`
	Status  string `json:"status"`
	Details string `json:"details"`
	Error   string `json:"error"`
}

type pdCandidate struct {
	Name     string    `json:"name"`
	Stash    string    `json:"stash"`
	Status   string    `json:"status"`
	Rank     int       `json:"rank"`
	Total    float64   `json:"total"`
	Validity []pdCheck `json:"validity"`
}

type pdProxyTx struct {
	ID       string   `json:"id"`
	RoundID  int64    `json:"round_id"`
	State    string   `json:"state"`
	Targets  []string `json:"targets"`
	TxHashes []string `json:"tx_hashes"`
	Reason   string   `json:"reason"`
}

func pdCandidates(t *testing.T, addr string) []pdCandidate {
	t.Helper()
	var cs []pdCandidate
	if !getAPI(t, addr, "/api/v1/polkadot/"+devnet.Chain+"/candidates", &cs) {
		return nil
	}
	return cs
}

// waitUntil polls cond every half second until it holds.
func waitUntil(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("%s: not within %s", what, within)
}

func TestPolkadotProgramOnChopsticks(t *testing.T) {
	if testing.Short() {
		t.Skip("runs chopsticks")
	}
	if !chopsticks.Installed(chopsticks.DefaultPrefix()) {
		t.Skipf("chopsticks is not installed in %s (.ci/run installs it)", chopsticks.DefaultPrefix())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dn, err := devnet.Start(ctx, devnet.Options{Dir: filepath.Join(t.TempDir(), "pdn"), EraEvery: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dn.Close() })
	info := dn.Info()
	truth, err := devnet.ReadTruth(dn.Dir())
	if err != nil {
		t.Fatal(err)
	}
	// valtrack reaches the chain through a proxy the test can cut.
	px := newTCPProxy(t, strings.TrimPrefix(info.RPCHTTP, "http://"))
	data, addr := t.TempDir(), freeAddr(t)
	args := []string{"run", "--polkadot", devnet.Chain + "=ws://" + px.addr, "--polkadot-candidates", devnet.Chain + "=" + info.Candidates,
		"--polkadot-telemetry", devnet.Chain + "=" + info.Telemetry, "--polkadot-poll", "2s", "--polkadot-every", "2s",
		"--data-dir", data, "--http", addr, "--progress-every", "0"}
	c := startChild(t, args...)

	// Validity as truth.json says, each invalid one for its own rule, with
	// a reason naming itself.
	var cs []pdCandidate
	waitUntil(t, "every candidate judged as truth.json says", 2*time.Minute, func() bool {
		cs = pdCandidates(t, addr)
		if len(cs) != len(truth) {
			return false
		}
		for _, cd := range cs {
			if !judgedAsTruth(cd, truth[cd.Name]) {
				return false
			}
		}
		return true
	})
	byName := map[string]pdCandidate{}
	for _, cd := range cs {
		byName[cd.Name] = cd
		if want := truth[cd.Name]; want != "valid" {
			for _, ch := range cd.Validity {
				if ch.Type == want && !strings.Contains(ch.Details, cd.Name) {
					t.Errorf("%s's %s reason %q does not name it", cd.Name, want, ch.Details)
				}
			}
		}
	}
	var valid []string
	for name, want := range truth {
		if want == "valid" {
			valid = append(valid, name)
		}
	}
	if len(valid) < 4 {
		t.Fatalf("truth.json has %d valid candidates, want at least 4", len(valid))
	}

	// Scores with their explanation.
	v0 := byName[valid[0]]
	var ex struct {
		Score struct {
			Total      float64             `json:"total"`
			Components []program.Component `json:"components"`
		} `json:"score"`
		Stats map[string]program.Stats `json:"stats"`
	}
	waitUntil(t, "a score explanation of "+v0.Name, time.Minute, func() bool {
		return getAPI(t, addr, "/api/v1/polkadot/"+devnet.Chain+"/score/"+v0.Stash+"/explain", &ex) && ex.Score.Total > 0
	})
	if len(ex.Score.Components) < 15 {
		t.Errorf("%d score components, want the 15 of the formula", len(ex.Score.Components))
	}
	sum := 0.0
	for _, comp := range ex.Score.Components {
		sum += comp.Value
		if comp.Stats != "" {
			if _, ok := ex.Stats[comp.Stats]; !ok {
				t.Errorf("component %s names statistics %q the explanation lacks", comp.Name, comp.Stats)
			}
		}
	}
	if sum <= 0 || ex.Score.Total < sum || ex.Score.Total > sum*1.15+1e-9 {
		t.Errorf("total %.4f is not the components' sum %.4f times a randomness in [1, 1.15)", ex.Score.Total, sum)
	}

	// Ranks grow across eras.
	r0 := byName[valid[0]].Rank
	waitUntil(t, "the rank to grow by two eras", 90*time.Second, func() bool {
		for _, cd := range pdCandidates(t, addr) {
			if cd.Name == valid[0] {
				return cd.Rank >= r0+2
			}
		}
		return false
	})

	// A dry-run round: recorded, nothing sent.
	var rounds []struct {
		ID          int64                `json:"id"`
		DryRun      bool                 `json:"dry_run"`
		Status      string               `json:"status"`
		Assignments []program.Assignment `json:"assignments"`
	}
	waitUntil(t, "a dry-run round", time.Minute, func() bool {
		return getAPI(t, addr, "/api/v1/polkadot/"+devnet.Chain+"/rounds", &rounds) && len(rounds) > 0 && rounds[0].Status == "done"
	})
	if !rounds[0].DryRun || len(rounds[0].Assignments) != 1 || len(rounds[0].Assignments[0].Targets) != len(valid) {
		t.Errorf("round %+v: want a dry run nominating the %d valid candidates", rounds[0], len(valid))
	}
	rd, err := chain.New(chain.Config{Chain: devnet.Chain, Relay: []string{info.RPC}})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if got := chainTargets(t, rd, info.Nominator.Account); len(got) != 0 {
		t.Errorf("a dry run nominated on chain: %v", got)
	}

	// The RPC cut: nothing turns invalid; chain checks go unknown with the
	// error; then recover.
	px.cut()
	waitUntil(t, "chain checks unknown with the outage", 2*time.Minute, func() bool {
		for _, cd := range pdCandidates(t, addr) {
			if judged := judgedAsTruth(cd, truth[cd.Name]); !judged {
				t.Fatalf("%s changed verdict during the RPC outage: %+v", cd.Name, cd)
			}
			if cd.Name == valid[1] {
				for _, ch := range cd.Validity {
					if ch.Type == program.RuleCommission {
						return ch.Status == "unknown" && ch.Valid && strings.Contains(ch.Error, "no chain read since")
					}
				}
			}
		}
		return false
	})
	px.restore()
	waitUntil(t, "chain checks known again after the RPC is back", 2*time.Minute, func() bool {
		for _, cd := range pdCandidates(t, addr) {
			if cd.Name == valid[1] {
				for _, ch := range cd.Validity {
					if ch.Type == program.RuleCommission {
						return ch.Status == "valid" && ch.Error == ""
					}
				}
			}
		}
		return false
	})
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	c.waitExit(t, time.Minute)

	// Sending: a round through the time-delay proxy, announced; valtrack
	// killed during the delay; the restarted one executes it once.
	send := append(append([]string{}, args...), "--polkadot-send")
	c2 := startChild(t, send...)
	var first pdProxyTx
	waitUntil(t, "an announced nomination", 2*time.Minute, func() bool {
		var txs []pdProxyTx
		if !getAPI(t, addr, "/api/v1/polkadot/"+devnet.Chain+"/proxytxs", &txs) || len(txs) == 0 {
			return false
		}
		first = txs[len(txs)-1]
		return true
	})
	if first.State != "announced" {
		t.Fatalf("the first proxy tx is %s (%s) before the delay passed", first.State, first.Reason)
	}
	_ = c2.cmd.Process.Kill()
	<-c2.done
	c3 := startChild(t, send...)
	waitUntil(t, "the announced nomination executed after the restart", 3*time.Minute, func() bool {
		var txs []pdProxyTx
		if !getAPI(t, addr, "/api/v1/polkadot/"+devnet.Chain+"/proxytxs", &txs) {
			return false
		}
		for _, p := range txs {
			if p.ID == first.ID {
				first = p
			}
		}
		return first.State != "announced"
	})
	if first.State != "executed" || len(first.TxHashes) != 2 {
		t.Fatalf("proxy tx %+v: want executed, by one announce and one execute", first)
	}
	got := chainTargets(t, rd, info.Nominator.Account)
	if !sameStrings(got, first.Targets) {
		t.Errorf("chain nominations of the nominator %v, want the round's targets %v", got, first.Targets)
	}
	var noms []struct {
		RoundID int64 `json:"roundId"`
		DryRun  bool  `json:"dryRun"`
	}
	getAPI(t, addr, "/api/v1/polkadot/"+devnet.Chain+"/nominations", &noms)
	n := 0
	for _, x := range noms {
		if x.RoundID == first.RoundID && !x.DryRun {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d nominations recorded for round %d, want 1", n, first.RoundID)
	}
	_ = c3
}

// judgedAsTruth: a "valid" candidate is valid; another is invalid with its
// truth's rule among the invalid checks.
func judgedAsTruth(cd pdCandidate, want string) bool {
	if want == "valid" {
		return cd.Status == "valid"
	}
	if cd.Status != "invalid" {
		return false
	}
	for _, ch := range cd.Validity {
		if ch.Type == want && !ch.Valid {
			return true
		}
	}
	return false
}

func chainTargets(t *testing.T, rd *chain.Reader, account string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ch, err := rd.Chain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := rd.Validators(ctx, ch, []string{account})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if v.Stash == account {
			return v.NominationTargets.Value
		}
	}
	return nil
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}

// tcpProxy forwards a loopback port to another, and can be cut (every
// connection dropped, new ones refused) and restored on the same port.
type tcpProxy struct {
	t        *testing.T
	addr, to string
	mu       sync.Mutex
	ln       net.Listener
	conns    map[net.Conn]struct{}
}

func newTCPProxy(t *testing.T, to string) *tcpProxy {
	p := &tcpProxy{t: t, to: to, conns: map[net.Conn]struct{}{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", p.to)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns[in], p.conns[out] = struct{}{}, struct{}{}
			p.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
}

func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]struct{}{}
}

func (p *tcpProxy) restore() {
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("the proxy cannot listen on %s again: %v", p.addr, err)
	}
	p.serve(ln)
}

var _ = fmt.Sprint
