package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/valtrack/valtrack/internal/bus"
	"github.com/valtrack/valtrack/internal/domain"
)

// openWaitEvery is how often a domain still opening is reported: a devnet
// can take half a minute (chopsticks), and a start that prints nothing
// for that long looks hung.
const openWaitEvery = 5 * time.Second

// opened is a domain with its parts.
type opened struct {
	d     domain.Domain
	parts *domain.Parts
}

// openDomains opens ds for a role, registering each one's Close on st.
// With pub (run, sentry), each domain's Env.Publisher is a scope of it.
// With hook, each domain is handed to it as soon as it is open (see
// readyHook).
func openDomains(ctx context.Context, ds []domain.Domain, base domain.Env, pub *bus.Publisher, st *stack, hook *readyHook) ([]opened, error) {
	return openConcurrently(ctx, ds, base, pub, st, openWaitEvery, hook)
}

// readyHook lets a domain's work start while the others still open: a
// devnet of Polkadot takes half a minute where the others are ready in
// seconds, and their sentries would sit idle meanwhile.
type readyHook struct {
	// ready is called for each domain as soon as its Open succeeded and
	// the start still goes on, from the goroutine that collects the
	// results, in the order the domains become ready.
	ready func(opened)
	// unready, when the start is given up, must stop all that ready
	// started and wait for it: it is called before any domain is closed,
	// as what runs on a domain must never outlive it.
	unready func()
}

// openResult is what one domain's Open returned.
type openResult struct {
	i     int
	parts *domain.Parts
	err   error
	took  time.Duration
}

// openConcurrently runs every domain's Open in a goroutine of its own, so
// that a slow one (a devnet starting) does not hold the others back, and
// returns them in the order of ds whatever order they finished in. While
// an Open runs longer than every, a line says what it waits for, every
// `every`. When one fails (or ctx ends), the others are cancelled and
// waited for, what hook started is stopped, every domain that did open is
// closed again (only then), and the error
// names the domain that failed. Opens honour ctx (the contract), so the
// wait after a cancel is short; a second Ctrl-C exits at once regardless.
func openConcurrently(ctx context.Context, ds []domain.Domain, base domain.Env, pub *bus.Publisher, st *stack, every time.Duration, hook *readyHook) ([]opened, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Buffered for all: a goroutine never blocks on its send, whatever
	// this function does meanwhile.
	results := make(chan openResult, len(ds))
	envs := make([]domain.Env, len(ds))
	started := time.Now()
	for i, d := range ds {
		envs[i] = domainEnv(base, d, pub)
		go func() {
			start := time.Now()
			p, err := d.Open(ctx, envs[i])
			if err == nil && p == nil {
				err = errors.New("its Open returned no parts and no error (a bug in the domain)")
			}
			results <- openResult{i: i, parts: p, err: err, took: time.Since(start)}
		}()
	}

	parts := make([]*domain.Parts, len(ds))
	done := make([]bool, len(ds))
	var failed *openResult
	tick := time.NewTicker(every)
	defer tick.Stop()
	for pending := len(ds); pending > 0; {
		select {
		case r := <-results:
			pending--
			done[r.i] = true
			log := envs[r.i].Log
			switch {
			case r.err == nil:
				parts[r.i] = r.parts
				if ctx.Err() != nil {
					log.Info("domain opened after the start was given up; closing it again", "took", r.took.Round(time.Millisecond))
				} else {
					log.Info("domain ready", "took", r.took.Round(time.Millisecond))
					if hook != nil {
						hook.ready(opened{d: ds[r.i], parts: r.parts})
					}
				}
			case ctx.Err() == nil:
				// The first failure while nothing was cancelled is the
				// cause; the others' errors that follow are our cancel's.
				failed = &r
				if len(ds) > 1 {
					// Said now, as the others may take a moment to stop;
					// alone, the returned error says it.
					log.Error("domain failed to open; stopping the others", "took", r.took.Round(time.Millisecond), "err", r.err)
				}
				cancel()
			default:
				// Ended by the cancel, most likely, whatever its error
				// says: the cause is the failure (or Ctrl-C) above.
				log.Info("domain stopped opening", "took", r.took.Round(time.Millisecond), "err", r.err)
			}
		case <-tick.C:
			waited := time.Since(started).Round(time.Second)
			for i, d := range ds {
				switch {
				case done[i]:
				case ctx.Err() != nil:
					envs[i].Log.Info("waiting for the domain to stop opening", "waited", waited)
				default:
					envs[i].Log.Info("waiting for "+starting(d, base)+" to start", "waited", waited)
				}
			}
		}
	}

	if failed != nil || ctx.Err() != nil {
		if hook != nil {
			hook.unready()
		}
		// Close what did open, last first, as the stack would.
		for i := len(ds) - 1; i >= 0; i-- {
			if parts[i] != nil && parts[i].Close != nil {
				if err := parts[i].Close(); err != nil {
					envs[i].Log.Warn("close the domain after the failed start", "err", err)
				}
			}
		}
		return nil, openError(ctx, ds, failed)
	}
	out := make([]opened, len(ds))
	for i, d := range ds {
		if parts[i].Close != nil {
			st.push(d.Name(), parts[i].Close)
		}
		out[i] = opened{d: d, parts: parts[i]}
	}
	return out, nil
}

// openError is the error of a start given up: the domain that failed, or
// the interruption.
func openError(ctx context.Context, ds []domain.Domain, failed *openResult) error {
	if failed == nil {
		return fmt.Errorf("start interrupted while the domains were opening: %w", context.Cause(ctx))
	}
	name := ds[failed.i].Name()
	if len(ds) == 1 {
		return fmt.Errorf("%s: %w", name, failed.err)
	}
	return fmt.Errorf("%s: %w (the domains opening beside it were stopped and released; start again once %s is fixed)", name, failed.err, name)
}

// domainEnv is base as domain d gets it: its own logger and, with pub, its
// own scopes of the publisher.
func domainEnv(base domain.Env, d domain.Domain, pub *bus.Publisher) domain.Env {
	env := base
	env.Log = base.Log.With("domain", d.Name())
	if pub != nil {
		// Each domain (and each part that asks, PublisherFor) gets a
		// scope of the one publisher: a Flush then waits for its own
		// messages, not for another domain's flood or slow stream.
		name := d.Name()
		env.Publisher = pub.Scope(name)
		env.NewPublisher = func(part string) domain.Publisher { return pub.Scope(name + "/" + part) }
	}
	return env
}

// starting is what d's Open waits for, for the waiting line.
func starting(d domain.Domain, env domain.Env) string {
	if s, ok := d.(domain.Starter); ok && env.Cmd != nil {
		if what := s.Starting(env.Cmd, env.Role); what != "" {
			return what
		}
	}
	return "the " + d.Name() + " domain"
}
