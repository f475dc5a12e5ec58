package runner

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/polkadot/program"
	"github.com/valtrack/valtrack/internal/polkadot/state"
	"github.com/valtrack/valtrack/internal/store"
	"github.com/valtrack/valtrack/internal/store/storetest"
)

// sixNominators is the fixture with six candidates and six bonded
// nominators (each through its own proxy with delay, or direct), each
// backing one target: a round gives each a different candidate.
func sixNominators(t *testing.T, delay uint32) (*state.Store, *program.Config, *fakeChain) {
	t.Helper()
	return sixNominatorsIn(t, state.New(storetest.SQLite(t, store.WithMigrations(state.Migrations()))), delay)
}

// sixNominatorsIn is sixNominators in the store st.
func sixNominatorsIn(t *testing.T, st *state.Store, delay uint32) (*state.Store, *program.Config, *fakeChain) {
	t.Helper()
	six := append(append([]string(nil), names...), "foxtrot")
	st, cfg := fixtureOf(t, st, delay, true, six)
	cfg.Nomination.Nominators = nil
	err := st.InTx(context.Background(), "six nominators", func(tx *state.Tx) error {
		for i := range 6 {
			acct := fmt.Sprintf("nominator-%d", i)
			cfg.Nomination.Nominators = append(cfg.Nomination.Nominators, program.NominatorConfig{Account: acct, Proxy: delay > 0, ProxyDelay: delay})
			v := goodValidator(acct, 100)
			v.Balance = events.Got(events.Amount("100000000000000"), 1) // 100 WND: one target
			if err := tx.PutValidator(&v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return st, cfg, goodChainOf(six)
}

// One pass reads the chain head, the Validators records and the proxy
// announcements once for all its sends — not once per nominator — and
// every send is still judged on those reads: with six nominators (six
// delegates when delayed) the round's sends cost one read of each kind,
// a target made invalid on chain (not in the store) cancels only its
// nominator's send, and the six announcements' executions after the delay
// cost one read of each kind again.
func TestOnePassReadsOnceForAllSends(t *testing.T) {
	for _, tc := range []struct {
		name  string
		delay uint32
		send  string
		want  map[string]int
	}{
		{"delayed proxy", 10, "announce", map[string]int{"chain": 1, "validators": 1, "announcements": 1}},
		{"direct", 0, "nominate", map[string]int{"chain": 1, "validators": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, cfg, fc := sixNominators(t, tc.delay)
			// foxtrot raised its commission on chain; the sentry has not
			// read it yet, so the round still chooses it.
			v := fc.facts["stash-foxtrot"]
			v.Commission = events.Got(uint32(900_000_000), 2)
			fc.facts["stash-foxtrot"] = v
			clock := now
			r := sendingRunner(t, st, cfg, fc, &clock)()
			ctx := context.Background()
			p, err := r.Pass(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if p.Round == nil || len(p.Round.Assignments) != 6 {
				t.Fatalf("round %+v: want six assignments", p.Round)
			}
			if got := fc.reads(); !maps.Equal(got, tc.want) {
				t.Errorf("the round's sends read %v, want %v (one of each for the six nominators)", got, tc.want)
			}
			if n := fc.count(tc.send); n != 5 {
				t.Errorf("sent %v: want five %s (foxtrot's nominator cancelled)", fc.sent, tc.send)
			}
			cancelled := 0
			for _, a := range p.Round.Assignments {
				att := p.Round.Attempts[a.Nominator]
				if att.Cancelled == "" {
					continue
				}
				cancelled++
				if a.Targets[0] != "stash-foxtrot" || !strings.Contains(att.Cancelled, "foxtrot") {
					t.Errorf("nominator %s (targets %v) cancelled: %q; want only foxtrot's, naming it", a.Nominator, a.Targets, att.Cancelled)
				}
			}
			if cancelled != 1 {
				t.Errorf("%d sends cancelled, want foxtrot's one", cancelled)
			}
			if tc.delay == 0 {
				return
			}
			// After the delay: the five announcements are executed, judged on
			// one read of each kind.
			fc.mu.Lock()
			fc.block, fc.calls = 100+uint64(tc.delay), nil
			fc.mu.Unlock()
			clock = clock.Add(time.Minute)
			p, err = r.Pass(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if p.Executed != 5 || fc.count("execute") != 5 {
				t.Fatalf("executed %d (sent %v): want the five announcements", p.Executed, fc.sent)
			}
			if got := fc.reads(); !maps.Equal(got, tc.want) {
				t.Errorf("the executions read %v, want %v", got, tc.want)
			}
		})
	}
}
