package telemetry

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/telemetry/feedtest"
)

// runClient runs a client on srv with a state file until stop is called.
func runClient(t *testing.T, srv *feedtest.Server, clk *clock, stateFile string) (c *Client, stop func()) {
	t.Helper()
	c, err := New(Config{Chain: "polkadot", URL: srv.URL(), Genesis: testGenesis, Now: clk.Now, StateFile: stateFile, Grace: time.Minute,
		PingEvery: 20 * time.Millisecond, BackoffMin: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond, TickEvery: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return c, stop
}

// A restart of the client keeps this week's offline minutes and the
// online-since of a node that kept running: the state is saved when Run
// returns and restored before the next one connects.
func TestRestartKeepsWeeklyOfflineAndOnlineSince(t *testing.T) {
	path := filepath.Join(t.TempDir(), "telemetry-polkadot.json")
	clk := newClock(t0)
	srv := feedtest.New(testGenesis)
	t.Cleanup(srv.Close)
	c, stop := runClient(t, srv, clk, path)
	srv.Add(fnode("bob", 1))
	alice := srv.Add(fnode("alice", 1))
	eventually(t, "two nodes", func() bool { return c.Stats().Nodes == 2 && c.Stats().Connected })
	srv.Remove(alice)
	eventually(t, "alice removed", func() bool { return c.Stats().Nodes == 1 })
	clk.Add(40 * time.Minute) // past the 1 min grace: 40 min offline
	c.Tracker().Tick()
	srv.Add(fnode("alice", 2)) // restarted: a new process
	eventually(t, "alice back", func() bool { return c.Stats().Nodes == 2 })
	before := map[string]int64{}
	for _, r := range c.Snapshot() {
		before[r.Name+"/offline"], before[r.Name+"/since"] = r.OfflineWeek, r.OnlineSince
	}
	if before["alice/offline"] != (40*time.Minute).Milliseconds() || before["bob/since"] != ms(t0) {
		t.Fatalf("before the restart: %v", before)
	}
	stop()
	if b, err := os.ReadFile(path); err != nil || !strings.Contains(string(b), `"alice"`) {
		t.Fatalf("state file %q (%v): want the names saved", b, err)
	}

	// valtrack restarts 2 minutes later; the feed replays the same nodes.
	clk.Add(2 * time.Minute)
	c2, _ := runClient(t, srv, clk, path)
	eventually(t, "the replay after the restart", func() bool { return c2.Stats().Connected && c2.Stats().Nodes == 2 })
	c2.Tracker().Tick()
	for _, r := range c2.Snapshot() {
		switch r.Name {
		case "alice":
			if r.OfflineWeek != before["alice/offline"] || !r.Online || r.OnlineSince != before["alice/since"] {
				t.Errorf("alice after the restart %+v: want offline %d ms this week and online since %d kept", r, before["alice/offline"], before["alice/since"])
			}
		case "bob":
			if !r.Online || r.OnlineSince != ms(t0) || r.OfflineWeek != 0 {
				t.Errorf("bob after the restart %+v: want online since t0, never offline", r)
			}
		}
	}
}

// A state file of another chain, or a corrupt one, is refused with what to
// do; a missing one is simply a first run.
func TestRestoreStateRefusesAnotherChainsFile(t *testing.T) {
	dir := t.TempDir()
	c, err := New(Config{Chain: "polkadot", URL: "ws://127.0.0.1:1/feed", Genesis: testGenesis})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := c.RestoreState(filepath.Join(dir, "none.json")); n != 0 || err != nil {
		t.Errorf("missing file: %d, %v", n, err)
	}
	k, _ := New(Config{Chain: "kusama", URL: "ws://127.0.0.1:1/feed", Genesis: testGenesis})
	other := filepath.Join(dir, "kusama.json")
	if err := k.SaveState(other); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RestoreState(other); err == nil || !strings.Contains(err.Error(), `of chain "kusama", not "polkadot"`) {
		t.Errorf("another chain's file: %v", err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RestoreState(bad); err == nil || !strings.Contains(err.Error(), "delete the file") {
		t.Errorf("corrupt file: %v", err)
	}
}
