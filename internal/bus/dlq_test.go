package bus_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/valtrack/valtrack/internal/bus"
	"github.com/valtrack/valtrack/internal/bus/bustest"
)

// bothBuses runs f on an embedded bus and on the external server
// (VALTRACK_TEST_NATS_URL; skipped without it).
func bothBuses(t *testing.T, f func(t *testing.T, b *bus.Bus)) {
	t.Run("embedded", func(t *testing.T) { f(t, bustest.Embedded(t)) })
	t.Run("external", func(t *testing.T) { f(t, bustest.External(t)) })
}

// scanAll reads every dead letter of domain (at most 100).
func scanAll(t *testing.T, b *bus.Bus, domain string, q bus.LetterQuery) ([]bus.Letter, bus.LetterScan) {
	t.Helper()
	if q.Limit == 0 {
		q.Limit = 100
	}
	var out []bus.Letter
	scan, err := b.ScanDeadLetters(context.Background(), domain, q, func(l bus.Letter) error {
		out = append(out, l)
		return nil
	})
	if err != nil {
		t.Fatalf("scan dead letters: %v", err)
	}
	return out, scan
}

// A dead letter written as the consumer writes it (DeadLetter, from a
// delivered message) is read back with its own sequence, time, kind,
// original subject, id and error; replayed, it reaches the durable
// consumer again under the original's message id, with Valtrack-Replay-Of;
// set aside again, it is a new dead letter (not dropped as a duplicate of
// the first) that names the replay.
func TestDeadLetterScanAndReplay(t *testing.T) {
	bothBuses(t, func(t *testing.T, b *bus.Bus) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.EnsureStream(ctx, "testdom"); err != nil {
			t.Fatal(err)
		}
		publishN(t, b, "testdom", "e", 0, 3)
		cc := bus.ConsumeConfig{Domain: "testdom", Durable: "state", BatchSize: 10, MaxWait: 50 * time.Millisecond}
		// The first pass refuses e-1 the way the consumer does: set aside
		// with the error, then terminated.
		refuse := func(id, why string) *collector {
			cctx, stop := context.WithTimeout(ctx, 20*time.Second)
			defer stop()
			c := newCollector(1<<30, stop)
			err := b.Consume(cctx, cc, func(hctx context.Context, batch []*bus.Msg) error {
				for _, m := range batch {
					if m.MsgID == id {
						if err := b.DeadLetter(hctx, "testdom", "event", m, errors.New(why)); err != nil {
							return err
						}
						if err := m.Term(); err != nil {
							return err
						}
					}
				}
				if err := c.handle(hctx, batch); err != nil {
					return err
				}
				if c.seen[id] > 0 {
					stop()
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		first := refuse("e-1", "insert: value out of range")
		if first.seen["e-1"] != 1 {
			t.Fatalf("the first pass saw %v, want e-1 among them", first.seen)
		}
		letters, scan := scanAll(t, b, "testdom", bus.LetterQuery{})
		if len(letters) != 1 || scan.Read != 1 || scan.Total != 1 || scan.Next != 0 {
			t.Fatalf("scan: %d letters, %+v; want 1 of 1", len(letters), scan)
		}
		l := letters[0]
		orig := first.msgs["e-1"]
		if l.Seq != 4 || l.Domain != "testdom" || l.Kind != "event" || l.Subject != "testdom.dlq.event" ||
			l.Original != "testdom.test.event" || l.StreamSeq != orig.StreamSeq || l.MsgID != "e-1" ||
			l.Error != "insert: value out of range" || string(l.Data) != "payload e-1" || l.Size != len("payload e-1") ||
			l.Time.IsZero() || l.ReplayOf != 0 {
			t.Fatalf("dead letter read back as %+v", l)
		}
		at, err := b.DeadLetterAt(ctx, "testdom", l.Seq)
		if err != nil || at.Seq != l.Seq || at.Original != l.Original || string(at.Data) != string(l.Data) || at.Error != l.Error {
			t.Fatalf("DeadLetterAt(%d) = %+v, %v; want the letter scanned", l.Seq, at, err)
		}

		r, err := b.Replay(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		if r.Seq != 5 || r.Subject != "testdom.test.event" || !strings.HasPrefix(r.MsgID, "replay-4-") {
			t.Fatalf("replayed as %+v", r)
		}
		// The durable consumer (past e-0..e-2) gets the dead letter, which
		// a consumer passes over, and the replay, keyed as the original, and
		// refuses it again.
		second := refuse("e-1", "insert: still out of range")
		m := second.msgs["e-1"]
		if len(second.seen) != 2 || second.seen["dlq-e-1"] != 1 || m == nil || m.StreamSeq != 5 || string(m.Data) != "payload e-1" ||
			m.Header.Get(bus.HeaderReplayOf) != "4" || m.Header.Get(jetstream.MsgIDHeader) != r.MsgID {
			t.Fatalf("after the replay the durable got %v (e-1: %+v); want the dead letter and the replay of e-1, seq 5, Replay-Of 4", second.seen, m)
		}
		letters, _ = scanAll(t, b, "testdom", bus.LetterQuery{})
		if len(letters) != 2 {
			t.Fatalf("%d dead letters after the replay failed again, want 2 (the second is not a duplicate of the first)", len(letters))
		}
		if again := letters[1]; again.ReplayOf != 4 || again.MsgID != "e-1" || again.StreamSeq != 5 || again.Error != "insert: still out of range" {
			t.Fatalf("the replay's dead letter is %+v; want ReplayOf 4, the original's id, seq 5", again)
		}
		// The reads left no consumer behind but the durable.
		stream, err := b.JetStream().Stream(ctx, b.StreamName("testdom"))
		if err != nil {
			t.Fatal(err)
		}
		names := stream.ConsumerNames(ctx)
		var left []string
		for n := range names.Name() {
			left = append(left, n)
		}
		if len(left) != 1 || left[0] != "state" {
			t.Fatalf("consumers on the stream after the reads: %v; want only the durable \"state\"", left)
		}
	})
}

// A sequence that holds an event, not a dead letter, is refused; one that
// holds nothing is ErrMsgNotFound.
func TestDeadLetterAtRefusesEvents(t *testing.T) {
	bothBuses(t, func(t *testing.T, b *bus.Bus) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := b.EnsureStream(ctx, "testdom"); err != nil {
			t.Fatal(err)
		}
		publishN(t, b, "testdom", "e", 0, 1)
		if _, err := b.DeadLetterAt(ctx, "testdom", 1); !errors.Is(err, bus.ErrNotDeadLetter) || !strings.Contains(err.Error(), "testdom.test.event") {
			t.Fatalf("DeadLetterAt of an event: %v; want ErrNotDeadLetter naming its subject", err)
		}
		if _, err := b.DeadLetterAt(ctx, "testdom", 99); !errors.Is(err, jetstream.ErrMsgNotFound) {
			t.Fatalf("DeadLetterAt of an empty sequence: %v; want ErrMsgNotFound", err)
		}
		if got := streamMsgs(t, b, "testdom"); got != 1 {
			t.Fatalf("the stream holds %d messages after the refusals, want 1", got)
		}
	})
}

// ScanDeadLetters stops at Limit and says where the rest starts, goes on
// from there with FromSeq, filters by kind, and reads nothing but dead
// letters.
func TestScanDeadLettersLimitFromKind(t *testing.T) {
	bothBuses(t, func(t *testing.T, b *bus.Bus) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := b.EnsureStream(ctx, "testdom"); err != nil {
			t.Fatal(err)
		}
		publishN(t, b, "testdom", "e", 0, 2) // seq 1, 2: events
		for i := range 5 {                   // seq 3..7: dead letters a, b, a, b, a
			kind := "a"
			if i%2 == 1 {
				kind = "b"
			}
			m := &bus.Msg{Subject: "testdom.n.thing", Data: []byte("x"), MsgID: "d-" + strconv.Itoa(i), StreamSeq: uint64(10 + i)}
			if err := b.DeadLetter(ctx, "testdom", kind, m, fmt.Errorf("why %d", i)); err != nil {
				t.Fatal(err)
			}
		}
		// Progress is reported during the read, never past what was read.
		var reports []int
		all, _ := scanAll(t, b, "testdom", bus.LetterQuery{ProgressEvery: time.Nanosecond, Progress: func(read int, total uint64) {
			if total != 5 {
				t.Errorf("progress total %d, want 5", total)
			}
			reports = append(reports, read)
		}})
		if len(all) != 5 || len(reports) == 0 || reports[len(reports)-1] > 5 {
			t.Fatalf("%d letters read, progress reports %v; want 5 and reports of them", len(all), reports)
		}
		letters, scan := scanAll(t, b, "testdom", bus.LetterQuery{Limit: 2, NoData: true})
		if len(letters) != 2 || letters[0].Seq != 3 || letters[1].Seq != 4 || scan.Total != 5 || scan.Next != 5 {
			t.Fatalf("Limit 2: %d letters, %+v; want seq 3, 4 of 5, next 5", len(letters), scan)
		}
		if letters[0].Data != nil || letters[0].Size != 1 {
			t.Fatalf("NoData: letter has data %q, size %d; want none and size 1", letters[0].Data, letters[0].Size)
		}
		letters, scan = scanAll(t, b, "testdom", bus.LetterQuery{FromSeq: scan.Next})
		if len(letters) != 3 || letters[0].Seq != 5 || scan.Next != 0 {
			t.Fatalf("FromSeq 5: %d letters, %+v; want 3 from seq 5, none after", len(letters), scan)
		}
		letters, _ = scanAll(t, b, "testdom", bus.LetterQuery{Kind: "a"})
		if len(letters) != 3 || letters[0].Kind != "a" || letters[1].Seq != 5 || letters[2].Seq != 7 {
			t.Fatalf("Kind a: %+v; want seq 3, 5, 7", letters)
		}
		if letters, _ := scanAll(t, b, "testdom", bus.LetterQuery{Kind: "none"}); len(letters) != 0 {
			t.Fatalf("a kind without dead letters: %d letters", len(letters))
		}
		if _, err := b.ScanDeadLetters(ctx, "nostream", bus.LetterQuery{Limit: 1}, func(bus.Letter) error { return nil }); !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Fatalf("scan of a domain without a stream: %v; want ErrStreamNotFound", err)
		}
	})
}

// A dead letter's original subject is a header anyone who publishes on the
// stream can write: Replay accepts only an event subject of the letter's
// own domain, and publishes nothing otherwise.
func TestReplayRefusesForeignSubjects(t *testing.T) {
	b := bustest.Embedded(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.EnsureStream(ctx, "testdom"); err != nil {
		t.Fatal(err)
	}
	good := bus.Letter{Seq: 7, Domain: "testdom", Subject: "testdom.dlq.thing", Original: "testdom.n.thing", MsgID: "x", Data: []byte("{}"), Size: 2}
	if err := b.CheckReplay(good); err != nil {
		t.Fatalf("a well-formed letter is refused: %v", err)
	}
	for _, c := range []struct {
		name string
		mod  func(*bus.Letter)
		want string
	}{
		{"another domain", func(l *bus.Letter) { l.Original = "other.n.thing" }, "not testdom.<network>.<event>"},
		{"a dead-letter subject", func(l *bus.Letter) { l.Original = "testdom.dlq.thing" }, "not testdom.<network>.<event>"},
		{"too short", func(l *bus.Letter) { l.Original = "testdom.thing" }, "not testdom.<network>.<event>"},
		{"a wildcard", func(l *bus.Letter) { l.Original = "testdom.*.thing" }, "not testdom.<network>.<event>"},
		{"no subject", func(l *bus.Letter) { l.Original = "" }, "Valtrack-Dlq-Subject"},
		{"not a dead letter", func(l *bus.Letter) { l.Subject = "testdom.n.thing" }, "not a dead letter"},
		{"a bad id", func(l *bus.Letter) { l.MsgID = "two words" }, "Valtrack-Dlq-Msg-Id"},
	} {
		l := good
		c.mod(&l)
		if _, err := b.Replay(ctx, l); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Replay = %v; want a refusal saying %q", c.name, err, c.want)
		}
	}
	if got := streamMsgs(t, b, "testdom"); got != 0 {
		t.Fatalf("refused replays published %d messages", got)
	}
}

// Only one process may open an embedded bus's directory: nats-server does
// not lock it, and two servers on one store corrupt it. The second is
// refused with ErrStoreInUse until the first closes.
func TestEmbeddedStoreLocked(t *testing.T) {
	dir := t.TempDir()
	cfg := bus.Config{DataDir: dir, MaxBytes: 64 << 20}
	ctx := context.Background()
	b, err := bus.Open(ctx, cfg, bustest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	if other, err := bus.Open(ctx, cfg, bustest.Logger()); !errors.Is(err, bus.ErrStoreInUse) {
		if other != nil {
			other.Close()
		}
		t.Fatalf("a second bus on the same data dir: %v; want ErrStoreInUse", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b, err = bus.Open(ctx, cfg, bustest.Logger())
	if err != nil {
		t.Fatalf("the data dir does not open again after Close: %v", err)
	}
	b.Close()
}

// ScanReplays counts, per dead letter, the replays in the stream (by
// Valtrack-Replay-Of) with the latest one's time and sequence; a replay
// set aside again (a dead letter naming it) and a header naming a later
// sequence (forged: a replay follows its letter) are not replays; from
// past a letter leaves it out; a stream without dead letters has none.
func TestScanReplaysCountsReplays(t *testing.T) {
	bothBuses(t, func(t *testing.T, b *bus.Bus) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.EnsureStream(ctx, "testdom"); err != nil {
			t.Fatal(err)
		}
		publishN(t, b, "testdom", "e", 0, 2)
		if scan, err := b.ScanReplays(ctx, "testdom", 0, 10*time.Second); err != nil || len(scan.Replays) != 0 {
			t.Fatalf("ScanReplays without dead letters: %+v, %v; want none", scan, err)
		}
		for _, id := range []string{"a", "b"} {
			m := &bus.Msg{Subject: "testdom.test.event", Data: []byte("payload " + id), MsgID: "id-" + id, StreamSeq: 1}
			if err := b.DeadLetter(ctx, "testdom", "event", m, errors.New("refused")); err != nil {
				t.Fatal(err)
			}
		}
		letters, _ := scanAll(t, b, "testdom", bus.LetterQuery{})
		if len(letters) != 2 {
			t.Fatalf("%d dead letters, want 2", len(letters))
		}
		a, bl := letters[0], letters[1]
		if _, err := b.Replay(ctx, a); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // a new replay id (it holds the unix ms)
		r2, err := b.Replay(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		// The second replay set aside again: a dead letter with Replay-Of.
		again := &bus.Msg{Subject: "testdom.test.event", Data: []byte("payload a"), MsgID: "id-a", StreamSeq: r2.Seq,
			Header: nats.Header{bus.HeaderReplayOf: {strconv.FormatUint(a.Seq, 10)}, jetstream.MsgIDHeader: {r2.MsgID}}}
		if err := b.DeadLetter(ctx, "testdom", "event", again, errors.New("refused again")); err != nil {
			t.Fatal(err)
		}
		forged := nats.NewMsg(b.Subject("testdom.test.event"))
		forged.Data = []byte("x")
		forged.Header.Set(bus.HeaderReplayOf, strconv.FormatUint(r2.Seq+100, 10))
		if _, err := b.JetStream().PublishMsg(ctx, forged); err != nil {
			t.Fatal(err)
		}

		scan, err := b.ScanReplays(ctx, "testdom", 0, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		st := scan.Replays[a.Seq]
		if len(scan.Replays) != 1 || st.Count != 2 || st.LastSeq != r2.Seq || st.Last.IsZero() {
			t.Fatalf("ScanReplays: %+v; want letter %d replayed twice, last as %d, letter %d never", scan.Replays, a.Seq, r2.Seq, bl.Seq)
		}
		if scan.Scanned != 5 { // b, two replays, the dead letter again, the forged one
			t.Fatalf("ScanReplays looked at %d messages, want the 5 after the first dead letter", scan.Scanned)
		}
		scan, err = b.ScanReplays(ctx, "testdom", bl.Seq, 10*time.Second)
		if err != nil || scan.Replays[a.Seq].Count != 2 {
			// from bl on: the first dead letter at or after it is bl, and
			// a's replays come after bl, so they are still counted.
			t.Fatalf("ScanReplays from %d: %+v, %v", bl.Seq, scan.Replays, err)
		}
		if scan, err := b.ScanReplays(ctx, "testdom", r2.Seq+1, 10*time.Second); err != nil || len(scan.Replays) != 0 {
			t.Fatalf("ScanReplays from past the replays: %+v, %v; want none", scan.Replays, err)
		}
	})
}
