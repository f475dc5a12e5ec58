package bus_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/bus"
	"github.com/valtrack/valtrack/internal/bus/bustest"
)

func TestHandlerErrorRedeliversAndTermDoesNot(t *testing.T) {
	b := bustest.Embedded(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.EnsureStream(ctx, "polkadot"); err != nil {
		t.Fatal(err)
	}
	publishN(t, b, "polkadot", "good", 0, 4)
	publishN(t, b, "polkadot", "bad", 0, 2)

	var (
		calls      int
		redelivery []*bus.Msg
	)
	handle := func(_ context.Context, batch []*bus.Msg) error {
		calls++
		if calls == 1 {
			if len(batch) != 6 {
				return fmt.Errorf("first batch has %d messages, want 6", len(batch))
			}
			for _, m := range batch {
				if strings.HasPrefix(m.MsgID, "bad-") {
					if err := m.Term(); err != nil {
						t.Errorf("term %s: %v", m.MsgID, err)
					}
				}
			}
			return errors.New("simulated write failure")
		}
		redelivery = append(redelivery, batch...)
		if len(redelivery) >= 4 {
			cancel()
		}
		return nil
	}
	cc := bus.ConsumeConfig{Domain: "polkadot", Durable: "scores", MaxWait: 200 * time.Millisecond, NakDelay: 50 * time.Millisecond}
	if err := b.Consume(ctx, cc, handle); err != nil {
		t.Fatal(err)
	}
	if len(redelivery) != 4 {
		t.Fatalf("redelivered %d messages, want the 4 good ones", len(redelivery))
	}
	for _, m := range redelivery {
		if !strings.HasPrefix(m.MsgID, "good-") {
			t.Fatalf("Term'ed message %s was redelivered", m.MsgID)
		}
		if m.NumDelivered != 2 {
			t.Fatalf("message %s NumDelivered = %d, want 2", m.MsgID, m.NumDelivered)
		}
	}
	info := consumerInfo(t, b, "polkadot", "scores")
	if info.NumAckPending != 0 || info.NumPending != 0 || info.AckFloor.Stream != 6 {
		t.Fatalf("consumer: %d unacknowledged, %d pending, ack floor %d; want 0, 0, 6",
			info.NumAckPending, info.NumPending, info.AckFloor.Stream)
	}
	m := b.Metrics()
	if metricValue(t, m.Termed) != 2 || metricValue(t, m.Naked) != 4 || metricValue(t, m.Acked) != 4 {
		t.Fatalf("termed %v naked %v acked %v, want 2, 4, 4", metricValue(t, m.Termed), metricValue(t, m.Naked), metricValue(t, m.Acked))
	}
}

func TestSharedDurableSplitsWork(t *testing.T) {
	const n = 300
	b := bustest.Embedded(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.EnsureStream(ctx, "ethereum"); err != nil {
		t.Fatal(err)
	}
	publishN(t, b, "ethereum", "e", 0, n)

	var (
		mu   sync.Mutex
		seen = map[string]int{}
		redl int
	)
	handle := func(_ context.Context, batch []*bus.Msg) error {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range batch {
			seen[m.MsgID]++
			if m.NumDelivered != 1 {
				redl++
			}
		}
		if len(seen) >= n {
			cancel()
		}
		return nil
	}
	cc := bus.ConsumeConfig{Domain: "ethereum", Durable: "shared", BatchSize: 10, MaxWait: 100 * time.Millisecond,
		FilterSubjects: []string{"ethereum.>"}}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Go(func() { errs <- b.Consume(ctx, cc, handle) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(seen) != n {
		t.Fatalf("the two consumers received %d distinct messages, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Fatalf("message %s delivered %d times, want once", id, k)
		}
	}
	if redl != 0 {
		t.Fatalf("%d redeliveries, want 0", redl)
	}
	info := consumerInfo(t, b, "ethereum", "shared")
	if info.NumAckPending != 0 || info.NumRedelivered != 0 || info.AckFloor.Stream != n {
		t.Fatalf("consumer: %d unacknowledged, %d redelivered, ack floor %d; want 0, 0, %d",
			info.NumAckPending, info.NumRedelivered, info.AckFloor.Stream, n)
	}
}

func TestConsumeFilterSubjects(t *testing.T) {
	b := bustest.Embedded(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.EnsureStream(ctx, "cosmos"); err != nil {
		t.Fatal(err)
	}
	p := b.NewPublisher(nil)
	for i, subj := range []string{"cosmos.a.vote", "cosmos.a.round", "cosmos.b.vote", "cosmos.b.step"} {
		if err := p.Publish(ctx, subj, fmt.Sprint(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	cc := bus.ConsumeConfig{Domain: "cosmos", Durable: "votes", FilterSubjects: []string{"cosmos.*.vote"}, MaxWait: 100 * time.Millisecond}
	c := consumeAll(t, b, cc, 2)
	for _, m := range c.msgs {
		if !strings.HasSuffix(m.Subject, ".vote") {
			t.Fatalf("filtered consumer received %s", m.Subject)
		}
	}
	if len(c.seen) != 2 {
		t.Fatalf("received %d messages, want 2", len(c.seen))
	}
}

func TestConsumeConfigValidation(t *testing.T) {
	b := bustest.Embedded(t)
	ctx := context.Background()
	noop := func(context.Context, []*bus.Msg) error { return nil }
	bad := []bus.ConsumeConfig{
		{Domain: "", Durable: "d"},
		{Domain: "Eth", Durable: "d"},
		{Domain: "ethereum", Durable: ""},
		{Domain: "ethereum", Durable: "a.b"},
		{Domain: "ethereum", Durable: "d", FilterSubjects: []string{"cosmos.>"}},
		{Domain: "ethereum", Durable: "d", FilterSubjects: []string{"ethereum.>.x"}},
		{Domain: "ethereum", Durable: "d", BatchSize: -1},
		{Domain: "ethereum", Durable: "d", MaxDeliver: -2},
		{Domain: "ethereum", Durable: "d", MaxDeliver: -1}, // unlimited: a poison message forever
		{Domain: "ethereum", Durable: "d", MaxDeliver: 1001},
		{Domain: "ethereum", Durable: "d", MaxWait: time.Millisecond},
		{Domain: "ethereum", Durable: "d", AckWait: -time.Second},
	}
	for _, cc := range bad {
		if err := b.Consume(ctx, cc, noop); err == nil {
			t.Errorf("Consume(%+v) accepted an invalid config", cc)
		}
	}
	if err := b.Consume(ctx, bus.ConsumeConfig{Domain: "ethereum", Durable: "d"}, nil); err == nil {
		t.Error("Consume accepted a nil handler")
	}
}
