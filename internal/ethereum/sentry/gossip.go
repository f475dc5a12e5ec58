package sentry

import (
	"context"
	"fmt"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/valtrack/valtrack/internal/ethereum/events"
)

// maxGossipMessage bounds one gossipsub RPC (GOSSIP_MAX_SIZE is 10 MiB since
// bellatrix); we join no topic, so little beyond control messages arrives.
const maxGossipMessage = 10 << 20

// startGossip runs a gossipsub router that joins no topic, so we enter no
// mesh, yet peers announce all their subscriptions to us on connect and on
// every change. The announcements are read in the subscription filter, the
// one hook that sees both the sender and the subscription options (the raw
// tracer's RecvRPC does not expose the sender); the raw tracer tells us when
// a peer leaves.
func (s *Sentry) startGossip(ctx context.Context) (*pubsub.PubSub, error) {
	ps, err := pubsub.NewGossipSub(ctx, s.host,
		pubsub.WithSubscriptionFilter(gossipFilter{s}),
		pubsub.WithRawTracer(gossipTracer{s}),
		pubsub.WithPeerExchange(false),
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		pubsub.WithMaxMessageSize(maxGossipMessage),
	)
	if err != nil {
		return nil, fmt.Errorf("sentry: start gossipsub: %w", err)
	}
	return ps, nil
}

type gossipFilter struct{ s *Sentry }

// CanSubscribe refuses every local subscription: the sentry never joins.
func (gossipFilter) CanSubscribe(string) bool { return false }

// FilterIncomingSubscriptions records the subnet topics a peer announces and
// keeps only those for pubsub's own bookkeeping, which bounds its memory.
func (f gossipFilter) FilterIncomingSubscriptions(p peer.ID, subs []*pb.RPC_SubOpts) ([]*pb.RPC_SubOpts, error) {
	if len(subs) > maxSubscriptionsPerRPC {
		return nil, pubsub.ErrTooManySubscriptions
	}
	var keep []*pb.RPC_SubOpts
	for _, so := range subs {
		topic := so.GetTopicid()
		t, ok := parseTopic(topic)
		if !ok || !f.s.fork.sameNetwork(t.Digest) {
			continue
		}
		keep = append(keep, so)
		f.s.onSubscription(p, topic, t, so.GetSubscribe())
	}
	return keep, nil
}

// onSubscription updates the peer's set and publishes a Subscription event
// when it changed.
func (s *Sentry) onSubscription(p peer.ID, topic string, t subnetTopic, subscribe bool) {
	s.mu.Lock()
	set := s.subs[p]
	if subscribe == set[topic] || (subscribe && len(set) >= maxTopicsPerPeer) {
		s.mu.Unlock()
		return
	}
	if subscribe {
		if set == nil {
			set = make(map[string]bool)
			s.subs[p] = set
		}
		set[topic] = true
	} else {
		delete(set, topic)
	}
	s.mu.Unlock()
	now := time.Now()
	epoch, _ := s.fork.current()
	ev := &events.Subscription{
		V:          events.SchemaVersion,
		Network:    s.cfg.Network.Name,
		PeerID:     p.String(),
		ID:         nodeIDFromPeer(p),
		Topic:      topic,
		Kind:       t.Kind,
		Subnet:     t.Subnet,
		Subscribed: subscribe,
		Epoch:      epoch,
		Sentry:     events.Sentry{ID: s.cfg.SentryID, Location: s.cfg.SentryLocation},
		Timestamp:  now.UnixMilli(),
	}
	s.enqueue(events.KindSubscription, ev.MsgID(), ev)
}

// subscribed returns the peer's current attestation and sync-committee
// subnets on the current fork digest.
func (s *Sentry) subscribed(p peer.ID) (atts, syncs []int64) {
	_, digest := s.fork.current()
	a, y := map[int64]bool{}, map[int64]bool{}
	s.mu.Lock()
	for topic := range s.subs[p] {
		t, ok := parseTopic(topic)
		if !ok || t.Digest != digest {
			continue
		}
		if t.Kind == KindAttestation {
			a[int64(t.Subnet)] = true
		} else {
			y[int64(t.Subnet)] = true
		}
	}
	s.mu.Unlock()
	return sortedInts(a), sortedInts(y)
}

func (s *Sentry) forgetSubscriptions(p peer.ID) {
	s.mu.Lock()
	delete(s.subs, p)
	s.mu.Unlock()
}

// gossipTracer sees peers come and go; a peer that leaves takes its
// subscriptions with it (that is not an UNSUBSCRIBE, so no event).
type gossipTracer struct{ s *Sentry }

func (gossipTracer) AddPeer(peer.ID, protocol.ID)          {}
func (t gossipTracer) RemovePeer(p peer.ID)                { t.s.forgetSubscriptions(p) }
func (gossipTracer) Join(string)                           {}
func (gossipTracer) Leave(string)                          {}
func (gossipTracer) Graft(peer.ID, string)                 {}
func (gossipTracer) Prune(peer.ID, string)                 {}
func (gossipTracer) ValidateMessage(*pubsub.Message)       {}
func (gossipTracer) DeliverMessage(*pubsub.Message)        {}
func (gossipTracer) RejectMessage(*pubsub.Message, string) {}
func (gossipTracer) DuplicateMessage(*pubsub.Message)      {}
func (gossipTracer) ThrottlePeer(peer.ID)                  {}
func (gossipTracer) RecvRPC(*pubsub.RPC)                   {}
func (gossipTracer) SendRPC(*pubsub.RPC, peer.ID)          {}
func (gossipTracer) DropRPC(*pubsub.RPC, peer.ID)          {}
func (gossipTracer) UndeliverableMessage(*pubsub.Message)  {}
