package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/valtrack/valtrack/internal/bus"
	"github.com/valtrack/valtrack/internal/bus/bustest"
	"github.com/valtrack/valtrack/internal/consumer"
)

// gateSink is a domain's sink for the dlq tests: events are {"id": …},
// written to rows keyed by message id (idempotent, as a real sink); while
// refuse is set, an event of that id is refused as a store would refuse it.
type gateSink struct {
	mu      sync.Mutex
	refuse  string
	applied map[string]int    // msg id → times Apply was given it
	rows    map[string]string // msg id → the event's id
}

func newGateSink(refuse string) *gateSink {
	return &gateSink{refuse: refuse, applied: map[string]int{}, rows: map[string]string{}}
}

func (s *gateSink) Decode(_ string, data []byte) (any, error) {
	var e struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, err
	}
	return e.ID, nil
}

func (s *gateSink) Apply(_ context.Context, evs []consumer.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ev := range evs {
		if ev.Value.(string) == s.refuse {
			return fmt.Errorf("insert %s: %w: value out of range for column x", ev.Value, consumer.ErrRejected)
		}
	}
	for _, ev := range evs {
		s.applied[ev.MsgID]++
		s.rows[ev.MsgID] = ev.Value.(string)
	}
	return nil
}

func (s *gateSink) Archive([]consumer.Event) error { return nil }

func (s *gateSink) count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applied[id]
}

// withConsumer opens the embedded bus of dir, runs the ethereum consumer
// with sink on it until until() holds (or 20 s), and closes the bus.
func withConsumer(t *testing.T, dir string, sink *gateSink, setup func(*bus.Bus), until func(*bus.Bus) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Config{DataDir: dir, MaxBytes: 64 << 20}, bustest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.EnsureStream(ctx, "ethereum"); err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(b)
	}
	c, err := consumer.New(consumer.Config{Bus: b, Domain: "ethereum", Sink: sink, Durable: "valtrack-ethereum",
		BatchSize: 10, MaxWait: 50 * time.Millisecond, Log: bustest.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	cctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(cctx) }()
	for !until(b) {
		if ctx.Err() != nil {
			stop()
			<-done
			t.Fatal("timed out waiting for the consumer")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("consumer: %v", err)
	}
}

// dlqRun runs valtrack with args, returning stdout, stderr and the error.
func dlqRun(args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	app := newApp(domains())
	app.Writer, app.ErrWriter = &out, &errOut
	err := app.Run(context.Background(), append([]string{"valtrack"}, args...))
	return out.String(), errOut.String(), err
}

func streamLastSeq(t *testing.T, dir string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Config{DataDir: dir, MaxBytes: 64 << 20}, bustest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	s, err := b.JetStream().Stream(ctx, "ETHEREUM")
	if err != nil {
		t.Fatal(err)
	}
	return s.CachedInfo().State.LastSeq
}

// TestDLQListAndReplay: a consumer refuses one event, which it sets aside;
// `valtrack dlq list` shows it with its error; `replay --dry-run`
// publishes nothing; a replay of a sequence that holds an event is
// refused; `replay --seq` publishes it again, and the consumer, whose sink
// now accepts it, applies it under the original's message id, once, also
// when it is replayed a second time (`--all`).
func TestDLQListAndReplay(t *testing.T) {
	dir := t.TempDir()
	sink := newGateSink("bad")
	var lockErr error
	withConsumer(t, dir, sink, func(b *bus.Bus) {
		pub := b.NewPublisher(nil)
		for _, id := range []string{"ok", "bad", "ok2"} {
			if err := pub.Publish(context.Background(), "ethereum.devnet.thing", "id-"+id, []byte(`{"id":"`+id+`"}`)); err != nil {
				t.Fatal(err)
			}
		}
		if err := pub.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		// While this process holds the embedded bus, dlq cannot open it.
		_, _, lockErr = dlqRun("dlq", "list", "--data-dir", dir)
	}, func(b *bus.Bus) bool {
		ls, _ := b.DeadLetters(context.Background(), "ethereum", 10, 100*time.Millisecond)
		return len(ls) == 1 && sink.count("id-ok2") == 1
	})
	if lockErr == nil || !containsAll(lockErr.Error(), "in use", "valtrack run", "--nats-url") {
		t.Fatalf("dlq list while the bus is held: %v; want it in use, naming `valtrack run` and --nats-url", lockErr)
	}
	if sink.count("id-bad") != 0 || sink.count("id-ok") != 1 {
		t.Fatalf("first pass applied %v; want id-ok and id-ok2 only", sink.applied)
	}

	out, _, err := dlqRun("dlq", "list", "--data-dir", dir, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var l letterJSON
	if err := json.Unmarshal([]byte(out), &l); err != nil || strings.Count(out, "\n") != 1 {
		t.Fatalf("dlq list --json printed %q (%v); want one dead letter", out, err)
	}
	if l.Domain != "ethereum" || l.Kind != "thing" || l.Original != "ethereum.devnet.thing" || l.MsgID != "id-bad" ||
		l.OriginalSeq != 2 || l.Size != len(`{"id":"bad"}`) || !strings.Contains(l.Error, "value out of range for column x") || l.Time.IsZero() {
		t.Fatalf("dlq list --json: %+v", l)
	}
	table, _, err := dlqRun("dlq", "list", "--data-dir", dir, "--domain", "ethereum")
	if err != nil {
		t.Fatal(err)
	}
	if !containsAll(table, "SEQ", "ERROR", strconv.FormatUint(l.Seq, 10), "ethereum.devnet.thing", "value out of range for column x") {
		t.Fatalf("dlq list table:\n%s", table)
	}
	seq := strconv.FormatUint(l.Seq, 10)
	last := streamLastSeq(t, dir)

	out, _, err = dlqRun("dlq", "replay", "--data-dir", dir, "--domain", "ethereum", "--seq", seq, "--dry-run")
	if err != nil || !containsAll(out, "would replay", "ethereum.devnet.thing") {
		t.Fatalf("replay --dry-run: %q, %v", out, err)
	}
	if got := streamLastSeq(t, dir); got != last {
		t.Fatalf("replay --dry-run published: the stream's last sequence went from %d to %d", last, got)
	}
	_, _, err = dlqRun("dlq", "replay", "--data-dir", dir, "--domain", "ethereum", "--seq", seq+",1")
	if err == nil || !containsAll(err.Error(), "nothing replayed", "seq 1", "not a dead letter") {
		t.Fatalf("replay of an event's sequence: %v; want it refused, nothing replayed", err)
	}
	if got := streamLastSeq(t, dir); got != last {
		t.Fatalf("a refused replay published: the stream's last sequence went from %d to %d", last, got)
	}

	out, _, err = dlqRun("dlq", "replay", "--data-dir", dir, "--domain", "ethereum", "--seq", seq)
	if err != nil || !containsAll(out, "replayed ethereum dead letter "+seq, "on ethereum.devnet.thing", "id replay-"+seq+"-") {
		t.Fatalf("replay: %q, %v", out, err)
	}
	// The replay is in the stream: list shows it, and --all skips the
	// letter, saying so, unless --again.
	out, _, err = dlqRun("dlq", "list", "--data-dir", dir, "--json")
	var lr letterJSON
	if err != nil || json.Unmarshal([]byte(out), &lr) != nil || lr.Replays != 1 || lr.LastReplay == nil || lr.LastReplay.IsZero() {
		t.Fatalf("dlq list --json after a replay: %q, %v; want replays 1 and its time", out, err)
	}
	table, _, err = dlqRun("dlq", "list", "--data-dir", dir)
	if err != nil || !containsAll(table, "REPLAYED", " 1x, last ") {
		t.Fatalf("dlq list table after a replay: %v\n%s\nwant REPLAYED 1x", err, table)
	}
	last = streamLastSeq(t, dir)
	out, errOut, err := dlqRun("dlq", "replay", "--data-dir", dir, "--all", "--domain", "ethereum", "--kind", "thing")
	if err != nil || strings.Contains(out, "replayed ethereum") || !containsAll(errOut, "0 dead letter(s) replayed", "1 dead letter(s) skipped: replayed before", "--again") {
		t.Fatalf("replay --all of a replayed letter: %q, %q, %v; want it skipped, saying so", out, errOut, err)
	}
	if got := streamLastSeq(t, dir); got != last {
		t.Fatalf("replay --all of replayed letters published: the stream's last sequence went from %d to %d", last, got)
	}
	// --seq replays what it names, saying it was replayed before.
	out, _, err = dlqRun("dlq", "replay", "--data-dir", dir, "--domain", "ethereum", "--seq", seq, "--dry-run")
	if err != nil || !containsAll(out, "would replay ethereum dead letter "+seq, "replayed 1 time(s) before") {
		t.Fatalf("replay --seq --dry-run of a replayed letter: %q, %v", out, err)
	}
	// --all --again replays it a second time; the sink, keyed by the
	// original's id, writes it once.
	out, _, err = dlqRun("dlq", "replay", "--data-dir", dir, "--all", "--again", "--domain", "ethereum", "--kind", "thing")
	if err != nil || strings.Count(out, "replayed ethereum dead letter "+seq) != 1 {
		t.Fatalf("replay --all --again: %q, %v", out, err)
	}
	out, _, err = dlqRun("dlq", "list", "--data-dir", dir, "--json")
	if err != nil || json.Unmarshal([]byte(out), &lr) != nil || lr.Replays != 2 {
		t.Fatalf("dlq list --json after two replays: %q, %v; want replays 2", out, err)
	}
	sink.mu.Lock()
	sink.refuse = "" // the cause is fixed
	sink.mu.Unlock()
	withConsumer(t, dir, sink, nil, func(*bus.Bus) bool { return sink.count("id-bad") == 2 })
	sink.mu.Lock()
	rows := fmt.Sprint(sink.rows)
	sink.mu.Unlock()
	if rows != "map[id-bad:bad id-ok:ok id-ok2:ok2]" {
		t.Fatalf("after two replays the sink's rows are %s; want id-bad once, under the original's message id", rows)
	}
	// Applied, nothing was set aside again.
	out, _, err = dlqRun("dlq", "list", "--data-dir", dir, "--json")
	if err != nil || strings.Count(out, "\n") != 1 {
		t.Fatalf("dlq list after the replay: %q, %v; want the one dead letter still", out, err)
	}
}

// Wrong or missing choices of `valtrack dlq` are refused before anything
// opens, saying what to give.
func TestDLQRefusesBadFlags(t *testing.T) {
	dir := t.TempDir() + "/nobus"
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"replay", "--data-dir", dir}, "give --seq N[,N…] (with --domain) or --all"},
		{[]string{"replay", "--data-dir", dir, "--seq", "5"}, "--seq needs --domain"},
		{[]string{"replay", "--data-dir", dir, "--seq", "5", "--all", "--domain", "ethereum"}, "give one of them"},
		{[]string{"replay", "--data-dir", dir, "--seq", "5,x", "--domain", "ethereum"}, "positive numbers separated by commas"},
		{[]string{"replay", "--data-dir", dir, "--seq", "5", "--domain", "ethereum", "--kind", "thing"}, "leave --kind out"},
		{[]string{"replay", "--data-dir", dir, "--seq", "5", "--domain", "ethereum", "--again"}, "leave --again out"},
		{[]string{"list", "--data-dir", dir, "--domain", "bitcoin"}, "give one of ethereum"},
		{[]string{"list", "--data-dir", dir, "--kind", "a.b"}, "give an event kind"},
		{[]string{"list", "--data-dir", dir, "--limit", "0"}, "1..100000"},
		{[]string{"list", "--data-dir", dir, "--from-seq", "5"}, "--from-seq needs --domain"},
		{[]string{"list", "--data-dir", dir}, "no embedded bus in --data-dir"},
	} {
		_, _, err := dlqRun(append([]string{"dlq"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("dlq %s: %v; want %q", strings.Join(c.args, " "), err, c.want)
		}
	}
	if _, serr := os.Stat(dir); serr == nil {
		t.Errorf("dlq created %s", dir)
	}
}

// The help of `valtrack dlq` and its commands has examples.
func TestDLQHelp(t *testing.T) {
	for _, c := range [][]string{{"dlq", "--help"}, {"dlq", "list", "--help"}, {"dlq", "replay", "--help"}} {
		out, errOut, err := dlqRun(c...)
		if err != nil || !strings.Contains(out+errOut, "valtrack dlq ") {
			t.Errorf("%v: %v\n%s", c, err, out+errOut)
		}
	}
}

// `replay --all` refuses a dead letter whose original subject is another
// domain's (its header can be written by anyone who publishes on the
// stream), says so, replays the others and exits with an error.
func TestDLQReplayAllRefusesForeignSubject(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Config{DataDir: dir, MaxBytes: 64 << 20}, bustest.Logger())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.EnsureStream(ctx, "ethereum"); err != nil {
		t.Fatal(err)
	}
	forged := nats.NewMsg("ethereum.dlq.thing")
	forged.Data = []byte(`{"id":"x"}`)
	forged.Header.Set(bus.HeaderDLQSubject, "cosmos.hub.vote")
	if _, err := b.JetStream().PublishMsg(ctx, forged); err != nil { // seq 1
		t.Fatal(err)
	}
	good := &bus.Msg{Subject: "ethereum.devnet.thing", Data: []byte(`{"id":"y"}`), MsgID: "id-y", StreamSeq: 9}
	if err := b.DeadLetter(ctx, "ethereum", "thing", good, errors.New("refused")); err != nil { // seq 2
		t.Fatal(err)
	}
	b.Close()

	out, errOut, err := dlqRun("dlq", "replay", "--data-dir", dir, "--all")
	if err == nil || !strings.Contains(err.Error(), "1 dead letter(s) refused") {
		t.Fatalf("replay --all with a forged letter: %v; want it to fail naming the refusal", err)
	}
	if !containsAll(errOut, "refused", `"cosmos.hub.vote"`, "not ethereum.<network>.<event>") || !strings.Contains(out, "replayed ethereum dead letter 2 ") {
		t.Fatalf("replay --all printed:\n%s\n%s\nwant seq 1 refused and seq 2 replayed", out, errOut)
	}
	if got := streamLastSeq(t, dir); got != 3 {
		t.Fatalf("the stream's last sequence is %d after the replay, want 3 (one replay published)", got)
	}
	// Run again, it skips the replayed letter and still refuses the forged one.
	out, errOut, err = dlqRun("dlq", "replay", "--data-dir", dir, "--all")
	if err == nil || !strings.Contains(err.Error(), "1 dead letter(s) refused") || strings.Contains(out, "replayed ethereum") ||
		!containsAll(errOut, "0 dead letter(s) replayed", "1 dead letter(s) skipped: replayed before") {
		t.Fatalf("replay --all a second time printed:\n%s\n%s\n%v\nwant nothing replayed, seq 2 skipped, seq 1 refused", out, errOut, err)
	}
	if got := streamLastSeq(t, dir); got != 3 {
		t.Fatalf("the stream's last sequence is %d after the second replay --all, want 3 still", got)
	}
}
