package bus

import (
	"context"
	"errors"
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

	// A replayed dead letter (Replay) is published again on its original
	// subject with these.
	HeaderReplayOf    = "Valtrack-Replay-Of"     // the dead letter's sequence in the stream
	HeaderReplayMsgID = "Valtrack-Replay-Msg-Id" // the original's message id: consumers are handed it as Msg.MsgID

	maxDLQErrorLen = 1024
	maxMsgIDLen    = 256
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
	dedupe := id
	if of := m.Header.Get(HeaderReplayOf); of != "" {
		// A replay that fails again is a new dead letter: under the
		// original's id it would be dropped as a duplicate of the first one
		// within the duplicate window. The replay's own id is unique.
		if rid := m.Header.Get(jetstream.MsgIDHeader); rid != "" {
			dedupe = rid
		}
		msg.Header.Set(HeaderReplayOf, of)
	}
	msg.Header.Set(jetstream.MsgIDHeader, "dlq-"+dedupe)
	if _, err := b.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("dead-letter message %d of %s on %s: %w", m.StreamSeq, m.Subject, msg.Subject, scrub(err, b.secrets))
	}
	return nil
}

// Letter is one dead letter as stored.
type Letter struct {
	Seq       uint64    // the dead letter's own sequence in its domain's stream
	Time      time.Time // when the stream stored it
	Domain    string
	Kind      string // the dead-letter subject's last token
	Subject   string // the dead-letter subject (without SubjectPrefix)
	Original  string // the subject it was published on (Valtrack-Dlq-Subject)
	StreamSeq uint64 // the original's sequence
	MsgID     string // the original's Nats-Msg-Id
	Error     string
	ReplayOf  uint64 // not 0: the original was a replay of the dead letter of this sequence
	Size      int    // payload bytes (also when Data was not kept)
	Data      []byte
}

// ErrNotDeadLetter: the message at a sequence is not a dead letter of the
// domain.
var ErrNotDeadLetter = errors.New("not a dead letter")

func (b *Bus) letterOf(domain, subject string, h nats.Header, data []byte, seq uint64, at time.Time) Letter {
	subject = strings.TrimPrefix(subject, b.cfg.SubjectPrefix)
	l := Letter{Seq: seq, Time: at, Domain: domain, Subject: subject, Original: h.Get(HeaderDLQSubject),
		MsgID: h.Get(HeaderDLQMsgID), Error: h.Get(HeaderDLQError), Size: len(data), Data: data}
	l.Kind = subject[strings.LastIndexByte(subject, '.')+1:]
	l.StreamSeq, _ = strconv.ParseUint(h.Get(HeaderDLQStreamSeq), 10, 64)
	l.ReplayOf, _ = strconv.ParseUint(h.Get(HeaderReplayOf), 10, 64)
	return l
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
			var seq uint64
			var at time.Time
			if md, err := m.Metadata(); err == nil {
				seq, at = md.Sequence.Stream, md.Timestamp
			}
			out = append(out, b.letterOf(domain, m.Subject(), m.Headers(), m.Data(), seq, at))
		}
		if info, err := oc.Info(ctx); err == nil && info.NumPending == 0 && len(out) > 0 {
			break // read all there is
		}
	}
	return out, nil
}

// Defaults of LetterQuery.
const (
	DefaultLetterTimeout  = 30 * time.Second
	DefaultLetterProgress = 2 * time.Second
	// letterBatch bounds what one fetch holds in memory: payloads are up
	// to the server's max payload each.
	letterBatch = 64
)

// LetterQuery selects the dead letters ScanDeadLetters reads.
type LetterQuery struct {
	Kind    string        // one kind (<domain>.dlq.<kind>); empty: every kind
	FromSeq uint64        // the first stream sequence to look at; 0: the start
	Limit   int           // at most this many (required, > 0)
	Timeout time.Duration // for the whole read; default DefaultLetterTimeout
	NoData  bool          // drop the payloads (Letter.Size is still set)
	// Progress, when set, is called at most every ProgressEvery (default
	// DefaultLetterProgress) during a read, with the letters read so far
	// and how many there were to read.
	Progress      func(read int, total uint64)
	ProgressEvery time.Duration
}

// LetterScan is what a ScanDeadLetters read.
type LetterScan struct {
	Read  int    // letters handed to fn
	Total uint64 // dead letters from FromSeq on when the read started, of the kind asked for
	Next  uint64 // not 0: the read stopped at Limit, and more letters start at this sequence
}

// ScanDeadLetters hands fn, in stream order, the dead letters of domain
// stored when it started (later ones are left for the next read), at most
// q.Limit of them, within q.Timeout. It reads through an ephemeral consumer
// that acknowledges nothing and is deleted after, so no durable consumer
// of the stream is touched. An error of fn stops the read and is returned.
// A stream that does not exist is jetstream.ErrStreamNotFound.
func (b *Bus) ScanDeadLetters(ctx context.Context, domain string, q LetterQuery, fn func(Letter) error) (LetterScan, error) {
	var scan LetterScan
	if err := validateDomain(domain); err != nil {
		return scan, fmt.Errorf("read dead letters: %w", err)
	}
	if q.Kind != "" && !validToken(q.Kind) {
		return scan, fmt.Errorf("read dead letters of %s: kind %q is not a subject token; give an event kind such as metadata_received", domain, q.Kind)
	}
	if q.Limit <= 0 {
		return scan, fmt.Errorf("read dead letters of %s: limit %d; give at least 1", domain, q.Limit)
	}
	if q.Timeout <= 0 {
		q.Timeout = DefaultLetterTimeout
	}
	if q.ProgressEvery <= 0 {
		q.ProgressEvery = DefaultLetterProgress
	}
	name := b.StreamName(domain)
	ctx, cancel := context.WithTimeout(ctx, q.Timeout)
	defer cancel()
	stream, err := b.js.Stream(ctx, name)
	if err != nil {
		return scan, fmt.Errorf("read dead letters of %s: look up stream %s on %s: %w", domain, name, b.ClientURL(), scrub(err, b.secrets))
	}
	last := stream.CachedInfo().State.LastSeq
	kind := q.Kind
	if kind == "" {
		kind = ">"
	}
	cc := jetstream.ConsumerConfig{
		Description:   "valtrack dead-letter reader",
		AckPolicy:     jetstream.AckNonePolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		FilterSubject: b.Subject(DeadLetterSubject(domain, kind)),
		// Cleaned up by the server should this process die mid-read.
		InactiveThreshold: 30 * time.Second,
		MemoryStorage:     true,
		Replicas:          1,
	}
	if q.FromSeq > 0 {
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, q.FromSeq
	}
	cons, err := stream.CreateConsumer(ctx, cc)
	if err != nil {
		return scan, fmt.Errorf("read dead letters of %s: create a reader on stream %s: %w", domain, name, scrub(err, b.secrets))
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = stream.DeleteConsumer(dctx, cons.CachedInfo().Name)
	}()
	scan.Total = cons.CachedInfo().NumPending
	lastSeq := uint64(0)
	nextProgress := time.Now().Add(q.ProgressEvery)
	timedOut := func() error {
		return fmt.Errorf("read dead letters of %s: %w after %s with %d of %d read", domain, context.DeadlineExceeded, q.Timeout, scan.Read, scan.Total)
	}
	for scan.Read < q.Limit && uint64(scan.Read) < scan.Total {
		if ctx.Err() != nil {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return scan, timedOut()
			}
			return scan, ctx.Err()
		}
		n := min(q.Limit-scan.Read, letterBatch, int(min(scan.Total-uint64(scan.Read), letterBatch)))
		wait := fetchWait(ctx)
		res, err := cons.Fetch(n, jetstream.FetchMaxWait(wait))
		if err != nil {
			return scan, fmt.Errorf("read dead letters of %s: %w", domain, scrub(err, b.secrets))
		}
		got := 0
		for m := range res.Messages() {
			md, err := m.Metadata()
			if err != nil {
				continue
			}
			if md.Sequence.Stream > last {
				// Stored after the read started (perhaps a replay failing
				// again): left for the next read.
				return scan, nil
			}
			got++
			data := m.Data()
			l := b.letterOf(domain, m.Subject(), m.Headers(), data, md.Sequence.Stream, md.Timestamp)
			if q.NoData {
				l.Data = nil
			}
			if err := fn(l); err != nil {
				return scan, err
			}
			scan.Read++
			lastSeq = md.Sequence.Stream
			if q.Progress != nil && time.Now().After(nextProgress) {
				q.Progress(scan.Read, scan.Total)
				nextProgress = time.Now().Add(q.ProgressEvery)
			}
		}
		if err := res.Error(); err != nil && !isFetchTimeout(err) {
			return scan, fmt.Errorf("read dead letters of %s: %w", domain, scrub(err, b.secrets))
		}
		if got == 0 {
			// Letters counted at the start may have expired since (the
			// stream's limits): nothing left to wait for.
			info, err := cons.Info(ctx)
			if err == nil && info.NumPending == 0 {
				return scan, nil
			}
		}
	}
	if scan.Read >= q.Limit && uint64(scan.Read) < scan.Total {
		scan.Next = lastSeq + 1
	}
	return scan, nil
}

// DeadLetterAt reads the dead letter at stream sequence seq of domain's
// stream. A message there that is not a dead letter of domain is refused
// (ErrNotDeadLetter); none there at all is jetstream.ErrMsgNotFound.
func (b *Bus) DeadLetterAt(ctx context.Context, domain string, seq uint64) (Letter, error) {
	if err := validateDomain(domain); err != nil {
		return Letter{}, fmt.Errorf("read dead letter: %w", err)
	}
	name := b.StreamName(domain)
	stream, err := b.js.Stream(ctx, name)
	if err != nil {
		return Letter{}, fmt.Errorf("read dead letter %d of %s: look up stream %s on %s: %w", seq, domain, name, b.ClientURL(), scrub(err, b.secrets))
	}
	m, err := stream.GetMsg(ctx, seq)
	if err != nil {
		return Letter{}, fmt.Errorf("read dead letter %d of %s: stream %s: %w", seq, domain, name, scrub(err, b.secrets))
	}
	subject := strings.TrimPrefix(m.Subject, b.cfg.SubjectPrefix)
	if !IsDeadLetter(domain, subject) {
		return Letter{}, fmt.Errorf("message %d of stream %s is an event on %s: %w (dead letters are on %s)",
			seq, name, subject, ErrNotDeadLetter, DeadLetterSubject(domain, "<kind>"))
	}
	return b.letterOf(domain, m.Subject, m.Header, m.Data, m.Sequence, m.Time), nil
}

// CheckReplay says why a dead letter cannot be replayed, or nil. Its
// original subject comes from a header, so anyone who can publish on the
// stream could have set it: only <domain>.<network>.<event> of the letter's
// own domain is accepted, never another domain's subject or a dead-letter
// subject.
func (b *Bus) CheckReplay(l Letter) error {
	if !IsDeadLetter(l.Domain, l.Subject) {
		return fmt.Errorf("message %d on %s: %w of %s", l.Seq, l.Subject, ErrNotDeadLetter, l.Domain)
	}
	if l.Original == "" {
		return fmt.Errorf("dead letter %d has no %s header: the subject to replay it on is unknown", l.Seq, HeaderDLQSubject)
	}
	toks := strings.Split(l.Original, ".")
	if err := validateSubject(l.Original); err != nil || len(toks) != 3 || toks[0] != l.Domain || toks[1] == DeadLetterToken {
		return fmt.Errorf("dead letter %d: its original subject %q is not %s.<network>.<event>; refused (a dead letter is replayed only inside its own domain)",
			l.Seq, truncate(l.Original, 128), l.Domain)
	}
	if l.MsgID != "" && !validMsgID(l.MsgID) {
		return fmt.Errorf("dead letter %d: its %s is not a message id (at most %d printable characters); refused", l.Seq, HeaderDLQMsgID, maxMsgIDLen)
	}
	if l.Data == nil && l.Size > 0 {
		return fmt.Errorf("dead letter %d was read without its payload", l.Seq)
	}
	if max := b.nc.MaxPayload() - headerBudget; int64(len(l.Data)) > max {
		return fmt.Errorf("dead letter %d: payload of %d bytes exceeds the server's max payload (%d usable)", l.Seq, len(l.Data), max)
	}
	return nil
}

// Replayed is where Replay published a dead letter.
type Replayed struct {
	Subject string // the original subject (without SubjectPrefix)
	MsgID   string // the replay's Nats-Msg-Id
	Seq     uint64 // its sequence in the stream
}

// Replay publishes a dead letter's payload again on its original subject,
// for the domain's consumer to apply like any event (and to set aside again
// if it still fails), and waits for the stream to store it. Its
// Nats-Msg-Id is new (replay-<dead letter seq>-<unix ms>), so the duplicate
// window does not drop it; HeaderReplayOf names the dead letter, and
// HeaderReplayMsgID carries the original's id, which consumers are handed
// as Msg.MsgID: the sinks and the archive key rows by it, so a letter
// replayed twice, or one the archive holds already, is written once. The
// dead letter stays in the stream.
func (b *Bus) Replay(ctx context.Context, l Letter) (Replayed, error) {
	if err := b.CheckReplay(l); err != nil {
		return Replayed{}, err
	}
	r := Replayed{Subject: l.Original, MsgID: fmt.Sprintf("replay-%d-%d", l.Seq, time.Now().UnixMilli())}
	msg := nats.NewMsg(b.Subject(l.Original))
	msg.Data = l.Data
	msg.Header.Set(jetstream.MsgIDHeader, r.MsgID)
	msg.Header.Set(HeaderReplayOf, strconv.FormatUint(l.Seq, 10))
	id := l.MsgID
	if id == "" && l.StreamSeq > 0 {
		id = "seq-" + strconv.FormatUint(l.StreamSeq, 10) // what the consumer keyed it by
	}
	if id != "" {
		msg.Header.Set(HeaderReplayMsgID, id)
	}
	pctx, cancel := context.WithTimeout(ctx, b.cfg.PublishAckTimeout)
	defer cancel()
	ack, err := b.js.PublishMsg(pctx, msg)
	if err != nil {
		return r, fmt.Errorf("replay dead letter %d on %s: %w", l.Seq, l.Original, scrub(err, b.secrets))
	}
	if ack.Duplicate {
		return r, fmt.Errorf("replay dead letter %d on %s: the stream dropped it as a duplicate of message %d (id %s)", l.Seq, l.Original, ack.Sequence, r.MsgID)
	}
	r.Seq = ack.Sequence
	return r, nil
}

// validMsgID: printable ASCII without spaces, bounded (it goes into a header).
func validMsgID(id string) bool {
	if id == "" || len(id) > maxMsgIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Replays of dead letters are found from the replay messages themselves
// (HeaderReplayOf on an event subject): the stream is the only record,
// so a second `dlq replay --all` can leave alone what the first replayed.
const (
	// replayBatchBytes bounds one fetch of ScanReplays: headers only,
	// but a header can be as large as the server's max payload.
	replayBatchBytes = 4 << 20
	replayBatch      = 1024
	// MaxReplaysTracked bounds the dead letters ScanReplays keeps a count
	// for: the headers are anyone's who can publish on the stream.
	MaxReplaysTracked = 1 << 20
)

// ReplayStatus is how often a dead letter was replayed.
type ReplayStatus struct {
	Count   int       // replay messages that name it
	Last    time.Time // when the stream stored the latest of them
	LastSeq uint64    // its sequence
}

// ReplayScan is what ScanReplays read.
type ReplayScan struct {
	Replays map[uint64]ReplayStatus // by the dead letter's sequence
	Scanned uint64                  // messages looked at
}

// ScanReplays finds the replays (Replay) stored in domain's stream from
// sequence from on (0: from its first dead letter, since a replay comes
// after the letter it replays) until the read starts, within timeout. It
// reads headers only, through an ephemeral consumer that acknowledges
// nothing, as ScanDeadLetters does; it looks at every message after the
// first dead letter, so on a large stream it may need a longer timeout
// (the error says so: context.DeadlineExceeded). A stream that does not
// exist is jetstream.ErrStreamNotFound.
func (b *Bus) ScanReplays(ctx context.Context, domain string, from uint64, timeout time.Duration) (ReplayScan, error) {
	scan := ReplayScan{Replays: map[uint64]ReplayStatus{}}
	if err := validateDomain(domain); err != nil {
		return scan, fmt.Errorf("find replays: %w", err)
	}
	if timeout <= 0 {
		timeout = DefaultLetterTimeout
	}
	name := b.StreamName(domain)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	stream, err := b.js.Stream(ctx, name)
	if err != nil {
		return scan, fmt.Errorf("find replays of %s: look up stream %s on %s: %w", domain, name, b.ClientURL(), scrub(err, b.secrets))
	}
	last := stream.CachedInfo().State.LastSeq
	// Nothing before the first dead letter at or after from can be a replay.
	first, err := stream.GetMsg(ctx, max(from, 1), jetstream.WithGetMsgSubject(b.Subject(DeadLetterSubject(domain, ">"))))
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return scan, nil // no dead letter: nothing replayed
	case err != nil:
		return scan, fmt.Errorf("find replays of %s: find the first dead letter in %s: %w", domain, name, scrub(err, b.secrets))
	}
	if first.Sequence >= last {
		return scan, nil
	}
	cons, err := stream.CreateConsumer(ctx, jetstream.ConsumerConfig{
		Description:       "valtrack replay finder",
		AckPolicy:         jetstream.AckNonePolicy,
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       first.Sequence + 1,
		FilterSubject:     b.Subject(domain + ".>"),
		HeadersOnly:       true,
		InactiveThreshold: 30 * time.Second,
		MemoryStorage:     true,
		Replicas:          1,
	})
	if err != nil {
		return scan, fmt.Errorf("find replays of %s: create a reader on stream %s: %w", domain, name, scrub(err, b.secrets))
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = stream.DeleteConsumer(dctx, cons.CachedInfo().Name)
	}()
	total := cons.CachedInfo().NumPending
	for scan.Scanned < total {
		if ctx.Err() != nil {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return scan, fmt.Errorf("find replays of %s: %w after %s with %d of %d messages looked at", domain, context.DeadlineExceeded, timeout, scan.Scanned, total)
			}
			return scan, ctx.Err()
		}
		wait := fetchWait(ctx)
		// At most what is left, so the fetch returns once it has them
		// rather than waiting out its time; at most replayBatchBytes.
		n := int(min(total-scan.Scanned, replayBatch))
		res, err := cons.Fetch(n, jetstream.FetchMaxBytes(replayBatchBytes), jetstream.FetchMaxWait(wait))
		if err != nil {
			return scan, fmt.Errorf("find replays of %s: %w", domain, scrub(err, b.secrets))
		}
		got := 0
		for m := range res.Messages() {
			md, err := m.Metadata()
			if err != nil {
				continue
			}
			if md.Sequence.Stream > last {
				return scan, nil // stored after the read started
			}
			got++
			scan.Scanned++
			if IsDeadLetter(domain, strings.TrimPrefix(m.Subject(), b.cfg.SubjectPrefix)) {
				continue // a replay set aside again is a dead letter, not a replay
			}
			of, err := strconv.ParseUint(m.Headers().Get(HeaderReplayOf), 10, 64)
			if err != nil || of == 0 || of >= md.Sequence.Stream {
				continue // not a replay, or one naming a later letter: forged
			}
			st, ok := scan.Replays[of]
			if !ok && len(scan.Replays) >= MaxReplaysTracked {
				return scan, fmt.Errorf("find replays of %s: more than %d dead letters replayed from seq %d on; give a later --from-seq", domain, MaxReplaysTracked, first.Sequence)
			}
			st.Count++
			st.Last, st.LastSeq = md.Timestamp, md.Sequence.Stream
			scan.Replays[of] = st
		}
		if err := res.Error(); err != nil && !isFetchTimeout(err) {
			return scan, fmt.Errorf("find replays of %s: %w", domain, scrub(err, b.secrets))
		}
		if got == 0 {
			if info, err := cons.Info(ctx); err == nil && info.NumPending == 0 {
				return scan, nil // the rest expired meanwhile
			}
		}
	}
	return scan, nil
}

// fetchWait is how long one Fetch of a scan may wait: up to the scan's
// deadline, at most 5 s (so a stop is noticed) and at least 10 ms; 1 s
// without a deadline.
func fetchWait(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return max(min(time.Until(dl), 5*time.Second), 10*time.Millisecond)
	}
	return time.Second
}
