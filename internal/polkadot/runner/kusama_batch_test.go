package runner

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/program"
	"github.com/valtrack/valtrack/internal/polkadot/ss58"
	"github.com/valtrack/valtrack/internal/polkadot/state"
)

// kusamaKey is the key of the i-th Kusama candidate.
func kusamaKey(i int) [32]byte {
	var k [32]byte
	k[0], k[1], k[31] = byte(i>>8), byte(i), 0xEE
	return k
}

// kusamaGate holds a Kusama instance's answers while shut: each request
// then says it arrived and waits until the gate opens or its client gives
// up — a slow instance with no clock in it.
type kusamaGate struct {
	shut    atomic.Bool
	arrived chan struct{}
	open    chan struct{}
}

func newKusamaGate() *kusamaGate {
	return &kusamaGate{arrived: make(chan struct{}, 16), open: make(chan struct{})}
}

// kusamaFleet is a Kusama instance listing n valid candidates (rank 150)
// whose handler counts the requests and holds them at gate while it is
// shut.
func kusamaFleet(t *testing.T, n int, requests *atomic.Int64, gate *kusamaGate) string {
	t.Helper()
	cands := map[string]program.Validity{}
	for i := range n {
		cands[ss58.Encode(kusamaKey(i), 2)] = program.Validity{Status: program.Valid,
			Checks: []program.Check{{Type: program.RuleCommission, Valid: true, Status: program.Valid, Known: true}}}
	}
	return kusamaServer(t, cands, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			if gate.shut.Load() {
				gate.arrived <- struct{}{}
				select {
				case <-gate.open:
				case <-r.Context().Done():
					return
				}
			}
			h.ServeHTTP(w, r)
		})
	})
}

// pdotFleet adds n-5 candidates to the fixture's five (no chain record:
// their other checks are unknown) and gives candidate i Kusama stash i.
func pdotFleet(t *testing.T, n int) (*state.Store, *program.Config) {
	t.Helper()
	st, cfg := fixture(t, 0)
	for i := len(cfg.Candidates); i < n; i++ {
		cfg.Candidates = append(cfg.Candidates, program.Entry{Name: fmt.Sprintf("c%04d", i), Stash: fmt.Sprintf("stash-c%04d", i)})
	}
	for i := range cfg.Candidates {
		cfg.Candidates[i].KusamaStash = ss58.Encode(kusamaKey(i), 2)
	}
	return st, cfg
}

func kusamaChecks(t *testing.T, st *state.Store) map[string]program.Check {
	t.Helper()
	cs, err := st.Candidates(context.Background(), chain, state.CandidateFilter{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]program.Check{}
	for _, c := range cs {
		for _, ch := range c.Validity.Checks {
			if ch.Type == program.RuleKusamaRank {
				out[c.Entry.Stash] = ch
			}
		}
	}
	return out
}

// 1,000 candidates' Kusama ranks come from one request, whatever prefix
// their kusama_stash is written in; the next pass asks nothing (cached),
// one after the cache's 10 minutes asks once again. A Kusama stash the
// instance does not list is invalid, as before.
func TestKusamaRanksOneRequestCached(t *testing.T) {
	const n = 1000
	var requests atomic.Int64
	url := kusamaFleet(t, n-1, &requests, newKusamaGate()) // the last one is not listed
	st, cfg := pdotFleet(t, n)
	cfg.Rules.KusamaAPI = url
	cfg.Candidates[0].KusamaStash = ss58.Encode(kusamaKey(0), 0) // alpha: a Polkadot-form address of the same key
	r := newRunner(t, st, cfg, nil, false)
	// No deadline: this test is about the requests, and a busy machine
	// must not turn it into the late path (TestKusamaRanksSlowInstance).
	r.kusama.after = func(time.Duration) <-chan time.Time { return nil }
	ctx := context.Background()
	start := time.Now()
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	checks := kusamaChecks(t, st)
	if len(checks) != n {
		t.Fatalf("%d candidates with a KUSAMA_RANK check, want %d", len(checks), n)
	}
	valid := 0
	for stash, ch := range checks {
		switch {
		case stash == cfg.Candidates[n-1].Stash:
			if ch.Status != program.Invalid || !strings.Contains(ch.Details, "that the Kusama programme does not list") {
				t.Errorf("unlisted Kusama stash: %+v, want invalid", ch)
			}
		case ch.Status == program.Valid:
			valid++
		default:
			t.Errorf("%s: %+v, want valid", stash, ch)
		}
	}
	if got := requests.Load(); got != 1 || valid != n-1 {
		t.Fatalf("pass: %d requests to the Kusama instance, %d valid; want 1 and %d", got, valid, n-1)
	}
	t.Logf("a pass of %d candidates with Kusama ranks: %s, %d request", n, took, requests.Load())

	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if got := requests.Load(); got != 1 {
		t.Errorf("second pass: %d requests in all, want 1 (cached)", got)
	}
	later := now.Add(11 * time.Minute)
	r.cfg.Now = func() time.Time { return later }
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if got := requests.Load(); got != 2 {
		t.Errorf("pass after 11 minutes: %d requests in all, want 2 (cache expired)", got)
	}
}

// kusamaTimers stands in for the Kusama read's deadline timer: each
// read's timer is handed to the test, which fires it.
type kusamaTimers chan chan time.Time

func (k kusamaTimers) after(time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	k <- ch
	return ch
}

// passUntilDeadline runs a pass in the background against a shut gate:
// once the request is at the instance and the read's timer is started, it
// fires the timer — the instance still holding the answer — and returns
// the pass's error. The pass returning at all while the instance has not
// answered is what shows a slow instance does not block it.
func passUntilDeadline(t *testing.T, r *Runner, gate *kusamaGate, timers kusamaTimers) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := r.Pass(context.Background())
		done <- err
	}()
	select {
	case <-gate.arrived:
	case err := <-done:
		t.Fatalf("the pass ended (%v) without asking the Kusama instance", err)
	}
	timer := <-timers
	timer <- time.Time{}
	return <-done
}

// A slow Kusama instance: when the batch deadline passes before it
// answers, the pass finishes without the answer — every KUSAMA_RANK check
// unknown with the deadline's error, never invalid, the last verdict
// (valid) kept, or none known on a first pass; the other checks and the
// candidates' records are stored as ever — and the next passes within the
// retry interval do not ask again. The deadline is fired by the test and
// the instance holds its answer until the test lets it go: nothing
// depends on how fast the machine is.
func TestKusamaRanksSlowInstance(t *testing.T) {
	const n = 1000
	var requests atomic.Int64
	gate := newKusamaGate()
	defer close(gate.open)
	url := kusamaFleet(t, n, &requests, gate)
	st, cfg := pdotFleet(t, n)
	cfg.Rules.KusamaAPI = url
	timers := make(kusamaTimers, 4)
	r := newRunner(t, st, cfg, nil, false)
	r.kusama.deadline, r.kusama.after = 200*time.Millisecond, timers.after
	// The clock moves 11 minutes on, and no sentry republishes the
	// fixture's telemetry records as a live one would every 5 minutes.
	r.cfg.TelemetryStale = time.Hour
	ctx := context.Background()
	if _, err := r.Pass(ctx); err != nil { // answered: the timer never fires
		t.Fatal(err)
	}
	<-timers
	for stash, ch := range kusamaChecks(t, st) {
		if ch.Status != program.Valid {
			t.Fatalf("%s after the instance answered: %+v, want valid", stash, ch)
		}
	}

	at := now.Add(11 * time.Minute) // past the cache
	r.cfg.Now = func() time.Time { return at }
	gate.shut.Store(true)
	if err := passUntilDeadline(t, r, gate, timers); err != nil {
		t.Fatal(err)
	}
	wantErr := "no complete answer within 200ms"
	checks := kusamaChecks(t, st)
	if len(checks) != n {
		t.Fatalf("%d candidates with a KUSAMA_RANK check after the late read, want %d", len(checks), n)
	}
	for stash, ch := range checks {
		if ch.Status != program.Unknown || !ch.Valid || !ch.Known || !strings.Contains(ch.Error, wantErr) {
			t.Fatalf("%s after a late answer: %+v, want unknown (%q), last verdict valid kept", stash, ch, wantErr)
		}
	}
	// The rest of the pass ran: alpha's other checks judged as before, and
	// it is stored as of this pass.
	cs, err := st.Candidates(ctx, chain, state.CandidateFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Entry.Stash != "stash-alpha" {
			continue
		}
		if c.Updated != at.UnixMilli() {
			t.Errorf("alpha updated %d, want this pass's %d", c.Updated, at.UnixMilli())
		}
		for _, ch := range c.Validity.Checks {
			if ch.Type != program.RuleKusamaRank && ch.Status != program.Valid {
				t.Errorf("alpha's %s %+v: want valid, judged as before", ch.Type, ch)
			}
		}
	}
	if got := requests.Load(); got != 2 {
		t.Errorf("%d requests, want 2", got)
	}
	at = at.Add(30 * time.Second) // the next pass, within kusamaRetry
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if got := requests.Load(); got != 2 {
		t.Errorf("a pass 30 s after the failure: %d requests in all, want 2 (no retry yet)", got)
	}

	// A first pass against the slow instance: unknown, never known, and
	// the candidate is not invalid for it.
	st2, cfg2 := fixture(t, 0)
	cfg2.Rules.KusamaAPI = url
	cfg2.Candidates[0].KusamaStash = ss58.Encode(kusamaKey(0), 2)
	r2 := newRunner(t, st2, cfg2, nil, false)
	r2.kusama.deadline, r2.kusama.after = 200*time.Millisecond, timers.after
	if err := passUntilDeadline(t, r2, gate, timers); err != nil {
		t.Fatal(err)
	}
	status, ch := checkOf(t, st2, "stash-alpha", program.RuleKusamaRank)
	if status != program.Unknown || ch.Status != program.Unknown || ch.Known || !strings.Contains(ch.Error, wantErr) {
		t.Errorf("first pass, slow instance: %s, %+v: want the candidate and check unknown, never known", status, ch)
	}
}
