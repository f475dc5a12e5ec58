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

// kusamaFleet is a Kusama instance listing n valid candidates (rank 150)
// whose handler counts the requests and, while slow is set, sleeps that
// long before answering (or until the client gives up).
func kusamaFleet(t *testing.T, n int, requests *atomic.Int64, slow *atomic.Int64) string {
	t.Helper()
	cands := map[string]program.Validity{}
	for i := range n {
		cands[ss58.Encode(kusamaKey(i), 2)] = program.Validity{Status: program.Valid,
			Checks: []program.Check{{Type: program.RuleCommission, Valid: true, Status: program.Valid, Known: true}}}
	}
	return kusamaServer(t, cands, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			if d := time.Duration(slow.Load()); d > 0 {
				select {
				case <-time.After(d):
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
	var requests, slow atomic.Int64
	url := kusamaFleet(t, n-1, &requests, &slow) // the last one is not listed
	st, cfg := pdotFleet(t, n)
	cfg.Rules.KusamaAPI = url
	cfg.Candidates[0].KusamaStash = ss58.Encode(kusamaKey(0), 0) // alpha: a Polkadot-form address of the same key
	r := newRunner(t, st, cfg, nil, false)
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

// A slow Kusama instance: the pass ends at the batch deadline with every
// KUSAMA_RANK check unknown, never invalid — the last verdict (valid)
// kept, or none known on a first pass —, and the next passes within the
// retry interval do not ask again.
func TestKusamaRanksSlowInstance(t *testing.T) {
	const n = 1000
	var requests, slow atomic.Int64
	url := kusamaFleet(t, n, &requests, &slow)
	st, cfg := pdotFleet(t, n)
	cfg.Rules.KusamaAPI = url
	r := newRunner(t, st, cfg, nil, false)
	r.kusama.deadline = 200 * time.Millisecond
	ctx := context.Background()
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	at := now.Add(11 * time.Minute) // past the cache
	r.cfg.Now = func() time.Time { return at }
	slow.Store(int64(5 * time.Second))
	start := time.Now()
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("pass with a slow Kusama instance took %s, want about the 200ms deadline plus the pass", took)
	}
	wantErr := "no complete answer within 200ms"
	for stash, ch := range kusamaChecks(t, st) {
		if ch.Status != program.Unknown || !ch.Valid || !ch.Known || !strings.Contains(ch.Error, wantErr) {
			t.Fatalf("%s after a late answer: %+v, want unknown (%q), last verdict valid kept", stash, ch, wantErr)
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
	r2.kusama.deadline = 200 * time.Millisecond
	if _, err := r2.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	status, ch := checkOf(t, st2, "stash-alpha", program.RuleKusamaRank)
	if status != program.Unknown || ch.Status != program.Unknown || ch.Known || !strings.Contains(ch.Error, wantErr) {
		t.Errorf("first pass, slow instance: %s, %+v: want the candidate and check unknown, never known", status, ch)
	}
}
