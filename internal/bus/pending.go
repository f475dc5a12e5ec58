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
	attempt int
	next    time.Time // earliest re-send
	idx     int       // position in pendingHeap
}

// pendingHeap orders unacknowledged entries by seq so that Flush can tell
// when everything enqueued before it was acknowledged, whatever the order
// of the acknowledgements.
type pendingHeap []*entry

func (h pendingHeap) Len() int           { return len(h) }
func (h pendingHeap) Less(i, j int) bool { return h[i].seq < h[j].seq }
func (h pendingHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx = i
	h[j].idx = j
}
func (h *pendingHeap) Push(x any) {
	e := x.(*entry)
	e.idx = len(*h)
	*h = append(*h, e)
}
func (h *pendingHeap) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	e.idx = -1
	return e
}

func (h *pendingHeap) add(e *entry) { heap.Push(h, e) }

func (h *pendingHeap) remove(e *entry) {
	if e.idx >= 0 && e.idx < len(*h) && (*h)[e.idx] == e {
		heap.Remove(h, e.idx)
	}
}

// low is the smallest unacknowledged seq, or next when none is pending.
func (h pendingHeap) low(next uint64) uint64 {
	if len(h) == 0 {
		return next
	}
	return h[0].seq
}
