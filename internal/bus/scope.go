package bus

import (
	"context"
	"fmt"
)

// Scope is a view of a Publisher for one caller (a domain, a sentry): it
// publishes through the Publisher's connection and queue, within its
// MaxPending, but its Flush waits only for the messages published through
// this Scope. A caller that waits for its own acknowledgements (the SSV
// sentry before it moves its cursor) is then not held up by another
// caller's flood, nor by another stream whose acknowledgements are slow.
// Close the Publisher, not its scopes; a Scope needs no release.
type Scope struct {
	p    *Publisher
	name string
	what string   // how errors name it
	set  flushSet // guarded by p.mu
}

// Scope returns a new view of p named name (for errors). Every call makes
// a new, independent Scope: give each caller its own.
func (p *Publisher) Scope(name string) *Scope {
	return &Scope{p: p, name: name, what: fmt.Sprintf("publisher scope %q", name), set: flushSet{pending: pendingHeap{which: scopeHeap}}}
}

// Name is the name the Scope was made with.
func (s *Scope) Name() string { return s.name }

// Publish is Publisher.Publish, counted in this Scope: it blocks while the
// Publisher, all scopes together, holds MaxPending unacknowledged messages.
func (s *Scope) Publish(ctx context.Context, subject, msgID string, data []byte) error {
	return s.p.publish(ctx, s, subject, msgID, data)
}

// Flush waits until every message published through s before the call is
// acknowledged; other scopes' messages, pending or not, do not count. After
// a Close that lost some of them it returns ErrPublisherClosed.
func (s *Scope) Flush(ctx context.Context) error {
	return s.p.flush(ctx, &s.set, s.what)
}

// Pending is the number of messages published through s and not yet
// acknowledged.
func (s *Scope) Pending() int {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	return s.set.pending.Len()
}
