package devnet

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/valtrack/valtrack/internal/ssv/registry"
)

// File names in Options.Dir.
const (
	InfoFile  = "ssv.json"
	TruthFile = "truth.json"
)

// Info is what ssv.json holds: where the devnet's chain and contract are.
type Info struct {
	Network string `json:"network"`
	RPCHTTP string `json:"rpc_http"`
	// RPCWS is on the same port as RPCHTTP: go-ethereum serves both on
	// one listener.
	RPCWS    string `json:"rpc_ws"`
	Contract string `json:"contract"`
	// FromBlock is the block the contract was deployed in: where a sync
	// starts.
	FromBlock     uint64 `json:"from_block"`
	ChainID       uint64 `json:"chain_id"`
	BlockInterval string `json:"block_interval"`
	// DevAccount is the funded account that sends every transaction.
	DevAccount string `json:"dev_account"`
	Truth      string `json:"truth"` // path of truth.json
}

// Truth is what truth.json holds: the registry as the devnet emitted it,
// up to and including Block. Operators are by id, validators by index,
// clusters by id, owners by address, invalid registrations in chain order.
//
// The rules it is kept by: only valid registrations (those
// shares.Check accepts) become validators; each ValidatorAdded, valid or
// not, bumps its owner's nonce and changes its cluster as the contract
// does (one more validator, the deposit added); an invalid one is listed
// in Invalid with the node's reason. A removed validator stays, with status
// "removed"; an exited one has status "exited". An operator's
// ValidatorCount is the node's: its validators neither removed nor
// liquidated (the contract also takes a liquidated cluster's off its
// operators' counts, but counts invalid registrations, which the node does
// not run). A cluster is the tuple of the last event about it, invalid
// registrations included; its validators are Liquidated while it is not
// Active.
type Truth struct {
	Network   string `json:"network"`
	Contract  string `json:"contract"`
	ChainID   uint64 `json:"chain_id"`
	FromBlock uint64 `json:"from_block"`
	Block     uint64 `json:"block"`
	BlockHash string `json:"block_hash"`

	Operators  []registry.Operator  `json:"operators"`
	Validators []registry.Validator `json:"validators"`
	Clusters   []registry.Cluster   `json:"clusters"`
	Owners     []registry.Owner     `json:"owners"`
	Invalid    []registry.Invalid   `json:"invalid"`

	// ContractVersion is what the implementation of the proxy's last
	// Upgraded log answers to getVersion() ("": no upgrade yet); V2Block is
	// that log's block when it is v2, from which new clusters pay in ETH.
	ContractVersion string `json:"contract_version"`
	V2Block         uint64 `json:"v2_block"`

	// Logs is the number of logs the contract emitted; Events counts them
	// by event name.
	Logs   int            `json:"logs"`
	Events map[string]int `json:"events"`
}

// snapshot copies the model into a Truth.
func (m *model) snapshot(t Truth) Truth {
	t.Operators = make([]registry.Operator, 0, len(m.ops))
	for _, op := range m.ops {
		t.Operators = append(t.Operators, *op)
	}
	sort.Slice(t.Operators, func(i, j int) bool { return t.Operators[i].ID < t.Operators[j].ID })
	t.Validators = make([]registry.Validator, 0, len(m.vals))
	for _, v := range m.vals {
		t.Validators = append(t.Validators, *v)
	}
	t.Clusters = make([]registry.Cluster, 0, len(m.clusters))
	for _, c := range m.clusters {
		t.Clusters = append(t.Clusters, c.reg)
	}
	sort.Slice(t.Clusters, func(i, j int) bool { return t.Clusters[i].ID < t.Clusters[j].ID })
	t.Owners = make([]registry.Owner, 0, len(m.owners))
	for _, o := range m.owners {
		t.Owners = append(t.Owners, *o)
	}
	sort.Slice(t.Owners, func(i, j int) bool { return t.Owners[i].Address < t.Owners[j].Address })
	t.Invalid = make([]registry.Invalid, 0, len(m.invalid))
	for _, inv := range m.invalid {
		t.Invalid = append(t.Invalid, *inv)
	}
	t.ContractVersion, t.V2Block = m.version, m.v2Block
	t.Events = map[string]int{}
	t.Logs = 0
	for k, n := range m.events {
		t.Events[k] = n
		t.Logs += n
	}
	return t
}

// writeJSON writes v to path atomically: a reader sees the old file or
// the new one, never a part.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// ReadInfo reads dir/ssv.json.
func ReadInfo(dir string) (Info, error) {
	var i Info
	return i, readJSON(filepath.Join(dir, InfoFile), &i)
}

// ReadTruth reads dir/truth.json.
func ReadTruth(dir string) (Truth, error) {
	var t Truth
	return t, readJSON(filepath.Join(dir, TruthFile), &t)
}
