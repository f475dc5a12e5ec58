package devnet

import (
	"sync"

	dbm "github.com/cometbft/cometbft-db"
)

// guardedDB is a store that a stopped node's stray goroutines can still
// touch without bringing the process down.
//
// CometBFT v0.38 closes a node's stores in Node.OnStop while some of its
// per-peer goroutines (the consensus reactor's queryMaj23Routine, the
// gossip routines) have not yet noticed the stop; their next read meets
// "leveldb: closed", and the block store panics on any read error. In a
// process of its own that panic would come at exit; here it would take
// every other validator with it. After Close, reads find nothing, writes
// are dropped (what a killed process loses) and iterators are empty.
// Close waits for the reads and writes under way, so none meets a closed
// leveldb.
type guardedDB struct {
	dbm.DB
	mu     sync.RWMutex
	closed bool
}

func guard(db dbm.DB) *guardedDB { return &guardedDB{DB: db} }

func (g *guardedDB) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	return g.DB.Close()
}

func (g *guardedDB) Get(key []byte) ([]byte, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return nil, nil
	}
	return g.DB.Get(key)
}

func (g *guardedDB) Has(key []byte) (bool, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return false, nil
	}
	return g.DB.Has(key)
}

func (g *guardedDB) write(f func() error) error {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return nil
	}
	return f()
}

func (g *guardedDB) Set(k, v []byte) error { return g.write(func() error { return g.DB.Set(k, v) }) }
func (g *guardedDB) SetSync(k, v []byte) error {
	return g.write(func() error { return g.DB.SetSync(k, v) })
}
func (g *guardedDB) Delete(k []byte) error { return g.write(func() error { return g.DB.Delete(k) }) }
func (g *guardedDB) DeleteSync(k []byte) error {
	return g.write(func() error { return g.DB.DeleteSync(k) })
}

func (g *guardedDB) Iterator(start, end []byte) (dbm.Iterator, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return emptyIterator{start, end}, nil
	}
	return g.DB.Iterator(start, end)
}

func (g *guardedDB) ReverseIterator(start, end []byte) (dbm.Iterator, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return emptyIterator{start, end}, nil
	}
	return g.DB.ReverseIterator(start, end)
}

func (g *guardedDB) NewBatch() dbm.Batch { return &guardedBatch{Batch: g.DB.NewBatch(), g: g} }

// guardedBatch drops a batch written after its store closed.
type guardedBatch struct {
	dbm.Batch
	g *guardedDB
}

func (b *guardedBatch) Write() error     { return b.g.write(b.Batch.Write) }
func (b *guardedBatch) WriteSync() error { return b.g.write(b.Batch.WriteSync) }

type emptyIterator struct{ start, end []byte }

func (it emptyIterator) Domain() ([]byte, []byte) { return it.start, it.end }
func (emptyIterator) Valid() bool                 { return false }
func (emptyIterator) Next()                       { panic("devnet: Next on an invalid iterator") }
func (emptyIterator) Key() []byte                 { panic("devnet: Key on an invalid iterator") }
func (emptyIterator) Value() []byte               { panic("devnet: Value on an invalid iterator") }
func (emptyIterator) Error() error                { return nil }
func (emptyIterator) Close() error                { return nil }
