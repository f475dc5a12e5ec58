package main

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/domain"
)

// fakeSentry signals when its Run is entered and when it returned; with
// fail it returns that error at once, else it runs until its ctx ends.
type fakeSentry struct {
	running, stopped chan struct{}
	fail             error
	// stoppedFn, when set, is called as Run returns.
	stoppedFn func()
}

func newFakeSentry() *fakeSentry {
	return &fakeSentry{running: make(chan struct{}), stopped: make(chan struct{})}
}

func (s *fakeSentry) Network() string { return "fake-net" }

func (s *fakeSentry) Run(ctx context.Context) error {
	close(s.running)
	defer close(s.stopped)
	if s.stoppedFn != nil {
		defer s.stoppedFn()
	}
	if s.fail != nil {
		return s.fail
	}
	<-ctx.Done()
	return ctx.Err()
}

// order records what happened, in order, from any goroutine.
type order struct {
	mu sync.Mutex
	at []string
}

func (o *order) add(what string) {
	o.mu.Lock()
	o.at = append(o.at, what)
	o.mu.Unlock()
}

func (o *order) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return strings.Join(o.at, ",")
}

// fastSlow is a domain whose Open returns at once with a sentry, and one
// whose Open runs slow; the sentry's return and the fast domain's Close
// are recorded in order.
type fastSlow struct {
	fast, slow *fakeDomain
	sentry     *fakeSentry
	order      order
}

func newFastSlow(slow func(ctx context.Context, fastSentry *fakeSentry) error) *fastSlow {
	f := &fastSlow{sentry: newFakeSentry()}
	f.sentry.stoppedFn = func() { f.order.add("fast sentry stopped") }
	f.fast = newFake("fast", func(context.Context) error { return nil })
	f.fast.sentries = []domain.Sentry{f.sentry}
	f.fast.onClose = func() { f.order.add("fast closed") }
	f.slow = newFake("slow", func(ctx context.Context) error { return slow(ctx, f.sentry) })
	return f
}

func (f *fastSlow) domains() []domain.Domain { return []domain.Domain{f.fast, f.slow} }

// startWithSentries opens ds as runAction does: each domain's sentries
// run in g as soon as it is open. work is cancelled by a sentry's error.
func startWithSentries(ctx context.Context, ds []domain.Domain, logs *logSink, st *stack) (*sentryRunner, *group, <-chan openOutcome) {
	work, cancel := context.WithCancel(ctx)
	g := &group{stop: cancel}
	sr := newSentryRunner(work, g)
	out := make(chan openOutcome, 1)
	go func() {
		defer cancel()
		doms, err := openConcurrently(work, ds, fakeEnv(logs), nil, st, time.Hour, sr.hook())
		out <- openOutcome{doms, err}
	}()
	return sr, g, out
}

// isClosed says whether ch is closed, without waiting.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestOpenDomainsStartsSentriesEarly: a domain's sentry runs while another
// domain's Open is still blocked (that Open is let go only once the sentry
// runs); the slow domain's sentries start when it is open, and the stop
// waits for all of them.
func TestOpenDomainsStartsSentriesEarly(t *testing.T) {
	release := make(chan struct{})
	f := newFastSlow(func(ctx context.Context, _ *fakeSentry) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	fs, ss := f.sentry, newFakeSentry()
	f.slow.sentries = []domain.Sentry{ss}
	st := &stack{}
	defer st.close()
	sr, g, res := startWithSentries(context.Background(), f.domains(), newLogSink(), st)
	within(t, fs.running, "the fast domain's sentry running while the slow one opens")
	if isClosed(ss.running) {
		t.Fatal("the slow domain's sentry runs before its Open returned")
	}
	close(release)
	o := outcome(t, res)
	if o.err != nil {
		t.Fatal(o.err)
	}
	within(t, ss.running, "the slow domain's sentry once it is open")
	if isClosed(fs.stopped) || isClosed(ss.stopped) {
		t.Fatal("a sentry stopped although the start succeeded")
	}
	sr.stop()
	if !isClosed(fs.stopped) || !isClosed(ss.stopped) {
		t.Fatal("stop returned before every sentry's Run did")
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("group: %v, want nil for sentries stopped", err)
	}
}

// TestOpenDomainsFailureStopsSentriesBeforeClose: when the slow domain
// fails after the fast one's sentry started, that sentry has returned
// before the fast domain is closed, and the error is the slow domain's.
func TestOpenDomainsFailureStopsSentriesBeforeClose(t *testing.T) {
	f := newFastSlow(func(ctx context.Context, fs *fakeSentry) error {
		select {
		case <-fs.running:
			return errors.New("slow broke")
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	st := &stack{}
	_, g, res := startWithSentries(context.Background(), f.domains(), newLogSink(), st)
	out := outcome(t, res)
	if out.err == nil || !strings.HasPrefix(out.err.Error(), "slow: slow broke") {
		t.Fatalf("error %v, want the slow domain's", out.err)
	}
	if got := f.order.String(); got != "fast sentry stopped,fast closed" {
		t.Fatalf("order %q, want the sentry stopped before its domain closed", got)
	}
	if len(st.fns) != 0 {
		t.Fatalf("the stack holds %v after the failed start", st.whs)
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("group: %v, want nil (the sentry was stopped, it did not fail)", err)
	}
}

// TestOpenDomainsCancelStopsSentries: Ctrl-C (ctx cancelled) while the
// slow domain opens returns the interruption with the started sentry
// stopped and then its domain closed.
func TestOpenDomainsCancelStopsSentries(t *testing.T) {
	inSlow := make(chan struct{})
	f := newFastSlow(func(ctx context.Context, _ *fakeSentry) error { close(inSlow); <-ctx.Done(); return ctx.Err() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := &stack{}
	_, _, res := startWithSentries(ctx, f.domains(), newLogSink(), st)
	within(t, f.sentry.running, "the fast domain's sentry")
	within(t, inSlow, "the slow domain's Open")
	cancel()
	out := outcome(t, res)
	if !errors.Is(out.err, context.Canceled) || !strings.Contains(out.err.Error(), "interrupted") {
		t.Fatalf("error %v, want the interruption", out.err)
	}
	if got := f.order.String(); got != "fast sentry stopped,fast closed" {
		t.Fatalf("order %q, want the sentry stopped before its domain closed", got)
	}
}

// TestOpenDomainsFailingSentryStopsStart: a sentry that fails while
// another domain still opens cancels that Open, its domain is closed, and
// the group holds the sentry's error (what runAction returns).
func TestOpenDomainsFailingSentryStopsStart(t *testing.T) {
	slowCancelled := make(chan struct{})
	f := newFastSlow(func(ctx context.Context, _ *fakeSentry) error {
		<-ctx.Done()
		close(slowCancelled)
		return ctx.Err()
	})
	f.sentry.fail = errors.New("sentry broke")
	st := &stack{}
	_, g, res := startWithSentries(context.Background(), f.domains(), newLogSink(), st)
	out := outcome(t, res)
	within(t, slowCancelled, "the slow Open cancelled by the sentry's failure")
	if !errors.Is(out.err, context.Canceled) {
		t.Fatalf("open: %v, want the interruption", out.err)
	}
	if !f.fast.closed.Load() {
		t.Fatal("the fast domain was not closed after the failed start")
	}
	if err := g.Wait(); err == nil || err.Error() != "sentry fast/fake-net: sentry broke" {
		t.Fatalf("group: %v, want the sentry's error", err)
	}
}
