package alerts

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/store"
)

// otherChain is the chain of the second process in the tests of processes
// sharing a store.
const otherChain = "other-1"

// hookOf are the webhook's requests about key.
func hookOf(rc *receiver, key string) []recorded {
	var out []recorded
	for _, r := range rc.requests() {
		if body(r, "key") == key {
			out = append(out, r)
		}
	}
	return out
}

// watcherRows are cosmos_alert_watchers as "chain holder" strings.
func watcherRows(t *testing.T, db *store.DB) []string {
	t.Helper()
	rows, err := db.Reader().QueryContext(context.Background(), "SELECT chain, holder FROM cosmos_alert_watchers ORDER BY chain, holder")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c, h string
		if err := rows.Scan(&c, &h); err != nil {
			t.Fatal(err)
		}
		out = append(out, c+" "+h)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func runAt(t *testing.T, te *testEngine, run func(context.Context) error, d time.Duration) {
	t.Helper()
	te.clock.at(d)
	if err := run(context.Background()); err != nil {
		t.Fatalf("run at +%s: %v", d, err)
	}
	te.flush(t)
}

// Two processes share a store: A analyses chain X (testchain-1) and has an
// alert of it firing, B names only Y (other-1). B's retirer leaves X's
// alert open, and sends no resolve, for as long as A's heartbeat is live;
// once A is gone and its heartbeat expired, B retires the alert with the
// note and its resolve is delivered, and the expired heartbeat is deleted.
func TestRetirerLeavesChainsAnotherProcessWatches(t *testing.T) {
	forEachDB(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		dbA, dbB := open(t), open(t) // two processes' connections to one store
		hook, pd := newReceiver(t, nil), newReceiver(t, nil)
		cfg := channelsYAML(t, hook, pd, "critical") + "for: 0s\n"
		c := newClock()
		a := startEngineAs(t, dbA, cfg, c, nil, "host-a:/srv/valtrack-a", []string{chain})
		b := startEngineAs(t, dbB, cfg, c, nil, "host-b:/srv/valtrack-b", []string{otherChain})
		passA, passB := a.Analyzer(chain).Run, b.Analyzer(otherChain).Run
		retireB := b.Retirer([]string{otherChain}).Run
		key := "consecutive_missed/" + chain + "/" + addrA

		putValidator(t, dbA, addrA, "alice", true)
		missing(t, dbA, 5)
		runAt(t, a, passA, 0)
		if got := hook.waitCount(t, 1); body(got[0], "key") != key || body(got[0], "status") != StatusFiring {
			t.Fatalf("webhook got %s, want the trigger of %s", got[0].Raw, key)
		}
		firing := func(when string) {
			t.Helper()
			list, err := b.List(context.Background(), chain, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 1 || list[0].Key != key || list[0].Status != StatusFiring {
				t.Fatalf("%s: %s's open alerts %+v, want %s firing", when, chain, list, key)
			}
			if n := len(hookOf(hook, key)); n != 1 {
				t.Fatalf("%s: the webhook got %d notifications of %s, want only the trigger", when, n, key)
			}
		}
		// B runs its passes and its retirer while A's heartbeat is live,
		// A going on with its own passes in between.
		for _, at := range []time.Duration{2 * time.Second, 30 * time.Second, time.Minute, 90 * time.Second} {
			runAt(t, b, passB, at)
			runAt(t, b, retireB, at+time.Second)
			firing("B's retirer at +" + (at + time.Second).String())
			runAt(t, a, passA, at+time.Second)
		}
		lastA := 90*time.Second + time.Second
		if got, want := strings.Join(watcherRows(t, dbB), "|"), otherChain+" host-b:/srv/valtrack-b|"+chain+" host-a:/srv/valtrack-a"; got != want {
			t.Fatalf("watchers %q, want %q", got, want)
		}

		// A stops (a crash: nothing is deleted). Its heartbeat holds for
		// the TTL after its last pass, then B retires X's alert.
		a.Close()
		ttl := a.watchTTL
		if ttl < 10*DefaultInterval || ttl < 2*time.Minute {
			t.Fatalf("heartbeat TTL %s, want at least 10 alert intervals and 2 minutes", ttl)
		}
		runAt(t, b, retireB, lastA+ttl-time.Second)
		firing("B's retirer just inside A's TTL")
		runAt(t, b, passB, lastA+ttl+time.Second)
		runAt(t, b, retireB, lastA+ttl+2*time.Second)
		all, err := b.List(context.Background(), chain, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 1 || all[0].Status != StatusResolved || !strings.Contains(all[0].Summary, "is no longer watched") {
			t.Fatalf("%s's alerts after A's heartbeat expired: %+v, want %s resolved with the note", chain, all, key)
		}
		got := hookOf(hook, key)
		if len(got) != 2 || body(got[1], "status") != StatusResolved || !strings.Contains(body(got[1], "text").(string), "no longer watched") {
			t.Fatalf("the webhook got %d notifications of %s, want the trigger and the resolve with the note", len(got), key)
		}
		// B's pass after the TTL deleted A's expired heartbeat.
		if got, want := strings.Join(watcherRows(t, dbB), "|"), otherChain+" host-b:/srv/valtrack-b"; got != want {
			t.Errorf("watchers after A's expired %q, want %q", got, want)
		}
	})
}

// One process, restarted with a chain dropped from its configuration,
// retires that chain's alerts at once: the heartbeat its previous run left
// is its own (the same holder), not another process's.
func TestRestartWithChainDroppedRetires(t *testing.T) {
	forEachDB(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		db := open(t)
		hook, pd := newReceiver(t, nil), newReceiver(t, nil)
		cfg := channelsYAML(t, hook, pd, "critical") + "for: 0s\n"
		c := newClock()
		const holder = "host-a:/srv/valtrack"
		first := startEngineAs(t, db, cfg, c, nil, holder, []string{chain, otherChain})
		key := "consecutive_missed/" + chain + "/" + addrA
		putValidator(t, db, addrA, "alice", true)
		missing(t, db, 5)
		runAt(t, first, first.Analyzer(chain).Run, 0)
		hook.waitCount(t, 1)
		first.Close()

		again := startEngineAs(t, db, cfg, c, nil, holder, []string{otherChain})
		runAt(t, again, again.Retirer([]string{otherChain}).Run, 10*time.Second)
		all, err := again.List(context.Background(), chain, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 1 || all[0].Status != StatusResolved || !strings.Contains(all[0].Summary, "is no longer watched") {
			t.Fatalf("%s's alerts after the restart without it: %+v, want %s resolved with the note", chain, all, key)
		}
		if got := hookOf(hook, key); len(got) != 2 || body(got[1], "status") != StatusResolved {
			t.Fatalf("the webhook got %d notifications of %s, want the trigger and the resolve", len(got), key)
		}
	})
}

// A chain's pass writes its heartbeat also for a chain not in Deps.Chains
// (discovery), once per alert interval (within a tenth of it) however
// often the pass runs (cosmos/discovered runs it at --cosmos-analyze-every).
func TestHeartbeatAtMostOncePerInterval(t *testing.T) {
	forEachDB(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		db := open(t)
		te := startEngineAs(t, db, "interval: 2s\n", newClock(), nil, "host-c:/srv/c", nil)
		pass := te.Analyzer(otherChain).Run
		updated := func() time.Duration {
			t.Helper()
			var ms, exp int64
			q := db.Query().SQL("SELECT updated_at, expires_at FROM cosmos_alert_watchers WHERE chain = ").Arg(otherChain).
				SQL(" AND holder = ").Arg("host-c:/srv/c")
			if err := db.Reader().QueryRowContext(context.Background(), q.String(), q.Args()...).Scan(&ms, &exp); err != nil {
				t.Fatalf("the heartbeat of %s: %v", otherChain, err)
			}
			if exp-ms != te.watchTTL.Milliseconds() {
				t.Errorf("heartbeat expires %d ms after its write, want the TTL %s", exp-ms, te.watchTTL)
			}
			return time.UnixMilli(ms).Sub(t0)
		}
		for _, s := range []struct{ at, want time.Duration }{
			{0, 0},
			{time.Second, 0}, // a discovered chain's pass at 1 s: no write
			{1700 * time.Millisecond, 0},
			{1900 * time.Millisecond, 1900 * time.Millisecond}, // about an interval: written
			{2500 * time.Millisecond, 1900 * time.Millisecond},
			{4 * time.Second, 4 * time.Second},
		} {
			runAt(t, te, pass, s.at)
			if got := updated(); got != s.want {
				t.Fatalf("after the pass at +%s the heartbeat was written at +%s, want +%s", s.at, got, s.want)
			}
		}
	})
}
