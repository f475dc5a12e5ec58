package sentry

import (
	"context"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/valtrack/valtrack/internal/ethereum/peerstore"
)

// dialQueue is a FIFO of peers to dial (or re-handshake when connected),
// each at most once in it. Its size is bounded by the peerstore's.
type dialQueue struct {
	mu     sync.Mutex
	items  []peer.ID
	queued map[peer.ID]bool
	wake   chan struct{}
}

func newDialQueue() *dialQueue {
	return &dialQueue{queued: make(map[peer.ID]bool), wake: make(chan struct{}, 1)}
}

func (q *dialQueue) push(p peer.ID) {
	q.mu.Lock()
	if q.queued[p] {
		q.mu.Unlock()
		return
	}
	q.queued[p] = true
	q.items = append(q.items, p)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *dialQueue) pop() (peer.ID, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return "", false
	}
	p := q.items[0]
	q.items[0] = ""
	q.items = q.items[1:]
	delete(q.queued, p)
	if len(q.items) > 0 {
		// Wake another worker for the rest.
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
	return p, true
}

func (q *dialQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

func (s *Sentry) dialWorker(ctx context.Context) {
	for ctx.Err() == nil {
		p, ok := s.dials.pop()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-s.dials.wake:
			case <-time.After(time.Second):
			}
			continue
		}
		s.visit(ctx, p)
	}
}

// visit dials a peer unless connected, then handshakes.
func (s *Sentry) visit(ctx context.Context, p peer.ID) {
	if s.connected(p) {
		s.handshake(ctx, p, s.directionOf(p))
		return
	}
	rec, ok := s.store.Get(p.String())
	if !ok || rec.Retired || !rec.SameNetwork {
		return
	}
	ai := peer.AddrInfo{ID: p}
	for _, a := range rec.Addrs {
		if m, err := ma.NewMultiaddr(a); err == nil {
			ai.Addrs = append(ai.Addrs, m)
		}
	}
	if len(ai.Addrs) == 0 {
		return
	}
	s.dialed.Add(1)
	s.m.dialed.Inc()
	dctx, cancel := context.WithTimeout(ctx, s.cfg.DialTimeout)
	err := s.host.Connect(network.WithDialPeerTimeout(dctx, s.cfg.DialTimeout), ai)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		s.fail(p, classify(err), err)
		return
	}
	s.handshake(ctx, p, "outbound")
}

// fail records a failed dial or handshake and schedules the backoff.
func (s *Sentry) fail(p peer.ID, reason string, err error) {
	now := time.Now()
	s.mu.Lock()
	s.failed[reason]++
	s.mu.Unlock()
	s.m.failed.WithLabelValues(reason).Inc()
	s.store.Update(p.String(), now, func(r *peerstore.Peer) {
		r.Failures++
		r.LastFailure = reason
		r.LastFailureAt = now
		r.NextDial = now.Add(backoff(r.Failures, s.cfg.BackoffBase, s.cfg.BackoffMax))
		if reason == ReasonWrongNetwork {
			r.SameNetwork = false
		}
	})
	s.log.Debug("peer failed", "peer", p, "reason", reason, "err", err)
}

func (s *Sentry) connected(p peer.ID) bool {
	return s.host.Network().Connectedness(p) == network.Connected
}

func (s *Sentry) directionOf(p peer.ID) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.direction[p]; ok {
		return d
	}
	return "outbound"
}

// recheck re-dials or re-handshakes every known peer of the network whose
// backoff is over, and retires peers unseen for RetireAfter.
func (s *Sentry) recheck(now time.Time) {
	for _, r := range s.store.Active() {
		if !r.SameNetwork {
			continue
		}
		p, err := peer.Decode(r.PeerID)
		if err != nil {
			continue
		}
		if s.connected(p) || !now.Before(r.NextDial) {
			s.dials.push(p)
		}
	}
	if ids := s.store.Retire(now.Add(-s.cfg.RetireAfter), now); len(ids) > 0 {
		s.log.Info("retired peers unseen for long", "count", len(ids), "after", s.cfg.RetireAfter)
	}
}
