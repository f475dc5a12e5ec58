package runner

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/events"
)

// A round's targets are re-validated on fresh reads before every nominate
// and announce, not only before an execution: a target that turns invalid
// between the round's start and a later send — a retry after a failed
// send, or the resumption after a restart of a round whose first pass
// could not read the chain — is not nominated. As an announcement with an
// invalid target is cancelled, the nominator's send is cancelled for the
// round with the reason (the candidate and its failing check), no attempt
// is counted, and nothing more is sent in the round. With every target
// still valid the send goes as before.
func TestTargetInvalidBeforeARetryOrResumeIsNotSent(t *testing.T) {
	type kind struct {
		name  string
		proxy bool
		delay uint32
		send  string // what the fake chain records for the send
	}
	kinds := []kind{{"direct", false, 0, "nominate"}, {"plain proxy", true, 0, "nominate"}, {"delayed proxy", true, 10, "announce"}}
	for _, k := range kinds {
		for _, how := range []string{"retry", "resume"} {
			for _, turnsInvalid := range []bool{true, false} {
				name := k.name + "/" + how + "/still valid"
				if turnsInvalid {
					name = k.name + "/" + how + "/charlie turns invalid"
				}
				t.Run(name, func(t *testing.T) {
					st, cfg := fixture(t, k.delay)
					cfg.Nomination.Nominators[0].Proxy = k.proxy
					fc := goodChain()
					ctx := context.Background()
					clock := now
					mk := sendingRunner(t, st, cfg, fc, &clock)
					r := mk()
					wantAttempts := 0
					switch how {
					case "retry": // the first send fails on chain: one attempt
						fc.sendErr = errors.New("1010 invalid transaction")
						wantAttempts = 1
					case "resume": // the first pass cannot read the chain: nothing sent
						fc.readErr = errors.New("rpc: connection refused")
						if k.delay > 0 {
							fc.annErr = fc.readErr
						}
					}
					if _, err := r.Pass(ctx); err == nil {
						t.Fatal("the first pass reported no error")
					}
					rs, _ := st.Rounds(ctx, chain, 10)
					if len(rs) != 1 || rs[0].Status != RoundStarted || rs[0].Attempts["nominator"].Count != wantAttempts || len(fc.sent) != 0 {
						t.Fatalf("after the first pass: rounds %+v, sent %v: want one started round, %d attempts, nothing sent", rs, fc.sent, wantAttempts)
					}
					targets := rs[0].Assignments[0].Targets
					if !strings.Contains(strings.Join(targets, ","), "stash-charlie") {
						t.Fatalf("round targets %v: want charlie among them", targets)
					}

					// Between the round's start and the next send: charlie raises
					// its commission on chain (the store, read by the sentry,
					// does not know yet); the chain answers again.
					fc.mu.Lock()
					fc.sendErr, fc.readErr, fc.annErr = nil, nil, nil
					if turnsInvalid {
						v := fc.facts["stash-charlie"]
						v.Commission = events.Got(uint32(900_000_000), 2) // 90 %
						fc.facts["stash-charlie"] = v
					}
					fc.mu.Unlock()
					clock = now.Add(time.Hour) // past the back-off
					if how == "resume" {
						r = mk() // the restart
					}
					p, err := r.Pass(ctx)
					if err != nil {
						t.Fatal(err)
					}
					rs, _ = st.Rounds(ctx, chain, 10)
					if len(rs) != 1 || rs[0].Status != RoundDone || p.Round == nil || p.Round.ID != rs[0].ID {
						t.Fatalf("rounds %+v: want the one round, done", rs)
					}
					att := rs[0].Attempts["nominator"]
					if att.Count != wantAttempts {
						t.Errorf("attempts %+v: want %d, the cancelled send counts none", att, wantAttempts)
					}
					if !turnsInvalid {
						if fc.count(k.send) != 1 || att.Cancelled != "" {
							t.Fatalf("sent %v, attempts %+v: want one %s, as before", fc.sent, att, k.send)
						}
						return
					}
					if len(fc.sent) != 0 || len(fc.nominated["nominator"]) != 0 || len(fc.anns["proxy-of-nominator"]) != 0 {
						t.Fatalf("sent %v, nominated %v, announced %v: a target invalid on fresh reads was sent", fc.sent, fc.nominated, fc.anns)
					}
					if !strings.Contains(att.Cancelled, "charlie") || !strings.Contains(att.Cancelled, "ommission") {
						t.Errorf("cancelled %q: want charlie's commission named", att.Cancelled)
					}
					for tg, o := range rs[0].Outcome["nominator"] {
						if !strings.HasPrefix(o, "cancelled: targets invalid before sending") || !strings.Contains(o, "charlie") {
							t.Errorf("outcome of %s %q: want the cancellation with charlie's reason", tg, o)
						}
					}
					if ns, _ := st.LatestNominations(ctx, chain); len(ns) != 0 {
						t.Errorf("nominations %+v recorded for a cancelled send", ns)
					}
					if txs, _ := st.ProxyTxs(ctx, chain, false, 0); len(txs) != 0 {
						t.Errorf("proxy txs %+v recorded for a cancelled send", txs)
					}
					// Later passes of the era, restarted or not: nothing sent.
					for i := range 2 {
						clock = now.Add(time.Duration(2+i) * time.Hour)
						if _, err := mk().Pass(ctx); err != nil {
							t.Fatal(err)
						}
					}
					if len(fc.sent) != 0 {
						t.Fatalf("later passes sent %v", fc.sent)
					}
				})
			}
		}
	}
}
