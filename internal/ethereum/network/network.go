package network

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Files of a network directory, built in or user-given.
const (
	ConfigFile    = "config.yaml"
	BootnodesFile = "bootstrap_nodes.txt"
	GenesisFile   = "genesis.json"
)

// Limits on the other files of a network directory.
const (
	MaxBootnodesSize = 1 << 20
	MaxGenesisSize   = 1 << 16
	MaxBootnodes     = 4096
)

//go:embed networks
var builtinFS embed.FS

// Network is one consensus network: its config, bootnodes and genesis.
type Network struct {
	Name                  string // CONFIG_NAME, or the directory's name when the config has none
	Config                *Config
	Bootnodes             []string // ENR or enode strings
	GenesisTime           time.Time
	GenesisValidatorsRoot [32]byte
	ActiveValidators      uint64 // 0 = unknown
	Dir                   string // "" for a built-in network
}

// Builtin returns the names of the embedded networks.
func Builtin() []string {
	return []string{"mainnet", "sepolia", "hoodi", "holesky", "gnosis"}
}

// Load returns a built-in network by name, or reads a network directory
// holding config.yaml, bootstrap_nodes.txt and genesis.json.
func Load(nameOrDir string) (*Network, error) {
	if slices.Contains(Builtin(), nameOrDir) {
		sub, err := fs.Sub(builtinFS, "networks/"+nameOrDir)
		if err != nil {
			return nil, fmt.Errorf("load built-in network %s: %w", nameOrDir, err)
		}
		n, err := loadFS(sub, nameOrDir)
		if err != nil {
			return nil, fmt.Errorf("load built-in network %s: %w", nameOrDir, err)
		}
		return n, nil
	}
	st, err := os.Stat(nameOrDir)
	if err != nil || !st.IsDir() {
		return nil, fmt.Errorf("network %q is neither a built-in network (%s) nor a directory holding %s, %s and %s",
			nameOrDir, strings.Join(Builtin(), ", "), ConfigFile, BootnodesFile, GenesisFile)
	}
	abs, err := filepath.Abs(nameOrDir)
	if err != nil {
		return nil, fmt.Errorf("load network directory %s: %w", nameOrDir, err)
	}
	n, err := loadFS(os.DirFS(abs), filepath.Base(abs))
	if err != nil {
		return nil, fmt.Errorf("load network directory %s (expects %s, %s, %s): %w", abs, ConfigFile, BootnodesFile, GenesisFile, err)
	}
	n.Dir = abs
	return n, nil
}

func loadFS(fsys fs.FS, fallbackName string) (*Network, error) {
	cf, err := fsys.Open(ConfigFile)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", ConfigFile, err)
	}
	cfg, err := ParseConfig(cf)
	cf.Close()
	if err != nil {
		return nil, err
	}
	n := &Network{Name: cfg.ConfigName, Config: cfg}
	if n.Name == "" {
		n.Name = fallbackName
	}
	gf, err := readBounded(fsys, GenesisFile, MaxGenesisSize)
	if err != nil {
		return nil, err
	}
	if err := n.parseGenesis(gf); err != nil {
		return nil, err
	}
	bf, err := readBounded(fsys, BootnodesFile, MaxBootnodesSize)
	if err != nil {
		return nil, err
	}
	if n.Bootnodes, err = ParseBootnodes(bf); err != nil {
		return nil, err
	}
	return n, nil
}

func readBounded(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, limit)
	}
	return b, nil
}

// genesisFile is genesis.json: the two genesis facts a sentry needs, and
// the active validator count a devnet knows.
type genesisFile struct {
	GenesisTime           *uint64 `json:"genesis_time"`
	GenesisValidatorsRoot string  `json:"genesis_validators_root"`
	ActiveValidators      uint64  `json:"active_validators"`
}

func (n *Network) parseGenesis(b []byte) error {
	var g genesisFile
	if err := json.Unmarshal(b, &g); err != nil {
		return fmt.Errorf("parse %s: %w", GenesisFile, err)
	}
	if g.GenesisTime == nil {
		return fmt.Errorf("parse %s: genesis_time (unix seconds) is missing", GenesisFile)
	}
	if *g.GenesisTime > 1<<40 {
		return fmt.Errorf("parse %s: genesis_time %d is not plausible unix seconds", GenesisFile, *g.GenesisTime)
	}
	root, err := hex.DecodeString(strings.TrimPrefix(g.GenesisValidatorsRoot, "0x"))
	if err != nil || len(root) != 32 {
		return fmt.Errorf("parse %s: genesis_validators_root %q is not 0x followed by 64 hex digits", GenesisFile, g.GenesisValidatorsRoot)
	}
	n.GenesisTime = time.Unix(int64(*g.GenesisTime), 0).UTC()
	copy(n.GenesisValidatorsRoot[:], root)
	n.ActiveValidators = g.ActiveValidators
	return nil
}

// ParseBootnodes reads bootstrap_nodes.txt: one ENR or enode URL a line;
// blank lines and # comments are skipped, and YAML list markers ("- ") and
// quotes are tolerated since some networks publish the list as YAML.
func ParseBootnodes(b []byte) ([]string, error) {
	if len(b) > MaxBootnodesSize {
		return nil, fmt.Errorf("%s is larger than %d bytes", BootnodesFile, MaxBootnodesSize)
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), MaxBootnodesSize)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if i := strings.Index(s, "#"); i >= 0 {
			s = strings.TrimSpace(s[:i])
		}
		s = strings.TrimSpace(strings.TrimPrefix(s, "- "))
		s = strings.Trim(s, `"'`)
		if s == "" {
			continue
		}
		if !strings.HasPrefix(s, "enr:") && !strings.HasPrefix(s, "enode://") {
			return nil, fmt.Errorf("%s line %d: %.40q is neither an enr: record nor an enode:// URL", BootnodesFile, line, s)
		}
		if len(out) == MaxBootnodes {
			return nil, fmt.Errorf("%s: more than %d bootnodes", BootnodesFile, MaxBootnodes)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", BootnodesFile, err)
	}
	return out, nil
}
