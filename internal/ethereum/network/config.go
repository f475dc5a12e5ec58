// Package network holds Ethereum consensus-layer network configurations:
// the parsed config.yaml, bootnodes and genesis of the built-in networks and
// of user-given directories, and the fork arithmetic (slots, epochs, fork
// digests, ENR fork ids) a sentry needs to tell its own network from others.
package network

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// MaxConfigSize bounds config.yaml; real ones are ~10 KiB.
const MaxConfigSize = 1 << 20

// FarFutureEpoch marks an unscheduled fork (spec FAR_FUTURE_EPOCH = 2**64-1).
const FarFutureEpoch = ^uint64(0)

// maxBlobSchedule bounds BLOB_SCHEDULE; real schedules hold a handful of entries.
const maxBlobSchedule = 1024

// Fork is one fork of a network: the version its digest is computed from
// and the epoch it activates at (FarFutureEpoch when unscheduled).
type Fork struct {
	Name    string
	Version [4]byte
	Epoch   uint64
}

// BlobParams is one BLOB_SCHEDULE entry (EIP-7892 blob-parameter-only fork).
type BlobParams struct {
	Epoch            uint64
	MaxBlobsPerBlock uint64
}

// Config is a parsed consensus config.yaml. Keys the struct does not model
// are kept verbatim in Raw (every scalar key is in Raw, modelled or not).
type Config struct {
	ConfigName string
	PresetBase string

	// SecondsPerSlot is the slot duration: SLOT_DURATION_MS when present,
	// else SECONDS_PER_SLOT, else the preset's value.
	SecondsPerSlot time.Duration
	// SlotsPerEpoch is SLOTS_PER_EPOCH when the file has it (devnets write
	// it), else the preset's value: mainnet 32, minimal 8, gnosis 16.
	SlotsPerEpoch uint64

	// Forks holds GENESIS (as "phase0") and every *_FORK_VERSION /
	// *_FORK_EPOCH pair, sorted by epoch (ties keep the canonical fork order).
	Forks []Fork

	BlobSchedule            []BlobParams // sorted by epoch
	MaxBlobsPerBlockElectra uint64

	EpochsPerSubnetSubscription   uint64
	AttestationSubnetCount        uint64
	AttestationSubnetExtraBits    uint64
	AttestationSubnetPrefixBits   uint64
	SubnetsPerNode                uint64
	SyncCommitteeSubnetCount      uint64
	TargetAggregatorsPerCommittee uint64
	TargetCommitteeSize           uint64
	MaxCommitteesPerSlot          uint64
	SyncCommitteeSize             uint64
	EpochsPerSyncCommitteePeriod  uint64

	Raw map[string]string
}

// forkRank is the canonical order of named forks; when several forks share
// an epoch the later one in this order is in force (compute_fork_version
// checks from the newest fork down). Unknown forks come after, by name.
func forkRank(name string) int {
	switch name {
	case "GENESIS":
		return 0
	case "ALTAIR":
		return 1
	case "BELLATRIX":
		return 2
	case "CAPELLA":
		return 3
	case "DENEB":
		return 4
	case "ELECTRA":
		return 5
	case "FULU":
		return 6
	case "GLOAS":
		return 7
	}
	return 8
}

// preset holds the values that come from the preset rather than the config.
type preset struct {
	slotsPerEpoch, syncCommitteeSize, epochsPerSyncPeriod uint64
	slot                                                  time.Duration
}

func presetFor(name string) (preset, bool) {
	switch name {
	case "mainnet":
		return preset{32, 512, 256, 12 * time.Second}, true
	case "minimal":
		return preset{8, 32, 8, 6 * time.Second}, true
	case "gnosis":
		// Gnosis preset (gnosischain/specs consensus/preset/gnosis; also
		// Lodestar's gnosis preset): 16 slots of 5 s, 512-epoch sync periods.
		return preset{16, 512, 512, 5 * time.Second}, true
	}
	return preset{}, false
}

// ParseConfig reads a consensus config.yaml (at most MaxConfigSize bytes).
func ParseConfig(r io.Reader) (cfg *Config, err error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config.yaml: %w", err)
	}
	if len(data) > MaxConfigSize {
		return nil, fmt.Errorf("config.yaml is larger than %d bytes: is this really a consensus config?", MaxConfigSize)
	}
	// yaml.v3 is not written for hostile input; a panic inside it must
	// surface as a parse error, never crash the caller.
	defer func() {
		if p := recover(); p != nil {
			cfg, err = nil, fmt.Errorf("parse config.yaml: malformed YAML (%v)", p)
		}
	}()
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("parse config.yaml: file is empty; expected KEY: value lines such as GENESIS_FORK_VERSION")
		}
		return nil, fmt.Errorf("parse config.yaml: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("parse config.yaml: top level must be a mapping of KEY: value")
	}
	return configFromMapping(doc.Content[0])
}

func configFromMapping(m *yaml.Node) (*Config, error) {
	c := &Config{Raw: map[string]string{}}
	lines := map[string]int{}
	var blobNode *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("config.yaml line %d: key must be a plain name", k.Line)
		}
		if _, dup := lines[k.Value]; dup {
			return nil, fmt.Errorf("config.yaml line %d: key %s appears twice (first on line %d)", k.Line, k.Value, lines[k.Value])
		}
		lines[k.Value] = k.Line
		if k.Value == "BLOB_SCHEDULE" {
			blobNode = v
		}
		switch v.Kind {
		case yaml.ScalarNode:
			c.Raw[k.Value] = v.Value
		case yaml.SequenceNode, yaml.MappingNode:
			out, err := yaml.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("config.yaml line %d: key %s: %w", k.Line, k.Value, err)
			}
			c.Raw[k.Value] = string(out)
		default:
			return nil, fmt.Errorf("config.yaml line %d: key %s: aliases are not supported", k.Line, k.Value)
		}
	}
	p := &parser{raw: c.Raw, lines: lines}

	c.ConfigName = c.Raw["CONFIG_NAME"]
	c.PresetBase = c.Raw["PRESET_BASE"]
	if c.PresetBase == "" {
		c.PresetBase = "mainnet" // clients assume the mainnet preset when absent
	}
	pre, known := presetFor(c.PresetBase)

	switch {
	case p.has("SLOT_DURATION_MS"):
		ms := p.uint("SLOT_DURATION_MS", 0)
		c.SecondsPerSlot = time.Duration(ms) * time.Millisecond
		if ms == 0 || ms > 1<<32 {
			p.fail("SLOT_DURATION_MS", "must be between 1 and 2^32 milliseconds")
		}
	case p.has("SECONDS_PER_SLOT"):
		s := p.uint("SECONDS_PER_SLOT", 0)
		c.SecondsPerSlot = time.Duration(s) * time.Second
		if s == 0 || s > 1<<22 {
			p.fail("SECONDS_PER_SLOT", "must be between 1 and 2^22 seconds")
		}
	case known:
		c.SecondsPerSlot = pre.slot
	default:
		p.fail("SECONDS_PER_SLOT", fmt.Sprintf("missing, and PRESET_BASE %q is not one of mainnet, minimal, gnosis", c.PresetBase))
	}
	switch {
	case p.has("SLOTS_PER_EPOCH"):
		c.SlotsPerEpoch = p.uint("SLOTS_PER_EPOCH", 0)
		if c.SlotsPerEpoch == 0 || c.SlotsPerEpoch > 1<<20 {
			p.fail("SLOTS_PER_EPOCH", "must be between 1 and 2^20")
		}
	case known:
		c.SlotsPerEpoch = pre.slotsPerEpoch
	default:
		p.fail("SLOTS_PER_EPOCH", fmt.Sprintf("missing, and PRESET_BASE %q is not one of mainnet, minimal, gnosis", c.PresetBase))
	}
	if !known {
		pre = preset{syncCommitteeSize: 512, epochsPerSyncPeriod: 256}
	}

	// Networking defaults: phase0/altair p2p-interface.md and the presets.
	c.EpochsPerSubnetSubscription = p.uint("EPOCHS_PER_SUBNET_SUBSCRIPTION", 256)
	c.AttestationSubnetCount = p.uint("ATTESTATION_SUBNET_COUNT", 64)
	c.AttestationSubnetExtraBits = p.uint("ATTESTATION_SUBNET_EXTRA_BITS", 0)
	c.AttestationSubnetPrefixBits = p.uint("ATTESTATION_SUBNET_PREFIX_BITS", ceilLog2(c.AttestationSubnetCount)+c.AttestationSubnetExtraBits)
	c.SubnetsPerNode = p.uint("SUBNETS_PER_NODE", 2)
	c.SyncCommitteeSubnetCount = p.uint("SYNC_COMMITTEE_SUBNET_COUNT", 4)
	c.TargetAggregatorsPerCommittee = p.uint("TARGET_AGGREGATORS_PER_COMMITTEE", 16)
	c.TargetCommitteeSize = p.uint("TARGET_COMMITTEE_SIZE", 128)
	c.MaxCommitteesPerSlot = p.uint("MAX_COMMITTEES_PER_SLOT", 64)
	c.SyncCommitteeSize = p.uint("SYNC_COMMITTEE_SIZE", pre.syncCommitteeSize)
	c.EpochsPerSyncCommitteePeriod = p.uint("EPOCHS_PER_SYNC_COMMITTEE_PERIOD", pre.epochsPerSyncPeriod)
	c.MaxBlobsPerBlockElectra = p.uint("MAX_BLOBS_PER_BLOCK_ELECTRA", 9)
	for _, k := range []string{"ATTESTATION_SUBNET_COUNT", "SUBNETS_PER_NODE", "SYNC_COMMITTEE_SUBNET_COUNT", "EPOCHS_PER_SUBNET_SUBSCRIPTION", "MAX_COMMITTEES_PER_SLOT", "TARGET_COMMITTEE_SIZE", "EPOCHS_PER_SYNC_COMMITTEE_PERIOD"} {
		if p.has(k) && p.uint(k, 1) == 0 {
			p.fail(k, "must not be 0")
		}
	}
	if c.AttestationSubnetCount > 1<<16 {
		p.fail("ATTESTATION_SUBNET_COUNT", "must be at most 65536")
	}

	c.Forks = p.forks()
	if blobNode != nil {
		c.BlobSchedule = p.blobSchedule(blobNode)
	}
	if p.err != nil {
		return nil, p.err
	}
	return c, nil
}

// parser reads typed values out of Raw, keeping the first error with the
// key and line it came from.
type parser struct {
	raw   map[string]string
	lines map[string]int
	err   error
}

func (p *parser) has(key string) bool { _, ok := p.raw[key]; return ok }

func (p *parser) fail(key, msg string) {
	if p.err != nil {
		return
	}
	if line, ok := p.lines[key]; ok {
		p.err = fmt.Errorf("config.yaml line %d: %s: %s", line, key, msg)
	} else {
		p.err = fmt.Errorf("config.yaml: %s: %s", key, msg)
	}
}

func (p *parser) uint(key string, def uint64) uint64 {
	s, ok := p.raw[key]
	if !ok {
		return def
	}
	v, err := parseUint(s)
	if err != nil {
		p.fail(key, fmt.Sprintf("%q is not an unsigned 64-bit integer", s))
		return def
	}
	return v
}

func parseUint(s string) (uint64, error) {
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		return strconv.ParseUint(s[2:], 16, 64)
	}
	return strconv.ParseUint(s, 10, 64)
}

func (p *parser) version(key string) [4]byte {
	var v [4]byte
	s := p.raw[key]
	h := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 4 || len(h) == len(s) {
		p.fail(key, fmt.Sprintf("%q is not a 4-byte 0x-hex fork version such as 0x01000000", s))
		return v
	}
	copy(v[:], b)
	return v
}

func (p *parser) forks() []Fork {
	if !p.has("GENESIS_FORK_VERSION") {
		p.fail("GENESIS_FORK_VERSION", "missing; every consensus config must set it")
		return nil
	}
	forks := []Fork{{Name: "phase0", Version: p.version("GENESIS_FORK_VERSION"), Epoch: 0}}
	var names []string
	for k := range p.raw {
		if name, ok := strings.CutSuffix(k, "_FORK_VERSION"); ok && name != "GENESIS" && name != "" {
			names = append(names, name)
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		if ra, rb := forkRank(a), forkRank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	for _, n := range names {
		ek := n + "_FORK_EPOCH"
		if !p.has(ek) {
			p.fail(ek, fmt.Sprintf("missing while %s_FORK_VERSION is set; use %d for an unscheduled fork", n, FarFutureEpoch))
			continue
		}
		forks = append(forks, Fork{Name: strings.ToLower(n), Version: p.version(n + "_FORK_VERSION"), Epoch: p.uint(ek, FarFutureEpoch)})
	}
	for k := range p.raw {
		if name, ok := strings.CutSuffix(k, "_FORK_EPOCH"); ok && !p.has(name+"_FORK_VERSION") {
			p.fail(k, fmt.Sprintf("set without %s_FORK_VERSION", name))
		}
	}
	slices.SortStableFunc(forks, func(a, b Fork) int {
		switch {
		case a.Epoch < b.Epoch:
			return -1
		case a.Epoch > b.Epoch:
			return 1
		}
		return 0
	})
	return forks
}

func (p *parser) blobSchedule(n *yaml.Node) []BlobParams {
	const key = "BLOB_SCHEDULE"
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil // "BLOB_SCHEDULE:" with nothing after it: an empty schedule
	}
	if n.Kind != yaml.SequenceNode {
		p.fail(key, "must be a list of {EPOCH, MAX_BLOBS_PER_BLOCK}")
		return nil
	}
	if len(n.Content) > maxBlobSchedule {
		p.fail(key, fmt.Sprintf("has %d entries, more than the %d allowed", len(n.Content), maxBlobSchedule))
		return nil
	}
	out := make([]BlobParams, 0, len(n.Content))
	for _, e := range n.Content {
		if e.Kind != yaml.MappingNode {
			p.fail(key, fmt.Sprintf("entry on line %d must be a mapping with EPOCH and MAX_BLOBS_PER_BLOCK", e.Line))
			return nil
		}
		var bp BlobParams
		var seen int
		for i := 0; i+1 < len(e.Content); i += 2 {
			k, v := e.Content[i], e.Content[i+1]
			var dst *uint64
			switch k.Value {
			case "EPOCH":
				dst = &bp.Epoch
			case "MAX_BLOBS_PER_BLOCK":
				dst = &bp.MaxBlobsPerBlock
			default:
				continue
			}
			x, err := parseUint(v.Value)
			if v.Kind != yaml.ScalarNode || err != nil {
				p.fail(key, fmt.Sprintf("line %d: %s %q is not an unsigned 64-bit integer", v.Line, k.Value, v.Value))
				return nil
			}
			*dst = x
			seen++
		}
		if seen != 2 {
			p.fail(key, fmt.Sprintf("entry on line %d needs exactly one EPOCH and one MAX_BLOBS_PER_BLOCK", e.Line))
			return nil
		}
		out = append(out, bp)
	}
	slices.SortStableFunc(out, func(a, b BlobParams) int {
		switch {
		case a.Epoch < b.Epoch:
			return -1
		case a.Epoch > b.Epoch:
			return 1
		}
		return 0
	})
	for i := 1; i < len(out); i++ {
		if out[i].Epoch == out[i-1].Epoch {
			p.fail(key, fmt.Sprintf("two entries for epoch %d; the spec allows one per epoch", out[i].Epoch))
			return nil
		}
	}
	return out
}

func ceilLog2(x uint64) uint64 {
	var n uint64
	for (uint64(1) << n) < x {
		n++
		if n == 64 {
			break
		}
	}
	return n
}
