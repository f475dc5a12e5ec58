package alerts

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Discord, Slack and Telegram get their own payload shapes.
func TestChatPayloads(t *testing.T) {
	db := openSQLite(t)
	discord, slack, telegram := newReceiver(t, nil), newReceiver(t, nil), newReceiver(t, nil)
	t.Setenv("TEST_DISCORD_URL", discord.srv.URL+"/api/webhooks/1/tok")
	t.Setenv("TEST_SLACK_URL", slack.srv.URL+"/services/T/B/X")
	t.Setenv("TEST_TG_TOKEN", "4242:bot-token")
	te := startEngine(t, db, fmt.Sprintf(`channels:
  - {name: discord, type: discord, url_env: TEST_DISCORD_URL}
  - {name: slack, type: slack, url_env: TEST_SLACK_URL}
  - {name: tg, type: telegram, token_env: TEST_TG_TOKEN, chat_id: "-1001", api_url: %q}
`, telegram.srv.URL), newClock(), nil)
	putValidator(t, db, addrA, "<@everyone> & co", true)
	putMiss(t, db, addrA, 77, "no_vote")
	missing(t, db, 4)
	te.passAt(t, 0)
	te.flush(t)

	d := discord.waitCount(t, 1)[0]
	content, _ := body(d, "content").(string)
	embeds, _ := body(d, "embeds").([]any)
	mentions, _ := body(d, "allowed_mentions", "parse").([]any)
	if d.Path != "/api/webhooks/1/tok" || !strings.Contains(content, "missed 4 consecutive blocks (cause: no_vote at height 77)") ||
		len(embeds) != 1 || body(d, "allowed_mentions") == nil || len(mentions) != 0 {
		t.Errorf("discord got %s", d.Raw)
	}
	if e, _ := embeds[0].(map[string]any); e["title"] != RuleConsecutiveMissed+" on "+chain || e["color"] == nil {
		t.Errorf("discord embed %v", embeds[0])
	}
	s := slack.waitCount(t, 1)[0]
	text, _ := body(s, "text").(string)
	if s.Path != "/services/T/B/X" || len(s.Body) != 1 || !strings.Contains(text, "&lt;@everyone&gt; &amp; co") || strings.Contains(text, "<@") {
		t.Errorf("slack got %s, want {text} with <, >, & escaped", s.Raw)
	}
	g := telegram.waitCount(t, 1)[0]
	if g.Path != "/bot4242:bot-token/sendMessage" || body(g, "chat_id") != "-1001" ||
		!strings.Contains(body(g, "text").(string), "[FIRING WARNING]") || body(g, "parse_mode") != nil {
		t.Errorf("telegram got %s at %s", g.Raw, g.Path)
	}
}

// No URL, token or routing key reaches the log, an error or the store,
// also when every delivery fails and the receivers echo what they got.
func TestSecretsNeverLogged(t *testing.T) {
	db := openSQLite(t)
	echo := func(n int, w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "bad request to %s", r.URL.String())
		return true
	}
	var hook, tg, pd *receiver
	hook, tg, pd = newReceiver(t, echo), newReceiver(t, echo), newReceiver(t, nil)
	pd.respond = func(n int, w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "invalid event %s", pd.requests()[n].Raw) // echoes the routing key
		return true
	}
	// A closed port: connection refused, retried, given up.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	t.Setenv("TEST_HOOK_URL", hook.srv.URL+"/hook/s3cr3t-hook?sig=s3cr3t-sig")
	t.Setenv("TEST_DEAD_URL", "http://"+closed+"/x/s3cr3t-dead")
	t.Setenv("TEST_TG_TOKEN", "999:s3cr3t-token")
	t.Setenv("TEST_PD_KEY", "s3cr3t-routing")
	logs := &syncBuffer{}
	te := startEngine(t, db, fmt.Sprintf(`channels:
  - {name: hook, type: webhook, url_env: TEST_HOOK_URL}
  - {name: dead, type: webhook, url_env: TEST_DEAD_URL}
  - {name: literal, type: slack, url: "http://%s/services/s3cr3t-literal"}
  - {name: tg, type: telegram, token_env: TEST_TG_TOKEN, chat_id: "1", api_url: %q}
  - {name: pd, type: pagerduty, routing_key_env: TEST_PD_KEY, api_url: %q}
`, closed, tg.srv.URL, pd.srv.URL), newClock(), logs)
	slog.New(slog.NewTextHandler(logs, nil)).Info("config", "channel", te.cfg.Channels[0], "all", te.cfg.Channels)
	fmt.Fprintf(logs, "%v %+v %#v\n", te.cfg, te.cfg, te.cfg.Channels)
	putValidator(t, db, addrA, "alice", true)
	missing(t, db, 4)
	te.passAt(t, 0)
	te.flush(t)
	testErr := te.SendTest(context.Background())
	if testErr == nil {
		t.Fatal("SendTest succeeded against failing receivers")
	}
	for _, name := range []string{"hook", "dead", "literal", "tg", "pd"} {
		if !strings.Contains(testErr.Error(), "channel "+name+" (") {
			t.Errorf("SendTest error does not name channel %s: %v", name, testErr)
		}
	}
	if !strings.Contains(testErr.Error(), "400 Bad Request") || !strings.Contains(testErr.Error(), "[redacted]") {
		t.Errorf("SendTest error %q: want the status and the echo with the secret redacted", testErr)
	}
	var stored strings.Builder
	rows, err := db.Reader().Query("SELECT last_error FROM cosmos_alert_deliveries")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		rows.Scan(&s) //nolint:errcheck // an empty string fails the check below
		stored.WriteString(s + "\n")
	}
	rows.Close()
	if !strings.Contains(stored.String(), "refused the notification") {
		t.Errorf("stored errors %q, want the refusals recorded", stored.String())
	}
	if !strings.Contains(logs.String(), "given up") {
		t.Errorf("log has no give-up line:\n%s", logs.String())
	}
	for what, text := range map[string]string{"log": logs.String(), "SendTest error": testErr.Error(), "stored errors": stored.String()} {
		if strings.Contains(text, "s3cr3t") {
			t.Errorf("%s shows a secret:\n%s", what, text)
		}
	}
}

// SendTest reaches every channel whatever its min_severity; PagerDuty gets
// a trigger and its resolve.
func TestSendTest(t *testing.T) {
	db := openSQLite(t)
	hook, pd := newReceiver(t, nil), newReceiver(t, nil)
	te := startEngine(t, db, channelsYAML(t, hook, pd, "critical"), newClock(), nil)
	if err := te.SendTest(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := hook.waitCount(t, 1)[0]
	if body(h, "kind") != kindTest || !strings.HasPrefix(body(h, "text").(string), "[TEST]") {
		t.Errorf("webhook got %s", h.Raw)
	}
	p := pd.waitCount(t, 2)
	if body(p[0], "event_action") != "trigger" || body(p[1], "event_action") != "resolve" || body(p[0], "dedup_key") != body(p[1], "dedup_key") {
		t.Errorf("pagerduty got %s then %s", p[0].Raw, p[1].Raw)
	}
	noChannels := startEngine(t, db, "", newClock(), nil)
	if err := noChannels.SendTest(context.Background()); err == nil || !strings.Contains(err.Error(), "no channels") {
		t.Errorf("SendTest without channels: %v", err)
	}
}

// Close returns although a delivery hangs, within its drain bound.
func TestCloseIsBounded(t *testing.T) {
	db := openSQLite(t)
	release := make(chan struct{})
	hang := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) bool {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return false
	})
	t.Setenv("TEST_HOOK_URL", hang.srv.URL)
	te := startEngine(t, db, "channels:\n  - {name: hook, type: webhook, url_env: TEST_HOOK_URL, timeout: 1h}\n", newClock(), nil)
	t.Cleanup(func() { close(release) })
	putValidator(t, db, addrA, "alice", true)
	missing(t, db, 3)
	te.passAt(t, 0)
	hang.waitCount(t, 1)
	te.drain = 50 * time.Millisecond
	done := make(chan struct{})
	go func() { te.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not return")
	}
	var sent int64
	if err := db.Reader().QueryRow("SELECT sent_seq FROM cosmos_alert_deliveries").Scan(&sent); err != nil || sent != 0 {
		t.Errorf("sent_seq = %d (%v), want 0: the aborted delivery stays due", sent, err)
	}
}

// --alerts-test runs while the process starts: a channel that does not
// answer is retried for a while, so every failed attempt is logged as it
// happens (a WARN with the channel, its type, the attempt of how many, the
// next delay and the error without its secrets), after a first line saying
// what is being sent.
func TestSendTestLogsAttempts(t *testing.T) {
	db := openSQLite(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	t.Setenv("TEST_DEAD_URL", "http://"+closed+"/x/s3cr3t-dead?key=s3cr3t-key")
	logs := &syncBuffer{}
	te := startEngine(t, db, "channels:\n  - {name: dead, type: webhook, url_env: TEST_DEAD_URL}\n", newClock(), logs)
	if err := te.SendTest(context.Background()); err == nil {
		t.Fatal("SendTest succeeded against a closed port")
	}
	out := logs.String()
	if !strings.Contains(out, "level=INFO") || !strings.Contains(out, `"sending the test alert on 1 channels"`) {
		t.Errorf("no first line saying what is sent:\n%s", out)
	}
	for i := 1; i < maxAttempts; i++ {
		want := fmt.Sprintf(`channel=dead type=webhook attempt="%d of %d" in=%s err="channel dead (webhook): request failed`,
			i, maxAttempts, min(baseBackoff<<(i-1), maxBackoff))
		if !hasLine(out, `level=WARN msg="alert notification failed; retrying"`, want) {
			t.Errorf("no WARN line with %q:\n%s", want, out)
		}
	}
	if !hasLine(out, `level=WARN msg="test notification failed"`, "channel=dead type=webhook", "gave up after 5 attempts") {
		t.Errorf("no final failure line:\n%s", out)
	}
	if strings.Contains(out, "s3cr3t") {
		t.Errorf("the log shows a secret:\n%s", out)
	}
}

// hasLine: some line of out holds every one of parts.
func hasLine(out string, parts ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}
