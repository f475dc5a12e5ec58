package bus

import (
	"container/heap"
	"time"

	"github.com/nats-io/nats.go"
)

// entry is one message a Publisher holds until the stream acknowledges it.
type entry struct {
	seq     uint64 // enqueue order, for Flush
	msg     *nats.Msg
	scope   *Scope // the view it was published through; nil: the Publisher itself
	attempt int
	next    time.Time // earliest re-send
	// idx is the entry's position in the publisher's pendingHeap
	// (idx[wholeHeap]) and in its scope's (idx[scopeHeap]): an entry sits
	// in both, so that removing it on its acknowledgement costs a log, not
	// a scan.
	idx [2]int
}

const (
	wholeHeap = iota // Publisher.pending
	scopeHeap        // Scope.pending
)

// pendingHeap orders unacknowledged entries by seq so that Flush can tell
// when everything enqueued before it was acknowledged, whatever the order
// of the acknowledgements. which says which of the entry's indexes it
// keeps.
type pendingHeap struct {
	es    []*entry
	which int
}

func (h *pendingHeap) Len() int           { return len(h.es) }
func (h *pendingHeap) Less(i, j int) bool { return h.es[i].seq < h.es[j].seq }
func (h *pendingHeap) Swap(i, j int) {
	h.es[i], h.es[j] = h.es[j], h.es[i]
	h.es[i].idx[h.which] = i
	h.es[j].idx[h.which] = j
}
func (h *pendingHeap) Push(x any) {
	e := x.(*entry)
	e.idx[h.which] = len(h.es)
	h.es = append(h.es, e)
}
func (h *pendingHeap) Pop() any {
	n := len(h.es)
	e := h.es[n-1]
	h.es[n-1] = nil
	h.es = h.es[:n-1]
	e.idx[h.which] = -1
	return e
}

func (h *pendingHeap) add(e *entry) { heap.Push(h, e) }

func (h *pendingHeap) remove(e *entry) {
	if i := e.idx[h.which]; i >= 0 && i < len(h.es) && h.es[i] == e {
		heap.Remove(h, i)
	}
}

// low is the smallest unacknowledged seq, or next when none is pending.
func (h *pendingHeap) low(next uint64) uint64 {
	if len(h.es) == 0 {
		return next
	}
	return h.es[0].seq
}

// reset drops every entry (Close), returning them.
func (h *pendingHeap) reset() []*entry {
	es := h.es
	h.es = nil
	return es
}
