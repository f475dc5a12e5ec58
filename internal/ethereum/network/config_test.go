package network

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const devnetConfig = `# a devnet written by valtrack devnet ethereum
PRESET_BASE: minimal
CONFIG_NAME: valtrack-devnet
GENESIS_FORK_VERSION: 0x10000001
ALTAIR_FORK_VERSION: 0x20000001
ALTAIR_FORK_EPOCH: 0
ELECTRA_FORK_VERSION: 0x60000001
ELECTRA_FORK_EPOCH: 0
FULU_FORK_VERSION: 0x70000001
FULU_FORK_EPOCH: 2
SECONDS_PER_SLOT: 2
SLOTS_PER_EPOCH: 4
MAX_BLOBS_PER_BLOCK_ELECTRA: 9
TERMINAL_TOTAL_DIFFICULTY: 58750000000000000000000
BLOB_SCHEDULE:
  - EPOCH: 5
    MAX_BLOBS_PER_BLOCK: 12
  - {EPOCH: 3, MAX_BLOBS_PER_BLOCK: 10}
`

func TestParseConfigDevnet(t *testing.T) {
	c, err := ParseConfig(strings.NewReader(devnetConfig))
	if err != nil {
		t.Fatal(err)
	}
	if c.ConfigName != "valtrack-devnet" || c.PresetBase != "minimal" {
		t.Errorf("names %q %q", c.ConfigName, c.PresetBase)
	}
	if c.SecondsPerSlot != 2*time.Second || c.SlotsPerEpoch != 4 {
		t.Errorf("slot %v, slots/epoch %d; want 2s and the file's 4", c.SecondsPerSlot, c.SlotsPerEpoch)
	}
	// minimal preset defaults for what the file leaves out
	if c.SyncCommitteeSize != 32 || c.EpochsPerSyncCommitteePeriod != 8 || c.AttestationSubnetCount != 64 || c.AttestationSubnetPrefixBits != 6 {
		t.Errorf("defaults: %+v", c)
	}
	if len(c.BlobSchedule) != 2 || c.BlobSchedule[0] != (BlobParams{3, 10}) || c.BlobSchedule[1] != (BlobParams{5, 12}) {
		t.Errorf("blob schedule not parsed and sorted: %v", c.BlobSchedule)
	}
	if c.Raw["TERMINAL_TOTAL_DIFFICULTY"] != "58750000000000000000000" {
		t.Errorf("unknown key not kept in Raw: %q", c.Raw["TERMINAL_TOTAL_DIFFICULTY"])
	}
	names := []string{}
	for _, f := range c.Forks {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); got != "phase0,altair,electra,fulu" {
		t.Errorf("forks %s", got)
	}
}

func TestParseConfigSlotDurationMS(t *testing.T) {
	c, err := ParseConfig(strings.NewReader("GENESIS_FORK_VERSION: 0x00000000\nSECONDS_PER_SLOT: 12\nSLOT_DURATION_MS: 6000\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.SecondsPerSlot != 6*time.Second || c.SlotsPerEpoch != 32 || c.PresetBase != "mainnet" {
		t.Errorf("slot %v slots/epoch %d preset %q", c.SecondsPerSlot, c.SlotsPerEpoch, c.PresetBase)
	}
}

func TestParseConfigErrors(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"empty", "", "empty"},
		{"not a mapping", "- a\n- b\n", "mapping"},
		{"no genesis version", "CONFIG_NAME: x\n", "GENESIS_FORK_VERSION: missing"},
		{"bad version", "GENESIS_FORK_VERSION: 0x0102\n", "line 1: GENESIS_FORK_VERSION"},
		{"bad epoch", "GENESIS_FORK_VERSION: 0x00000000\nALTAIR_FORK_VERSION: 0x01000000\nALTAIR_FORK_EPOCH: soon\n", "line 3: ALTAIR_FORK_EPOCH"},
		{"epoch without version", "GENESIS_FORK_VERSION: 0x00000000\nBELLATRIX_FORK_EPOCH: 4\n", "BELLATRIX_FORK_EPOCH: set without"},
		{"version without epoch", "GENESIS_FORK_VERSION: 0x00000000\nDENEB_FORK_VERSION: 0x04000000\n", "DENEB_FORK_EPOCH: missing"},
		{"zero slot", "GENESIS_FORK_VERSION: 0x00000000\nSECONDS_PER_SLOT: 0\n", "line 2: SECONDS_PER_SLOT"},
		{"zero slots per epoch", "GENESIS_FORK_VERSION: 0x00000000\nSLOTS_PER_EPOCH: 0\n", "SLOTS_PER_EPOCH"},
		{"unknown preset", "PRESET_BASE: weird\nGENESIS_FORK_VERSION: 0x00000000\n", "PRESET_BASE \"weird\""},
		{"duplicate key", "GENESIS_FORK_VERSION: 0x00000000\nGENESIS_FORK_VERSION: 0x00000001\n", "appears twice"},
		{"blob schedule scalar", "GENESIS_FORK_VERSION: 0x00000000\nBLOB_SCHEDULE: 3\n", "BLOB_SCHEDULE"},
		{"blob schedule entry", "GENESIS_FORK_VERSION: 0x00000000\nBLOB_SCHEDULE:\n  - EPOCH: 1\n", "exactly one EPOCH"},
		{"blob schedule dup", "GENESIS_FORK_VERSION: 0x00000000\nBLOB_SCHEDULE:\n  - {EPOCH: 1, MAX_BLOBS_PER_BLOCK: 2}\n  - {EPOCH: 1, MAX_BLOBS_PER_BLOCK: 3}\n", "two entries"},
		{"bad yaml", "GENESIS_FORK_VERSION: [\n", "parse config.yaml"},
	}
	for _, c := range cases {
		_, err := ParseConfig(strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %q", c.name, err, c.want)
		}
	}
	big := strings.Repeat("#", MaxConfigSize+1)
	if _, err := ParseConfig(strings.NewReader(big)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized config: err = %v", err)
	}
}

func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const devnetBootnodes = `# devnet bootnodes
enr:-Iu4QLm7bZGdAt9NSeJG0cEnJohWcQTQaI9wFLu3Q7eHIDfrI4cwtzvEW3F3VbG9XdFXlrHyFGeXPn9snTCQJ9bnMRABgmlkgnY0gmlwhAOTJQCJc2VjcDI1NmsxoQIZdZD6tDYpkpEfVo5bgiU8MGRjhcOmHGD2nErK0UKRrIN0Y3CCIyiDdWRwgiMo

- "enode://a979fb575495b8d6db44f750317d0f4622bf4c2aa3365d6af7c284339968eef29b69ad0dce72a4d8db5ebb4968de0e3bec910127f134779fbcb0cb6d3331163c@127.0.0.1:30303"
`

func TestLoadDirectory(t *testing.T) {
	dir := writeDir(t, map[string]string{
		ConfigFile:    devnetConfig,
		BootnodesFile: devnetBootnodes,
		GenesisFile:   `{"genesis_time": 1700000000, "genesis_validators_root": "0x` + strings.Repeat("ab", 32) + `", "active_validators": 64, "extra": true}`,
	})
	n, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n.Name != "valtrack-devnet" || n.Dir != dir || n.ActiveValidators != 64 || n.GenesisTime.Unix() != 1700000000 || n.GenesisValidatorsRoot[31] != 0xab {
		t.Errorf("loaded %+v", n)
	}
	if len(n.Bootnodes) != 2 || !strings.HasPrefix(n.Bootnodes[1], "enode://") {
		t.Errorf("bootnodes %q", n.Bootnodes)
	}
	// 4 slots of 2 s: epoch 2 (Fulu) starts 16 s after genesis.
	if e := n.EpochAt(n.GenesisTime.Add(16 * time.Second)); e != 2 || n.ForkAt(e).Name != "fulu" {
		t.Errorf("EpochAt(+16s) = %d (%s)", e, n.ForkAt(e).Name)
	}
	// Boundaries: fulu at 2, BPO at 3 and 5; electra/altair at 0 are not boundaries.
	if b := n.Boundaries(); len(b) != 3 || b[0] != 2 || b[1] != 3 || b[2] != 5 {
		t.Errorf("Boundaries = %v", b)
	}
	// Fulu at epoch 2 before any BPO entry: Electra parameters (epoch 0, 9 blobs).
	fulu := ComputeForkDigest([4]byte{0x70, 0, 0, 1}, n.GenesisValidatorsRoot, &BlobParams{0, 9})
	if n.ForkDigest(2) != fulu || n.ForkDigest(2) == n.ForkDigest(3) || n.ForkDigest(3) == n.ForkDigest(5) {
		t.Errorf("devnet digests 2:%x 3:%x 5:%x, want fulu %x", n.ForkDigest(2), n.ForkDigest(3), n.ForkDigest(5), fulu)
	}
	if len(n.KnownDigests()) != 4 {
		t.Errorf("KnownDigests = %v, want 4 (electra-at-genesis, fulu, 2 BPO)", n.KnownDigests())
	}
}

func TestLoadErrors(t *testing.T) {
	_, err := Load("no-such-network")
	if err == nil || !strings.Contains(err.Error(), "mainnet, sepolia, hoodi, holesky, gnosis") || !strings.Contains(err.Error(), "bootstrap_nodes.txt") {
		t.Errorf("unknown name: %v", err)
	}
	good := map[string]string{
		ConfigFile:    devnetConfig,
		BootnodesFile: devnetBootnodes,
		GenesisFile:   `{"genesis_time": 1700000000, "genesis_validators_root": "0x` + strings.Repeat("00", 32) + `"}`,
	}
	cases := []struct {
		file, body, want string
	}{
		{GenesisFile, `{"genesis_validators_root": "0x00"}`, "genesis_time"},
		{GenesisFile, `{"genesis_time": 1, "genesis_validators_root": "0x1234"}`, "genesis_validators_root"},
		{GenesisFile, `{`, "parse genesis.json"},
		{BootnodesFile, "http://example\n", "line 1"},
		{ConfigFile, "CONFIG_NAME: x\n", "GENESIS_FORK_VERSION"},
		{ConfigFile, "", "empty"},
	}
	for _, c := range cases {
		files := map[string]string{}
		for k, v := range good {
			files[k] = v
		}
		files[c.file] = c.body
		_, err := Load(writeDir(t, files))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %q: err = %v, want %q", c.file, c.body, err, c.want)
		}
	}
	missing := writeDir(t, map[string]string{ConfigFile: devnetConfig})
	if _, err := Load(missing); err == nil || !strings.Contains(err.Error(), GenesisFile) {
		t.Errorf("missing genesis.json: %v", err)
	}
}

func FuzzParseConfig(f *testing.F) {
	// Whole builtin configs (~10 KiB) make input minimization crawl; their fork lines
	// and blob schedules are the interesting part.
	for _, name := range Builtin() {
		b, err := builtinFS.ReadFile("networks/" + name + "/" + ConfigFile)
		if err != nil {
			f.Fatal(err)
		}
		var seed []string
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, "FORK_") || strings.Contains(line, "PRESET_BASE") || strings.Contains(line, "SLOT") ||
				strings.Contains(line, "BLOB") || strings.HasPrefix(strings.TrimSpace(line), "- EPOCH") {
				seed = append(seed, line)
			}
		}
		f.Add([]byte(strings.Join(seed, "\n")))
	}
	f.Add([]byte(devnetConfig))
	f.Add([]byte("GENESIS_FORK_VERSION: &a 0x00000000\nX: *a\n"))
	f.Add([]byte("BLOB_SCHEDULE: [{EPOCH: 1, MAX_BLOBS_PER_BLOCK: 2}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(strings.NewReader(string(data)))
		if err != nil {
			return
		}
		if c.SlotsPerEpoch == 0 || c.SecondsPerSlot <= 0 || len(c.Forks) == 0 || c.Forks[0].Name != "phase0" {
			t.Fatalf("accepted config with unusable clock or forks: %+v", c)
		}
		n := &Network{Config: c}
		e := n.EpochAt(time.Unix(2e9, 0))
		_ = n.ForkDigest(e)
		_, _, _ = n.ENRForkID(e)
		_ = n.NextForkDigest(e)
		if len(n.KnownDigests()) == 0 {
			t.Fatal("no known digests")
		}
	})
}

func FuzzParseBootnodes(f *testing.F) {
	b, _ := builtinFS.ReadFile("networks/mainnet/" + BootnodesFile)
	f.Add(b)
	f.Add([]byte(devnetBootnodes))
	f.Fuzz(func(t *testing.T, data []byte) {
		nodes, err := ParseBootnodes(data)
		if err != nil {
			return
		}
		for _, n := range nodes {
			if !strings.HasPrefix(n, "enr:") && !strings.HasPrefix(n, "enode://") {
				t.Fatalf("accepted %q", n)
			}
		}
	})
}

func FuzzParseGenesis(f *testing.F) {
	b, _ := builtinFS.ReadFile("networks/mainnet/" + GenesisFile)
	f.Add(b)
	f.Add([]byte(`{"genesis_time": 1, "genesis_validators_root": "0x` + strings.Repeat("00", 32) + `", "active_validators": 3}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var n Network
		if err := n.parseGenesis(data); err != nil {
			return
		}
		if n.GenesisTime.IsZero() {
			t.Fatal("accepted genesis without a time")
		}
	})
}
