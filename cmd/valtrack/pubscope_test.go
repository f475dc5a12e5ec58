package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/valtrack/valtrack/internal/bus"
	"github.com/valtrack/valtrack/internal/bus/bustest"
	"github.com/valtrack/valtrack/internal/domain"
	"github.com/valtrack/valtrack/internal/store"
)

// envDomain is a domain that only keeps the Env the platform opened it with.
type envDomain struct {
	name string
	env  domain.Env
}

func (d *envDomain) Name() string                 { return d.name }
func (d *envDomain) Usage() string                { return "test" }
func (d *envDomain) Flags(domain.Role) []cli.Flag { return nil }
func (d *envDomain) Migrations() store.Migrations { return store.Migrations{Domain: d.name} }
func (d *envDomain) Selected(*cli.Command) bool   { return true }
func (d *envDomain) SelectWith() string           { return "--" + d.name }
func (d *envDomain) Open(_ context.Context, env domain.Env) (*domain.Parts, error) {
	d.env = env
	return &domain.Parts{}, nil
}

// TestOpenDomainsScopesThePublisher: with the process's one publisher each
// domain gets a scope of its own, and PublisherFor a further one per part,
// so that a domain's Flush returns while another domain's messages are
// still unacknowledged (their stream does not exist); without a publisher
// (consumer, serve) the Env has none.
func TestOpenDomainsScopesThePublisher(t *testing.T) {
	b := bustest.Embedded(t, func(c *bus.Config) { c.RetryMaxBackoff = 50 * time.Millisecond })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.EnsureStream(ctx, "alpha"); err != nil {
		t.Fatal(err)
	}
	pub := b.NewPublisher(nil)
	defer func() {
		short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		_ = pub.Close(short) // beta's messages are never stored, by design
	}()
	alpha, beta := &envDomain{name: "alpha"}, &envDomain{name: "beta"}
	st := &stack{}
	defer st.close()
	if _, err := openDomains(ctx, []domain.Domain{alpha, beta}, domain.Env{Log: bustest.Logger()}, pub, st, nil); err != nil {
		t.Fatal(err)
	}
	scopeName := func(p domain.Publisher) string {
		s, ok := p.(*bus.Scope)
		if !ok {
			t.Fatalf("the domain's publisher is a %T, want a *bus.Scope", p)
		}
		return s.Name()
	}
	if got := scopeName(alpha.env.Publisher); got != "alpha" {
		t.Fatalf("alpha's publisher is scope %q, want alpha", got)
	}
	if got := scopeName(alpha.env.PublisherFor("net1")); got != "alpha/net1" {
		t.Fatalf("alpha's PublisherFor(net1) is scope %q, want alpha/net1", got)
	}
	if got := scopeName(beta.env.Publisher); got != "beta" {
		t.Fatalf("beta's publisher is scope %q, want beta", got)
	}

	if err := beta.env.Publisher.Publish(ctx, "beta.net.event", "b-0", []byte("x")); err != nil {
		t.Fatal(err)
	}
	part := alpha.env.PublisherFor("net1")
	if err := part.Publish(ctx, "alpha.net1.event", "a-0", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := part.(domain.Flusher).Flush(ctx); err != nil {
		t.Fatalf("alpha's Flush while beta's message is pending: %v", err)
	}
	short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancelShort()
	if err := beta.env.Publisher.(domain.Flusher).Flush(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("beta's Flush without its stream returned %v, want context.DeadlineExceeded", err)
	}

	consumerSide := &envDomain{name: "gamma"}
	if _, err := openDomains(ctx, []domain.Domain{consumerSide}, domain.Env{Log: bustest.Logger()}, nil, st, nil); err != nil {
		t.Fatal(err)
	}
	if consumerSide.env.Publisher != nil || consumerSide.env.NewPublisher != nil || consumerSide.env.PublisherFor("x") != nil {
		t.Fatal("a role without a publisher got one")
	}
}
