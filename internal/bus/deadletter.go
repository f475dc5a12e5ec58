package bus

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Dead letters: an event that cannot be applied (the store refuses it, or
// its domain's sink does) is set aside on <domain>.dlq.<kind> with why, so
// the events behind it go on. The subject is inside the domain's stream
// (stream subjects cannot overlap), so "dlq" is a reserved network name.
const (
	DeadLetterToken = "dlq"

	HeaderDLQError     = "Valtrack-Dlq-Error"      // why it was set aside
	HeaderDLQSubject   = "Valtrack-Dlq-Subject"    // where it was published
	HeaderDLQStreamSeq = "Valtrack-Dlq-Stream-Seq" // its sequence in the stream
	HeaderDLQMsgID     = "Valtrack-Dlq-Msg-Id"     // its Nats-Msg-Id

	maxDLQErrorLen = 1024
)

// DeadLetterSubject is <domain>.dlq.<kind> (without SubjectPrefix).
func DeadLetterSubject(domain, kind string) string {
	return domain + "." + DeadLetterToken + "." + kind
}

// IsDeadLetter reports whether a subject (without SubjectPrefix) is a dead
// letter of domain.
func IsDeadLetter(domain, subject string) bool {
	return strings.HasPrefix(subject, domain+"."+DeadLetterToken+".")
}

// DeadLetter publishes a copy of m on DeadLetterSubject(domain, kind) with
// the reason in a header, and waits for the stream to store it. The copy's
// message id derives from the original's, so setting one event aside twice
// (a redelivered batch) stores it once. The caller then terminates m.
func (b *Bus) DeadLetter(ctx context.Context, domain, kind string, m *Msg, reason error) error {
	if !validToken(kind) {
		kind = "unknown"
	}
	msg := nats.NewMsg(b.Subject(DeadLetterSubject(domain, kind)))
	msg.Data = m.Data
	why := scrub(reason, b.secrets).Error()
	if len(why) > maxDLQErrorLen {
		why = why[:maxDLQErrorLen]
	}
	msg.Header.Set(HeaderDLQError, why)
	msg.Header.Set(HeaderDLQSubject, m.Subject)
	msg.Header.Set(HeaderDLQStreamSeq, strconv.FormatUint(m.StreamSeq, 10))
	id := m.MsgID
	if id == "" {
		id = "seq-" + strconv.FormatUint(m.StreamSeq, 10)
	}
	msg.Header.Set(HeaderDLQMsgID, id)
	msg.Header.Set(jetstream.MsgIDHeader, "dlq-"+id)
	if _, err := b.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("dead-letter message %d of %s on %s: %w", m.StreamSeq, m.Subject, msg.Subject, scrub(err, b.secrets))
	}
	return nil
}

// Letter is one dead letter as stored.
type Letter struct {
	Subject   string // the dead-letter subject (without SubjectPrefix)
	Original  string // the subject it was published on
	StreamSeq uint64 // the original's sequence
	MsgID     string // the original's Nats-Msg-Id
	Error     string
	Data      []byte
}

// DeadLetters reads up to max dead letters of domain from the start of its
// stream (those stored so far; it waits at most wait for them), without
// disturbing any durable consumer (it uses an ephemeral ordered consumer).
func (b *Bus) DeadLetters(ctx context.Context, domain string, max int, wait time.Duration) ([]Letter, error) {
	stream := b.StreamName(domain)
	oc, err := b.js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{b.Subject(domain + "." + DeadLetterToken + ".>")},
	})
	if err != nil {
		return nil, fmt.Errorf("read dead letters of %s: %w", stream, scrub(err, b.secrets))
	}
	var out []Letter
	deadline := time.Now().Add(wait)
	for len(out) < max && time.Now().Before(deadline) {
		res, err := oc.Fetch(max-len(out), jetstream.FetchMaxWait(min(time.Until(deadline), time.Second)+time.Millisecond))
		if err != nil {
			return out, fmt.Errorf("read dead letters of %s: %w", stream, scrub(err, b.secrets))
		}
		for m := range res.Messages() {
			h := m.Headers()
			seq, _ := strconv.ParseUint(h.Get(HeaderDLQStreamSeq), 10, 64)
			out = append(out, Letter{Subject: strings.TrimPrefix(m.Subject(), b.cfg.SubjectPrefix), Original: h.Get(HeaderDLQSubject),
				StreamSeq: seq, MsgID: h.Get(HeaderDLQMsgID), Error: h.Get(HeaderDLQError), Data: m.Data()})
		}
		if info, err := oc.Info(ctx); err == nil && info.NumPending == 0 && len(out) > 0 {
			break // read all there is
		}
	}
	return out, nil
}
