// Package alerts turns the Cosmos domain's derived tables (validator stats,
// blocks, endpoints, misses) into alerts and delivers them to webhooks,
// Discord, Slack, Telegram and PagerDuty.
//
// Every pass of a chain's analyzer evaluates each rule for the chain and
// each watched validator and moves one state machine per stable key
// (rule/chain[/address]) — pending → firing → resolved — with flap
// suppression (for, resolve_after) and reminders. The state and what each
// channel must still receive live in the database (cosmos_alerts,
// cosmos_alert_deliveries), written in one transaction per pass: a process
// that restarts resolves what fired before it and re-sends what was not
// delivered. Delivery runs beside evaluation, one bounded queue and worker
// per channel, so a slow or failing receiver never delays a pass.
package alerts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/valtrack/valtrack/internal/analyze"
	"github.com/valtrack/valtrack/internal/store"
)

// Alert statuses.
const (
	StatusPending  = "pending"
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)

// Limits of the engine.
const (
	// historyRetention: resolved alerts older than this are deleted.
	historyRetention = 30 * 24 * time.Hour
	// listLimit bounds the rows List returns.
	listLimit = 1000
	// closeDrain bounds how long Close lets queued deliveries finish
	// before it aborts them (they stay due in the store).
	closeDrain = 5 * time.Second
	// watchTTLIntervals and watchTTLMin make the TTL of a heartbeat in
	// cosmos_alert_watchers: 10 alert intervals, at least 2 minutes. A
	// live process must not look gone between two of its heartbeats, or
	// another process's retirer resolves its chain's alerts and its next
	// pass fires them again: the TTL outlives a pass that runs into its
	// analyzer's timeout (5 intervals, at least 30 s; a discovered chain's
	// pass runs inside cosmos/discovered, bounded at 1 minute) and the
	// pass after it, plus a few seconds of clock difference between hosts
	// (a heartbeat is written with the writer's clock and read with the
	// reader's). The cost is that a chain nobody evaluates any more is
	// retired up to that much later.
	watchTTLIntervals = 10
	watchTTLMin       = 2 * time.Minute
)

// Deps are what the engine works with.
type Deps struct {
	DB         *store.DB
	Chains     []string // one analyzer each
	Log        *slog.Logger
	Registerer prometheus.Registerer // nil: no metrics
	Now        func() time.Time      // nil: time.Now
	// Holder names this process in cosmos_alert_watchers, the heartbeat of
	// who evaluates which chain's alerts (domain.Holder: host and data
	// directory, the same across restarts, another for each process that
	// shares the store). "": the host and process id, which a restart
	// does not keep.
	Holder string
}

// Alert is one occurrence of an alert, as List returns it.
type Alert struct {
	ID         int64      `json:"id"`
	Key        string     `json:"key"`
	Rule       string     `json:"rule"`
	Chain      string     `json:"chain"`
	Validator  string     `json:"validator,omitempty"`
	Moniker    string     `json:"moniker,omitempty"`
	Status     string     `json:"status"`
	Severity   string     `json:"severity"`
	Value      float64    `json:"value"`
	Threshold  float64    `json:"threshold"`
	Unit       string     `json:"unit"`
	Summary    string     `json:"summary"`
	Since      time.Time  `json:"since"`
	FiredAt    *time.Time `json:"fired_at,omitempty"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// Engine evaluates the rules and delivers notifications.
type Engine struct {
	cfg    Config
	db     *store.DB
	chains []string
	log    *slog.Logger
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
	drain  time.Duration // closeDrain
	m      *metrics

	senders []*sender // in configuration order

	ctx    context.Context // of delivery; cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	inflight map[job]bool
	// again marks an in-flight job offered again meanwhile: what became due
	// after its delivery read the store (a resolve while the trigger was
	// being sent) goes out right after, not a pass later.
	again map[job]bool
	swept map[string]bool // chains swept once since the start

	holder   string
	watchTTL time.Duration
	// beats are when this engine last wrote each chain's heartbeat: a
	// discovered chain's passes may run more often than the alert interval
	// (cosmos/discovered runs at --cosmos-analyze-every), its heartbeat not.
	beats map[string]time.Time
}

// New builds an engine and starts its delivery workers. The database must
// carry the cosmos migrations (0002 adds the alert tables).
func New(cfg Config, d Deps) (*Engine, error) {
	return newEngine(cfg, d, sleepCtx)
}

func newEngine(cfg Config, d Deps, sleep func(context.Context, time.Duration) error) (*Engine, error) {
	if d.DB == nil {
		return nil, errors.New("cosmos alerts: no database; alerts live in the store")
	}
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, db: d.DB, chains: append([]string(nil), d.Chains...), log: d.Log, now: d.Now,
		sleep: sleep, drain: closeDrain, inflight: map[job]bool{}, again: map[job]bool{}, swept: map[string]bool{},
		holder: d.Holder, beats: map[string]time.Time{}}
	if e.holder == "" {
		host, _ := os.Hostname()
		e.holder = host + ":pid " + strconv.Itoa(os.Getpid())
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.log = e.log.With("component", "cosmos/alerts")
	if e.now == nil {
		e.now = time.Now
	}
	e.watchTTL = max(watchTTLIntervals*cfg.Interval, watchTTLMin)
	var err error
	if e.m, err = newMetrics(d.Registerer); err != nil {
		return nil, err
	}
	for _, w := range cfg.Warnings {
		e.log.Warn(w)
	}
	for _, ch := range cfg.Channels {
		s, err := newSender(ch)
		if err != nil {
			return nil, err
		}
		e.senders = append(e.senders, s)
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	for _, s := range e.senders {
		e.wg.Go(func() { e.work(s) })
	}
	return e, nil
}

// fill completes a configuration built in code and checks it.
func (c *Config) fill() error {
	def := DefaultConfig()
	// The caller's slices and map stay as they were.
	c.Channels = append([]Channel(nil), c.Channels...)
	rules := map[string]Rule{}
	for name, r := range c.Rules {
		rules[name] = r
	}
	c.Rules = rules
	for name := range c.Rules {
		if _, ok := ruleKinds[name]; !ok {
			return fmt.Errorf("cosmos alerts: unknown rule %q; known rules: %v", name, RuleNames())
		}
	}
	for name, r := range def.Rules {
		if _, ok := c.Rules[name]; !ok {
			c.Rules[name] = r
		}
	}
	if len(c.Validators) == 0 {
		c.Validators = def.Validators
	}
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.For < 0 || c.ResolveAfter < 0 || c.Reminder < 0 {
		return errors.New("cosmos alerts: for, resolve_after and reminder must not be negative")
	}
	seen := map[string]bool{}
	for i, ch := range c.Channels {
		if seen[ch.Name] {
			return fmt.Errorf("cosmos alerts: channel %q is defined twice", ch.Name)
		}
		seen[ch.Name] = true
		if ch.MinSeverity == 0 {
			c.Channels[i].MinSeverity = Info
		}
		if ch.Timeout <= 0 {
			c.Channels[i].Timeout = DefaultChannelTimeout
		}
		if _, err := c.Channels[i].Check(); err != nil {
			return fmt.Errorf("cosmos alerts: %w", err)
		}
	}
	return nil
}

// Analyzers are one analyzer per chain, cosmos/alerts/<chain>.
func (e *Engine) Analyzers() []analyze.Analyzer {
	var out []analyze.Analyzer
	for _, chain := range e.chains {
		out = append(out, e.Analyzer(chain))
	}
	return out
}

// Analyzer is the rules' pass over one chain, also for a chain that was not
// in Deps.Chains (a consumer finds chains in the store as they appear).
func (e *Engine) Analyzer(chain string) analyze.Analyzer {
	return analyze.Analyzer{Name: "cosmos/alerts/" + chain, Every: e.cfg.Interval,
		Run: func(ctx context.Context) error { return e.pass(ctx, chain) }}
}

// forOf is how long a rule's condition must hold before it fires.
func (e *Engine) forOf(rule string) time.Duration {
	if r := e.cfg.Rules[rule]; r.For != nil {
		return *r.For
	}
	return e.cfg.For
}

// alertRow is a row of cosmos_alerts.
type alertRow struct {
	id                                         int64
	key, rule, chain, address, moniker, status string
	severity                                   string
	value, threshold                           float64
	unit, summary                              string
	since, firedAt, clearSince, resolvedAt     int64
	notifiedAt, updatedAt                      int64
}

const alertCols = `id, alert_key, rule, chain, validator_address, moniker, status, severity, value, threshold,
	unit, summary, since, fired_at, clear_since, resolved_at, notified_at, updated_at`

func scanAlert(sc interface{ Scan(...any) error }) (alertRow, error) {
	var a alertRow
	err := sc.Scan(&a.id, &a.key, &a.rule, &a.chain, &a.address, &a.moniker, &a.status, &a.severity, &a.value,
		&a.threshold, &a.unit, &a.summary, &a.since, &a.firedAt, &a.clearSince, &a.resolvedAt, &a.notifiedAt, &a.updatedAt)
	return a, err
}

// pass evaluates the chain's rules and moves its alerts, in one
// transaction, then hands what is due to the delivery workers.
func (e *Engine) pass(ctx context.Context, chain string) error {
	now := e.now()
	conds, err := e.evaluate(ctx, chain, now)
	if err != nil {
		return fmt.Errorf("evaluate alert rules of %s: %w", chain, err)
	}
	byKey := map[string]condition{}
	for _, c := range conds {
		c.chain = chain
		c.key = Key(c.rule, chain, c.address)
		byKey[c.key] = c
	}
	var events []string
	beat := e.beatDue(chain, now)
	err = e.db.InTx(ctx, "update cosmos alerts of "+chain, func(tx *sql.Tx) error {
		events = events[:0]
		q := e.db.Query().SQL("SELECT " + alertCols + " FROM cosmos_alerts WHERE chain = ").Arg(chain).
			SQL(" AND status <> ").Arg(StatusResolved)
		rows, err := tx.QueryContext(ctx, q.String(), q.Args()...)
		if err != nil {
			return err
		}
		open := map[string]alertRow{}
		for rows.Next() {
			a, err := scanAlert(rows)
			if err != nil {
				rows.Close()
				return err
			}
			open[a.key] = a
		}
		if err := rows.Close(); err != nil {
			return err
		}
		keys := make([]string, 0, len(byKey)+len(open))
		for k := range byKey {
			keys = append(keys, k)
		}
		for k := range open {
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			var a *alertRow
			if r, ok := open[k]; ok {
				a = &r
			}
			var c *condition
			if cc, ok := byKey[k]; ok {
				c = &cc
			}
			ev, err := e.step(ctx, tx, a, c, now)
			if err != nil {
				return fmt.Errorf("alert %s: %w", k, err)
			}
			if ev != "" {
				events = append(events, ev+" "+k)
			}
		}
		q = e.db.Query().SQL("DELETE FROM cosmos_alerts WHERE chain = ").Arg(chain).SQL(" AND status = ").Arg(StatusResolved).
			SQL(" AND resolved_at < ").Arg(now.Add(-historyRetention).UnixMilli())
		if _, err = tx.ExecContext(ctx, q.String(), q.Args()...); err != nil {
			return err
		}
		if !beat {
			return nil
		}
		// The heartbeat is the transaction's last statement: its row lock
		// (this holder's own row) is taken after the alert rows', so it
		// never waits while holding another process's rows.
		q = e.db.Query().SQL("INSERT INTO cosmos_alert_watchers (chain, holder, expires_at, updated_at) VALUES ").
			Row(chain, e.holder, now.Add(e.watchTTL).UnixMilli(), now.UnixMilli()).
			SQL(" ON CONFLICT (chain, holder) DO UPDATE SET expires_at = excluded.expires_at, updated_at = excluded.updated_at")
		_, err = tx.ExecContext(ctx, q.String(), q.Args()...)
		return err
	})
	if err != nil {
		return err
	}
	if beat {
		e.mu.Lock()
		e.beats[chain] = now
		e.mu.Unlock()
		if err := e.dropExpiredWatchers(ctx, now); err != nil {
			return err
		}
	}
	for _, ev := range events {
		e.log.Info("alert "+ev, "chain", chain)
	}
	if err := e.updateGauge(ctx, chain); err != nil {
		return err
	}
	return e.sweep(ctx, chain)
}

// beatDue reports whether the chain's pass at now writes its heartbeat:
// once per alert interval (9/10 of it, so that passes at the interval, one
// a little early by the scheduler's jitter, each write theirs rather than
// every other one).
func (e *Engine) beatDue(chain string, now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	last, ok := e.beats[chain]
	return !ok || now.Sub(last) >= e.cfg.Interval*9/10 || now.Before(last)
}

// dropExpiredWatchers bounds cosmos_alert_watchers: the heartbeats of
// processes gone (or of chains they no longer evaluate) are deleted once
// expired. A statement of its own, not part of a pass's transaction, so it
// holds no lock while it waits for a heartbeat being written.
func (e *Engine) dropExpiredWatchers(ctx context.Context, now time.Time) error {
	q := e.db.Query().SQL("DELETE FROM cosmos_alert_watchers WHERE expires_at < ").Arg(now.UnixMilli())
	if err := e.db.InTx(ctx, "delete expired cosmos alert watchers", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, q.String(), q.Args()...)
		return err
	}); err != nil {
		return fmt.Errorf("delete the expired heartbeats of cosmos alert watchers: %w", e.db.Scrub(err))
	}
	return nil
}

// step moves one key's state machine. a is its open row (nil: none), c its
// condition now (nil: clear). It returns what happened, for the log.
func (e *Engine) step(ctx context.Context, tx *sql.Tx, a *alertRow, c *condition, now time.Time) (string, error) {
	ms := now.UnixMilli()
	switch {
	case a == nil && c == nil:
		return "", nil
	case a == nil:
		status, fired := StatusPending, int64(0)
		if e.forOf(c.rule) <= 0 {
			status, fired = StatusFiring, ms
		}
		q := e.db.Query().SQL("INSERT INTO cosmos_alerts (alert_key, rule, chain, validator_address, moniker, status, severity, value, threshold, unit, summary, since, fired_at, clear_since, resolved_at, notified_at, updated_at) VALUES ").
			Row(c.key, c.rule, c.chain, c.address, c.moniker, status, c.severity.String(), c.value, c.threshold, c.unit, c.summary, ms, fired, 0, 0, fired, ms).
			SQL(" RETURNING id")
		var id int64
		if err := tx.QueryRowContext(ctx, q.String(), q.Args()...).Scan(&id); err != nil {
			return "", err
		}
		if status == StatusFiring {
			return "fired", e.notify(ctx, tx, id, c.severity, kindTrigger, ms)
		}
		return "pending", nil
	case a.status == StatusPending && c == nil:
		q := e.db.Query().SQL("DELETE FROM cosmos_alerts WHERE id = ").Arg(a.id)
		_, err := tx.ExecContext(ctx, q.String(), q.Args()...)
		return "cleared before firing", err
	case a.status == StatusPending:
		if now.Sub(time.UnixMilli(a.since)) < e.forOf(c.rule) {
			return "", e.updateAlert(ctx, tx, a.id, c, StatusPending, 0, 0, 0, ms)
		}
		if err := e.updateAlert(ctx, tx, a.id, c, StatusFiring, ms, 0, ms, ms); err != nil {
			return "", err
		}
		return "fired", e.notify(ctx, tx, a.id, c.severity, kindTrigger, ms)
	case c != nil: // firing, condition holds
		sev, _ := ParseSeverity(a.severity)
		switch {
		case sev != c.severity:
			if err := e.updateAlert(ctx, tx, a.id, c, StatusFiring, a.firedAt, 0, ms, ms); err != nil {
				return "", err
			}
			return "changed severity from " + a.severity + " to " + c.severity.String(), e.notify(ctx, tx, a.id, c.severity, kindUpdate, ms)
		case e.cfg.Reminder > 0 && a.clearSince == 0 && now.Sub(time.UnixMilli(a.notifiedAt)) >= e.cfg.Reminder:
			if err := e.updateAlert(ctx, tx, a.id, c, StatusFiring, a.firedAt, 0, ms, ms); err != nil {
				return "", err
			}
			return "reminder", e.notify(ctx, tx, a.id, c.severity, kindReminder, ms)
		}
		// A condition back within resolve_after is the same alert (flap
		// suppression): clear_since goes back to 0, nothing is sent.
		return "", e.updateAlert(ctx, tx, a.id, c, StatusFiring, a.firedAt, 0, a.notifiedAt, ms)
	default: // firing, condition clear
		clearSince := a.clearSince
		if clearSince == 0 {
			clearSince = ms
		}
		if now.Sub(time.UnixMilli(clearSince)) < e.cfg.ResolveAfter {
			q := e.db.Query().SQL("UPDATE cosmos_alerts SET clear_since = ").Arg(clearSince).
				SQL(", updated_at = ").Arg(ms).SQL(" WHERE id = ").Arg(a.id)
			_, err := tx.ExecContext(ctx, q.String(), q.Args()...)
			return "", err
		}
		q := e.db.Query().SQL("UPDATE cosmos_alerts SET status = ").Arg(StatusResolved).
			SQL(", clear_since = ").Arg(clearSince).SQL(", resolved_at = ").Arg(ms).
			SQL(", updated_at = ").Arg(ms).SQL(" WHERE id = ").Arg(a.id)
		if _, err := tx.ExecContext(ctx, q.String(), q.Args()...); err != nil {
			return "", err
		}
		return "resolved", e.notify(ctx, tx, a.id, 0, kindResolve, ms)
	}
}

func (e *Engine) updateAlert(ctx context.Context, tx *sql.Tx, id int64, c *condition, status string, firedAt, clearSince, notifiedAt, ms int64) error {
	q := e.db.Query().SQL("UPDATE cosmos_alerts SET status = ").Arg(status).
		SQL(", severity = ").Arg(c.severity.String()).SQL(", value = ").Arg(c.value).
		SQL(", threshold = ").Arg(c.threshold).SQL(", moniker = ").Arg(c.moniker).
		SQL(", summary = ").Arg(c.summary).SQL(", fired_at = ").Arg(firedAt).
		SQL(", clear_since = ").Arg(clearSince).SQL(", notified_at = ").Arg(notifiedAt).
		SQL(", updated_at = ").Arg(ms).SQL(" WHERE id = ").Arg(id)
	_, err := tx.ExecContext(ctx, q.String(), q.Args()...)
	return err
}

// Kinds of notification.
const (
	kindTrigger  = "trigger"
	kindUpdate   = "update" // a severity change while firing
	kindReminder = "reminder"
	kindResolve  = "resolve"
	kindTest     = "test"
)

// notify makes a notification due on the alert's channels: those that got
// it before and, for a trigger or a severity change, those whose
// min_severity the severity reaches. A resolve goes to every channel that
// got the trigger.
func (e *Engine) notify(ctx context.Context, tx *sql.Tx, alertID int64, sev Severity, kind string, ms int64) error {
	q := e.db.Query().SQL("SELECT channel FROM cosmos_alert_deliveries WHERE alert_id = ").Arg(alertID)
	rows, err := tx.QueryContext(ctx, q.String(), q.Args()...)
	if err != nil {
		return err
	}
	had := map[string]bool{}
	for rows.Next() {
		var ch string
		if err := rows.Scan(&ch); err != nil {
			rows.Close()
			return err
		}
		had[ch] = true
	}
	if err := rows.Close(); err != nil {
		return err
	}
	status := StatusFiring
	if kind == kindResolve {
		status = StatusResolved
	}
	for _, s := range e.senders {
		routed := (kind == kindTrigger || kind == kindUpdate) && sev >= s.ch.MinSeverity
		if !had[s.ch.Name] && !routed {
			continue
		}
		// An undelivered trigger stays a trigger when a reminder or an
		// update follows it before it got through.
		q := e.db.Query().SQL("INSERT INTO cosmos_alert_deliveries (alert_id, channel, want_seq, want_status, want_kind, updated_at) VALUES ").
			Row(alertID, s.ch.Name, 1, status, kind, ms).
			SQL(` ON CONFLICT (alert_id, channel) DO UPDATE SET want_seq = cosmos_alert_deliveries.want_seq + 1,
				want_status = excluded.want_status, updated_at = excluded.updated_at,
				want_kind = CASE WHEN cosmos_alert_deliveries.sent_seq = 0 AND excluded.want_kind <> 'resolve'
					THEN 'trigger' ELSE excluded.want_kind END`)
		if _, err := tx.ExecContext(ctx, q.String(), q.Args()...); err != nil {
			return err
		}
	}
	return nil
}

// updateGauge sets valtrack_cosmos_alerts_firing for the chain.
func (e *Engine) updateGauge(ctx context.Context, chain string) error {
	q := e.db.Query().SQL("SELECT rule, severity, count(*) FROM cosmos_alerts WHERE chain = ").Arg(chain).
		SQL(" AND status = ").Arg(StatusFiring).SQL(" GROUP BY rule, severity")
	rows, err := e.db.Reader().QueryContext(ctx, q.String(), q.Args()...)
	if err != nil {
		return fmt.Errorf("count firing alerts of %s: %w", chain, e.db.Scrub(err))
	}
	defer rows.Close()
	type lv struct{ rule, sev string }
	counts := map[lv]float64{}
	for rows.Next() {
		var k lv
		var n int64
		if err := rows.Scan(&k.rule, &k.sev, &n); err != nil {
			return fmt.Errorf("count firing alerts of %s: %w", chain, e.db.Scrub(err))
		}
		counts[k] = float64(n)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("count firing alerts of %s: %w", chain, e.db.Scrub(err))
	}
	e.m.firing.DeletePartialMatch(prometheus.Labels{"chain": chain})
	for k, n := range counts {
		e.m.firing.WithLabelValues(chain, k.rule, k.sev).Set(n)
	}
	return nil
}

// List returns the chain's open alerts (pending and firing), and with
// includeResolved the resolved ones too, newest first (at most 1000).
func (e *Engine) List(ctx context.Context, chain string, includeResolved bool) ([]Alert, error) {
	q := e.db.Query().SQL("SELECT " + alertCols + " FROM cosmos_alerts WHERE chain = ").Arg(chain)
	if !includeResolved {
		q.SQL(" AND status <> ").Arg(StatusResolved)
	}
	q.SQL(" ORDER BY id DESC LIMIT ").Arg(listLimit)
	rows, err := e.db.Reader().QueryContext(ctx, q.String(), q.Args()...)
	if err != nil {
		return nil, fmt.Errorf("list alerts of %s: %w", chain, e.db.Scrub(err))
	}
	defer rows.Close()
	out := []Alert{}
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("list alerts of %s: %w", chain, e.db.Scrub(err))
		}
		out = append(out, a.public())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list alerts of %s: %w", chain, e.db.Scrub(err))
	}
	return out, nil
}

func msTime(ms int64) *time.Time {
	if ms == 0 {
		return nil
	}
	t := time.UnixMilli(ms).UTC()
	return &t
}

func (a alertRow) public() Alert {
	return Alert{ID: a.id, Key: a.key, Rule: a.rule, Chain: a.chain, Validator: a.address, Moniker: a.moniker,
		Status: a.status, Severity: a.severity, Value: a.value, Threshold: a.threshold, Unit: a.unit,
		Summary: a.summary, Since: time.UnixMilli(a.since).UTC(), FiredAt: msTime(a.firedAt),
		ResolvedAt: msTime(a.resolvedAt), UpdatedAt: time.UnixMilli(a.updatedAt).UTC()}
}

// Close stops the delivery workers: queued notifications get closeDrain to
// go out, then are aborted (they stay due in the store for the next start).
func (e *Engine) Close() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.closed = true
	for _, s := range e.senders {
		close(s.queue)
	}
	e.mu.Unlock()
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	t := time.NewTimer(e.drain)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		e.log.Warn("alert deliveries still running at shutdown; aborting them (they are sent at the next start)", "waited", e.drain)
	}
	e.cancel()
	<-done
}

// Retirer is the analyzer cosmos/alerts/retired of a process that names
// its chains (--cosmos): the open alerts of any other chain in the store
// that no process evaluates any more — one watched before and no longer
// configured — are resolved with a note saying so (a pending one is
// dropped unsent), their resolves delivered like any other, retried until
// they get through. A chain another process sharing the store evaluates
// (its heartbeat in cosmos_alert_watchers is live) is left to it: consumers
// that watch different chains do not resolve each other's alerts. This
// process's own heartbeats are not counted: they are those of a previous
// run (the holder is the same across restarts) that watched a chain it no
// longer names.
func (e *Engine) Retirer(watched []string) analyze.Analyzer {
	keep := map[string]bool{}
	for _, c := range watched {
		keep[c] = true
	}
	return analyze.Analyzer{Name: "cosmos/alerts/retired", Every: e.cfg.Interval,
		Run: func(ctx context.Context) error { return e.retire(ctx, keep) }}
}

func (e *Engine) retire(ctx context.Context, keep map[string]bool) error {
	// Chains with open alerts, or with notifications still due (a resolve
	// of a retired chain that has not got through yet).
	q := e.db.Query().SQL("SELECT DISTINCT chain FROM cosmos_alerts WHERE status <> ").Arg(StatusResolved).
		SQL(" UNION SELECT DISTINCT a.chain FROM cosmos_alerts a JOIN cosmos_alert_deliveries d ON d.alert_id = a.id WHERE d.sent_seq < d.want_seq")
	rows, err := e.db.Reader().QueryContext(ctx, q.String(), q.Args()...)
	if err != nil {
		return fmt.Errorf("list the chains with open alerts: %w", e.db.Scrub(err))
	}
	all, err := store.ScanStrings(rows, "list the chains with open alerts")
	if err != nil {
		return err
	}
	sort.Strings(all)
	var others map[string]bool
	var errs []error
	for _, chain := range all {
		if keep[chain] {
			continue
		}
		if others == nil {
			// Read only when a chain is a candidate: most passes find none.
			if others, err = e.watchedElsewhere(ctx); err != nil {
				return err
			}
		}
		if others[chain] {
			continue
		}
		if err := e.retireChain(ctx, chain); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// watchedElsewhere are the chains whose alerts another holder evaluates:
// its heartbeat has not expired.
func (e *Engine) watchedElsewhere(ctx context.Context) (map[string]bool, error) {
	q := e.db.Query().SQL("SELECT DISTINCT chain FROM cosmos_alert_watchers WHERE holder <> ").Arg(e.holder).
		SQL(" AND expires_at >= ").Arg(e.now().UnixMilli())
	rows, err := e.db.Reader().QueryContext(ctx, q.String(), q.Args()...)
	if err != nil {
		return nil, fmt.Errorf("read which chains other processes watch (cosmos_alert_watchers): %w", e.db.Scrub(err))
	}
	names, err := store.ScanStrings(rows, "read which chains other processes watch (cosmos_alert_watchers)")
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(names))
	for _, n := range names {
		out[n] = true
	}
	return out, nil
}

// retireChain resolves a chain's open alerts and sweeps its deliveries.
func (e *Engine) retireChain(ctx context.Context, chain string) error {
	now := e.now()
	ms := now.UnixMilli()
	note := " — resolved because chain " + chain + " is no longer watched (not among this process's --cosmos chains, and no other process sharing the store evaluates its alerts); its condition was not seen to clear"
	var resolved []string
	err := e.db.InTx(ctx, "retire the cosmos alerts of "+chain, func(tx *sql.Tx) error {
		resolved = resolved[:0]
		q := e.db.Query().SQL("SELECT " + alertCols + " FROM cosmos_alerts WHERE chain = ").Arg(chain).
			SQL(" AND status <> ").Arg(StatusResolved).SQL(" ORDER BY id")
		rows, err := tx.QueryContext(ctx, q.String(), q.Args()...)
		if err != nil {
			return err
		}
		var open []alertRow
		for rows.Next() {
			a, err := scanAlert(rows)
			if err != nil {
				rows.Close()
				return err
			}
			open = append(open, a)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, a := range open {
			if a.status == StatusPending {
				q := e.db.Query().SQL("DELETE FROM cosmos_alerts WHERE id = ").Arg(a.id)
				if _, err := tx.ExecContext(ctx, q.String(), q.Args()...); err != nil {
					return err
				}
				continue
			}
			q := e.db.Query().SQL("UPDATE cosmos_alerts SET status = ").Arg(StatusResolved).
				SQL(", summary = ").Arg(truncate(a.summary+note, 2000)).SQL(", clear_since = ").Arg(ms).
				SQL(", resolved_at = ").Arg(ms).SQL(", updated_at = ").Arg(ms).SQL(" WHERE id = ").Arg(a.id)
			if _, err := tx.ExecContext(ctx, q.String(), q.Args()...); err != nil {
				return err
			}
			if err := e.notify(ctx, tx, a.id, 0, kindResolve, ms); err != nil {
				return err
			}
			resolved = append(resolved, a.key)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("resolve the alerts of chain %s, no longer watched: %w", chain, e.db.Scrub(err))
	}
	for _, k := range resolved {
		e.log.Info("alert resolved: its chain is no longer watched", "chain", chain, "key", k)
	}
	if err := e.updateGauge(ctx, chain); err != nil {
		return err
	}
	return e.sweep(ctx, chain)
}
