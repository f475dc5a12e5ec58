package alerts

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/valtrack/valtrack/internal/cosmos/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

// channelsYAML configures a webhook (every severity) and PagerDuty (min as
// given) on the receivers.
func channelsYAML(t *testing.T, hook, pd *receiver, pdMin string) string {
	t.Setenv("TEST_HOOK_URL", hook.srv.URL+"/hook")
	t.Setenv("TEST_PD_KEY", "pd-routing-key")
	return fmt.Sprintf(`channels:
  - {name: hook, type: webhook, url_env: TEST_HOOK_URL, min_severity: info}
  - {name: pd, type: pagerduty, routing_key_env: TEST_PD_KEY, api_url: %q, min_severity: %s}
`, pd.srv.URL, pdMin)
}

func body(r recorded, path ...string) any {
	var v any = r.Body
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	return v
}

// A rule fires once its condition held for `for`, reaches the webhook and
// PagerDuty (dedup_key = the stable key), and resolves after the condition
// was clear for resolve_after, PagerDuty getting a resolve of the same key.
func TestFireDeliverResolve(t *testing.T) {
	forEachDB(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		db := open(t)
		hook, pd := newReceiver(t, nil), newReceiver(t, nil)
		te := startEngine(t, db, channelsYAML(t, hook, pd, "warning")+`
for: 20s
resolve_after: 30s
reminder: 0
`, newClock(), nil)
		putValidator(t, db, addrA, "alice", true)
		putMiss(t, db, addrA, 1230, "prevote_only")
		putMiss(t, db, addrA, 1234, "no_vote")
		missing(t, db, 5)
		key := "consecutive_missed/" + chain + "/" + addrA

		te.passAt(t, 0)
		te.flush(t)
		list, err := te.List(context.Background(), chain, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].Status != StatusPending || list[0].Key != key {
			t.Fatalf("after the first pass: %+v, want one pending %s", list, key)
		}
		if n := len(hook.requests()) + len(pd.requests()); n != 0 {
			t.Fatalf("%d notifications before `for` elapsed, want none", n)
		}

		te.passAt(t, 20*time.Second)
		te.flush(t)
		h := hook.waitCount(t, 1)[0]
		if h.Path != "/hook" || body(h, "key") != key || body(h, "status") != StatusFiring || body(h, "severity") != "warning" ||
			body(h, "rule") != RuleConsecutiveMissed || body(h, "chain") != chain || body(h, "validator") != addrA ||
			body(h, "moniker") != "alice" || body(h, "value") != 5.0 || body(h, "threshold") != 3.0 {
			t.Fatalf("webhook got %s", h.Raw)
		}
		wantSummary := "validator alice (" + addrA + ") on chain " + chain + " missed 5 consecutive blocks (cause: no_vote at height 1234)"
		if body(h, "summary") != wantSummary || !strings.Contains(body(h, "text").(string), wantSummary) || strings.Contains(body(h, "text").(string), "http") {
			t.Fatalf("summary %q / text %q, want summary %q and a link-free text", body(h, "summary"), body(h, "text"), wantSummary)
		}
		if body(h, "since") != t0.Format(time.RFC3339) {
			t.Errorf("since = %v, want %s", body(h, "since"), t0.Format(time.RFC3339))
		}
		p := pd.waitCount(t, 1)[0]
		if p.Path != "/v2/enqueue" || body(p, "event_action") != "trigger" || body(p, "dedup_key") != key ||
			body(p, "routing_key") != "pd-routing-key" || body(p, "payload", "severity") != "warning" ||
			body(p, "payload", "component") != addrA || body(p, "payload", "source") == nil || body(p, "payload", "summary") == nil {
			t.Fatalf("pagerduty got %s", p.Raw)
		}
		if v := testutil.ToFloat64(te.m.firing.WithLabelValues(chain, RuleConsecutiveMissed, "warning")); v != 1 {
			t.Errorf("firing gauge = %v, want 1", v)
		}

		missing(t, db, 0) // signs again
		te.passAt(t, 40*time.Second)
		te.flush(t)
		if n := len(pd.requests()); n != 1 {
			t.Fatalf("pagerduty got %d events before resolve_after elapsed, want 1", n)
		}
		te.passAt(t, 70*time.Second)
		te.flush(t)
		p = pd.waitCount(t, 2)[1]
		if body(p, "event_action") != "resolve" || body(p, "dedup_key") != key {
			t.Fatalf("pagerduty got %s, want a resolve of %s", p.Raw, key)
		}
		h = hook.waitCount(t, 2)[1]
		if body(h, "status") != StatusResolved || body(h, "key") != key || !strings.HasPrefix(body(h, "text").(string), "[RESOLVED]") {
			t.Fatalf("webhook got %s, want the resolve", h.Raw)
		}
		if open, _ := te.List(context.Background(), chain, false); len(open) != 0 {
			t.Errorf("open alerts after resolve: %+v", open)
		}
		all, _ := te.List(context.Background(), chain, true)
		if len(all) != 1 || all[0].Status != StatusResolved || all[0].ResolvedAt == nil || all[0].FiredAt == nil {
			t.Errorf("history: %+v, want the resolved alert", all)
		}
		if v := testutil.ToFloat64(te.m.firing.WithLabelValues(chain, RuleConsecutiveMissed, "warning")); v != 0 {
			t.Errorf("firing gauge after resolve = %v, want 0", v)
		}
		if v := testutil.ToFloat64(te.m.sent.WithLabelValues("pd", StatusResolved)); v != 1 {
			t.Errorf("sent_total{pd,resolved} = %v, want 1", v)
		}
	})
}

// A condition that comes and goes faster than resolve_after is one alert:
// one trigger, and one resolve once it stays away.
func TestFlappingConditionTriggersOnce(t *testing.T) {
	forEachDB(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		db := open(t)
		hook, pd := newReceiver(t, nil), newReceiver(t, nil)
		te := startEngine(t, db, channelsYAML(t, hook, pd, "info")+"resolve_after: 30s\nreminder: 0\n", newClock(), nil)
		putValidator(t, db, addrA, "alice", true)
		for i := range 8 {
			missing(t, db, int64(4*(1-i%2))) // 4, 0, 4, 0, …
			te.passAt(t, time.Duration(i)*10*time.Second)
		}
		te.flush(t)
		if n := len(pd.requests()); n != 1 {
			t.Fatalf("pagerduty got %d events while flapping, want 1 trigger", n)
		}
		if n := len(hook.requests()); n != 1 {
			t.Fatalf("webhook got %d notifications while flapping, want 1", n)
		}
		te.passAt(t, 110*time.Second)
		te.flush(t)
		p := pd.waitCount(t, 2)
		if len(p) != 2 || body(p[1], "event_action") != "resolve" {
			t.Fatalf("pagerduty got %d events, last %s; want trigger then resolve", len(p), p[len(p)-1].Raw)
		}
	})
}

// A firing alert is re-sent every `reminder` on every channel.
func TestReminders(t *testing.T) {
	forEachDB(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		db := open(t)
		hook, pd := newReceiver(t, nil), newReceiver(t, nil)
		te := startEngine(t, db, channelsYAML(t, hook, pd, "warning")+"reminder: 1h\n", newClock(), nil)
		putValidator(t, db, addrA, "alice", true)
		missing(t, db, 12)
		for _, d := range []time.Duration{0, 30 * time.Minute, 59 * time.Minute, time.Hour, 90 * time.Minute, 2 * time.Hour} {
			te.passAt(t, d)
			te.flush(t)
		}
		h, p := hook.requests(), pd.requests()
		if len(h) != 3 || len(p) != 3 {
			t.Fatalf("webhook got %d, pagerduty %d notifications in 2h; want 3 each (trigger, reminders at 1h and 2h)", len(h), len(p))
		}
		for i, want := range []string{kindTrigger, kindReminder, kindReminder} {
			if body(h[i], "kind") != want || body(h[i], "status") != StatusFiring {
				t.Errorf("webhook notification %d: %s, want kind %s", i, h[i].Raw, want)
			}
			if body(p[i], "event_action") != "trigger" || body(p[i], "dedup_key") != body(h[i], "key") {
				t.Errorf("pagerduty event %d: %s", i, p[i].Raw)
			}
		}
		if !strings.HasPrefix(body(h[1], "text").(string), "[STILL FIRING CRITICAL]") {
			t.Errorf("reminder text %q", body(h[1], "text"))
		}
	})
}

// tenderduty #65: an alert that fired before a restart is resolved by the
// new process when its condition clears.
func TestRestartResolvesAlertFiredBefore(t *testing.T) {
	forEachDB(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		hook, pd := newReceiver(t, nil), newReceiver(t, nil)
		cfg := channelsYAML(t, hook, pd, "warning") + "resolve_after: 30s\n"
		db1 := open(t)
		e1 := startEngine(t, db1, cfg, newClock(), nil)
		putValidator(t, db1, addrA, "alice", true)
		missing(t, db1, 6)
		e1.passAt(t, 0)
		e1.flush(t)
		key := body(pd.waitCount(t, 1)[0], "dedup_key")
		e1.Close()
		db1.Close() // the process is gone

		db2 := open(t) // a new process on the same database
		missing(t, db2, 0)
		e2 := startEngine(t, db2, cfg, newClock(), nil)
		if list, _ := e2.List(context.Background(), chain, false); len(list) != 1 || list[0].Status != StatusFiring {
			t.Fatalf("the new engine sees %+v, want the firing alert", list)
		}
		e2.passAt(t, 10*time.Minute)
		e2.passAt(t, 10*time.Minute+30*time.Second)
		e2.flush(t)
		p := pd.waitCount(t, 2)
		if len(p) != 2 || body(p[1], "event_action") != "resolve" || body(p[1], "dedup_key") != key {
			t.Fatalf("pagerduty got %d events, last %s; want the resolve of %v", len(p), p[len(p)-1].Raw, key)
		}
		if h := hook.waitCount(t, 2); body(h[1], "status") != StatusResolved {
			t.Fatalf("webhook got %s, want the resolve", h[1].Raw)
		}
	})
}

// A resolve that could not be delivered before a restart is sent by the
// next process at once (its slow retry not yet due).
func TestRestartResendsUndeliveredResolve(t *testing.T) {
	forEachDB(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		down := true
		var mu = make(chan struct{}, 1)
		mu <- struct{}{}
		pd := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
			<-mu
			defer func() { mu <- struct{}{} }()
			if down && strings.Contains(string(r.URL.Path), "enqueue") && n > 0 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return true
			}
			return false
		})
		hook := newReceiver(t, nil)
		cfg := channelsYAML(t, hook, pd, "warning") + "resolve_after: 0s\n"
		db1 := open(t)
		e1 := startEngine(t, db1, cfg, newClock(), nil)
		putValidator(t, db1, addrA, "alice", true)
		missing(t, db1, 6)
		e1.passAt(t, 0)
		e1.flush(t)
		missing(t, db1, 0)
		e1.passAt(t, time.Minute) // resolves; PagerDuty is down
		e1.flush(t)
		if n := len(pd.requests()); n != 1+maxAttempts {
			t.Fatalf("pagerduty got %d requests, want the trigger and %d attempts of the resolve", n, maxAttempts)
		}
		if v := testutil.ToFloat64(e1.m.failed.WithLabelValues("pd", StatusResolved)); v != 1 {
			t.Errorf("failed_total{pd,resolved} = %v, want 1", v)
		}
		e1.passAt(t, 2*time.Minute) // given up: not offered again before its retry time (+1m + 2m)
		e1.flush(t)
		if n := len(pd.requests()); n != 1+maxAttempts {
			t.Fatalf("pagerduty got %d requests a minute after the give-up, want no more before the retry time", n)
		}
		e1.Close()
		db1.Close()

		<-mu
		down = false
		mu <- struct{}{}
		e2 := startEngine(t, open(t), cfg, newClock(), nil)
		e2.passAt(t, 3*time.Minute)
		e2.flush(t)
		p := pd.requests()
		last := p[len(p)-1]
		if len(p) != 2+maxAttempts || body(last, "event_action") != "resolve" || body(last, "dedup_key") != body(p[0], "dedup_key") {
			t.Fatalf("after the restart pagerduty got %d requests, last %s; want the resolve re-sent once", len(p), last.Raw)
		}
		if n := len(hook.requests()); n != 2 {
			t.Errorf("webhook got %d notifications, want 2 (delivered ones are not re-sent)", n)
		}
	})
}

// Severity routing: a channel gets the alerts at or above its
// min_severity; an escalation reaches the channels it now qualifies for,
// and the resolve every channel that got the trigger.
func TestMinSeverityRouting(t *testing.T) {
	forEachDB(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		db := open(t)
		hook, pd := newReceiver(t, nil), newReceiver(t, nil)
		te := startEngine(t, db, channelsYAML(t, hook, pd, "critical")+"resolve_after: 0s\nreminder: 0\n", newClock(), nil)
		putValidator(t, db, addrA, "alice", true)
		putValidator(t, db, addrB, "bob", true)
		missing(t, db, 4) // warning
		putStats(t, db, addrB, stats{consecutive: 5, windowSize: 10000, windowMissed: 5, blocksToJail: 4000, timeToJailMS: 4000 * 6000})
		te.passAt(t, 0)
		te.flush(t)
		if n := len(pd.requests()); n != 0 {
			t.Fatalf("pagerduty (min critical) got %d events for warnings", n)
		}
		if n := len(hook.requests()); n != 2 {
			t.Fatalf("webhook (min info) got %d notifications, want 2", n)
		}
		missing(t, db, 11) // A escalates to critical
		te.passAt(t, time.Minute)
		te.flush(t)
		p := pd.waitCount(t, 1)
		if len(p) != 1 || body(p[0], "event_action") != "trigger" || body(p[0], "payload", "severity") != "critical" ||
			body(p[0], "dedup_key") != "consecutive_missed/"+chain+"/"+addrA {
			t.Fatalf("pagerduty got %d events, first %s; want A's critical trigger", len(p), p[0].Raw)
		}
		h := hook.waitCount(t, 3)
		if body(h[2], "kind") != kindUpdate || body(h[2], "severity") != "critical" {
			t.Errorf("webhook got %s, want the severity change", h[2].Raw)
		}
		missing(t, db, 0)
		putStats(t, db, addrB, stats{windowSize: 10000, blocksToJail: 5000, timeToJailMS: 5000 * 6000})
		te.passAt(t, 2*time.Minute)
		te.flush(t)
		p = pd.waitCount(t, 2)
		if len(p) != 2 || body(p[1], "event_action") != "resolve" || body(p[1], "dedup_key") != body(p[0], "dedup_key") {
			t.Fatalf("pagerduty got %d events; want A's trigger and resolve only", len(p))
		}
		if h := hook.waitCount(t, 5); len(h) != 5 {
			t.Errorf("webhook got %d notifications, want 5 (2 triggers, 1 update, 2 resolves)", len(h))
		}
	})
}

// Each rule reads its table: stalls, endpoints, window share, time to
// jail, the validator filter by moniker, jailed and out-of-set validators.
// Blocks to jail unknown (no slashing parameters) or never (min signed 0)
// raise no time-to-jail alert, and neither reads as "out of the set": the
// other rules still watch those validators.
func TestTimeToJailUnknownOrNever(t *testing.T) {
	forEachDB(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		db := open(t)
		te := startEngine(t, db, `
validators: ["*"]
rules:
  consecutive_missed: {critical: 2}
  time_to_jail: {warning: 1h, critical: 10m}
`, newClock(), nil)
		putStats(t, db, "EEEE", stats{consecutive: 5, windowSize: 100, windowMissed: 5, blocksToJail: state.JailUnknown, timeToJailMS: state.JailUnknown})
		putStats(t, db, "FFFF", stats{consecutive: 5, windowSize: 100, windowMissed: 5, blocksToJail: state.JailNever, timeToJailMS: state.JailNever})
		te.passAt(t, 0)
		list, err := te.List(context.Background(), chain, false)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, a := range list {
			got[a.Key] = true
		}
		want := map[string]bool{"consecutive_missed/" + chain + "/EEEE": true, "consecutive_missed/" + chain + "/FFFF": true,
			"window_missed_share/" + chain + "/EEEE": true, "window_missed_share/" + chain + "/FFFF": true} // the default rule, 5 of 100
		for k := range want {
			if !got[k] {
				t.Errorf("no %s alert; alerts %v", k, got)
			}
		}
		for k := range got {
			if !want[k] {
				t.Errorf("unexpected alert %s", k)
			}
		}
	})
}

func TestRuleEvaluation(t *testing.T) {
	forEachDB(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		db := open(t)
		c := newClock()
		te := startEngine(t, db, `
validators: [alice, `+addrB+`]
rules:
  consecutive_missed: {critical: 2}
  time_to_jail: {warning: 1h, critical: 10m}
`, c, nil)
		putValidator(t, db, addrA, "alice", true)
		putValidator(t, db, addrB, "bob", true)
		putValidator(t, db, "CCCC", "carol", true)
		putValidator(t, db, "DDDD", "dave", false)
		exec(t, db, db.Query().SQL("INSERT INTO cosmos_chains (chain, analyzed_height, updated_at, signed_blocks_window, min_signed_per_window, params_source) VALUES ").
			Row(chain, 1234, t0.UnixMilli(), 100, 0.5, "lcd"))
		putStats(t, db, addrA, stats{consecutive: 1, windowSize: 50, windowMissed: 25, blocksToJail: 25, timeToJailMS: 150_000})
		putStats(t, db, addrB, stats{consecutive: 0, windowSize: 100, windowMissed: 6, blocksToJail: 400, timeToJailMS: 2400_000})
		putStats(t, db, "CCCC", stats{consecutive: 50, windowSize: 100, windowMissed: 50, blocksToJail: 0})                   // not watched
		putStats(t, db, "DDDD", stats{consecutive: 50, windowSize: 100, windowMissed: 50, blocksToJail: -1, timeToJailMS: 0}) // out of the set
		exec(t, db, db.Query().SQL("INSERT INTO cosmos_blocks (chain, height, time, hash, proposer_address, num_txs, validators_hash, votes_observed, source, endpoint, seen_at) VALUES ").
			Row(chain, 1234, t0.Add(-2*time.Minute).UnixMilli(), "H", addrA, 0, "V", true, "test", "e", t0.UnixMilli()))
		for i, healthy := range []bool{false, true} {
			exec(t, db, db.Query().SQL("INSERT INTO cosmos_endpoints (chain, endpoint, sentry_id, healthy, reason, height, latest_block_time, catching_up, node_version, moniker, updated_at, healthy_at) VALUES ").
				Row(chain, fmt.Sprintf("e%d", i), "s", healthy, "", 1, 0, false, "", "", t0.UnixMilli(), 0))
		}
		te.passAt(t, 0)
		got := map[string]Alert{}
		list, err := te.List(context.Background(), chain, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range list {
			got[a.Key] = a
		}
		want := map[string]string{ // key → severity
			"window_missed_share/" + chain + "/" + addrA: "critical", // 25 of 100
			"time_to_jail/" + chain + "/" + addrA:        "critical", // 150s
			"window_missed_share/" + chain + "/" + addrB: "warning",  // 6 of 100
			"time_to_jail/" + chain + "/" + addrB:        "warning",  // 40m
			"chain_stalled/" + chain:                     "warning",  // 2m
			"endpoints_down/" + chain:                    "warning",  // 1 of 2
		}
		for k, sev := range want {
			if a, ok := got[k]; !ok || a.Severity != sev || a.Status != StatusFiring {
				t.Errorf("%s: %+v, want firing %s", k, a, sev)
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected alert %s: %+v", k, got[k])
			}
		}
		if s := got["endpoints_down/"+chain].Summary; s != "1 of 2 endpoints of chain "+chain+" are unhealthy" {
			t.Errorf("endpoints summary %q", s)
		}
		// Everything worse: the chain stalls 6m, every endpoint is down.
		exec(t, db, db.Query().SQL("UPDATE cosmos_endpoints SET healthy = ").Arg(false))
		te.passAt(t, 4*time.Minute)
		list, _ = te.List(context.Background(), chain, false)
		for _, a := range list {
			if (a.Rule == RuleChainStalled || a.Rule == RuleEndpointsDown) && a.Severity != "critical" {
				t.Errorf("%s: %s, want critical", a.Key, a.Severity)
			}
		}
	})
}

// A receiver answering 500 and then 200 gets the notification after one
// retry, after the first backoff.
func TestRetryAfterServerError(t *testing.T) {
	db := openSQLite(t)
	hook := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 0 {
			w.WriteHeader(http.StatusInternalServerError)
			return true
		}
		return false
	})
	t.Setenv("TEST_HOOK_URL", hook.srv.URL)
	te := startEngine(t, db, "channels:\n  - {name: hook, type: webhook, url_env: TEST_HOOK_URL}\n", newClock(), nil)
	putValidator(t, db, addrA, "alice", true)
	missing(t, db, 3)
	te.passAt(t, 0)
	te.flush(t)
	r := hook.requests()
	if len(r) != 2 || string(r[0].Raw) != string(r[1].Raw) {
		t.Fatalf("receiver got %d requests, want the same notification twice", len(r))
	}
	if s := te.sleeps.list(); len(s) != 1 || s[0] != baseBackoff {
		t.Errorf("waits between attempts %v, want [%s]", s, baseBackoff)
	}
	if v := testutil.ToFloat64(te.m.sent.WithLabelValues("hook", StatusFiring)); v != 1 {
		t.Errorf("sent_total = %v, want 1", v)
	}
	te.passAt(t, time.Minute)
	te.flush(t)
	if n := len(hook.requests()); n != 2 {
		t.Errorf("receiver got %d requests after the next pass, want no re-send of a delivered notification", n)
	}
}

// 429 with Retry-After: the retry waits what the receiver asked.
func TestRetryAfterHonoured(t *testing.T) {
	db := openSQLite(t)
	hook := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 0 {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		}
		return false
	})
	t.Setenv("TEST_HOOK_URL", hook.srv.URL)
	te := startEngine(t, db, "channels:\n  - {name: hook, type: webhook, url_env: TEST_HOOK_URL}\n", newClock(), nil)
	putValidator(t, db, addrA, "alice", true)
	missing(t, db, 3)
	te.passAt(t, 0)
	te.flush(t)
	if n := len(hook.requests()); n != 2 {
		t.Fatalf("receiver got %d requests, want 2", n)
	}
	if s := te.sleeps.list(); len(s) != 1 || s[0] != 7*time.Second {
		t.Errorf("waits %v, want [7s] from Retry-After", s)
	}
	if d := retryAfter(time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), time.Now()); d != maxRetryAfter {
		t.Errorf("Retry-After an hour ahead: %s, want the %s cap", d, maxRetryAfter)
	}
}

// A receiver that hangs delays neither the passes nor the other channels.
func TestHangingReceiverDoesNotBlockEvaluation(t *testing.T) {
	db := openSQLite(t)
	release := make(chan struct{})
	hang := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		<-release
		return false
	})
	fast := newReceiver(t, nil)
	t.Setenv("TEST_HANG_URL", hang.srv.URL)
	t.Setenv("TEST_FAST_URL", fast.srv.URL)
	te := startEngine(t, db, `channels:
  - {name: hang, type: webhook, url_env: TEST_HANG_URL, timeout: 1h}
  - {name: fast, type: webhook, url_env: TEST_FAST_URL}
resolve_after: 0s
`, newClock(), nil)
	t.Cleanup(func() { close(release) }) // before the engine and the servers close (cleanups run last-in first-out)
	putValidator(t, db, addrA, "alice", true)
	missing(t, db, 3)
	te.passAt(t, 0)
	hang.waitCount(t, 1) // stuck in its request
	fast.waitCount(t, 1)
	missing(t, db, 0)
	te.passAt(t, time.Minute) // returns although "hang" is stuck
	te.passAt(t, 2*time.Minute)
	r := fast.waitCount(t, 2)
	if body(r[1], "status") != StatusResolved {
		t.Fatalf("fast channel got %s, want the resolve", r[1].Raw)
	}
	if list, _ := te.List(context.Background(), chain, true); len(list) != 1 || list[0].Status != StatusResolved {
		t.Fatalf("alerts %+v, want resolved while a receiver hangs", list)
	}
}

func openSQLite(t *testing.T) *store.DB {
	return storetest.SQLite(t, store.WithMigrations(state.Migrations()))
}

// A validator that is jailed while its consecutive-miss alert fires is not
// "resolved": the alert stays open, goes critical (an update reaches the
// channels) and says the validator is jailed, however long that lasts;
// it resolves only once the validator is back in the set and signing.
func TestJailedValidatorAlertStaysOpen(t *testing.T) {
	forEachDB(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		db := open(t)
		hook, pd := newReceiver(t, nil), newReceiver(t, nil)
		te := startEngine(t, db, channelsYAML(t, hook, pd, "critical")+`
for: 0s
resolve_after: 30s
reminder: 0
`, newClock(), nil)
		putValidator(t, db, addrA, "alice", true)
		missing(t, db, 5)
		key := "consecutive_missed/" + chain + "/" + addrA
		te.passAt(t, 0)
		te.flush(t)
		if h := hook.waitCount(t, 1)[0]; body(h, "status") != StatusFiring || body(h, "severity") != "warning" {
			t.Fatalf("webhook got %s, want the warning", h.Raw)
		}

		// Jailed: the staking module says so, it leaves the set, and the
		// analyzer stops counting (blocks_to_jail -1).
		exec(t, db, db.Query().SQL("UPDATE cosmos_validators SET jailed = TRUE, in_set = FALSE WHERE address = ").Arg(addrA))
		putStats(t, db, addrA, stats{consecutive: 7, windowSize: 10000, windowMissed: 7, blocksToJail: -1, timeToJailMS: -1})
		for _, at := range []time.Duration{10 * time.Second, 50 * time.Second, time.Hour} {
			te.passAt(t, at)
			te.flush(t)
			list, err := te.List(context.Background(), chain, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 1 || list[0].Key != key || list[0].Status != StatusFiring || list[0].Severity != "critical" ||
				!strings.Contains(list[0].Summary, "is jailed") {
				t.Fatalf("at +%s: open alerts %+v, want %s firing, critical, saying the validator is jailed", at, list, key)
			}
		}
		hs := hook.waitCount(t, 2)
		if len(hs) != 2 || body(hs[1], "status") != StatusFiring || body(hs[1], "severity") != "critical" {
			t.Fatalf("webhook got %d notifications, the second %s; want one critical update and no resolve", len(hs), hs[len(hs)-1].Raw)
		}
		if p := pd.waitCount(t, 1); body(p[0], "event_action") != "trigger" || body(p[0], "dedup_key") != key {
			t.Fatalf("pagerduty (critical only) got %s, want the trigger at jailing", p[0].Raw)
		}

		// Unjailed, back in the set and signing: now it resolves.
		exec(t, db, db.Query().SQL("UPDATE cosmos_validators SET jailed = FALSE, in_set = TRUE WHERE address = ").Arg(addrA))
		missing(t, db, 0)
		te.passAt(t, 2*time.Hour)
		te.passAt(t, 2*time.Hour+time.Minute)
		te.flush(t)
		if list, _ := te.List(context.Background(), chain, false); len(list) != 0 {
			t.Fatalf("open alerts after the validator signs again: %+v", list)
		}
		if h := hook.waitCount(t, 3)[2]; body(h, "status") != StatusResolved {
			t.Fatalf("webhook got %s, want the resolve", h.Raw)
		}
	})
}

// Endpoint rows age by their last report: a silent endpoint of a sentry
// that reports nothing any more counts as down (not "healthy" for ever); a
// silent endpoint of a sentry that still reports others is one it no longer
// watches (removed from its configuration) and is not counted, however
// unhealthy its last row; and when every endpoint is fresh and healthy
// again, the alert resolves.
func TestEndpointsAgeByLastReport(t *testing.T) {
	forEachDB(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		db := open(t)
		te := startEngine(t, db, `
resolve_after: 0s
rules:
  consecutive_missed: off
  window_missed_share: off
  time_to_jail: off
  chain_stalled: off
`, newClock(), nil)
		put := func(ep, sentry string, healthy bool, at time.Duration) {
			exec(t, db, db.Query().SQL("INSERT INTO cosmos_endpoints (chain, endpoint, sentry_id, healthy, reason, height, latest_block_time, catching_up, node_version, moniker, updated_at, healthy_at) VALUES ").
				Row(chain, ep, sentry, healthy, "", 1, 0, false, "", "", t0.Add(at).UnixMilli(), 0).
				SQL(" ON CONFLICT (chain, endpoint) DO UPDATE SET healthy = excluded.healthy, updated_at = excluded.updated_at"))
		}
		key := "endpoints_down/" + chain
		open1 := func(at time.Duration) *Alert {
			t.Helper()
			te.passAt(t, at)
			list, err := te.List(context.Background(), chain, false)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range list {
				if a.Key == key {
					return &a
				}
			}
			return nil
		}
		put("live-ok", "s1", true, 10*time.Minute)
		put("removed", "s1", false, 0)    // s1 stopped reporting it 10 minutes ago
		put("dead-sentry", "s2", true, 0) // s2 has said nothing for 10 minutes
		a := open1(10 * time.Minute)
		if a == nil || a.Value != 1 || !strings.Contains(a.Summary, "1 of 2 endpoints") || !strings.Contains(a.Summary, "not reported") {
			t.Fatalf("alert %+v, want 1 of 2 down (the dead sentry's), the removed endpoint not counted", a)
		}
		put("dead-sentry", "s2", true, 11*time.Minute) // s2 is back
		put("live-ok", "s1", true, 11*time.Minute)
		if a := open1(11 * time.Minute); a != nil {
			t.Fatalf("alert %+v after every watched endpoint reported healthy, want it resolved (the removed endpoint's old row does not count)", a)
		}
	})
}

// What the analyzer stores right after a fresh start, with every rule at
// its defaults (every validator watched, for 0): a validator absent at the
// first heights has blocks to jail but no time yet (too few block
// intervals), and, without the chain's slashing window, a window of one
// or a few heights. Neither pages: a time not known is not "0 s to jail",
// and 1 miss of 1 height is not 100% of a window. Once min_heights are
// observed the share rule fires.
func TestFreshStartNoFalseAlerts(t *testing.T) {
	forEachDB(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		db := open(t)
		te := startEngine(t, db, "rules:\n  window_missed_share: {warning: 0.05, critical: 0.2, min_heights: 20}\n", newClock(), nil)
		putValidator(t, db, addrA, "alice", true)
		putValidator(t, db, addrB, "bob", true)
		exec(t, db, db.Query().SQL("INSERT INTO cosmos_chains (chain, analyzed_height, updated_at, signed_blocks_window, min_signed_per_window, params_source) VALUES ").
			Row(chain, 1, t0.UnixMilli(), 10000, 0.05, "config"))
		putStats(t, db, addrA, stats{consecutive: 1, windowSize: 1, windowMissed: 1, blocksToJail: 9500, timeToJailMS: state.JailTimeUnknown})
		te.passAt(t, 0)
		keys := func() map[string]string {
			list, err := te.List(context.Background(), chain, false)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, a := range list {
				got[a.Key] = a.Severity
			}
			return got
		}
		if got := keys(); len(got) != 0 {
			t.Fatalf("alerts at the first height with the slashing window known: %v, want none", got)
		}
		// Parameters unknown: the share is of the heights observed.
		exec(t, db, db.Query().SQL("UPDATE cosmos_chains SET signed_blocks_window = 0, min_signed_per_window = 0, params_source = ''"))
		putStats(t, db, addrA, stats{consecutive: 1, windowSize: 1, windowMissed: 1, blocksToJail: state.JailUnknown, timeToJailMS: state.JailUnknown})
		putStats(t, db, addrB, stats{consecutive: 19, windowSize: 19, windowMissed: 19, blocksToJail: state.JailUnknown, timeToJailMS: state.JailUnknown})
		te.passAt(t, time.Second)
		if got := keys(); len(got) != 1 || got["consecutive_missed/"+chain+"/"+addrB] != "critical" {
			t.Fatalf("alerts with 1 and 19 heights observed, min_heights 20: %v, want only bob's consecutive_missed", got)
		}
		putStats(t, db, addrB, stats{consecutive: 20, windowSize: 20, windowMissed: 20, blocksToJail: state.JailUnknown, timeToJailMS: state.JailUnknown})
		te.passAt(t, 2*time.Second)
		if got := keys(); got["window_missed_share/"+chain+"/"+addrB] != "critical" {
			t.Fatalf("alerts with 20 heights observed: %v, want bob's window_missed_share critical", got)
		}
	})
}

// A notification given up on after its attempts is offered again on a
// slow timer (2 min doubling to 30 min), its state in the store: a firing
// one for maxFireRounds give-ups, a resolve for as long as it takes, so
// that an alert always resolves without a restart. It used to wait for a
// restart.
func TestGivenUpRetriedOnSlowTimer(t *testing.T) {
	forEachDB(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		var down atomic.Bool
		down.Store(true)
		pd := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
			if down.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
				return true
			}
			return false
		})
		hook := newReceiver(t, nil)
		db := open(t)
		te := startEngine(t, db, channelsYAML(t, hook, pd, "warning")+"resolve_after: 0s\nreminder: 0\n", newClock(), nil)
		putValidator(t, db, addrA, "alice", true)
		missing(t, db, 6)
		step := func(at time.Duration, wantMore int, what string) {
			t.Helper()
			before := len(pd.requests())
			te.passAt(t, at)
			te.flush(t)
			if got := len(pd.requests()) - before; got != wantMore {
				t.Fatalf("+%s (%s): pagerduty got %d more requests, want %d", at, what, got, wantMore)
			}
		}
		// The trigger: given up at 0, offered again at +2m, +6m, +14m,
		// +30m, +60m; after its sixth give-up no more in this process.
		step(0, maxAttempts, "the trigger")
		step(time.Minute, 0, "before the first retry")
		for _, at := range []time.Duration{2, 6, 14, 30, 60} {
			step(at*time.Minute, maxAttempts, "a slow retry of the trigger")
		}
		step(120*time.Minute, 0, "the trigger after its last give-up")
		// The resolve: retried past that bound, until PagerDuty is back.
		missing(t, db, 0)
		at := 200 * time.Minute
		step(at, maxAttempts, "the resolve")
		for i := 0; i < maxFireRounds+2; i++ {
			at += 30 * time.Minute
			step(at, maxAttempts, "a slow retry of the resolve")
		}
		down.Store(false)
		at += 30 * time.Minute
		step(at, 1, "the resolve, PagerDuty back")
		p := pd.requests()
		if last := p[len(p)-1]; body(last, "event_action") != "resolve" || body(last, "dedup_key") != "consecutive_missed/"+chain+"/"+addrA {
			t.Fatalf("last pagerduty request %s, want the resolve", last.Raw)
		}
		step(at+time.Hour, 0, "after the resolve was delivered")
	})
}

// A process that names its chains resolves the open alerts of any other
// chain in the store (one no longer configured, whose conditions nothing
// evaluates any more) with a note, and delivers the resolve to the
// channels that got the alert; a pending one is dropped; the watched
// chain's alerts are left alone.
func TestRetirerResolvesUnwatchedChains(t *testing.T) {
	forEachDB(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		db := open(t)
		hook, pd := newReceiver(t, nil), newReceiver(t, nil)
		te := startEngine(t, db, channelsYAML(t, hook, pd, "critical"), newClock(), nil)
		put := func(key, chain, status string) {
			exec(t, db, db.Query().SQL("INSERT INTO cosmos_alerts (alert_key, rule, chain, validator_address, moniker, status, severity, value, threshold, unit, summary, since, fired_at, clear_since, resolved_at, notified_at, updated_at) VALUES ").
				Row(key, RuleChainStalled, chain, "", "", status, "critical", 600, 300, "seconds", "chain "+chain+" stalled", t0.UnixMilli(), t0.UnixMilli(), 0, 0, t0.UnixMilli(), t0.UnixMilli()))
		}
		put("chain_stalled/old-1", "old-1", StatusFiring)
		put("endpoints_down/old-1", "old-1", StatusPending)
		put("chain_stalled/"+chain, chain, StatusFiring)
		exec(t, db, db.Query().SQL("INSERT INTO cosmos_alert_deliveries (alert_id, channel, want_seq, want_status, want_kind, sent_seq, sent_status, sent_at, updated_at) SELECT id, 'hook', 1, 'firing', 'trigger', 1, 'firing', 1, 1 FROM cosmos_alerts WHERE alert_key = 'chain_stalled/old-1'"))
		r := te.Retirer([]string{chain})
		if r.Name != "cosmos/alerts/retired" {
			t.Fatalf("analyzer %q", r.Name)
		}
		te.clock.at(time.Minute)
		if err := r.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		te.flush(t)
		old, err := te.List(context.Background(), "old-1", true)
		if err != nil {
			t.Fatal(err)
		}
		if len(old) != 1 || old[0].Status != StatusResolved || !strings.Contains(old[0].Summary, "is no longer watched") {
			t.Fatalf("old-1's alerts %+v; want the firing one resolved with a note, the pending one gone", old)
		}
		h := hook.waitCount(t, 1)
		if body(h[0], "status") != StatusResolved || body(h[0], "key") != "chain_stalled/old-1" || !strings.Contains(body(h[0], "text").(string), "no longer watched") {
			t.Errorf("webhook got %s, want old-1's resolve with the note", h[0].Raw)
		}
		if n := len(pd.requests()); n != 0 {
			t.Errorf("pagerduty got %d requests; it never had the alert", n)
		}
		kept, _ := te.List(context.Background(), chain, false)
		if len(kept) != 1 || kept[0].Status != StatusFiring {
			t.Errorf("the watched chain's alerts %+v; want its firing alert untouched", kept)
		}
		// Nothing open any more: a later pass does nothing.
		if err := r.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		te.flush(t)
		if n := len(hook.requests()); n != 1 {
			t.Errorf("webhook got %d notifications after a second pass, want 1", n)
		}
	})
}
