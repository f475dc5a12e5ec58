// Package consumer is the one loop that turns a domain's events on the bus
// into its archive tables and its state: decode by kind, apply to the
// domain's sink, archive, and acknowledge only after both are durable. It
// knows no domain; a domain provides a Sink.
//
// Failures, and what happens to the batch:
//   - an event that cannot be decoded is counted, logged once per subject
//     and terminated;
//   - an outage (the store unreachable, a timeout) keeps the batch: it is
//     retried in place with backoff, its ack deadline extended, until it
//     applies or the consumer stops (then it is redelivered);
//   - an event whose Decode or Archive panics is refused: it goes to the
//     dead-letter subject with the panic and is counted, and the rest of
//     the batch goes on (a poison event would otherwise crash the process
//     at every redelivery);
//   - a batch the store refuses (store.Permanent, ErrRejected, a panic in
//     Apply) is split in halves until the events that fail it are found;
//     they go to the dead-letter subject <domain>.dlq.<kind> with the error
//     and are counted, and the rest of the batch is applied;
//   - on its last delivery (bus.Msg.LastDelivery) an event that still
//     cannot be applied although the store works (it fails alone) is
//     dead-lettered rather than dropped by the server; a store that is
//     down is waited for, never a reason to dead-letter (except at a stop,
//     where the server would give up events on their last delivery);
//   - while a batch keeps failing, Healthy reports it.
//
// A redelivered batch changes nothing: sinks are idempotent (keyed by
// message id) and the archive skips the events it holds.
package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/valtrack/valtrack/internal/archive"
	"github.com/valtrack/valtrack/internal/bus"
	"github.com/valtrack/valtrack/internal/store"
)

// DefaultBatchSize is the events per batch: per-batch costs (a SQLite
// transaction, Parquet syncs) dominate below ~2000 (docs/BENCHMARKS.md).
const DefaultBatchSize = 2000

// Event is one decoded event of a batch.
type Event struct {
	Network string // the subject's <network> token
	Kind    string // the subject's last token
	MsgID   string // the bus message id: the idempotency key of every row
	Value   any    // what the sink's Decode returned
}

// Sink is what a domain gives the consumer.
type Sink interface {
	// Decode parses the payload of one event of the given kind. An error
	// refuses the event: it is terminated and counted, never retried.
	// Strings from the network are made safe here (internal/safe).
	Decode(kind string, data []byte) (any, error)
	// Apply writes events to the domain's tables in one transaction. It
	// must be idempotent: a redelivered batch, or a part of one, changes
	// nothing. An error that store.Permanent recognises, or one wrapping
	// ErrRejected, means the data is refused (the batch is split to find
	// the culprits); any other error is an outage (the batch is retried).
	Apply(ctx context.Context, evs []Event) error
	// Archive appends the archive rows of events the archive does not hold
	// yet (the consumer Syncs after). Called only when there is an archive.
	Archive(evs []Event) error
}

// AppliedChecker is a Sink that can tell which events its tables already
// hold. The consumer then archives none of those where a message can come
// back without the archive knowing it: on a JetStream cluster, a leader
// change redelivers messages another consumer of the durable already wrote.
type AppliedChecker interface {
	Applied(ctx context.Context, msgIDs []string) (map[string]bool, error)
}

// ErrRejected wraps a sink's refusal of an event that can never apply.
var ErrRejected = errors.New("event rejected")

// Config configures a consumer.
type Config struct {
	Bus     *bus.Bus
	Domain  string // the stream to read: <domain>.>
	Sink    Sink
	Archive *archive.Writer // nil: no archive
	// Durable is the JetStream durable consumer name; processes using the
	// same name share the work.
	Durable   string
	BatchSize int
	MaxWait   time.Duration
	// AckWait is how long the bus waits for an acknowledgement before it
	// redelivers (default 30s): a consumer that dies mid-batch has its
	// batch redelivered to the others after this.
	AckWait time.Duration
	// MaxDeliver bounds deliveries of one message (default
	// bus.DefaultMaxDeliver).
	MaxDeliver int
	// RetryMax caps the backoff between in-place retries of a batch during
	// an outage (default 10s).
	RetryMax time.Duration
	// WaitForStream: the stream is made by the domain's sentries, so wait
	// until it exists instead of creating it. A consumer of a fleet reads
	// every domain, but a stream reserves its size on the server up front:
	// creating the streams of domains no sentry publishes would reserve
	// disk for nothing, and can fail a server with room for what is used.
	WaitForStream bool
	// Probe, when set, tells whether the store works (e.g. a Ping of the
	// database): an event that fails alone on its last delivery is set
	// aside only while the store answers. Without it, the rest of the batch
	// applying is the sign.
	Probe      func(context.Context) error
	Registerer prometheus.Registerer
	Log        *slog.Logger
}

// Consumer is a running consumer of one domain's stream.
type Consumer struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics

	mu        sync.Mutex
	loggedBad map[string]bool  // subjects already logged as undecodable
	failing   map[string]error // part ("apply", "archive") → why its batch keeps failing
	processed uint64
}

// Healthy fails while a batch has kept failing (an outage of the store or
// the archive), saying what fails and since when; the consumer retries on
// its own meanwhile.
func (c *Consumer) Healthy() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, part := range []string{"apply", "archive"} {
		if err := c.failing[part]; err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("consumer %s: %w — check the state store and the archive's disk", c.cfg.Domain, errors.Join(errs...))
	}
	return nil
}

// New validates the configuration.
func New(cfg Config) (*Consumer, error) {
	if cfg.Bus == nil || cfg.Sink == nil {
		return nil, errors.New("consumer: a bus and a sink are required")
	}
	if cfg.Domain == "" {
		return nil, errors.New("consumer: Domain is required (the stream to read)")
	}
	if cfg.Durable == "" {
		cfg.Durable = "valtrack-" + cfg.Domain
	}
	if cfg.BatchSize < 0 || cfg.MaxWait < 0 || cfg.AckWait < 0 || cfg.RetryMax < 0 {
		return nil, fmt.Errorf("consumer %s: negative BatchSize %d, MaxWait %s, AckWait %s or RetryMax %s; use 0 for the default",
			cfg.Domain, cfg.BatchSize, cfg.MaxWait, cfg.AckWait, cfg.RetryMax)
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = time.Second
	}
	if cfg.AckWait == 0 {
		cfg.AckWait = bus.DefaultAckWait
	}
	if cfg.MaxDeliver == 0 {
		cfg.MaxDeliver = bus.DefaultMaxDeliver
	}
	if cfg.RetryMax == 0 {
		cfg.RetryMax = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", cfg.Domain, err)
	}
	return &Consumer{cfg: cfg, log: cfg.Log.With("component", "consumer", "domain", cfg.Domain), metrics: m,
		loggedBad: map[string]bool{}, failing: map[string]error{}}, nil
}

// Processed is the number of events written so far.
func (c *Consumer) Processed() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.processed
}

// Run consumes until ctx is done.
func (c *Consumer) Run(ctx context.Context) error {
	if c.cfg.WaitForStream {
		if err := c.waitForStream(ctx); err != nil {
			return err
		}
	}
	if err := c.cfg.Bus.EnsureStream(ctx, c.cfg.Domain); err != nil {
		return fmt.Errorf("consumer %s: ensure stream: %w", c.cfg.Domain, err)
	}
	return c.cfg.Bus.Consume(ctx, bus.ConsumeConfig{
		Domain:     c.cfg.Domain,
		Durable:    c.cfg.Durable,
		BatchSize:  c.cfg.BatchSize,
		MaxWait:    c.cfg.MaxWait,
		AckWait:    c.cfg.AckWait,
		MaxDeliver: c.cfg.MaxDeliver,
	}, c.handle)
}

// streamPoll is how often a consumer waiting for its stream looks again.
var streamPoll = 2 * time.Second

// waitForStream returns once the domain's stream exists, or ctx is done.
func (c *Consumer) waitForStream(ctx context.Context) error {
	logged := false
	for {
		ok, err := c.cfg.Bus.StreamExists(ctx, c.cfg.Domain)
		switch {
		case ok:
			if logged {
				c.log.Info("stream found; consuming", "stream", c.cfg.Bus.StreamName(c.cfg.Domain))
			}
			return nil
		case err != nil:
			c.log.Warn("cannot look up the stream; retrying", "stream", c.cfg.Bus.StreamName(c.cfg.Domain), "err", err)
		case !logged:
			c.log.Info("waiting for the stream: a `valtrack sentry "+c.cfg.Domain+"` creates it",
				"stream", c.cfg.Bus.StreamName(c.cfg.Domain))
			logged = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(streamPoll):
		}
	}
}

// decoded is an event with the message it came in.
type decoded struct {
	msg *bus.Msg
	ev  Event
}

func (c *Consumer) reject(m *bus.Msg, kind string, err error) {
	c.metrics.rejected.WithLabelValues(c.cfg.Domain, kind).Inc()
	c.mu.Lock()
	first := !c.loggedBad[m.Subject]
	if first && len(c.loggedBad) < maxLoggedSubjects {
		c.loggedBad[m.Subject] = true
	}
	c.mu.Unlock()
	if first {
		c.log.Warn("refusing an event it cannot read (further ones on this subject are counted, not logged)",
			"subject", m.Subject, "stream_seq", m.StreamSeq, "err", err)
	}
	if terr := m.Term(); terr != nil {
		c.log.Debug("terminate message", "subject", m.Subject, "err", terr)
	}
}

// maxLoggedSubjects bounds the memory of subjects already logged: subjects
// come from publishers, which may be hostile.
const maxLoggedSubjects = 10_000

// splitSubject returns the network and kind of <domain>.<network>.<kind>.
func (c *Consumer) splitSubject(subject string) (network, kind string, err error) {
	parts := strings.Split(subject, ".")
	if len(parts) != 3 || parts[0] != c.cfg.Domain || parts[1] == "" || parts[2] == "" {
		return "", "", fmt.Errorf("subject %q is not %s.<network>.<event>", subject, c.cfg.Domain)
	}
	return parts[1], parts[2], nil
}

// decodeAll decodes a batch, refusing what it cannot read and passing over
// the dead letters the stream also holds. An event whose Decode panics is
// set aside on the dead-letter subject with the panic; when that cannot be
// published it returns an error, and the batch is redelivered. (Decoding
// in parallel was measured: no gain on the pipeline benchmark, whose bound
// is the store's single writer.)
func (c *Consumer) decodeAll(ctx context.Context, batch []*bus.Msg) ([]decoded, error) {
	ds := make([]decoded, 0, len(batch))
	var dlErrs []error
	for _, m := range batch {
		if bus.IsDeadLetter(c.cfg.Domain, m.Subject) {
			continue // acknowledged with the batch; they are for people to read
		}
		network, kind, err := c.splitSubject(m.Subject)
		if err != nil {
			c.reject(m, "unknown", err)
			continue
		}
		d := decoded{msg: m, ev: Event{Network: network, Kind: kind, MsgID: msgID(m)}}
		v, err := c.decode(kind, m.Data)
		var pe *panicError
		switch {
		case errors.As(err, &pe):
			if err := c.deadLetter(ctx, []decoded{d}, err); err != nil {
				dlErrs = append(dlErrs, err)
			}
			continue
		case err != nil:
			c.reject(m, kind, err)
			continue
		}
		d.ev.Value = v
		ds = append(ds, d)
	}
	if len(dlErrs) > 0 {
		return nil, fmt.Errorf("set aside events whose decoding panicked: %w", errors.Join(dlErrs...))
	}
	return ds, nil
}

// panicError is a panic of the sink's code, recovered: the event that
// caused it is refused (dead-lettered) rather than crashing the consumer,
// which would then crash again on the same event at every restart.
type panicError struct {
	where string
	value any
}

func (e *panicError) Error() string { return fmt.Sprintf("sink %s panicked: %v", e.where, e.value) }

// Unwrap makes a panic a refusal (ErrRejected).
func (e *panicError) Unwrap() error { return ErrRejected }

// decode calls the sink's Decode, turning a panic into a panicError.
func (c *Consumer) decode(kind string, data []byte) (v any, err error) {
	defer func() {
		if p := recover(); p != nil {
			v, err = nil, &panicError{where: "decode of a " + kind + " event", value: p}
		}
	}()
	return c.cfg.Sink.Decode(kind, data)
}

// archiveEvents calls the sink's Archive, turning a panic into a panicError.
func (c *Consumer) archiveEvents(ds []decoded) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &panicError{where: "archive", value: p}
		}
	}()
	evs := make([]Event, len(ds))
	for i, d := range ds {
		evs[i] = d.ev
	}
	return c.cfg.Sink.Archive(evs)
}

// handle writes one batch; returning nil acknowledges it.
func (c *Consumer) handle(ctx context.Context, batch []*bus.Msg) error {
	start := time.Now()
	ds, err := c.decodeAll(ctx, batch)
	if err != nil {
		c.metrics.failures.WithLabelValues(c.cfg.Domain).Inc()
		return fmt.Errorf("consumer %s: %w", c.cfg.Domain, err)
	}
	if len(ds) == 0 {
		return nil
	}
	// The archive keeps every readable event, including one the store
	// refuses. Both writes are idempotent for a redelivered batch (the
	// archive skips message ids it holds, the sink is keyed by them), and
	// the batch is acknowledged only after both.
	if c.cfg.Archive != nil && c.cfg.Bus.Clustered() {
		err = c.writeInOrder(ctx, batch, ds)
	} else {
		err = c.writeConcurrently(ctx, batch, ds)
	}
	if err != nil {
		c.metrics.failures.WithLabelValues(c.cfg.Domain).Inc()
		return fmt.Errorf("consumer %s: write batch: %w", c.cfg.Domain, err)
	}
	n := 0
	for _, d := range ds {
		if !d.msg.Termed() {
			c.metrics.events.WithLabelValues(c.cfg.Domain, d.ev.Kind).Inc()
			n++
		}
	}
	c.metrics.batches.WithLabelValues(c.cfg.Domain).Inc()
	c.metrics.batchSecs.WithLabelValues(c.cfg.Domain).Observe(time.Since(start).Seconds())
	c.mu.Lock()
	c.processed += uint64(n)
	c.mu.Unlock()
	return nil
}

// writeConcurrently archives and applies at once, the fast path: a
// redelivery can only come back to an archive that remembers it (this
// process's, or one reloaded from its files), except when another consumer
// takes over a batch after AckWait, which can archive it twice across the
// two archives (they merge by msg_id).
func (c *Consumer) writeConcurrently(ctx context.Context, batch []*bus.Msg, ds []decoded) error {
	var archErr error
	var wg sync.WaitGroup
	if c.cfg.Archive != nil {
		wg.Go(func() { archErr = c.archiveBatch(ctx, batch, ds, nil) })
	}
	storeErr := c.applyBatch(ctx, batch, ds)
	wg.Wait()
	return errors.Join(archErr, storeErr)
}

// writeInOrder is the path on a JetStream cluster, where a leader change
// redelivers messages that another consumer of the durable already wrote,
// even as first deliveries: events the sink's tables hold are not archived
// again. That holds only if whatever is stored is archived, so the archive
// is made durable before the batch is applied.
func (c *Consumer) writeInOrder(ctx context.Context, batch []*bus.Msg, ds []decoded) error {
	var stored map[string]bool
	if ac, ok := c.cfg.Sink.(AppliedChecker); ok {
		ids := make([]string, 0, len(ds))
		for _, d := range ds {
			if !c.cfg.Archive.Contains(d.ev.MsgID) {
				ids = append(ids, d.ev.MsgID)
			}
		}
		if len(ids) > 0 {
			var err error
			if stored, err = ac.Applied(ctx, ids); err != nil {
				return fmt.Errorf("check which events are stored already: %w", err)
			}
		}
	}
	if err := c.archiveBatch(ctx, batch, ds, stored); err != nil {
		return err
	}
	return c.applyBatch(ctx, batch, ds)
}

// applyBatch applies ds, retrying in place through an outage and setting
// refused events aside; it returns an error only when ctx ends first.
//
// An event on its last delivery (the server gives it up unless it is
// acknowledged now) that keeps failing with an error that is neither a
// refusal nor an outage is tried alone: if it fails while the store works
// (Config.Probe answers, or the rest of the batch applies without it), it
// is the event's fault and it is set aside. A store that is down
// (store.Unavailable, or nothing applies) fails every event alike: then
// nothing is set aside, and the batch waits for the store, however long.
func (c *Consumer) applyBatch(ctx context.Context, batch []*bus.Msg, ds []decoded) error {
	r := c.retrier(batch, "apply")
	defer r.done()
	for attempt := 1; ; attempt++ {
		err := c.isolate(ctx, ds)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			c.setAsideAtStop(ds, err)
			return err
		}
		if last := lastDelivery(ds); len(last) > 0 && attempt >= 3 && !store.Unavailable(err) {
			if culprits := c.singleOut(ctx, ds, last); len(culprits) > 0 {
				for _, cu := range culprits {
					if dlErr := c.deadLetter(ctx, []decoded{cu.d}, fmt.Errorf("fails alone on its last delivery while the store works: %w", cu.err)); dlErr != nil {
						c.log.Warn("cannot set aside an event of a last delivery; retrying", "err", dlErr)
					}
				}
				ds = pending(ds)
				continue
			}
		}
		if err := r.wait(ctx, "batch not applied", attempt, len(ds), err); err != nil {
			c.setAsideAtStop(ds, err)
			return err
		}
	}
}

// culprit is an event that fails alone, with its error.
type culprit struct {
	d   decoded
	err error
}

// singleOut applies each event of last alone and returns those that fail
// while the store is shown to work. None when the store is down.
func (c *Consumer) singleOut(ctx context.Context, ds, last []decoded) []culprit {
	var failed []culprit
	for _, d := range last {
		err := c.apply(ctx, []decoded{d})
		switch {
		case err == nil:
			// Applied (idempotently, so the retry of the batch is harmless).
		case ctx.Err() != nil || store.Unavailable(err):
			return nil
		default:
			failed = append(failed, culprit{d, err})
		}
	}
	if len(failed) == 0 {
		return nil
	}
	if c.cfg.Probe != nil {
		if err := c.cfg.Probe(ctx); err != nil {
			return nil // the store is down: the events are not at fault
		}
		return failed
	}
	skip := map[string]bool{}
	for _, f := range failed {
		skip[f.d.ev.MsgID] = true
	}
	var rest []decoded
	for _, d := range pending(ds) {
		if !skip[d.ev.MsgID] {
			rest = append(rest, d)
		}
	}
	if len(rest) == 0 || c.apply(ctx, rest) != nil {
		return nil // no sign that the store works: wait for it
	}
	return failed
}

// setAsideAtStop: the consumer stops while a batch still fails. Its events
// are handed back to the server, which redelivers them — except those on
// their last delivery, which it would give up: those are set aside with
// the error instead (a fresh context: ctx has ended), so that a store
// outage through many restarts loses nothing; they can be replayed from
// the dead-letter subject.
func (c *Consumer) setAsideAtStop(ds []decoded, err error) {
	last := lastDelivery(ds)
	if len(last) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if dlErr := c.deadLetter(ctx, last, fmt.Errorf("consumer stopped on the event's last delivery while it could not be applied (%w); set aside so that it is not lost", err)); dlErr != nil {
		c.log.Error("events on their last delivery are neither applied nor set aside; the server gives them up", "events", len(last), "err", dlErr)
	}
}

// archiveBatch archives ds (less stored), retrying in place while the
// archive cannot be written (a full disk is an outage too: the rows stay
// pending in the writer and each retry's Sync writes them).
func (c *Consumer) archiveBatch(ctx context.Context, batch []*bus.Msg, ds []decoded, stored map[string]bool) error {
	r := c.retrier(batch, "archive")
	defer r.done()
	poisoned := map[string]error{} // events whose archiving panicked, kept over retries
	for attempt := 1; ; attempt++ {
		err := c.archive(ctx, ds, stored, poisoned)
		if err == nil {
			return nil
		}
		if err := r.wait(ctx, "batch not archived", attempt, len(ds), fmt.Errorf("archive batch: %w", err)); err != nil {
			return err
		}
	}
}

// retrier paces in-place retries of one batch.
type retrier struct {
	c       *Consumer
	part    string // "apply" or "archive": what is failing, for Healthy
	batch   []*bus.Msg
	backoff time.Duration
	touched time.Time
	since   time.Time
}

func (c *Consumer) retrier(batch []*bus.Msg, part string) *retrier {
	return &retrier{c: c, part: part, batch: batch, backoff: 100 * time.Millisecond, touched: time.Now(), since: time.Now()}
}

// unhealthyAfter is the failed attempts of one batch after which the
// consumer reports unhealthy: a blip retried once or twice is not worth a
// page, an outage is.
const unhealthyAfter = 3

// done clears what the retrier reported: the batch went through (or the
// consumer stops).
func (r *retrier) done() {
	r.c.mu.Lock()
	delete(r.c.failing, r.part)
	r.c.mu.Unlock()
}

// wait logs and counts a failed attempt, waits its backoff and keeps the
// batch's ack deadlines fresh meanwhile, so no other consumer is handed the
// batch while this one waits out an outage. It returns err when the
// consumer stops first (the batch is then redelivered).
func (r *retrier) wait(ctx context.Context, what string, attempt, events int, err error) error {
	r.c.log.Warn(what+"; retrying in place", "events", events, "attempt", attempt, "retry_in", r.backoff, "err", err)
	r.c.metrics.retries.WithLabelValues(r.c.cfg.Domain).Inc()
	if attempt >= unhealthyAfter {
		r.c.mu.Lock()
		r.c.failing[r.part] = fmt.Errorf("%s: %d events not written for %s (attempt %d), retrying in place: %w",
			what, events, time.Since(r.since).Round(time.Second), attempt, err)
		r.c.mu.Unlock()
	}
	select {
	case <-ctx.Done():
		return err
	case <-time.After(r.backoff):
	}
	r.backoff = min(r.backoff*2, r.c.cfg.RetryMax)
	if time.Since(r.touched) > r.c.cfg.AckWait/3 {
		for _, m := range r.batch {
			_ = m.InProgress()
		}
		r.touched = time.Now()
	}
	return nil
}

// isolate applies ds; when the store refuses the batch it splits it in
// halves, recursively, until the refused events are alone, dead-letters
// those and applies the rest. It returns the first error that is not a
// refusal (an outage): the caller retries what is left.
func (c *Consumer) isolate(ctx context.Context, ds []decoded) error {
	live := pending(ds)
	if len(live) == 0 {
		return nil
	}
	err := c.apply(ctx, live)
	if err == nil || !refused(err) {
		return err
	}
	if len(live) == 1 {
		// If the dead letter cannot be published the event stays in the
		// batch, which is retried as in an outage: never acknowledged
		// without being either applied or set aside.
		return c.deadLetter(ctx, live, err)
	}
	mid := len(live) / 2
	if err := c.isolate(ctx, live[:mid]); err != nil {
		return err
	}
	return c.isolate(ctx, live[mid:])
}

// apply calls the sink, turning a panic into a refusal of the batch: one
// event that crashes a sink must not crash the consumer in a loop.
func (c *Consumer) apply(ctx context.Context, ds []decoded) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &panicError{where: "apply", value: p}
		}
	}()
	evs := make([]Event, len(ds))
	for i, d := range ds {
		evs[i] = d.ev
	}
	return c.cfg.Sink.Apply(ctx, evs)
}

func refused(err error) bool {
	return errors.Is(err, ErrRejected) || store.Permanent(err)
}

// deadLetter sets events aside on the dead-letter subject and terminates
// them; one that cannot be published stays pending and makes it return an
// error (the caller retries the batch), never dropped.
func (c *Consumer) deadLetter(ctx context.Context, ds []decoded, why error) error {
	var errs []error
	for _, d := range ds {
		if err := c.cfg.Bus.DeadLetter(ctx, c.cfg.Domain, d.ev.Kind, d.msg, why); err != nil {
			c.log.Error("cannot set a refused event aside; it stays in the batch", "subject", d.msg.Subject, "err", err)
			errs = append(errs, err)
			continue
		}
		c.metrics.deadLettered.WithLabelValues(c.cfg.Domain, d.ev.Kind).Inc()
		c.log.Warn("event set aside on the dead-letter subject", "subject", d.msg.Subject, "stream_seq", d.msg.StreamSeq,
			"dead_letter", bus.DeadLetterSubject(c.cfg.Domain, d.ev.Kind), "err", why)
		if err := d.msg.Term(); err != nil {
			c.log.Debug("terminate message", "subject", d.msg.Subject, "err", err)
		}
	}
	return errors.Join(errs...)
}

// pending are the events not set aside.
func pending(ds []decoded) []decoded {
	out := ds[:0:0]
	for _, d := range ds {
		if !d.msg.Termed() {
			out = append(out, d)
		}
	}
	return out
}

func lastDelivery(ds []decoded) []decoded {
	var out []decoded
	for _, d := range ds {
		if !d.msg.Termed() && d.msg.LastDelivery() {
			out = append(out, d)
		}
	}
	return out
}

func msgID(m *bus.Msg) string {
	if m.MsgID != "" {
		return m.MsgID
	}
	return fmt.Sprintf("seq-%d", m.StreamSeq)
}

// archive writes the events neither the archive nor (stored) the tables
// hold yet, then Syncs: a batch redelivered after a crash between
// archiving and acknowledging is archived only once.
//
// When the sink's Archive panics, the events are archived one by one to
// find those that make it panic (rows already taken are skipped: the
// archive's tables drop ids they hold); each such event goes to the
// dead-letter subject with the panic — it is refused, though on the
// concurrent path the store may have applied it already — and the rest
// are archived.
func (c *Consumer) archive(ctx context.Context, ds []decoded, stored map[string]bool, poisoned map[string]error) error {
	fresh := make([]decoded, 0, len(ds))
	for _, d := range ds {
		if poisoned[d.ev.MsgID] == nil && !stored[d.ev.MsgID] && !c.cfg.Archive.Contains(d.ev.MsgID) {
			fresh = append(fresh, d)
		}
	}
	if len(fresh) > 0 {
		var pe *panicError
		err := c.archiveEvents(fresh)
		switch {
		case errors.As(err, &pe):
			for _, d := range fresh {
				err := c.archiveEvents([]decoded{d})
				switch {
				case errors.As(err, &pe):
					poisoned[d.ev.MsgID] = err
				case err != nil:
					return err
				}
			}
		case err != nil:
			return err
		}
	}
	var dlErrs []error
	for _, d := range ds {
		if why := poisoned[d.ev.MsgID]; why != nil && !d.msg.Termed() {
			if err := c.deadLetter(ctx, []decoded{d}, why); err != nil {
				dlErrs = append(dlErrs, err)
			}
		}
	}
	if len(dlErrs) > 0 {
		return fmt.Errorf("set aside events whose archiving panicked: %w", errors.Join(dlErrs...))
	}
	return c.cfg.Archive.Sync()
}
