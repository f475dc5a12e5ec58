package sentry

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/valtrack/valtrack/internal/ethereum/reqresp"
)

// shutdownGoodbye bounds the goodbyes sent at shutdown; drainTimeout bounds
// publishing what is still queued.
const (
	shutdownGoodbye = 3 * time.Second
	drainTimeout    = 5 * time.Second
)

// Run observes the network until ctx is done, then says goodbye to every
// peer, publishes what is queued, saves the peerstore and closes.
func (s *Sentry) Run(ctx context.Context) error {
	if s.runCtx != nil {
		return errors.New("sentry: Run called twice; make a new Sentry")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.runCtx = ctx

	if _, err := s.startGossip(ctx); err != nil {
		s.close()
		return err
	}
	reqresp.Register(s.host, rrHandler{s}, s.cfg.ReqResp)
	s.host.Network().Notify(connNotifee{s})
	if s.restore() == 0 && len(s.cfg.Network.Bootnodes) == 0 {
		s.log.Warn("no bootnodes and no known peers: the sentry only finds peers that contact it; add bootstrap_nodes.txt")
	}

	var bg sync.WaitGroup
	start := func(f func()) {
		bg.Add(1)
		go func() {
			defer bg.Done()
			f()
		}()
	}
	start(func() { s.crawler.Run(ctx) })
	for range s.cfg.DialWorkers {
		start(func() { s.dialWorker(ctx) })
	}
	start(func() { s.every(ctx, s.cfg.RecheckInterval, s.recheck) })
	start(func() { s.every(ctx, s.cfg.Network.Config.SecondsPerSlot, s.onEpoch) })
	start(func() {
		s.every(ctx, s.cfg.SaveInterval, func(time.Time) {
			if err := s.store.Save(); err != nil {
				s.log.Error("peerstore not saved; will retry", "err", err)
			}
		})
	})
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		s.publishLoop(ctx, drainTimeout)
	}()
	s.log.Info("sentry running", "peer_id", s.host.ID(), "enr", s.crawler.Self().String(), "known_peers", s.store.Len())

	<-ctx.Done()
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	s.sayGoodbye()
	bg.Wait()
	s.wg.Wait()
	<-pubDone
	return s.close()
}

// Close releases a sentry that is not going to run (its discv5 socket,
// libp2p host and peerstore), e.g. when a later step of the program's start
// fails. After Run has returned it does nothing: Run closes the sentry
// itself. Do not call it while Run is running.
func (s *Sentry) Close() error { return s.close() }

// close runs once: Run and Close may both reach it.
func (s *Sentry) close() error {
	s.closeOnce.Do(func() {
		s.crawler.Close()
		err := s.store.Save()
		if cerr := s.host.Close(); err == nil && cerr != nil {
			err = cerr
		}
		s.closeErr = err
	})
	return s.closeErr
}

func (s *Sentry) every(ctx context.Context, d time.Duration, f func(time.Time)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			f(now)
		}
	}
}

// restore re-dials the peers the peerstore knows, at once, and hands their
// records to the crawler so their tables are swept again.
func (s *Sentry) restore() int {
	n := 0
	for _, r := range s.store.Active() {
		if !r.SameNetwork {
			continue
		}
		if r.ENR != "" {
			if node, err := enode.Parse(enode.ValidSchemes, r.ENR); err == nil {
				s.crawler.Add(node)
			}
		}
		if p, err := peer.Decode(r.PeerID); err == nil {
			s.dials.push(p)
			n++
		}
	}
	if n > 0 {
		s.log.Info("re-dialing peers from the peerstore", "peers", n)
	}
	return n
}

// sayGoodbye tells every connected peer we are shutting down.
func (s *Sentry) sayGoodbye() {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGoodbye)
	defer cancel()
	sem := make(chan struct{}, s.cfg.DialWorkers)
	var wg sync.WaitGroup
	for _, p := range s.host.Network().Peers() {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s.goodbye(ctx, p, reqresp.GoodbyeClientShutdown)
		}()
	}
	wg.Wait()
}

// listenPorts returns the bound TCP and QUIC ports of the host.
func (s *Sentry) listenPorts() (tcp, quic int) {
	for _, a := range s.host.Network().ListenAddresses() {
		if _, err := a.ValueForProtocol(ma.P_QUIC_V1); err == nil {
			if v, err := a.ValueForProtocol(ma.P_UDP); err == nil {
				quic, _ = strconv.Atoi(v)
			}
		} else if v, err := a.ValueForProtocol(ma.P_TCP); err == nil {
			tcp, _ = strconv.Atoi(v)
		}
	}
	return tcp, quic
}
