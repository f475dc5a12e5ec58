package devnet

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// TruthFile is the ground truth a devnet writes beside the network files.
const TruthFile = "truth.json"

// Fork versions of the devnet: one byte per fork and the 0x..000038 tail,
// so they can never collide with a public network's versions.
var forkVersions = []struct{ name, version string }{
	{"GENESIS", "0x10000038"},
	{"ALTAIR", "0x20000038"},
	{"BELLATRIX", "0x30000038"},
	{"CAPELLA", "0x40000038"},
	{"DENEB", "0x50000038"},
	{"ELECTRA", "0x60000038"},
	{"FULU", "0x70000038"},
}

// Devnet committee and preset values. The committee sizes are the mainnet
// ones even though the preset is minimal: with the minimal TARGET_COMMITTEE_SIZE
// of 4 every validator would aggregate every epoch and every node would look
// alike. They are written explicitly so the sentry reads the same numbers.
const (
	targetCommitteeSize           = 128
	maxCommitteesPerSlot          = 64
	targetAggregatorsPerCommittee = 16
	syncCommitteeSize             = 32 // minimal preset
	shuffleRoundCount             = 10 // minimal preset
	attestationSubnetCount        = 64
	attestationSubnetPrefixBits   = 6
	subnetsPerNode                = 2
	syncCommitteeSubnetCount      = 4
	maxBlobsPerBlock              = 9
)

func configYAML(o Options) []byte {
	var b strings.Builder
	w := func(k string, v any) { fmt.Fprintf(&b, "%s: %v\n", k, v) }
	b.WriteString("# valtrack devnet consensus config (written by `valtrack devnet ethereum`)\n")
	w("CONFIG_NAME", "'"+o.Name+"'")
	w("PRESET_BASE", "'minimal'")
	w("SLOTS_PER_EPOCH", o.SlotsPerEpoch)
	secs := int64(o.SlotDuration / time.Second)
	if secs < 1 {
		secs = 1
	}
	w("SECONDS_PER_SLOT", secs)
	w("SLOT_DURATION_MS", o.SlotDuration.Milliseconds())
	for _, f := range forkVersions {
		w(f.name+"_FORK_VERSION", f.version)
		if f.name != "GENESIS" {
			w(f.name+"_FORK_EPOCH", 0)
		}
	}
	w("MAX_BLOBS_PER_BLOCK_ELECTRA", maxBlobsPerBlock)
	b.WriteString("BLOB_SCHEDULE:\n  - EPOCH: 0\n    MAX_BLOBS_PER_BLOCK: 12\n")
	w("EPOCHS_PER_SUBNET_SUBSCRIPTION", o.EpochsPerSubnetSubscription)
	w("ATTESTATION_SUBNET_COUNT", attestationSubnetCount)
	w("ATTESTATION_SUBNET_EXTRA_BITS", 0)
	w("ATTESTATION_SUBNET_PREFIX_BITS", attestationSubnetPrefixBits)
	w("SUBNETS_PER_NODE", subnetsPerNode)
	w("SYNC_COMMITTEE_SUBNET_COUNT", syncCommitteeSubnetCount)
	w("TARGET_AGGREGATORS_PER_COMMITTEE", targetAggregatorsPerCommittee)
	w("TARGET_COMMITTEE_SIZE", targetCommitteeSize)
	w("MAX_COMMITTEES_PER_SLOT", maxCommitteesPerSlot)
	w("SYNC_COMMITTEE_SIZE", syncCommitteeSize)
	w("EPOCHS_PER_SYNC_COMMITTEE_PERIOD", o.EpochsPerSyncCommitteePeriod)
	w("SHUFFLE_ROUND_COUNT", shuffleRoundCount)
	w("CUSTODY_REQUIREMENT", custodyRequirement)
	w("VALIDATOR_CUSTODY_REQUIREMENT", validatorCustodyRequirement)
	w("NUMBER_OF_CUSTODY_GROUPS", numberOfCustodyGroups)
	return []byte(b.String())
}

type genesisJSON struct {
	GenesisTime           int64  `json:"genesis_time"`
	GenesisValidatorsRoot string `json:"genesis_validators_root"`
	ActiveValidators      uint64 `json:"active_validators"`
}

// Truth is truth.json: who runs how many validators, as the devnet knows it.
type Truth struct {
	Network         string      `json:"network"`
	Seed            int64       `json:"seed"`
	GenesisTime     int64       `json:"genesis_time"`
	TotalValidators uint64      `json:"total_validators"`
	Nodes           []TruthNode `json:"nodes"`
}

// TruthNode is one node of truth.json.
type TruthNode struct {
	PeerID           string   `json:"peer_id"`
	NodeID           string   `json:"node_id"`
	ENR              string   `json:"enr"`
	Validators       int      `json:"validators"`
	ValidatorIndices []uint64 `json:"validator_indices,omitempty"` // first..last, contiguous
	LongLivedSubnets []uint64 `json:"long_lived_subnets"`
	AllSubnets       bool     `json:"all_subnets"`
	Client           string   `json:"client"`
	IP               string   `json:"ip"`
	TCPPort          int      `json:"tcp_port"`
	UDPPort          int      `json:"udp_port"`
	QUICPort         int      `json:"quic_port,omitempty"`
}

// ReadTruth reads a truth.json written by a devnet.
func ReadTruth(dir string) (*Truth, error) {
	b, err := os.ReadFile(filepath.Join(dir, TruthFile))
	if err != nil {
		return nil, fmt.Errorf("read devnet truth: %w (is %s a directory written by `valtrack devnet ethereum`?)", err, dir)
	}
	t, err := ParseTruth(b)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", filepath.Join(dir, TruthFile), err)
	}
	return t, nil
}

// MaxTruthSize bounds truth.json (about 1 KiB a node).
const MaxTruthSize = 64 << 20

// ParseTruth decodes truth.json.
func ParseTruth(b []byte) (*Truth, error) {
	if len(b) > MaxTruthSize {
		return nil, fmt.Errorf("truth.json is larger than %d bytes", MaxTruthSize)
	}
	var t Truth
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("decode truth.json: %w", err)
	}
	if err := t.validate(); err != nil {
		return nil, fmt.Errorf("truth.json is not a devnet's truth: %w; rewrite it with `valtrack devnet ethereum`", err)
	}
	return &t, nil
}

// validate checks what the estimate-quality comparisons rely on: every
// node named once, validator counts that add up to the total, index ranges
// that match the counts and do not overlap, and subnets that exist. A
// truth that breaks them would score an estimator against a wrong answer.
func (t *Truth) validate() error {
	seen := make(map[string]bool, len(t.Nodes))
	var sum uint64
	type span struct{ first, last uint64 }
	var spans []span
	for i, n := range t.Nodes {
		switch {
		case n.PeerID == "":
			return fmt.Errorf("node %d has no peer_id", i)
		case seen[n.PeerID]:
			return fmt.Errorf("node %d: peer_id %s listed twice", i, n.PeerID)
		case n.Validators < 0:
			return fmt.Errorf("node %s: negative validators %d", n.PeerID, n.Validators)
		}
		seen[n.PeerID] = true
		sum += uint64(n.Validators)
		switch {
		case n.Validators == 0 && len(n.ValidatorIndices) != 0:
			return fmt.Errorf("node %s: validator_indices without validators", n.PeerID)
		case n.Validators > 0 && len(n.ValidatorIndices) != 0:
			if len(n.ValidatorIndices) != 2 || n.ValidatorIndices[1] < n.ValidatorIndices[0] ||
				n.ValidatorIndices[1]-n.ValidatorIndices[0] != uint64(n.Validators)-1 {
				return fmt.Errorf("node %s: validator_indices %v is not the range first..last of its %d validators", n.PeerID, n.ValidatorIndices, n.Validators)
			}
			spans = append(spans, span{n.ValidatorIndices[0], n.ValidatorIndices[1]})
		}
		for _, s := range n.LongLivedSubnets {
			// ATTESTATION_SUBNET_COUNT, phase0 p2p-interface.
			if s >= 64 {
				return fmt.Errorf("node %s: long-lived subnet %d does not exist (0..63)", n.PeerID, s)
			}
		}
		for _, p := range []int{n.TCPPort, n.UDPPort, n.QUICPort} {
			if p < 0 || p > 65535 {
				return fmt.Errorf("node %s: port %d out of range", n.PeerID, p)
			}
		}
	}
	if sum != t.TotalValidators {
		return fmt.Errorf("nodes run %d validators in all, total_validators says %d", sum, t.TotalValidators)
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.first, b.first) })
	for i := 1; i < len(spans); i++ {
		if spans[i].first <= spans[i-1].last {
			return fmt.Errorf("validator index ranges %d..%d and %d..%d overlap", spans[i-1].first, spans[i-1].last, spans[i].first, spans[i].last)
		}
	}
	return nil
}

// writeAtomic writes through a temporary file and a rename, so a reader
// (the sentry watching the directory) never sees half a file.
func writeAtomic(dir, name string, data []byte) error {
	f, err := os.CreateTemp(dir, "."+name+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	tmp := f.Name()
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

func writeJSON(dir, name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	return writeAtomic(dir, name, append(b, '\n'))
}
