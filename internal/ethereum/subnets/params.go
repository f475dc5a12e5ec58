// Package subnets holds the consensus-spec arithmetic that decides which
// gossipsub subnets a beacon node joins: long-lived attestation subnets from
// the node id, committee shuffling, aggregator selection and sync-committee
// subnets. The devnet uses it to behave like a real node and the validator
// estimator uses it to reason about what it observes, so both agree on the
// same formulas.
package subnets

// NodeIDBits is NODE_ID_BITS of the phase0 p2p interface.
const NodeIDBits = 256

// Params are the spec constants the subnet arithmetic depends on.
type Params struct {
	SubnetsPerNode                uint64
	AttestationSubnetCount        uint64
	AttestationSubnetPrefixBits   uint64
	EpochsPerSubnetSubscription   uint64
	SlotsPerEpoch                 uint64
	TargetCommitteeSize           uint64
	MaxCommitteesPerSlot          uint64
	TargetAggregatorsPerCommittee uint64
	SyncCommitteeSubnetCount      uint64
	SyncCommitteeSize             uint64
	// ShuffleRoundCount is 90 in the mainnet preset, 10 in minimal.
	ShuffleRoundCount uint64
}

// ParamsMainnet returns the mainnet preset and config values
// (consensus-specs presets/mainnet and configs/mainnet.yaml).
func ParamsMainnet() Params {
	return Params{
		SubnetsPerNode:                2,
		AttestationSubnetCount:        64,
		AttestationSubnetPrefixBits:   6,
		EpochsPerSubnetSubscription:   256,
		SlotsPerEpoch:                 32,
		TargetCommitteeSize:           128,
		MaxCommitteesPerSlot:          64,
		TargetAggregatorsPerCommittee: 16,
		SyncCommitteeSubnetCount:      4,
		SyncCommitteeSize:             512,
		ShuffleRoundCount:             90,
	}
}

// ParamsMinimal returns the minimal preset (consensus-specs presets/minimal)
// with the network constants of configs/minimal.yaml.
func ParamsMinimal() Params {
	p := ParamsMainnet()
	p.SlotsPerEpoch = 8
	p.TargetCommitteeSize = 4
	p.MaxCommitteesPerSlot = 4
	p.SyncCommitteeSize = 32
	p.ShuffleRoundCount = 10
	return p
}

// sane replaces zero divisors so that a half-filled Params never panics; a
// zero constant is a configuration mistake, not a reason to crash a sentry.
func (p Params) sane() Params {
	if p.AttestationSubnetCount == 0 {
		p.AttestationSubnetCount = 64
	}
	if p.AttestationSubnetPrefixBits == 0 || p.AttestationSubnetPrefixBits > 32 {
		p.AttestationSubnetPrefixBits = 6
	}
	if p.EpochsPerSubnetSubscription == 0 {
		p.EpochsPerSubnetSubscription = 256
	}
	if p.SlotsPerEpoch == 0 {
		p.SlotsPerEpoch = 32
	}
	if p.TargetCommitteeSize == 0 {
		p.TargetCommitteeSize = 128
	}
	if p.MaxCommitteesPerSlot == 0 {
		p.MaxCommitteesPerSlot = 64
	}
	if p.TargetAggregatorsPerCommittee == 0 {
		p.TargetAggregatorsPerCommittee = 16
	}
	if p.SyncCommitteeSubnetCount == 0 {
		p.SyncCommitteeSubnetCount = 4
	}
	if p.SyncCommitteeSize == 0 {
		p.SyncCommitteeSize = 512
	}
	return p
}
