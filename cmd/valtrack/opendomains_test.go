package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/domain"
)

// fakeDomain is a domain whose Open is the test's function and whose
// parts record their Close; the rest of the contract is envDomain's.
type fakeDomain struct {
	*envDomain
	open   func(ctx context.Context) error
	closed atomic.Bool
	// sentries are its parts' Sentries; onClose, when set, is called by
	// its Close.
	sentries []domain.Sentry
	onClose  func()
}

func newFake(name string, open func(ctx context.Context) error) *fakeDomain {
	return &fakeDomain{envDomain: &envDomain{name: name}, open: open}
}

func (d *fakeDomain) Open(ctx context.Context, _ domain.Env) (*domain.Parts, error) {
	if err := d.open(ctx); err != nil {
		return nil, err
	}
	return &domain.Parts{Networks: []string{d.name + "-net"}, Sentries: d.sentries, Close: func() error {
		if d.onClose != nil {
			d.onClose()
		}
		d.closed.Store(true)
		return nil
	}}, nil
}

// startingDomain is a fakeDomain that says what its Open starts.
type startingDomain struct{ *fakeDomain }

func (d startingDomain) Starting(*cli.Command, domain.Role) string {
	return "the " + d.name + " fake devnet"
}

// logSink collects log output and lets a test wait for a line.
type logSink struct {
	mu   sync.Mutex
	buf  strings.Builder
	grew chan struct{}
}

func newLogSink() *logSink { return &logSink{grew: make(chan struct{}, 1)} }

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.buf.Write(p)
	s.mu.Unlock()
	select {
	case s.grew <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// waitFor waits until the log holds a line with every one of parts.
func (s *logSink) waitFor(t *testing.T, parts ...string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		for _, line := range strings.Split(s.String(), "\n") {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(line, p)
			}
			if all {
				return
			}
		}
		select {
		case <-s.grew:
		case <-deadline:
			t.Fatalf("no log line with %q; the log:\n%s", parts, s.String())
		}
	}
}

func fakeEnv(s *logSink) domain.Env {
	return domain.Env{Role: domain.RoleRun, Cmd: &cli.Command{}, Log: slog.New(slog.NewTextHandler(s, nil))}
}

// within fails the test when ch is not closed in a bound that only a hang
// exceeds.
func within(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not happen", what)
	}
}

type openOutcome struct {
	doms []opened
	err  error
}

// openInBackground runs openConcurrently; its outcome arrives on the
// channel.
func openInBackground(ctx context.Context, ds []domain.Domain, env domain.Env, st *stack, every time.Duration) <-chan openOutcome {
	out := make(chan openOutcome, 1)
	go func() {
		doms, err := openConcurrently(ctx, ds, env, nil, st, every, nil)
		out <- openOutcome{doms, err}
	}()
	return out
}

func outcome(t *testing.T, ch <-chan openOutcome) openOutcome {
	t.Helper()
	select {
	case o := <-ch:
		return o
	case <-time.After(10 * time.Second):
		t.Fatal("openDomains did not return")
		return openOutcome{}
	}
}

// TestOpenDomainsConcurrently: two slow Opens are in flight at once (each
// has entered Open before either is let go), and the domains come back in
// registration order although the second finished first; their Closes are
// on the stack in that order.
func TestOpenDomainsConcurrently(t *testing.T) {
	inA, inB := make(chan struct{}), make(chan struct{})
	goA, goB := make(chan struct{}), make(chan struct{})
	slow := func(in, release chan struct{}) func(context.Context) error {
		return func(ctx context.Context) error {
			close(in)
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	a := newFake("alpha", slow(inA, goA))
	b := newFake("beta", slow(inB, goB))
	logs := newLogSink()
	st := &stack{}
	res := openInBackground(context.Background(), []domain.Domain{a, b}, fakeEnv(logs), st, time.Hour)
	// Neither Open has been let go: both being entered means both run.
	within(t, inA, "alpha's Open")
	within(t, inB, "beta's Open while alpha's is in flight")
	close(goB)
	logs.waitFor(t, `msg="domain ready"`, "domain=beta", "took=")
	close(goA)
	o := outcome(t, res)
	if o.err != nil {
		t.Fatal(o.err)
	}
	if len(o.doms) != 2 || o.doms[0].d != a || o.doms[1].d != b || o.doms[0].parts.Networks[0] != "alpha-net" {
		t.Fatalf("opened %v, want alpha then beta with their parts", o.doms)
	}
	if strings.Join(st.whs, ",") != "alpha,beta" {
		t.Fatalf("the stack holds %v, want alpha then beta", st.whs)
	}
	st.close()
	if !a.closed.Load() || !b.closed.Load() {
		t.Fatal("the stack did not close both domains")
	}
}

// TestOpenDomainsFailureReleases: when one Open fails, the others are
// cancelled, every domain that did open (before the failure, or after it
// as its Open finished anyway) is closed before openDomains returns,
// nothing is left on the stack, and the error names the failed domain
// with its cause.
func TestOpenDomainsFailureReleases(t *testing.T) {
	aDone, inG, inD := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var deltaCancelled atomic.Bool
	alpha := newFake("alpha", func(context.Context) error { close(aDone); return nil })
	beta := newFake("beta", func(ctx context.Context) error {
		for _, ch := range []chan struct{}{aDone, inG, inD} {
			select {
			case <-ch:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return errors.New("beta broke: give it what it needs")
	})
	// gamma completes its Open when cancelled, as a start that was
	// already past its last cancellable step does.
	gamma := newFake("gamma", func(ctx context.Context) error { close(inG); <-ctx.Done(); return nil })
	delta := newFake("delta", func(ctx context.Context) error {
		close(inD)
		<-ctx.Done()
		deltaCancelled.Store(true)
		return ctx.Err()
	})
	logs := newLogSink()
	st := &stack{}
	o := outcome(t, openInBackground(context.Background(), []domain.Domain{alpha, beta, gamma, delta}, fakeEnv(logs), st, time.Hour))
	if o.err == nil || !strings.HasPrefix(o.err.Error(), "beta: beta broke: give it what it needs") || !strings.Contains(o.err.Error(), "stopped and released") {
		t.Fatalf("error %v, want one naming beta, its cause, and that the others were released", o.err)
	}
	if o.doms != nil {
		t.Fatalf("opened %v returned with the error", o.doms)
	}
	if !alpha.closed.Load() || !gamma.closed.Load() {
		t.Fatalf("closed alpha %v, gamma %v: every domain that opened must be closed", alpha.closed.Load(), gamma.closed.Load())
	}
	if !deltaCancelled.Load() {
		t.Fatal("delta's Open was not cancelled")
	}
	if len(st.fns) != 0 {
		t.Fatalf("the stack holds %v after the failed start", st.whs)
	}
	logs.waitFor(t, "domain failed to open", "domain=beta")
}

// TestOpenDomainsCancel: cancelling the start while an Open blocks (until
// its ctx is done) returns at once with the cancellation, and the domain
// that had opened is closed.
func TestOpenDomainsCancel(t *testing.T) {
	aDone, inB := make(chan struct{}), make(chan struct{})
	alpha := newFake("alpha", func(context.Context) error { close(aDone); return nil })
	beta := newFake("beta", func(ctx context.Context) error { close(inB); <-ctx.Done(); return ctx.Err() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := newLogSink()
	st := &stack{}
	res := openInBackground(ctx, []domain.Domain{alpha, beta}, fakeEnv(logs), st, time.Hour)
	within(t, aDone, "alpha's Open")
	within(t, inB, "beta's Open")
	cancel()
	o := outcome(t, res)
	if !errors.Is(o.err, context.Canceled) || !strings.Contains(o.err.Error(), "interrupted") {
		t.Fatalf("error %v, want the interruption (context.Canceled)", o.err)
	}
	if !alpha.closed.Load() {
		t.Fatal("alpha opened and was not closed after the cancel")
	}
	if len(st.fns) != 0 {
		t.Fatalf("the stack holds %v after the cancelled start", st.whs)
	}
}

// TestOpenDomainsProgress: an Open still running after the interval gets a
// line saying what it waits for (what its Starter says, or its name), and
// each domain a line with how long its Open took once it is ready.
func TestOpenDomainsProgress(t *testing.T) {
	release := make(chan struct{})
	blocked := func(ctx context.Context) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	slow := startingDomain{newFake("slow", blocked)}
	plain := newFake("plain", blocked)
	logs := newLogSink()
	st := &stack{}
	defer st.close()
	res := openInBackground(context.Background(), []domain.Domain{slow, plain}, fakeEnv(logs), st, time.Millisecond)
	logs.waitFor(t, `msg="waiting for the slow fake devnet to start"`, "domain=slow", "waited=")
	logs.waitFor(t, `msg="waiting for the plain domain to start"`, "domain=plain", "waited=")
	close(release)
	if o := outcome(t, res); o.err != nil {
		t.Fatal(o.err)
	}
	logs.waitFor(t, `msg="domain ready"`, "domain=slow", "took=")
	logs.waitFor(t, `msg="domain ready"`, "domain=plain", "took=")
}
