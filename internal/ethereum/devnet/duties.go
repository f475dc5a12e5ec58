package devnet

import (
	"crypto/sha256"
	"encoding/binary"
	"sort"

	"github.com/valtrack/valtrack/internal/ethereum/subnets"
)

// Duty is one aggregation duty: a validator of a node is the aggregator of
// its committee at a slot, so the node must be on the committee's subnet.
type Duty struct {
	Node           int    // index in Nodes()
	Validator      uint64 // validator index
	Slot           uint64
	CommitteeIndex uint64
	Subnet         uint64
}

// schedule computes duties the way the spec does, over the devnet's own
// validator set (indexes 0..total-1, contiguous per node).
//
// Deviations, because there is no beacon state and no BLS here: the epoch
// seed is sha256("valtrack-devnet-seed" || seed || epoch) instead of a
// RANDAO mix, the selection proof is sha256(seed || validator || slot)
// instead of a BLS signature of the slot, and every validator has the same
// balance, so sync-committee sampling accepts every candidate.
type schedule struct {
	starts []uint64 // starts[i] = first validator index of node i; len = nodes+1
	total  uint64
	seed   int64
	p      subnets.Params
	// epochsPerSyncPeriod is EPOCHS_PER_SYNC_COMMITTEE_PERIOD.
	epochsPerSyncPeriod uint64
}

func newSchedule(counts []int, seed int64, p subnets.Params, epochsPerSyncPeriod uint64) *schedule {
	s := &schedule{starts: make([]uint64, len(counts)+1), seed: seed, p: p, epochsPerSyncPeriod: max(1, epochsPerSyncPeriod)}
	for i, c := range counts {
		s.starts[i+1] = s.starts[i] + uint64(c)
	}
	s.total = s.starts[len(counts)]
	return s
}

func (s *schedule) owner(v uint64) int {
	return sort.Search(len(s.starts)-1, func(i int) bool { return s.starts[i+1] > v })
}

func (s *schedule) hashSeed(domain string, n uint64) [32]byte {
	h := sha256.New()
	h.Write([]byte(domain))
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(s.seed))
	binary.LittleEndian.PutUint64(b[8:], n)
	h.Write(b[:])
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// selectionProof is the stand-in for the BLS slot signature.
func (s *schedule) selectionProof(v, slot uint64) []byte {
	var b [24]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(s.seed))
	binary.LittleEndian.PutUint64(b[8:16], v)
	binary.LittleEndian.PutUint64(b[16:], slot)
	h := sha256.Sum256(b[:])
	return h[:]
}

// aggregatorDuties returns the aggregation duties of epoch, by slot.
// Committees follow compute_committee: the shuffled validator list is cut
// into committeesPerSlot*SLOTS_PER_EPOCH equal pieces.
func (s *schedule) aggregatorDuties(epoch uint64) []Duty {
	n := s.total
	if n == 0 {
		return nil
	}
	seed := s.hashSeed("valtrack-devnet-seed", epoch)
	cps := subnets.CommitteesPerSlot(n, s.p)
	k := cps * s.p.SlotsPerEpoch
	var out []Duty
	for c := uint64(0); c < k; c++ {
		start, end := n*c/k, n*(c+1)/k
		slot := epoch*s.p.SlotsPerEpoch + c/cps
		ci := c % cps
		subnet := subnets.SubnetForAttestation(cps, slot, ci, s.p)
		for pos := start; pos < end; pos++ {
			v := subnets.ComputeShuffledIndex(pos, n, seed, s.p.ShuffleRoundCount)
			if subnets.IsAggregator(end-start, s.selectionProof(v, slot), s.p) {
				out = append(out, Duty{Node: s.owner(v), Validator: v, Slot: slot, CommitteeIndex: ci, Subnet: subnet})
			}
		}
	}
	return out
}

// syncSubnets returns, per node, the syncnets bitvector of the sync
// committee of period (get_next_sync_committee_indices with equal balances;
// a validator may hold several positions when there are few validators).
func (s *schedule) syncSubnets(period uint64) []byte {
	out := make([]byte, len(s.starts)-1)
	n := s.total
	if n == 0 {
		return out
	}
	seed := s.hashSeed("valtrack-devnet-sync", period)
	for i := uint64(0); i < s.p.SyncCommitteeSize; i++ {
		v := subnets.ComputeShuffledIndex(i%n, n, seed, s.p.ShuffleRoundCount)
		out[s.owner(v)] |= 1 << subnets.SyncSubnetForIndex(i, s.p)
	}
	return out
}
