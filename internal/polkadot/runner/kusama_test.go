package runner

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/polkadot/httpapi"
	"github.com/valtrack/valtrack/internal/polkadot/program"
	"github.com/valtrack/valtrack/internal/polkadot/ss58"
	"github.com/valtrack/valtrack/internal/polkadot/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

// kusamaAddr is a Kusama (prefix 2) address of a key made of b.
func kusamaAddr(b byte) string {
	var k [32]byte
	for i := range k {
		k[i] = b
	}
	return ss58.Encode(k, 2)
}

// kusamaInstance serves a Kusama valtrack's API (the real routes, on
// 127.0.0.1) over a store holding the given candidates' validity.
func kusamaInstance(t *testing.T, cands map[string]program.Validity) string {
	t.Helper()
	return kusamaServer(t, cands, nil)
}

// kusamaServer is kusamaInstance with the handler wrapped by wrap (nil:
// none).
func kusamaServer(t *testing.T, cands map[string]program.Validity, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	st := state.New(storetest.SQLite(t, store.WithMigrations(state.Migrations())))
	var rows []state.CandidateState
	for stash, v := range cands {
		rows = append(rows, state.CandidateState{Entry: program.Entry{Name: "k-" + stash[:6], Stash: stash}, Validity: v, Rank: 150})
	}
	if err := st.PutCandidates(context.Background(), "kusama", rows); err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(api.Options{Log: slog.New(slog.DiscardHandler), CacheTTL: -1,
		Domains: []api.Domain{httpapi.New(st, func() []string { return []string{"kusama"} })}})
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs.URL
}

func checkOf(t *testing.T, st *state.Store, stash, typ string) (program.Status, program.Check) {
	t.Helper()
	c, err := st.Candidate(context.Background(), chain, stash)
	if err != nil || c == nil {
		t.Fatalf("candidate %s: %v", stash, err)
	}
	for _, ch := range c.Validity.Checks {
		if ch.Type == typ {
			return c.Validity.Status, ch
		}
	}
	t.Fatalf("%s has no %s check: %+v", stash, typ, c.Validity.Checks)
	return "", program.Check{}
}

// KUSAMA_RANK against a real Kusama instance's API: its unknown verdict
// stays unknown here (it used to read as "invalid: no reason given"), its
// invalid verdict is invalid with its reasons, its valid one valid; a
// kusama_stash with no Kusama instance configured says what to set.
func TestKusamaRankUnknownStaysUnknown(t *testing.T) {
	unknownK, invalidK, validK := kusamaAddr(1), kusamaAddr(2), kusamaAddr(3)
	url := kusamaInstance(t, map[string]program.Validity{
		unknownK: {Status: program.Unknown, Checks: []program.Check{
			{Type: program.RuleCommission, Valid: true, Status: program.Valid, Known: true},
			{Type: program.RuleIdentity, Valid: true, Status: program.Unknown, Error: "identity: rpc: connection refused"}}},
		invalidK: {Status: program.Invalid, Checks: []program.Check{
			{Type: program.RuleCommission, Valid: false, Status: program.Invalid, Known: true, Details: "k commission is set higher than the maximum allowed."}}},
		validK: {Status: program.Valid, Checks: []program.Check{{Type: program.RuleCommission, Valid: true, Status: program.Valid, Known: true}}},
	})
	st, cfg := fixture(t, 0)
	cfg.Rules.KusamaAPI = url
	cfg.Candidates[0].KusamaStash = unknownK // alpha
	cfg.Candidates[1].KusamaStash = invalidK // bravo
	cfg.Candidates[2].KusamaStash = validK   // charlie
	r := newRunner(t, st, cfg, nil, false)
	if _, err := r.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	status, ch := checkOf(t, st, "stash-alpha", program.RuleKusamaRank)
	if status == program.Invalid || ch.Status != program.Unknown || !ch.Valid ||
		!strings.Contains(ch.Error, "verdict on "+unknownK+" is unknown") || !strings.Contains(ch.Error, "IDENTITY: identity: rpc: connection refused") {
		t.Errorf("alpha (Kusama unknown): %s, %+v: want unknown naming the Kusama side's unknown check", status, ch)
	}
	status, ch = checkOf(t, st, "stash-bravo", program.RuleKusamaRank)
	if status != program.Invalid || ch.Status != program.Invalid || !strings.Contains(ch.Details, "bravo has a kusama node that is invalid: k commission is set higher") {
		t.Errorf("bravo (Kusama invalid): %s, %+v: want invalid with the Kusama reason", status, ch)
	}
	if _, ch = checkOf(t, st, "stash-charlie", program.RuleKusamaRank); ch.Status != program.Valid {
		t.Errorf("charlie (Kusama valid, rank 150): %+v", ch)
	}

	// No Kusama instance configured: a configuration message, not a wait.
	cfg.Rules.KusamaAPI = ""
	if _, err := r.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, ch = checkOf(t, st, "stash-charlie", program.RuleKusamaRank)
	if ch.Status != program.Unknown || !strings.Contains(ch.Error, "no Kusama instance is configured: set rules.kusama_api") {
		t.Errorf("charlie with no kusama_api: %+v, want unknown saying to set rules.kusama_api", ch)
	}
}

// A Kusama instance that lists no candidates at all (still starting, or
// an empty answer) is no answer: KUSAMA_RANK is unknown with why, never
// "the Kusama programme does not list" it (invalid).
func TestKusamaEmptyListIsUnknown(t *testing.T) {
	url := kusamaInstance(t, map[string]program.Validity{})
	st, cfg := fixture(t, 0)
	cfg.Rules.KusamaAPI = url
	cfg.Candidates[0].KusamaStash = kusamaAddr(1)
	r := newRunner(t, st, cfg, nil, false)
	if _, err := r.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	status, ch := checkOf(t, st, "stash-alpha", program.RuleKusamaRank)
	if status == program.Invalid || ch.Status != program.Unknown || !strings.Contains(ch.Error, "lists no candidates") {
		t.Fatalf("alpha against an empty Kusama list: %s, %+v: want unknown saying the list is empty", status, ch)
	}
}
