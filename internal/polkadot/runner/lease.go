package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/program"
)

// keepLease renews the send lease every LeaseTTL/3 while the pass runs,
// so that a pass longer than the TTL — a slow RPC, sends each waiting for
// their inclusion — keeps it, and no other process takes over in the
// middle of a round. stop ends the renewal and waits for it: none
// outlives its pass, so a process whose passes stop (hung or gone) loses
// the lease after the TTL. A renewal that finds the lease lost records it
// (no further send this pass) and ends; a failed renewal is retried at
// the next tick, the sends renewing for themselves meanwhile.
func (r *Runner) keepLease(ctx context.Context) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-r.cfg.After(r.cfg.LeaseTTL / 3):
			}
			held, other, err := r.cfg.Store.RenewSendLease(ctx, r.cfg.Chain, r.cfg.LeaseHolder, r.cfg.Now(), r.cfg.LeaseTTL)
			switch {
			case err != nil:
				r.log.Warn("the send lease was not renewed; retrying", "err", err, "retry_in", r.cfg.LeaseTTL/3)
			case !held:
				r.setLeaseLost(lostTo(other, r.cfg.Now()))
				r.log.Warn("the send lease was lost during a pass: this process sends nothing more", "holder", other, "self", r.cfg.LeaseHolder)
				return
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

// leaseLost is a send refused because this process no longer holds the
// chain's send lease (or could not renew it): nothing was submitted, so no
// attempt is counted; the round stays started with the reason, for the
// lease's holder to finish.
type leaseLost struct{ reason string }

func (e leaseLost) Error() string { return e.reason }

func lostTo(other string, at time.Time) string {
	if other == "" {
		other = "no process (it was released)"
	}
	return fmt.Sprintf("sending stopped at %s: the send lease is held by %s; its holder finishes the round", at.UTC().Format(time.RFC3339), other)
}

func (r *Runner) setLeaseLost(why string) {
	r.leaseMu.Lock()
	defer r.leaseMu.Unlock()
	r.lostLease = why
}

// leaseLostReason is why this pass lost the send lease, "" while it holds it.
func (r *Runner) leaseLostReason() string {
	r.leaseMu.Lock()
	defer r.leaseMu.Unlock()
	return r.lostLease
}

// renewBeforeSend renews the send lease right before a transaction, so
// that one is sent only while this process holds the lease — a pass may
// have outlived it between two renewals — and never takes it back once
// lost (state.RenewSendLease). A dry-run runner holds no lease.
func (r *Runner) renewBeforeSend(ctx context.Context) error {
	if !r.cfg.Send {
		return nil
	}
	if why := r.leaseLostReason(); why != "" {
		return leaseLost{why}
	}
	now := r.cfg.Now()
	held, other, err := r.cfg.Store.RenewSendLease(ctx, r.cfg.Chain, r.cfg.LeaseHolder, now, r.cfg.LeaseTTL)
	var why string
	switch {
	case err != nil:
		why = fmt.Sprintf("sending stopped at %s: the send lease could not be renewed (%v), so another process may hold it", now.UTC().Format(time.RFC3339), err)
	case !held:
		why = lostTo(other, now)
	default:
		return nil
	}
	r.setLeaseLost(why)
	r.log.Warn("the send lease is lost: this pass sends nothing more", "reason", why)
	return leaseLost{why}
}

// leasedSender is the Sender with the lease renewed before each
// transaction (renewBeforeSend).
type leasedSender struct {
	Sender
	r *Runner
}

func (s leasedSender) Nominate(ctx context.Context, n program.NominatorConfig, targets []string) (Sent, error) {
	if err := s.r.renewBeforeSend(ctx); err != nil {
		return Sent{}, err
	}
	return s.Sender.Nominate(ctx, n, targets)
}

func (s leasedSender) Announce(ctx context.Context, n program.NominatorConfig, targets []string) (Sent, error) {
	if err := s.r.renewBeforeSend(ctx); err != nil {
		return Sent{}, err
	}
	return s.Sender.Announce(ctx, n, targets)
}

func (s leasedSender) ExecuteAnnounced(ctx context.Context, n program.NominatorConfig, targets []string) (Sent, error) {
	if err := s.r.renewBeforeSend(ctx); err != nil {
		return Sent{}, err
	}
	return s.Sender.ExecuteAnnounced(ctx, n, targets)
}

func (s leasedSender) RemoveAnnouncement(ctx context.Context, n program.NominatorConfig, callHash string) (Sent, error) {
	if err := s.r.renewBeforeSend(ctx); err != nil {
		return Sent{}, err
	}
	return s.Sender.RemoveAnnouncement(ctx, n, callHash)
}

// isLeaseLost reports whether err is (or wraps) a send refused for the
// lease, and its reason.
func isLeaseLost(err error) (string, bool) {
	var l leaseLost
	if errors.As(err, &l) {
		return l.reason, true
	}
	return "", false
}
