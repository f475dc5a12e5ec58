package subnets

import (
	"crypto/sha256"
	"encoding/binary"
	"math/big"
)

// ComputeSubscribedSubnets is the phase0 p2p-interface
// compute_subscribed_subnets: the SubnetsPerNode long-lived attestation
// subnets a node with nodeID (big-endian uint256) must join at epoch.
func ComputeSubscribedSubnets(nodeID [32]byte, epoch uint64, p Params) []uint64 {
	p = p.sane()
	id := new(big.Int).SetBytes(nodeID[:])
	prefix := new(big.Int).Rsh(id, uint(NodeIDBits-p.AttestationSubnetPrefixBits)).Uint64()
	offset := new(big.Int).Mod(id, new(big.Int).SetUint64(p.EpochsPerSubnetSubscription)).Uint64()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], (epoch+offset)/p.EpochsPerSubnetSubscription)
	seed := sha256.Sum256(b[:])
	permutated := ComputeShuffledIndex(prefix, 1<<p.AttestationSubnetPrefixBits, seed, p.ShuffleRoundCount)
	out := make([]uint64, 0, p.SubnetsPerNode)
	for i := uint64(0); i < p.SubnetsPerNode; i++ {
		out = append(out, (permutated+i)%p.AttestationSubnetCount)
	}
	return out
}

// CommitteesPerSlot is get_committee_count_per_slot for a number of active
// validators.
func CommitteesPerSlot(activeValidators uint64, p Params) uint64 {
	p = p.sane()
	n := activeValidators / p.SlotsPerEpoch / p.TargetCommitteeSize
	return max(1, min(p.MaxCommitteesPerSlot, n))
}

// SubnetForAttestation is compute_subnet_for_attestation.
func SubnetForAttestation(committeesPerSlot, slot, committeeIndex uint64, p Params) uint64 {
	p = p.sane()
	since := committeesPerSlot * (slot % p.SlotsPerEpoch)
	return (since + committeeIndex) % p.AttestationSubnetCount
}

// AggregatorModulo is max(1, len(committee) // TARGET_AGGREGATORS_PER_COMMITTEE)
// from is_aggregator.
func AggregatorModulo(committeeLen uint64, p Params) uint64 {
	p = p.sane()
	return max(1, committeeLen/p.TargetAggregatorsPerCommittee)
}

// IsAggregator is the phase0 validator is_aggregator:
// bytes_to_uint64(hash(selectionProof)[0:8]) % modulo == 0.
func IsAggregator(committeeLen uint64, selectionProof []byte, p Params) bool {
	h := sha256.Sum256(selectionProof)
	return binary.LittleEndian.Uint64(h[:8])%AggregatorModulo(committeeLen, p) == 0
}

// AggregatorProbability is the chance that one member of a committee of
// committeeLen is selected as an aggregator in a slot.
func AggregatorProbability(committeeLen uint64, p Params) float64 {
	return 1 / float64(AggregatorModulo(committeeLen, p))
}

// SyncSubnetForIndex is the sync-committee subnet of a position in the sync
// committee (compute_subnets_for_sync_committee).
func SyncSubnetForIndex(indexInCommittee uint64, p Params) uint64 {
	p = p.sane()
	per := max(1, p.SyncCommitteeSize/p.SyncCommitteeSubnetCount)
	return (indexInCommittee / per) % p.SyncCommitteeSubnetCount
}
