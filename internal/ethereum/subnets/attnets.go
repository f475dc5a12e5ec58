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
	prefix, period := split(nodeID, epoch, p)
	return subnetsFrom(prefix, period, p)
}

// split reduces a node id and an epoch to the two numbers
// compute_subscribed_subnets depends on: node_id_prefix (the id's top
// AttestationSubnetPrefixBits bits) and the subscription period
// (epoch + node_offset) // EPOCHS_PER_SUBNET_SUBSCRIPTION. Every node with
// the same prefix in the same period joins the same subnets, which is what
// lets Cache hold 2^prefix_bits entries per period instead of one per node.
// p must be sane.
func split(nodeID [32]byte, epoch uint64, p Params) (prefix, period uint64) {
	// sane bounds the prefix to 1..32 bits, so it sits in the first word.
	prefix = binary.BigEndian.Uint64(nodeID[:8]) >> (64 - p.AttestationSubnetPrefixBits)
	offset := idMod(nodeID, p.EpochsPerSubnetSubscription)
	return prefix, (epoch + offset) / p.EpochsPerSubnetSubscription
}

// idMod is node_id % m for the big-endian uint256 id. For the moduli
// configurations use (256 on every public network) it is Horner's rule in
// uint64, which cannot overflow while m < 2^56; math/big is kept for the rest.
func idMod(nodeID [32]byte, m uint64) uint64 {
	if m < 1<<56 {
		var r uint64
		for _, b := range nodeID {
			r = (r<<8 | uint64(b)) % m
		}
		return r
	}
	id := new(big.Int).SetBytes(nodeID[:])
	return id.Mod(id, new(big.Int).SetUint64(m)).Uint64()
}

// subnetsFrom is the rest of compute_subscribed_subnets once the id is
// reduced to its prefix and period: the permuted prefix and the
// SubnetsPerNode subnets after it. p must be sane.
func subnetsFrom(prefix, period uint64, p Params) []uint64 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], period)
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
