package archive

import (
	"crypto/sha256"
	"log/slog"
	"time"
)

// tableBits is a set of a Writer's tables (bit i: the i-th registered): the
// tables that hold a row with a given message id.
type tableBits uint64

// idKey is a message id reduced to 128 bits of SHA-256: ids are ~50-byte
// strings and up to millions are held, so this halves the memory, and a
// collision (which would drop one event) is as unlikely as guessing a key.
type idKey [16]byte

func keyOf(id string) idKey {
	s := sha256.Sum256([]byte(id))
	return idKey(s[:16])
}

func keyOfBytes(id []byte) idKey {
	s := sha256.Sum256(id)
	return idKey(s[:16])
}

// heldID is one entry of the insertion-order queue.
type heldID struct {
	key idKey
	at  int64 // unix ns when first written
}

// msgIDs is the set of message ids written recently, in insertion order so
// the oldest are evicted first: by age (older than window) and by count
// (more than max). Guarded by the Writer's mutex.
type msgIDs struct {
	window time.Duration
	max    int
	log    *slog.Logger
	held   map[idKey]tableBits
	queue  []heldID // queue[head:] in insertion order
	head   int
	warned bool // a young id was evicted by the count limit
}

func newMsgIDs(window time.Duration, max int, log *slog.Logger) *msgIDs {
	return &msgIDs{window: window, max: max, log: log, held: map[idKey]tableBits{}}
}

// has reports whether any of the table bits is held for k.
func (s *msgIDs) has(k idKey, bits tableBits) bool {
	return s.held[k]&bits != 0
}

// add records k for the table bits at time at. An id already held keeps its
// first time: the rows of one event are written together.
func (s *msgIDs) add(k idKey, bits tableBits, at time.Time) {
	if old, ok := s.held[k]; ok {
		s.held[k] = old | bits
		return
	}
	s.held[k] = bits
	s.queue = append(s.queue, heldID{key: k, at: at.UnixNano()})
	if len(s.held) > s.max {
		s.evictOldest(at)
	}
}

func (s *msgIDs) evictOldest(now time.Time) {
	e := s.queue[s.head]
	if !s.warned && now.UnixNano()-e.at < int64(s.window) {
		s.warned = true
		s.log.Warn("archive dedupe holds MaxDedupeIDs message ids and evicts ids younger than DedupeWindow; a batch redelivered now may be archived twice: raise MaxDedupeIDs",
			"max_ids", s.max, "window", s.window)
	}
	s.pop()
}

func (s *msgIDs) pop() {
	delete(s.held, s.queue[s.head].key)
	s.queue[s.head] = heldID{}
	s.head++
	// Reclaim the consumed front once it is half of the slice.
	if s.head >= 1024 && s.head*2 >= len(s.queue) {
		n := copy(s.queue, s.queue[s.head:])
		clear(s.queue[n:])
		s.queue = s.queue[:n]
		s.head = 0
	}
}

// expire evicts the ids written more than window before now.
func (s *msgIDs) expire(now time.Time) {
	cutoff := now.Add(-s.window).UnixNano()
	for s.head < len(s.queue) && s.queue[s.head].at < cutoff {
		s.pop()
	}
}

func (s *msgIDs) len() int { return len(s.held) }
