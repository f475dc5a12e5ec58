package alerts

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Limits of delivery.
const (
	queueSize     = 256              // jobs waiting per channel; more wait in the store for the next pass
	maxAttempts   = 5                // per notification, then it is given up on and counted
	baseBackoff   = time.Second      // doubled per attempt
	maxBackoff    = 30 * time.Second // cap of the doubling
	maxRetryAfter = 5 * time.Minute  // a longer Retry-After is cut to this
	// A notification given up on is offered again after giveUpRetry,
	// doubling per give-up to giveUpRetryMax: a resolve for as long as it
	// takes (an alert always resolves), a firing notification for
	// maxFireRounds give-ups (then at the next start).
	giveUpRetry         = 2 * time.Minute
	giveUpRetryMax      = 30 * time.Minute
	maxFireRounds       = 6
	maxErrorBody        = 256              // bytes of a refusal's body kept in the error
	maxTextBytes        = 1900             // Discord allows 2000 characters in content
	dbTimeout           = 10 * time.Second // recording a delivery's outcome
	defaultTelegramAPI  = "https://api.telegram.org"
	defaultPagerDutyAPI = "https://events.pagerduty.com"
)

// Notification is what a channel receives (the generic webhook gets it as
// JSON). Text is the human form, without links.
type Notification struct {
	Key        string     `json:"key"`
	Rule       string     `json:"rule"`
	Chain      string     `json:"chain"`
	Validator  string     `json:"validator,omitempty"`
	Moniker    string     `json:"moniker,omitempty"`
	Severity   string     `json:"severity"`
	Status     string     `json:"status"` // firing | resolved
	Kind       string     `json:"kind"`   // trigger | update | reminder | resolve | test
	Value      float64    `json:"value"`
	Threshold  float64    `json:"threshold"`
	Unit       string     `json:"unit"`
	Summary    string     `json:"summary"`
	Since      time.Time  `json:"since"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
	Text       string     `json:"text"`
}

type job struct {
	alertID int64
	channel string
}

type sender struct {
	ch     Channel
	secret string
	client *http.Client
	queue  chan job
	redact *strings.Replacer
}

func newSender(ch Channel) (*sender, error) {
	sec, err := ch.secret()
	if err != nil {
		return nil, fmt.Errorf("cosmos alerts: %w", err)
	}
	s := &sender{ch: ch, secret: sec, queue: make(chan job, queueSize),
		client: &http.Client{Timeout: ch.Timeout,
			// A redirect would carry the notification somewhere the
			// configuration did not name.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	olds := []string{sec, url.PathEscape(sec), url.QueryEscape(sec)}
	if u, err := url.Parse(sec); err == nil && u.Host != "" {
		for _, p := range []string{u.EscapedPath(), u.Path, u.RawQuery} {
			if len(p) > 1 {
				olds = append(olds, p)
			}
		}
		if u.User != nil {
			olds = append(olds, u.User.String())
		}
	}
	sort.Slice(olds, func(i, j int) bool { return len(olds[i]) > len(olds[j]) })
	var pairs []string
	for _, o := range olds {
		if o != "" {
			pairs = append(pairs, o, "[redacted]")
		}
	}
	s.redact = strings.NewReplacer(pairs...)
	return s, nil
}

// errorf builds an error of the channel with its secret removed.
func (s *sender) errorf(format string, args ...any) error {
	return errors.New(s.redact.Replace(fmt.Sprintf("channel %s (%s): ", s.ch.Name, s.ch.Type) + fmt.Sprintf(format, args...)))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// sweep hands the chain's due notifications to the workers: those not
// given up on, and those given up on whose retry_at has come (resolves
// always, firing ones for maxFireRounds give-ups). The first sweep after
// a start makes every undelivered one due at once (a fresh count of
// give-ups).
func (e *Engine) sweep(ctx context.Context, chain string) error {
	if len(e.senders) == 0 {
		return nil
	}
	e.mu.Lock()
	first := !e.swept[chain]
	e.mu.Unlock()
	if first {
		u := e.db.Query().SQL("UPDATE cosmos_alert_deliveries SET retry_at = 0, gaveup_rounds = 0 WHERE sent_seq < want_seq AND gaveup_seq >= want_seq").
			SQL(" AND alert_id IN (SELECT id FROM cosmos_alerts WHERE chain = ").Arg(chain).SQL(")")
		if err := e.db.InTx(ctx, "offer given-up alert notifications again", func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, u.String(), u.Args()...)
			return err
		}); err != nil {
			return fmt.Errorf("offer the given-up alert notifications of %s again: %w", chain, e.db.Scrub(err))
		}
	}
	q := e.db.Query().SQL(`SELECT d.alert_id, d.channel FROM cosmos_alert_deliveries d
		JOIN cosmos_alerts a ON a.id = d.alert_id WHERE a.chain = `).Arg(chain).SQL(" AND d.sent_seq < d.want_seq")
	q.SQL(" AND (d.gaveup_seq < d.want_seq OR d.retry_at <= ").Arg(e.now().UnixMilli()).
		SQL(" AND (d.want_status = ").Arg(StatusResolved).SQL(" OR d.gaveup_rounds < ").Arg(maxFireRounds).SQL("))")
	q.SQL(" ORDER BY d.alert_id")
	rows, err := e.db.Reader().QueryContext(ctx, q.String(), q.Args()...)
	if err != nil {
		return fmt.Errorf("read due alert notifications of %s: %w", chain, e.db.Scrub(err))
	}
	var jobs []job
	for rows.Next() {
		var j job
		if err := rows.Scan(&j.alertID, &j.channel); err != nil {
			rows.Close()
			return fmt.Errorf("read due alert notifications of %s: %w", chain, e.db.Scrub(err))
		}
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return fmt.Errorf("read due alert notifications of %s: %w", chain, e.db.Scrub(err))
	}
	rows.Close()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.swept[chain] = true
	for _, j := range jobs {
		e.enqueueLocked(j)
	}
	return nil
}

func (e *Engine) enqueueLocked(j job) {
	if e.closed {
		return
	}
	if e.inflight[j] {
		e.again[j] = true
		return
	}
	for _, s := range e.senders {
		if s.ch.Name != j.channel {
			continue
		}
		select {
		case s.queue <- j:
			e.inflight[j] = true
		default:
			// It stays due in the store: the next pass offers it again.
			e.log.Debug("alert channel queue full; notification waits for the next pass", "channel", s.ch.Name, "limit", queueSize)
		}
		return
	}
	// A channel no longer configured: nothing to deliver to.
}

// idle reports whether no delivery is queued or running.
func (e *Engine) idle() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.inflight) == 0
}

func (e *Engine) work(s *sender) {
	for j := range s.queue {
		for {
			e.deliver(s, j)
			e.mu.Lock()
			if e.again[j] && !e.closed {
				delete(e.again, j)
				e.mu.Unlock()
				continue
			}
			delete(e.again, j)
			delete(e.inflight, j)
			e.mu.Unlock()
			break
		}
	}
}

// due is a notification waiting for a channel.
type due struct {
	a                       alertRow
	wantSeq, sentSeq        int64
	wantStatus, wantKind    string
	gaveupSeq, gaveupRounds int64
	retryAt                 int64
}

// resting: given up on, and not yet to be offered again (a job queued
// again while its previous round was failing must not start another).
func (d due) resting(now int64) bool {
	return d.gaveupSeq >= d.wantSeq && (d.retryAt > now || d.wantStatus != StatusResolved && d.gaveupRounds >= maxFireRounds)
}

func (e *Engine) loadDue(ctx context.Context, j job) (due, error) {
	q := e.db.Query().SQL("SELECT " + prefixed("a.", alertCols) + ", d.want_seq, d.sent_seq, d.want_status, d.want_kind, d.gaveup_seq, d.gaveup_rounds, d.retry_at FROM cosmos_alert_deliveries d JOIN cosmos_alerts a ON a.id = d.alert_id WHERE d.alert_id = ").
		Arg(j.alertID).SQL(" AND d.channel = ").Arg(j.channel)
	var d due
	a := &d.a
	err := e.db.Reader().QueryRowContext(ctx, q.String(), q.Args()...).Scan(&a.id, &a.key, &a.rule, &a.chain, &a.address,
		&a.moniker, &a.status, &a.severity, &a.value, &a.threshold, &a.unit, &a.summary, &a.since, &a.firedAt,
		&a.clearSince, &a.resolvedAt, &a.notifiedAt, &a.updatedAt, &d.wantSeq, &d.sentSeq, &d.wantStatus, &d.wantKind, &d.gaveupSeq, &d.gaveupRounds, &d.retryAt)
	return d, err
}

func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// deliver sends the notification due for j, from the store's current
// state (what changed while it was queued goes out as one message), and
// records the outcome.
func (e *Engine) deliver(s *sender, j job) {
	ctx := e.ctx
	d, err := e.loadDue(ctx, j)
	if errors.Is(err, sql.ErrNoRows) {
		return // pruned
	}
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("read a due alert notification; retrying at the next pass", "channel", s.ch.Name, "err", e.db.Scrub(err))
		}
		return
	}
	if d.sentSeq >= d.wantSeq || d.resting(e.now().UnixMilli()) {
		return
	}
	n := d.notification()
	attempts, err := e.send(ctx, s, n, slog.LevelDebug)
	if err != nil && ctx.Err() != nil {
		return // shutting down: it stays due for the next start
	}
	dctx, cancel := context.WithTimeout(context.Background(), dbTimeout)
	defer cancel()
	ms := e.now().UnixMilli()
	var q = e.db.Query()
	if err == nil {
		e.m.sent.WithLabelValues(s.ch.Name, n.Status).Inc()
		q.SQL("UPDATE cosmos_alert_deliveries SET sent_seq = ").Arg(d.wantSeq).SQL(", sent_status = ").Arg(d.wantStatus).
			SQL(", sent_at = ").Arg(ms).SQL(", attempts = ").Arg(attempts).SQL(", last_error = ''")
	} else {
		e.m.failed.WithLabelValues(s.ch.Name, n.Status).Inc()
		rounds := int64(1)
		if d.gaveupSeq == d.wantSeq {
			rounds = d.gaveupRounds + 1 // given up on before: the slow retry failed too
		}
		wait := giveUpRetryMax
		if rounds <= 5 {
			wait = min(giveUpRetry<<(rounds-1), giveUpRetryMax)
		}
		if d.wantStatus == StatusResolved || rounds < maxFireRounds {
			e.log.Warn("alert notification given up after its retries; it is offered again later",
				"channel", s.ch.Name, "key", n.Key, "status", n.Status, "attempts", attempts, "times_given_up", rounds,
				"retry_in", wait, "err", err)
		} else {
			e.log.Warn("alert notification given up after its retries, for the last time in this process; a restart offers it again",
				"channel", s.ch.Name, "key", n.Key, "status", n.Status, "attempts", attempts, "times_given_up", rounds, "err", err)
		}
		q.SQL("UPDATE cosmos_alert_deliveries SET gaveup_seq = ").Arg(d.wantSeq).SQL(", gaveup_rounds = ").Arg(rounds).
			SQL(", retry_at = ").Arg(ms + wait.Milliseconds()).SQL(", attempts = ").Arg(attempts).
			SQL(", last_error = ").Arg(truncate(err.Error(), 1000))
	}
	q.SQL(", updated_at = ").Arg(ms).SQL(" WHERE alert_id = ").Arg(j.alertID).SQL(" AND channel = ").Arg(j.channel).
		SQL(" AND sent_seq < ").Arg(d.wantSeq)
	if err := e.db.InTx(dctx, "record an alert delivery", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(dctx, q.String(), q.Args()...)
		return err
	}); err != nil {
		e.log.Warn("record an alert delivery; it may be sent again", "channel", s.ch.Name, "key", n.Key, "err", err)
	}
}

func (d due) notification() Notification {
	a := d.a
	n := Notification{Key: a.key, Rule: a.rule, Chain: a.chain, Validator: a.address, Moniker: a.moniker,
		Severity: a.severity, Status: d.wantStatus, Kind: d.wantKind, Value: a.value, Threshold: a.threshold,
		Unit: a.unit, Summary: a.summary, Since: time.UnixMilli(a.since).UTC()}
	if d.wantStatus == StatusResolved {
		n.ResolvedAt = msTime(a.resolvedAt)
	}
	n.Text = n.text()
	return n
}

func formatValue(v float64, unit string) string {
	switch unit {
	case "share":
		return strconv.FormatFloat(100*v, 'f', 1, 64) + "%"
	case "seconds":
		return (time.Duration(v) * time.Second).String()
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// text is the human form of a notification.
func (n Notification) text() string {
	stamp := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }
	var b strings.Builder
	switch {
	case n.Kind == kindTest:
		b.WriteString("[TEST] ")
		b.WriteString(n.Summary)
		return b.String()
	case n.Status == StatusResolved:
		fmt.Fprintf(&b, "[RESOLVED] %s", n.Summary)
		fmt.Fprintf(&b, " (was %s since %s", n.Severity, stamp(n.Since))
		if n.ResolvedAt != nil {
			fmt.Fprintf(&b, ", resolved %s", stamp(*n.ResolvedAt))
		}
		b.WriteString(")")
	default:
		label := "FIRING"
		if n.Kind == kindReminder {
			label = "STILL FIRING"
		}
		fmt.Fprintf(&b, "[%s %s] %s (value %s, threshold %s; since %s)", label, strings.ToUpper(n.Severity), n.Summary,
			formatValue(n.Value, n.Unit), formatValue(n.Threshold, n.Unit), stamp(n.Since))
	}
	fmt.Fprintf(&b, " [%s]", n.Key)
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// send delivers n with retries: network errors, 429 and 5xx are retried
// with a doubling backoff (or the Retry-After asked for), up to maxAttempts.
// send delivers n on s, retrying what may pass later. Each failed attempt
// is logged at level: Debug for the background deliveries (their outcome
// is recorded and counted), Warn for --alerts-test, which runs while the
// process starts and would otherwise wait silently through the retries.
func (e *Engine) send(ctx context.Context, s *sender, n Notification, level slog.Level) (int, error) {
	for attempt := 1; ; attempt++ {
		wait, retry, err := s.once(ctx, n, e.now)
		if err == nil {
			return attempt, nil
		}
		if !retry || attempt >= maxAttempts || ctx.Err() != nil {
			if retry && attempt >= maxAttempts {
				err = fmt.Errorf("%w (gave up after %d attempts)", err, attempt)
			}
			return attempt, err
		}
		if wait <= 0 {
			wait = min(baseBackoff<<(attempt-1), maxBackoff)
		}
		// err comes from s.errorf: its secrets are redacted.
		e.log.Log(ctx, level, "alert notification failed; retrying", "channel", s.ch.Name, "type", s.ch.Type,
			"attempt", fmt.Sprintf("%d of %d", attempt, maxAttempts), "in", wait, "err", err)
		if err := e.sleep(ctx, wait); err != nil {
			return attempt, s.errorf("stopped while waiting to retry: %v", err)
		}
	}
}

// once makes one request. It says whether to retry and how long the
// receiver asked to wait.
func (s *sender) once(ctx context.Context, n Notification, now func() time.Time) (time.Duration, bool, error) {
	req, err := s.request(ctx, n)
	if err != nil {
		return 0, false, s.errorf("build request: %v", err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text holds the URL: a secret
		}
		return 0, true, s.errorf("request failed: %v; check that the receiver is reachable", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck // draining for reuse only
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return 0, false, nil
	}
	msg := strings.TrimSpace(strings.ToValidUTF8(string(body), "?"))
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		return retryAfter(resp.Header.Get("Retry-After"), now()), true,
			s.errorf("receiver answered %s: %s", resp.Status, msg)
	}
	return 0, false, s.errorf("receiver refused the notification with %s: %s; check the channel's %s and settings",
		resp.Status, msg, s.secretName())
}

func (s *sender) secretName() string {
	switch s.ch.Type {
	case TypeTelegram:
		return "bot token and chat_id"
	case TypePagerDuty:
		return "routing key"
	}
	return "URL"
}

// retryAfter reads Retry-After: seconds or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(strings.TrimSpace(h)); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = t.Sub(now)
	}
	if d < 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}

// request builds the HTTP request of the channel's type.
func (s *sender) request(ctx context.Context, n Notification) (*http.Request, error) {
	var target string
	var body any
	switch s.ch.Type {
	case TypeWebhook:
		target, body = s.secret, n
	case TypeDiscord:
		target, body = s.secret, discordMessage(n)
	case TypeSlack:
		target, body = s.secret, map[string]string{"text": slackEscape(truncate(n.Text, 3000))}
	case TypeTelegram:
		base := s.ch.APIURL
		if base == "" {
			base = defaultTelegramAPI
		}
		target = strings.TrimRight(base, "/") + "/bot" + s.secret + "/sendMessage"
		body = map[string]any{"chat_id": s.ch.ChatID, "text": truncate(n.Text, 4000), "disable_web_page_preview": true}
	case TypePagerDuty:
		base := s.ch.APIURL
		if base == "" {
			base = defaultPagerDutyAPI
		}
		target = strings.TrimRight(base, "/") + "/v2/enqueue"
		body = pagerDutyEvent(s.secret, n)
	default:
		return nil, fmt.Errorf("unknown channel type %q", s.ch.Type)
	}
	data, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(data))
	if err != nil {
		return nil, errors.New("invalid receiver URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "valtrack-alerts")
	return req, nil
}

var severityColor = map[string]int{"critical": 0xD32F2F, "warning": 0xF9A825, "info": 0x1976D2}

func discordMessage(n Notification) map[string]any {
	color := severityColor[n.Severity]
	if n.Status == StatusResolved {
		color = 0x388E3C
	}
	fields := []map[string]any{{"name": "chain", "value": n.Chain, "inline": true},
		{"name": "severity", "value": n.Severity, "inline": true}, {"name": "status", "value": n.Status, "inline": true}}
	if n.Validator != "" {
		v := n.Validator
		if n.Moniker != "" {
			v = n.Moniker + " (" + n.Validator + ")"
		}
		fields = append(fields, map[string]any{"name": "validator", "value": truncate(v, 1000)})
	}
	return map[string]any{
		"content": truncate(n.Text, maxTextBytes),
		// A moniker is chosen by whoever runs the validator: it must not
		// ping @everyone.
		"allowed_mentions": map[string]any{"parse": []string{}},
		"embeds": []map[string]any{{"title": truncate(n.Rule+" on "+n.Chain, 250),
			"description": truncate(n.Summary, 4000), "color": color, "fields": fields}},
	}
}

func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// pagerDutySeverity maps onto Events v2 (critical, error, warning, info).
func pagerDutySeverity(s string) string {
	switch s {
	case "critical", "warning", "info":
		return s
	}
	return "error"
}

func pagerDutyEvent(key string, n Notification) map[string]any {
	ev := map[string]any{"routing_key": key, "dedup_key": n.Key, "event_action": "trigger"}
	if n.Status == StatusResolved {
		ev["event_action"] = "resolve"
		return ev
	}
	component := n.Validator
	if component == "" {
		component = n.Chain
	}
	ev["payload"] = map[string]any{
		"summary":   truncate(n.Text, 1000),
		"source":    "valtrack/cosmos/" + n.Chain,
		"severity":  pagerDutySeverity(n.Severity),
		"component": component,
		"group":     n.Rule,
		"class":     n.Rule,
		"custom_details": map[string]any{"key": n.Key, "rule": n.Rule, "chain": n.Chain, "validator": n.Validator,
			"moniker": n.Moniker, "value": n.Value, "threshold": n.Threshold, "unit": n.Unit, "since": n.Since,
			"kind": n.Kind, "summary": n.Summary},
	}
	return ev
}

// SendTest sends a test notification on every channel (PagerDuty gets a
// trigger and its resolve, so no incident stays open) and returns, joined,
// the channels that failed and why (without secrets).
func (e *Engine) SendTest(ctx context.Context) error {
	if len(e.senders) == 0 {
		return errors.New("cosmos alerts: no channels configured; add channels to the --alerts file")
	}
	now := e.now()
	e.log.Info(fmt.Sprintf("sending the test alert on %d channels", len(e.senders)), "channels", len(e.senders),
		"attempts", maxAttempts)
	var errs []error
	for _, s := range e.senders {
		n := Notification{Key: fmt.Sprintf("test/%s/%d", s.ch.Name, now.UnixNano()), Rule: "test", Severity: Info.String(),
			Status: StatusFiring, Kind: kindTest, Since: now.UTC(),
			Summary: fmt.Sprintf("valtrack alerting works: test notification on channel %s (%s)", s.ch.Name, s.ch.Type)}
		n.Text = n.text()
		_, err := e.send(ctx, s, n, slog.LevelWarn)
		if err == nil && s.ch.Type == TypePagerDuty {
			r := n
			r.Status, r.Kind, r.ResolvedAt = StatusResolved, kindResolve, &now
			_, err = e.send(ctx, s, r, slog.LevelWarn)
		}
		if err != nil {
			e.m.failed.WithLabelValues(s.ch.Name, kindTest).Inc()
			e.log.Warn("test notification failed", "channel", s.ch.Name, "type", s.ch.Type, "err", err)
			errs = append(errs, err)
			continue
		}
		e.m.sent.WithLabelValues(s.ch.Name, kindTest).Inc()
		e.log.Info("test notification sent", "channel", s.ch.Name)
	}
	return errors.Join(errs...)
}
