package peerstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Limits of a store.
const (
	DefaultMaxPeers = 500_000
	// MaxFileSize bounds the snapshot read at start: about 2 KiB per peer at
	// the default peer limit.
	MaxFileSize = 1 << 30
	// FileName is the snapshot's name inside the data directory.
	FileName = "eth-peerstore.json"
)

// ErrFull is returned when a new peer would exceed MaxPeers and no retired
// peer can make room.
var ErrFull = errors.New("peerstore full")

// Options configures a Store.
type Options struct {
	// MaxPeers bounds the peers kept; default 500,000.
	MaxPeers int
}

// Store is a concurrency-safe set of peers persisted as a JSON snapshot.
type Store struct {
	path     string
	maxPeers int

	mu    sync.Mutex
	peers map[string]*Peer
	dirty bool

	saveMu sync.Mutex // one writer of the file at a time
}

// Open loads the snapshot at path (a missing file is an empty store).
func Open(path string, opts Options) (*Store, error) {
	if opts.MaxPeers <= 0 {
		opts.MaxPeers = DefaultMaxPeers
	}
	s := &Store{path: path, maxPeers: opts.MaxPeers, peers: make(map[string]*Peer)}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("peerstore: open %s: %w (check the data directory's permissions)", path, err)
	}
	defer f.Close()
	peers, err := decode(f, MaxFileSize, opts.MaxPeers)
	if err != nil {
		return nil, fmt.Errorf("peerstore: load %s: %w (move the file away to start with an empty peerstore)", path, err)
	}
	for i := range peers {
		p := peers[i]
		s.peers[p.PeerID] = &p
	}
	return s, nil
}

// Path is the snapshot's file path.
func (s *Store) Path() string { return s.path }

// Len is the number of peers, retired ones included.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.peers)
}

// Get returns a copy of a peer.
func (s *Store) Get(peerID string) (Peer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.peers[peerID]
	if !ok {
		return Peer{}, false
	}
	return p.clone(), true
}

// Update applies fn to the peer (created with FirstSeen = now when absent)
// under the store's lock and returns a copy of the result. fn must not call
// the store.
func (s *Store) Update(peerID string, now time.Time, fn func(p *Peer)) (Peer, error) {
	if peerID == "" || len(peerID) > maxIDLen {
		return Peer{}, fmt.Errorf("peerstore: update: invalid peer id of %d bytes", len(peerID))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.peers[peerID]
	if !ok {
		if len(s.peers) >= s.maxPeers && !s.evictRetiredLocked() {
			return Peer{}, fmt.Errorf("peerstore: add %s: %w at %d peers (raise the limit or retire peers sooner)", peerID, ErrFull, s.maxPeers)
		}
		p = &Peer{PeerID: peerID, FirstSeen: now}
		s.peers[peerID] = p
	}
	fn(p)
	p.PeerID = peerID
	s.dirty = true
	return p.clone(), nil
}

// evictRetiredLocked removes the peer retired longest ago.
func (s *Store) evictRetiredLocked() bool {
	var oldest *Peer
	for _, p := range s.peers {
		if p.Retired && (oldest == nil || p.RetiredAt.Before(oldest.RetiredAt)) {
			oldest = p
		}
	}
	if oldest == nil {
		return false
	}
	delete(s.peers, oldest.PeerID)
	return true
}

// All returns copies of every peer.
func (s *Store) All() []Peer {
	return s.filter(func(*Peer) bool { return true })
}

// Active returns copies of the peers not retired.
func (s *Store) Active() []Peer {
	return s.filter(func(p *Peer) bool { return !p.Retired })
}

func (s *Store) filter(keep func(*Peer) bool) []Peer {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Peer, 0, len(s.peers))
	for _, p := range s.peers {
		if keep(p) {
			out = append(out, p.clone())
		}
	}
	return out
}

// Retire marks every active peer last seen before cutoff as retired and
// returns their ids. A retired peer seen again is revived by Update callers
// clearing Retired.
func (s *Store) Retire(cutoff, now time.Time) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id, p := range s.peers {
		if !p.Retired && p.LastSeen.Before(cutoff) {
			p.Retired = true
			p.RetiredAt = now
			ids = append(ids, id)
		}
	}
	if len(ids) > 0 {
		s.dirty = true
	}
	return ids
}

// Save writes the snapshot atomically when something changed since the last
// save.
func (s *Store) Save() error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	if !s.dirty {
		s.mu.Unlock()
		return nil
	}
	peers := make([]Peer, 0, len(s.peers))
	for _, p := range s.peers {
		peers = append(peers, p.clone())
	}
	s.dirty = false
	s.mu.Unlock()
	if err := s.write(peers); err != nil {
		s.mu.Lock()
		s.dirty = true
		s.mu.Unlock()
		return err
	}
	return nil
}

func (s *Store) write(peers []Peer) (err error) {
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("peerstore: save: create %s: %w (check the data directory's permissions)", dir, err)
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(s.path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("peerstore: save: %w (check free space and permissions in %s)", err, dir)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := encode(tmp, peers); err != nil {
		return fmt.Errorf("peerstore: save: write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("peerstore: save: sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("peerstore: save: close %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return fmt.Errorf("peerstore: save: rename to %s: %w", s.path, err)
	}
	return nil
}
