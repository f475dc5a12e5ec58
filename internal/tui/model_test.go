package tui

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// fakeAPI serves the consensus of devnet-1 as valtrack's API would, with
// an answer the test can change.
type fakeAPI struct {
	*httptest.Server
	mu     sync.Mutex
	status int    // of the consensus route
	body   string // its body
	keys   []string
	chains string // body of /api/v1/cosmos/chains
	retry  string // Retry-After of the consensus route, if set
}

func newFakeAPI(t *testing.T, body string) *fakeAPI {
	t.Helper()
	f := &fakeAPI{status: 200, body: body, chains: `["devnet-1","osmosis-1"]`}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/cosmos/{chain}/consensus", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.keys = append(f.keys, r.Header.Get(APIKeyHeader))
		w.Header().Set("Content-Type", "application/json")
		if f.retry != "" {
			w.Header().Set("Retry-After", f.retry)
		}
		if r.PathValue("chain") != "devnet-1" {
			w.WriteHeader(404)
			_, _ = w.Write([]byte(`{"error":"unknown network; GET /api/v1/networks lists the known ones","parameter":"network"}`))
			return
		}
		w.WriteHeader(f.status)
		_, _ = w.Write([]byte(f.body))
	})
	mux.HandleFunc("GET /api/v1/cosmos/chains", func(w http.ResponseWriter, _ *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		_, _ = w.Write([]byte(f.chains))
	})
	f.Server = httptest.NewServer(mux) // on 127.0.0.1
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) answer(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.body = status, body
}

// newTestModel is a model of api with a fixed clock and no colours.
func newTestModel(api, chain string) *Model {
	plain := Styles{}
	return New(Config{API: api, Chain: chain, Refresh: time.Second, Timeout: 5 * time.Second, Styles: &plain, Now: func() time.Time { return now }})
}

// poll runs one poll cycle as the bubbletea runtime would: the poll
// message, the fetch it returns, and the outcome; it returns the view.
// The command that schedules the next poll is checked, not run (it sleeps).
func poll(t *testing.T, m *Model) string {
	t.Helper()
	_, fetch := m.Update(pollMsg{})
	if fetch == nil {
		t.Fatal("a poll message started no fetch")
	}
	msg := fetch()
	if _, ok := msg.(fetchedMsg); !ok {
		t.Fatalf("the fetch returned %T, want fetchedMsg", msg)
	}
	if _, next := m.Update(msg); next == nil {
		t.Fatal("a fetch outcome scheduled no next poll")
	}
	return m.View()
}

func TestFetchCycleUpdatesView(t *testing.T) {
	api := newFakeAPI(t, fixtureJSON(5))
	m := newTestModel(api.URL, "devnet-1")
	if v := m.View(); !strings.Contains(v, "waiting for the first answer from "+api.URL) {
		t.Errorf("before the first answer:\n%s", v)
	}
	v := poll(t, m)
	for _, want := range []string{"height 1234", "round 2", "val-0", "val-4", "updated 0ms ago"} {
		if !strings.Contains(v, want) {
			t.Errorf("after the first poll the view lacks %q:\n%s", want, v)
		}
	}
	api.answer(200, strings.Replace(fixtureJSON(6), `"height":1234`, `"height":1235`, 1))
	v = poll(t, m)
	if !strings.Contains(v, "height 1235") || !strings.Contains(v, "val-5") {
		t.Errorf("the second poll did not update the view:\n%s", v)
	}
	api.mu.Lock()
	got := append([]string(nil), api.keys...)
	api.mu.Unlock()
	if len(got) != 2 || got[0] != "" {
		t.Errorf("requests %q: want 2, without an API key", got)
	}
}

func TestServerErrorKeepsLastData(t *testing.T) {
	api := newFakeAPI(t, fixtureJSON(5))
	m := newTestModel(api.URL, "devnet-1")
	poll(t, m)
	api.answer(500, `{"error":"internal error; try again later, and tell the operator if it persists"}`)
	v := strings.ReplaceAll(poll(t, m), "\n", " ")
	if !strings.Contains(v, "500 internal error; try again later") || !strings.Contains(v, "/api/v1/cosmos/devnet-1/consensus") {
		t.Errorf("a 500 is not told with its message and URL:\n%s", v)
	}
	if !strings.Contains(v, "height 1234") || !strings.Contains(v, "val-4") || !strings.Contains(v, "showing data from") {
		t.Errorf("the last data is gone after a 500:\n%s", v)
	}
	api.answer(200, fixtureJSON(5))
	if v := poll(t, m); strings.Contains(v, "500 internal") || m.State().Err != nil {
		t.Errorf("the error stays after a good answer:\n%s", v)
	}
}

func TestConnectionRefusedKeepsLastData(t *testing.T) {
	api := newFakeAPI(t, fixtureJSON(5))
	m := newTestModel(api.URL, "devnet-1")
	poll(t, m)
	api.Close() // nothing listens on the port any more
	v := strings.ReplaceAll(poll(t, m), "\n", " ")
	want := "cannot reach valtrack at " + api.URL + ": is `valtrack run` running?"
	if !strings.Contains(v, want) {
		t.Errorf("connection refused: the view lacks %q:\n%s", want, v)
	}
	if !strings.Contains(v, "height 1234") || !strings.Contains(v, "val-0") {
		t.Errorf("the last data is gone after the API went away:\n%s", v)
	}

	// Refused from the start: the error without data.
	m2 := newTestModel(api.URL, "devnet-1")
	if v := strings.ReplaceAll(poll(t, m2), "\n", " "); !strings.Contains(v, want) {
		t.Errorf("never reached: %s", v)
	}
}

func TestUnknownChainListsKnownOnes(t *testing.T) {
	api := newFakeAPI(t, fixtureJSON(1))
	m := newTestModel(api.URL, "devnet-9")
	v := strings.ReplaceAll(poll(t, m), "\n", " ")
	if !strings.Contains(v, "unknown chain devnet-9; known: devnet-1, osmosis-1") {
		t.Errorf("unknown chain:\n%s", v)
	}
	api.mu.Lock()
	api.chains = `{"chains":[]}`
	api.mu.Unlock()
	if v := strings.ReplaceAll(poll(t, m), "\n", " "); !strings.Contains(v, "follows no cosmos chain: start it with --cosmos devnet-9=RPC") {
		t.Errorf("no chains at all:\n%s", v)
	}
}

func TestNoCosmosAPI(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	_, err := NewClient(srv.URL, "", time.Second).Consensus(t.Context(), "devnet-1")
	if err == nil || !strings.Contains(err.Error(), "has no cosmos API") {
		t.Errorf("an API without cosmos routes: %v", err)
	}
}

func TestAPIKeyIsSentAndRefusalTold(t *testing.T) {
	var (
		mu  sync.Mutex
		got []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("X-API-KEY"))
		mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"invalid API key; check the X-API-KEY header, or omit it for the public view","parameter":"X-API-KEY"}`))
	}))
	defer srv.Close()
	_, err := NewClient(srv.URL, "secret-key-1", time.Second).Consensus(t.Context(), "devnet-1")
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != "secret-key-1" {
		t.Errorf("X-API-KEY sent: %q", got)
	}
	if err == nil || !strings.Contains(err.Error(), "refused the key (401: invalid API key") || !strings.Contains(err.Error(), "--api-key") {
		t.Errorf("a refused key: %v", err)
	}
	if strings.Contains(err.Error(), "secret-key-1") {
		t.Errorf("the error shows the key: %v", err)
	}
}

func TestResponseSizeIsBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"validators":[`))
		chunk := []byte(strings.Repeat(`{"moniker":"x"},`, 4096))
		for n := 0; n <= MaxBodyBytes; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	_, err := NewClient(srv.URL, "", 5*time.Second).Consensus(t.Context(), "devnet-1")
	if err == nil || !strings.Contains(err.Error(), "larger than 8 MiB") {
		t.Errorf("an oversized answer: %v", err)
	}
}

func TestRequestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select { // answer nothing until the client gives up
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	_, err := NewClient(srv.URL, "", 50*time.Millisecond).Consensus(t.Context(), "devnet-1")
	if err == nil || !strings.Contains(err.Error(), "did not answer within 50ms") {
		t.Errorf("a silent API: %v", err)
	}
}

func TestNotJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("<html>hello</html>"))
	}))
	defer srv.Close()
	_, err := NewClient(srv.URL, "", time.Second).Consensus(t.Context(), "devnet-1")
	if err == nil || !strings.Contains(err.Error(), "is it a valtrack API?") {
		t.Errorf("an HTML answer: %v", err)
	}
}

func key(s string) tea.KeyMsg {
	switch s {
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "pgdown":
		return tea.KeyMsg{Type: tea.KeyPgDown}
	case "pgup":
		return tea.KeyMsg{Type: tea.KeyPgUp}
	case "end":
		return tea.KeyMsg{Type: tea.KeyEnd}
	case "home":
		return tea.KeyMsg{Type: tea.KeyHome}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

func firstRow(t *testing.T, m *Model) string {
	t.Helper()
	rows := tableRows(ansi.Strip(m.View()))
	if len(rows) == 0 {
		t.Fatalf("no rows:\n%s", m.View())
	}
	return strings.Fields(rows[0])[0]
}

func TestKeysScrollSortAndQuit(t *testing.T) {
	api := newFakeAPI(t, fixtureJSON(30))
	m := newTestModel(api.URL, "devnet-1")
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24}) // 17 rows
	poll(t, m)
	for _, step := range []struct{ key, first string }{
		{"down", "val-1"}, {"j", "val-2"}, {"k", "val-1"}, {"up", "val-0"}, {"up", "val-0"},
		{"pgdown", "val-13"}, // clamped: 30 rows, 17 shown
		{"pgup", "val-0"}, {"end", "val-13"}, {"home", "val-0"},
		{"s", "val-29"}, // most misses first
		{"s", "val-0"},
	} {
		if _, cmd := m.Update(key(step.key)); cmd != nil {
			t.Errorf("key %s returned a command", step.key)
		}
		if got := firstRow(t, m); got != step.first {
			t.Errorf("after %s the first row is %s, want %s", step.key, got, step.first)
		}
	}
	// Keys read together arrive as one message of several runes.
	m.Update(key("jjjs"))
	if got := firstRow(t, m); got != "val-29" || m.State().Sort != SortMisses {
		t.Errorf("after jjjs in one message the first row is %s, sort %s; want val-29 by misses", got, m.State().Sort)
	}
	m.Update(key("s"))
	m.Update(key("jj"))
	if got := firstRow(t, m); got != "val-2" {
		t.Errorf("after jj in one message the first row is %s, want val-2", got)
	}
	if _, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q"), Paste: true}); cmd != nil {
		t.Error("a pasted q quits")
	}
	m.Update(key("home"))

	// A taller terminal shows everything: the offset follows.
	m.Update(key("end"))
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 60})
	if got := firstRow(t, m); got != "val-0" || m.State().Offset != 0 {
		t.Errorf("after growing to 60 lines the first row is %s (offset %d), want val-0", got, m.State().Offset)
	}
	if v := m.View(); len(strings.Split(v, "\n")) != 60 {
		t.Errorf("the view does not use the new height")
	}
	for _, k := range []string{"q", "ctrl+c"} {
		_, cmd := m.Update(key(k))
		if cmd == nil {
			t.Fatalf("%s returned no command", k)
		}
		if _, ok := cmd().(tea.QuitMsg); !ok {
			t.Errorf("%s does not quit", k)
		}
	}
}

func TestRetryAfterDelaysThePoll(t *testing.T) {
	api := newFakeAPI(t, fixtureJSON(2))
	m := newTestModel(api.URL, "devnet-1")
	poll(t, m)
	if m.nextPoll != time.Second {
		t.Errorf("after an answer the next poll is in %s, want --refresh 1s", m.nextPoll)
	}
	api.mu.Lock()
	api.retry = "7"
	api.mu.Unlock()
	api.answer(http.StatusTooManyRequests, `{"error":"rate limit exceeded; retry after the number of seconds in the Retry-After header"}`)
	v := strings.ReplaceAll(poll(t, m), "\n", " ")
	if m.nextPoll != 7*time.Second {
		t.Errorf("after a 429 with Retry-After 7 the next poll is in %s, want 7s", m.nextPoll)
	}
	if !strings.Contains(v, "rate limited by the API") || !strings.Contains(v, "--refresh") || !strings.Contains(v, "val-1") {
		t.Errorf("a 429:\n%s", v)
	}
}
