package devnet

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/cometbft/cometbft/crypto/ed25519"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/types"
	cmttime "github.com/cometbft/cometbft/types/time"
)

// The files of a devnet directory. A validator's home has CometBFT's usual
// layout, so `cometbft inspect --home DIR/validator-0` can read it.
const (
	chainFile   = "chain.json"
	genesisFile = "genesis.json"
)

func homeDir(dir string, i int) string { return filepath.Join(dir, fmt.Sprintf("validator-%d", i)) }
func moniker(i int) string             { return fmt.Sprintf("validator-%d", i) }
func keyFile(home string) string       { return filepath.Join(home, "config", "priv_validator_key.json") }
func stateFile(home string) string     { return filepath.Join(home, "data", "priv_validator_state.json") }
func nodeKeyFile(home string) string   { return filepath.Join(home, "config", "node_key.json") }
func homeGenesis(home string) string   { return filepath.Join(home, "config", "genesis.json") }

// create makes a new chain in dir: n validators' keys, their homes and one
// genesis. Homes are numbered in the validator set's order (equal powers:
// ascending address), so a validator's devnet index is its index in
// CometBFT's validator set and in every commit's signatures.
func create(dir, chainID string, n int) (*types.GenesisDoc, error) {
	type keys struct {
		pv   types.PrivValidator
		priv ed25519.PrivKey
		addr types.Address
	}
	ks := make([]keys, n)
	for i := range ks {
		priv := ed25519.GenPrivKey()
		ks[i] = keys{priv: priv, addr: priv.PubKey().Address()}
	}
	sort.Slice(ks, func(a, b int) bool { return bytes.Compare(ks[a].addr, ks[b].addr) < 0 })

	gen := &types.GenesisDoc{
		ChainID:         chainID,
		GenesisTime:     cmttime.Now(),
		InitialHeight:   1,
		ConsensusParams: types.DefaultConsensusParams(),
	}
	for i, k := range ks {
		home := homeDir(dir, i)
		for _, sub := range []string{"config", "data"} {
			if err := os.MkdirAll(filepath.Join(home, sub), 0o755); err != nil {
				return nil, fmt.Errorf("devnet: create the home of validator %d: %w", i, err)
			}
		}
		if err := savePV(privval.NewFilePV(k.priv, keyFile(home), stateFile(home))); err != nil {
			return nil, fmt.Errorf("devnet: save the key of validator %d: %w", i, err)
		}
		nk := &p2p.NodeKey{PrivKey: ed25519.GenPrivKey()}
		if err := nk.SaveAs(nodeKeyFile(home)); err != nil {
			return nil, fmt.Errorf("devnet: save the node key of validator %d: %w", i, err)
		}
		gen.Validators = append(gen.Validators, types.GenesisValidator{
			Address: k.addr, PubKey: k.priv.PubKey(), Power: Power, Name: moniker(i),
		})
	}
	if err := gen.ValidateAndComplete(); err != nil {
		return nil, fmt.Errorf("devnet: genesis: %w", err)
	}
	for i := range ks {
		if err := gen.SaveAs(homeGenesis(homeDir(dir, i))); err != nil {
			return nil, fmt.Errorf("devnet: write the genesis of validator %d: %w", i, err)
		}
	}
	// Written last: its presence is what marks dir as holding a complete
	// devnet to resume.
	if err := gen.SaveAs(filepath.Join(dir, genesisFile)); err != nil {
		return nil, fmt.Errorf("devnet: write %s: %w", filepath.Join(dir, genesisFile), err)
	}
	return gen, nil
}

// savePV writes a validator key and its sign state. FilePV.Save panics on
// a write error; here it is an error like any other.
func savePV(pv *privval.FilePV) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	pv.Save()
	return nil
}

// loadPV loads a validator key and its sign state. privval.LoadFilePV
// exits the process on a missing or unreadable file, so both files are
// read and decoded here first, where a failure is an error.
func loadPV(home string) (*privval.FilePV, error) {
	var key privval.FilePVKey
	if err := decodeFile(keyFile(home), &key); err != nil {
		return nil, err
	}
	var state privval.FilePVLastSignState
	if err := decodeFile(stateFile(home), &state); err != nil {
		return nil, err
	}
	return privval.LoadFilePV(keyFile(home), stateFile(home)), nil
}

func decodeFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := cmtjson.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

// existing loads the devnet dir already holds, if any: nil when dir has no
// devnet, an error when it has part of one.
func existing(dir string) (*types.GenesisDoc, error) {
	path := filepath.Join(dir, genesisFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(homeDir(dir, 0)); err == nil {
			return nil, fmt.Errorf("devnet: %s has validator homes but no %s (a start that failed half-way?): remove %s or give another directory", dir, genesisFile, dir)
		}
		return nil, nil
	}
	gen, err := types.GenesisDocFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("devnet: read the existing devnet in %s: %w; remove %s or give another directory", dir, err, dir)
	}
	for i, gv := range gen.Validators {
		home := homeDir(dir, i)
		key, err := loadPV(home)
		if err != nil {
			return nil, fmt.Errorf("devnet: resume validator %d from %s: %w", i, home, err)
		}
		if !bytes.Equal(key.GetAddress(), gv.Address) {
			return nil, fmt.Errorf("devnet: resume validator %d: its key in %s is for %s, the genesis says %s; %s is inconsistent, remove it or give another directory",
				i, home, key.GetAddress(), gv.Address, dir)
		}
	}
	return gen, nil
}

// loadNodeKey reads a validator's p2p key (its node id).
func loadNodeKey(home string) (*p2p.NodeKey, error) {
	nk, err := p2p.LoadNodeKey(nodeKeyFile(home))
	if err != nil {
		return nil, fmt.Errorf("devnet: read the node key in %s: %w", home, err)
	}
	return nk, nil
}
