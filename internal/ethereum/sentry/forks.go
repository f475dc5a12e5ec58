package sentry

import (
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/p2p/enode"
	gethenr "github.com/ethereum/go-ethereum/p2p/enr"

	"github.com/valtrack/valtrack/internal/ethereum/enr"
	"github.com/valtrack/valtrack/internal/ethereum/network"
	"github.com/valtrack/valtrack/internal/ethereum/reqresp"
)

// custodyRequirement is CUSTODY_REQUIREMENT (fulu das-core.md): the custody
// group count a node announces at least; we hold no data but announce the
// minimum so Fulu peers do not score us as invalid.
const custodyRequirement = 4

// forkState follows the network's fork digest with the wall clock, so fork
// boundaries are crossed without a restart.
type forkState struct {
	net   *network.Network
	known map[[4]byte]uint64

	mu     sync.Mutex
	epoch  uint64
	digest [4]byte
}

func newForkState(n *network.Network, now time.Time) *forkState {
	f := &forkState{net: n, known: n.KnownDigests()}
	f.epoch = n.EpochAt(now)
	f.digest = n.ForkDigest(f.epoch)
	return f
}

// update moves to the epoch of now; it reports whether the digest changed.
func (f *forkState) update(now time.Time) (digest [4]byte, changed bool) {
	epoch := f.net.EpochAt(now)
	d := f.net.ForkDigest(epoch)
	f.mu.Lock()
	defer f.mu.Unlock()
	changed = d != f.digest
	f.epoch, f.digest = epoch, d
	return d, changed
}

func (f *forkState) current() (epoch uint64, digest [4]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.epoch, f.digest
}

// sameNetwork reports whether an ENR digest belongs to this network (any of
// its forks: nodes lag or lead around a boundary).
func (f *forkState) sameNetwork(d [4]byte) bool {
	_, ok := f.known[d]
	return ok
}

// statusAccepted reports whether a Status digest is the current one, or the
// previous/next epoch's one (a peer a few seconds off at a fork boundary).
func (f *forkState) statusAccepted(d [4]byte) bool {
	epoch, cur := f.current()
	if d == cur || d == f.net.ForkDigest(epoch+1) {
		return true
	}
	return epoch > 0 && d == f.net.ForkDigest(epoch-1)
}

// localEntries are the ENR entries that make peers of the network accept us:
// eth2 (ENRForkID), empty attnets and syncnets (we serve no subnet), and the
// libp2p ports.
func (s *Sentry) localEntries() []gethenr.Entry {
	epoch, _ := s.fork.current()
	digest, nextVersion, nextEpoch := s.cfg.Network.ENRForkID(epoch)
	entries := []gethenr.Entry{
		enr.Eth2{ForkDigest: digest, NextForkVersion: nextVersion, NextForkEpoch: nextEpoch},
		enr.Attnets{},
		enr.Syncnets(0),
	}
	if tcp, quic := s.listenPorts(); tcp > 0 {
		entries = append(entries, gethenr.TCP(tcp))
		if quic > 0 {
			entries = append(entries, gethenr.QUIC(quic))
		}
	}
	return entries
}

// follow tells the crawler which nodes' tables to crawl: nodes of this
// network. Other nodes are still reported (and recorded as foreign).
func (s *Sentry) follow(n *enode.Node) bool {
	var e enr.Eth2
	if n.Load(&e) != nil {
		return false
	}
	return s.fork.sameNetwork(e.ForkDigest)
}

func (s *Sentry) localStatus() reqresp.Status {
	now := time.Now()
	_, digest := s.fork.current()
	slot := s.cfg.Network.SlotAt(now)
	// We follow no chain: the head is the wall-clock slot, roots are zero and
	// nothing is available before the head.
	return reqresp.Status{ForkDigest: digest, HeadSlot: slot, EarliestAvailableSlot: slot}
}

func (s *Sentry) localMetaData() reqresp.MetaData {
	return reqresp.MetaData{SeqNumber: 1, CustodyGroupCount: custodyRequirement}
}

// onEpoch updates everything that carries the fork digest when it changes.
func (s *Sentry) onEpoch(now time.Time) {
	digest, changed := s.fork.update(now)
	if !changed {
		return
	}
	for _, e := range s.localEntries() {
		s.crawler.SetEntry(e)
	}
	s.log.Info("fork digest changed; ENR, Status and observed topics follow", "digest", hex4(digest))
}
