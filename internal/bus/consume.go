package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults and bounds of ConsumeConfig.
const (
	DefaultBatchSize  = 500
	MaxBatchSize      = 100_000
	DefaultBatchBytes = 64 << 20
	DefaultMaxWait    = time.Second
	MinMaxWait        = 10 * time.Millisecond
	DefaultAckWait    = 30 * time.Second
	// DefaultMaxDeliver bounds redeliveries: a message that keeps failing is
	// not redelivered forever (a handler sets such a message aside on its
	// last delivery, see Msg.LastDelivery).
	DefaultMaxDeliver    = 20
	maxMaxDeliver        = 1000
	DefaultMaxAckPending = 10_000
	DefaultNakDelay      = 5 * time.Second
	ackSyncTimeout       = 10 * time.Second
	consumeRetryMax      = 5 * time.Second
)

// ConsumeConfig configures a durable pull consumer.
type ConsumeConfig struct {
	Domain         string        // stream of this domain
	Durable        string        // durable consumer name; processes with the same name share the work
	FilterSubjects []string      // subjects to read (without SubjectPrefix); empty: the whole stream
	BatchSize      int           // messages per batch; default 500
	BatchBytes     int           // bytes per batch; default 64 MiB; not applied on a cluster (see fetch)
	MaxWait        time.Duration // a partial batch is delivered after this; default 1s
	AckWait        time.Duration // redelivery after this without ack; default 30s
	MaxDeliver     int           // deliveries before the server gives up; default 20, at most 1000 (never unlimited: a poison message would come back forever)
	MaxAckPending  int           // unacknowledged messages across all members; default 10000
	NakDelay       time.Duration // redelivery delay of a batch whose handler failed; default 5s
}

func (cc ConsumeConfig) withDefaults() (ConsumeConfig, error) {
	if err := validateDomain(cc.Domain); err != nil {
		return cc, fmt.Errorf("consume config: %w", err)
	}
	if cc.Durable == "" || strings.ContainsAny(cc.Durable, " \t\r\n.*>/\\") || len(cc.Durable) > 128 {
		return cc, fmt.Errorf("consume config: Durable %q must be a non-empty name without whitespace, '.', '*', '>', '/' or '\\'", cc.Durable)
	}
	for _, s := range cc.FilterSubjects {
		if err := validateFilter(s); err != nil {
			return cc, fmt.Errorf("consume config: FilterSubjects: %w", err)
		}
		if s != cc.Domain+".>" && !strings.HasPrefix(s, cc.Domain+".") {
			return cc, fmt.Errorf("consume config: filter %q is outside domain %q; use %s.<...>", s, cc.Domain, cc.Domain)
		}
	}
	var err error
	if cc.BatchSize, err = intDefault("BatchSize", cc.BatchSize, DefaultBatchSize, MaxBatchSize); err != nil {
		return cc, err
	}
	if cc.BatchBytes, err = intDefault("BatchBytes", cc.BatchBytes, DefaultBatchBytes, 1<<30); err != nil {
		return cc, err
	}
	if cc.MaxAckPending, err = intDefault("MaxAckPending", cc.MaxAckPending, DefaultMaxAckPending, 1<<24); err != nil {
		return cc, err
	}
	switch {
	case cc.MaxDeliver == 0:
		cc.MaxDeliver = DefaultMaxDeliver
	case cc.MaxDeliver < 1 || cc.MaxDeliver > maxMaxDeliver:
		return cc, fmt.Errorf("consume config: MaxDeliver %d is invalid; give 1..%d (unlimited redelivery would let one poison message come back forever)", cc.MaxDeliver, maxMaxDeliver)
	}
	if cc.MaxWait, err = positiveOrDefault("MaxWait", cc.MaxWait, DefaultMaxWait); err != nil {
		return cc, err
	}
	if cc.MaxWait < MinMaxWait {
		return cc, fmt.Errorf("consume config: MaxWait %s is below %s", cc.MaxWait, MinMaxWait)
	}
	if cc.AckWait, err = positiveOrDefault("AckWait", cc.AckWait, DefaultAckWait); err != nil {
		return cc, err
	}
	if cc.NakDelay, err = positiveOrDefault("NakDelay", cc.NakDelay, DefaultNakDelay); err != nil {
		return cc, err
	}
	return cc, nil
}

func intDefault(field string, v, def, maxV int) (int, error) {
	switch {
	case v == 0:
		return def, nil
	case v < 0 || v > maxV:
		return 0, fmt.Errorf("consume config: %s %d is out of range 1..%d", field, v, maxV)
	}
	return v, nil
}

// validateFilter accepts subjects with wildcards ('*' tokens, a final '>').
func validateFilter(s string) error {
	if s == "" {
		return errors.New("filter is empty")
	}
	toks := strings.Split(s, ".")
	for i, tok := range toks {
		switch {
		case tok == "*":
		case tok == ">" && i == len(toks)-1:
		case validToken(tok):
		default:
			return fmt.Errorf("filter %q has an invalid token %q", s, tok)
		}
	}
	return nil
}

// Msg is a message delivered to a Consume handler.
type Msg struct {
	Subject string // without SubjectPrefix
	Data    []byte
	Header  nats.Header
	// MsgID is the Nats-Msg-Id; for a replayed dead letter (HeaderReplayOf)
	// the original's, from HeaderReplayMsgID, so that what it writes is
	// keyed as the original would have been.
	MsgID        string
	StreamSeq    uint64
	NumDelivered uint64 // 1 on first delivery
	// MaxDeliver is the consumer's delivery bound (-1: none).
	MaxDeliver int

	jm      jetstream.Msg
	termed  atomic.Bool
	metrics *Metrics
}

// Term tells the consumer to give up on this message (it cannot be decoded):
// it is neither acknowledged nor redelivered.
func (m *Msg) Term() error {
	if m.termed.Swap(true) {
		return nil
	}
	if m.jm == nil {
		return nil
	}
	if err := m.jm.Term(); err != nil {
		return fmt.Errorf("term message %d on %s: %w", m.StreamSeq, m.Subject, err)
	}
	if m.metrics != nil {
		m.metrics.Termed.Inc()
	}
	return nil
}

// Termed reports whether Term was called.
func (m *Msg) Termed() bool { return m.termed.Load() }

// LastDelivery reports whether the server will not deliver this message
// again if it is not acknowledged now.
func (m *Msg) LastDelivery() bool {
	return m.MaxDeliver > 0 && m.NumDelivered >= uint64(m.MaxDeliver)
}

// InProgress tells the server the message is still being worked on: its
// AckWait starts again, so a handler that waits out an outage holding its
// batch does not have it redelivered to another consumer meanwhile.
func (m *Msg) InProgress() error {
	if m.jm == nil || m.Termed() {
		return nil
	}
	if err := m.jm.InProgress(); err != nil {
		return fmt.Errorf("extend ack deadline of message %d on %s: %w", m.StreamSeq, m.Subject, err)
	}
	return nil
}

// Consume reads the domain's stream through the durable pull consumer
// cc.Durable until ctx is done, calling handle with each batch. When handle
// returns nil every message not Term'ed is acknowledged; when it returns an
// error the batch is redelivered after cc.NakDelay. Consume returns nil when
// ctx is done, or an error if the consumer cannot be set up.
func (b *Bus) Consume(ctx context.Context, cc ConsumeConfig, handle func(ctx context.Context, batch []*Msg) error) error {
	cc, err := cc.withDefaults()
	if err != nil {
		return err
	}
	if handle == nil {
		return errors.New("consume: handle is nil")
	}
	cons, err := b.ensureConsumer(ctx, cc)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while setting up: a clean stop, like any other
		}
		return err
	}
	log := b.log.With("stream", b.StreamName(cc.Domain), "durable", cc.Durable)
	failures := 0
	for ctx.Err() == nil {
		batch, err := b.fetch(ctx, cons, cc)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			failures++
			wait := min(100*time.Millisecond<<min(failures, 8), consumeRetryMax)
			log.Warn("fetch failed; retrying", "err", scrub(err, b.secrets), "retry_in", wait)
			if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrConsumerDeleted) {
				if c, cerr := b.ensureConsumer(ctx, cc); cerr == nil {
					cons = c
				}
			}
			sleep(ctx, wait)
			continue
		}
		failures = 0
		if len(batch) == 0 {
			continue
		}
		if ctx.Err() != nil {
			// Stopping: hand the batch back at once rather than to a handler
			// whose context is already cancelled.
			b.nakAll(batch, 0, log)
			break
		}
		b.metrics.Consumed.Add(float64(len(batch)))
		if herr := handle(ctx, batch); herr != nil {
			log.Error("batch handler failed; batch will be redelivered", "err", herr, "messages", len(batch), "redeliver_in", cc.NakDelay)
			b.nakAll(batch, cc.NakDelay, log)
			continue
		}
		b.ackAll(ctx, batch, log)
	}
	return nil
}

func (b *Bus) ensureConsumer(ctx context.Context, cc ConsumeConfig) (jetstream.Consumer, error) {
	stream := b.StreamName(cc.Domain)
	if _, err := b.js.Stream(ctx, stream); errors.Is(err, jetstream.ErrStreamNotFound) {
		if err := b.EnsureStream(ctx, cc.Domain); err != nil {
			return nil, fmt.Errorf("consume %s: %w", cc.Durable, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("consume %s: look up stream %s: %w", cc.Durable, stream, scrub(err, b.secrets))
	}
	// Replicas is left 0: a durable then has as many replicas as its stream,
	// also after the stream is scaled, so its position survives the loss of
	// a cluster node exactly as the messages do.
	conf := jetstream.ConsumerConfig{
		Durable:       cc.Durable,
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckWait:       cc.AckWait,
		MaxDeliver:    cc.MaxDeliver,
		MaxAckPending: cc.MaxAckPending,
	}
	switch len(cc.FilterSubjects) {
	case 0:
	case 1:
		conf.FilterSubject = b.cfg.SubjectPrefix + cc.FilterSubjects[0]
	default:
		for _, s := range cc.FilterSubjects {
			conf.FilterSubjects = append(conf.FilterSubjects, b.cfg.SubjectPrefix+s)
		}
	}
	cons, err := b.js.CreateOrUpdateConsumer(ctx, stream, conf)
	if err != nil {
		return nil, fmt.Errorf("consume: create durable consumer %s on %s: %w (a consumer of that name with another filter must be deleted first)",
			cc.Durable, stream, scrub(err, b.secrets))
	}
	return cons, nil
}

// fetch returns up to BatchSize messages, waiting at most MaxWait for a full
// batch. An empty batch is not an error.
func (b *Bus) fetch(ctx context.Context, cons jetstream.Consumer, cc ConsumeConfig) ([]*Msg, error) {
	// The wait is the server's (FetchMaxWait), not a client context: a pull
	// request cut short on the client side loses the messages the server
	// already sent for it until AckWait redelivers them.
	opts := []jetstream.FetchOpt{jetstream.FetchMaxWait(cc.MaxWait)}
	// No byte limit on a cluster: there the server's "409 Batch Completed"
	// status, sent with a byte-limited pull, can reach the client ahead of
	// the batch's messages (seen with nats-server 2.15). The client then
	// ends the fetch empty and drops the messages that follow, which come
	// back only after AckWait, and again the same way: the consumer stalls.
	if !b.Clustered() {
		opts = append(opts, jetstream.FetchMaxBytes(cc.BatchBytes))
	}
	res, err := cons.Fetch(cc.BatchSize, opts...)
	if err != nil {
		return nil, fmt.Errorf("fetch from %s: %w", cc.Durable, err)
	}
	var batch []*Msg
	for jm := range res.Messages() {
		m := b.wrap(jm)
		m.MaxDeliver = cc.MaxDeliver
		batch = append(batch, m)
	}
	if err := res.Error(); err != nil && len(batch) == 0 && !isFetchTimeout(err) {
		return nil, fmt.Errorf("fetch from %s: %w", cc.Durable, err)
	}
	return batch, nil
}

func isFetchTimeout(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrNoMessages)
}

func (b *Bus) wrap(jm jetstream.Msg) *Msg {
	m := &Msg{
		Subject: strings.TrimPrefix(jm.Subject(), b.cfg.SubjectPrefix),
		Data:    jm.Data(),
		Header:  jm.Headers(),
		jm:      jm,
		metrics: b.metrics,
	}
	if m.Header != nil {
		m.MsgID = m.Header.Get(jetstream.MsgIDHeader)
		if m.Header.Get(HeaderReplayOf) != "" {
			if id := m.Header.Get(HeaderReplayMsgID); validMsgID(id) {
				m.MsgID = id
			}
		}
	}
	if md, err := jm.Metadata(); err == nil {
		m.StreamSeq = md.Sequence.Stream
		m.NumDelivered = md.NumDelivered
	}
	return m
}

// ackAll acknowledges every message not Term'ed. All but the last are sent
// without waiting; the last waits for the server's confirmation. The server
// handles one connection's acks in order, so the confirmation of the last
// means the earlier ones were processed too, at one round trip per batch
// instead of one per message.
func (b *Bus) ackAll(ctx context.Context, batch []*Msg, log *slog.Logger) {
	live := make([]*Msg, 0, len(batch))
	for _, m := range batch {
		if !m.Termed() {
			live = append(live, m)
		}
	}
	if len(live) == 0 {
		return
	}
	for _, m := range live[:len(live)-1] {
		if err := m.jm.Ack(); err != nil {
			log.Warn("ack failed; the message will be redelivered after AckWait", "seq", m.StreamSeq, "err", err)
		}
	}
	// Acknowledge even when ctx is being cancelled: the batch was handled.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackSyncTimeout)
	defer cancel()
	last := live[len(live)-1]
	if err := last.jm.DoubleAck(actx); err != nil {
		log.Warn("ack not confirmed; the batch may be redelivered after AckWait (handlers must be idempotent)", "seq", last.StreamSeq, "err", err)
		return
	}
	b.metrics.Acked.Add(float64(len(live)))
}

func (b *Bus) nakAll(batch []*Msg, delay time.Duration, log *slog.Logger) {
	for _, m := range batch {
		if m.Termed() {
			continue
		}
		nak := m.jm.Nak
		if delay > 0 {
			nak = func() error { return m.jm.NakWithDelay(delay) }
		}
		if err := nak(); err != nil {
			log.Warn("nak failed; the message will be redelivered after AckWait", "seq", m.StreamSeq, "err", err)
			continue
		}
		b.metrics.Naked.Inc()
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// Clustered reports whether the bus is connected to a JetStream cluster,
// where a leader change can redeliver acknowledged messages, even as first
// deliveries and to another consumer of the same durable.
func (b *Bus) Clustered() bool { return b.nc.ConnectedClusterName() != "" }
