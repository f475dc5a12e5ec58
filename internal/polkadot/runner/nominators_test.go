package runner

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/polkadot/program"
	"github.com/valtrack/valtrack/internal/polkadot/state"
)

// delegateFails is the fake chain whose sender cannot read the proxy's key.
type delegateFails struct {
	*fakeChain
	calls int
}

func (d *delegateFails) Delegate(program.NominatorConfig) (string, error) {
	d.calls++
	return "", errors.New("key file: no such file")
}

// A pass records the program file's nominators before any round: with the
// proxy's account when the runner sends (read from the key), without it
// on a dry run; one dropped from the file is marked removed, and a
// restarted runner rewrites nothing.
func TestPassRecordsTheNominators(t *testing.T) {
	ctx := context.Background()
	nominators := func(st *state.Store) []state.Nominator {
		t.Helper()
		ns, err := st.Nominators(ctx, chain)
		if err != nil {
			t.Fatal(err)
		}
		return ns
	}

	st, cfg := fixture(t, 10)
	cfg.Nomination.Nominators = append(cfg.Nomination.Nominators, program.NominatorConfig{Account: "second"})
	if _, err := newRunner(t, st, cfg, nil, false).Pass(ctx); err != nil {
		t.Fatal(err)
	}
	at := now.UnixMilli()
	want := []state.Nominator{
		{Chain: chain, Account: "nominator", Proxy: true, ProxyDelay: 10, Added: at, Updated: at},
		{Chain: chain, Account: "second", Added: at, Updated: at},
	}
	if got := nominators(st); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("dry run: recorded %+v, want %+v", got, want)
	}

	// A sending runner, later: it knows the proxy's account. "second" never
	// nominated (it has no bond), and is dropped from the file.
	cfg.Nomination.Nominators = cfg.Nomination.Nominators[:1]
	fc := &fakeChain{block: 100, era: 3, anns: map[string][]Announcement{}, nominated: map[string][]string{}, facts: map[string]events.Validator{}}
	later := now.Add(time.Minute)
	c := Config{Chain: chain, Store: st, Program: staticProgram{cfg}, Send: true, LeaseHolder: "this-host", Live: fc, Sender: fc, Now: func() time.Time { return later }}
	r, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	l := later.UnixMilli()
	want = []state.Nominator{
		{Chain: chain, Account: "nominator", Proxy: true, ProxyDelay: 10, Delegate: "proxy-of-nominator", Added: at, Updated: l},
		{Chain: chain, Account: "second", Added: at, Updated: l, Removed: l},
	}
	if got := nominators(st); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("sending, one dropped: recorded %+v, want %+v", got, want)
	}

	// The restart: the same set is recorded already; nothing changes.
	later = later.Add(time.Minute)
	if r, err = New(c); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if got := nominators(st); got[0] != want[0] || got[1] != want[1] {
		t.Errorf("after a restart: %+v, want unchanged %+v", got, want)
	}

	// A key that cannot be read: the nominator (a plain proxy, whose
	// nominate needs no announcement) is recorded without its proxy's
	// account, and the key is read again only after delegateRetry.
	st2, cfg2 := fixture(t, 0)
	cfg2.Nomination.Nominators[0].Proxy = true
	df := &delegateFails{fakeChain: fc}
	clock := now
	r2, err := New(Config{Chain: chain, Store: st2, Program: staticProgram{cfg2}, Send: true, LeaseHolder: "this-host", Live: df, Sender: df, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	for i, step := range []time.Duration{0, time.Minute, delegateRetry} {
		clock = clock.Add(step)
		if _, err := r2.Pass(ctx); err != nil {
			t.Fatal(err)
		}
		if wantCalls := 1 + i/2; df.calls != wantCalls {
			t.Errorf("pass %d: the key was read %d times, want %d", i+1, df.calls, wantCalls)
		}
	}
	if got := nominators(st2); len(got) != 1 || got[0].Delegate != "" || !got[0].Proxy {
		t.Errorf("with an unreadable key: %+v", got)
	}
}
