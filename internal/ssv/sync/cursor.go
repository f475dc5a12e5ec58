package sync

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/ethereum/go-ethereum/common"
)

// cursorData is <DataDir>/ssv-<network>.cursor: the last fully published
// block and the hashes of the recent processed blocks (for reorgs that
// happen while the sentry is down).
type cursorData struct {
	Network   string      `json:"network"`
	Contract  string      `json:"contract"`
	ChainID   uint64      `json:"chain_id"`
	Processed int64       `json:"processed"` // -1: nothing yet
	Hashes    []blockHash `json:"hashes"`
	// First is the hash of the first block synced (FromBlock) on the chain
	// the cursor was written on: a restarted devnet or another chain of
	// the same chain id under the same contract address has another one,
	// and its registry must be synced again from the start. Nil in
	// cursors written before it was kept.
	First *blockHash `json:"first,omitempty"`
	// Gen is the reorg generation of the ids published (events.Reorg.Gen):
	// kept so that a restart publishes again under the same ids (the
	// bus drops them as duplicates) and a later reorg under new ones.
	Gen uint64 `json:"gen,omitempty"`
	// PrevMarker is the block of the last marker published (the next
	// one's events.Block.PrevMarker), so that a restart goes on with the
	// chain of markers; nil before the first and in cursors written
	// before it was kept (the first marker after the restart then has
	// none, and is not checked).
	PrevMarker *uint64 `json:"prev_marker,omitempty"`
	// MarkerBefore is the last marker older than every kept hash (nil:
	// none, or not kept yet): where the chain goes on after a reorg or
	// replay back to a kept block without a marker.
	MarkerBefore *uint64 `json:"marker_before,omitempty"`
}

type blockHash struct {
	Number uint64      `json:"n"`
	Hash   common.Hash `json:"h"`
	// Time is the header's (unix s); 0 in cursors written before it was
	// kept. Health compares the processed block's time with the clock.
	Time uint64 `json:"t,omitempty"`
	// Marker says a marker of the block was published (false in cursors
	// written before it was kept): a reorg or a replay back to a kept
	// block finds the previous marker of the chain among them.
	Marker bool `json:"m,omitempty"`
}

const maxCursorBytes = 1 << 20

type cursorFile struct{ path string }

func newCursor(dir, network string) *cursorFile {
	if dir == "" {
		return nil
	}
	return &cursorFile{path: filepath.Join(dir, "ssv-"+network+".cursor")}
}

// load returns the cursor, nil when there is none yet.
func (c *cursorFile) load(network string, contract common.Address) (*cursorData, error) {
	if c == nil {
		return nil, nil
	}
	st, err := os.Stat(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err == nil && st.Size() > maxCursorBytes {
		err = fmt.Errorf("%d bytes, at most %d", st.Size(), maxCursorBytes)
	}
	var b []byte
	if err == nil {
		b, err = os.ReadFile(c.path)
	}
	if err != nil {
		return nil, fmt.Errorf("read cursor %s: %w", c.path, err)
	}
	var d cursorData
	if err := json.Unmarshal(b, &d); err != nil || d.Network != network || d.Processed < -1 {
		return nil, fmt.Errorf("cursor %s is not a cursor of SSV network %s: remove it to sync again from the first block", c.path, network)
	}
	if d.Contract != contract.Hex() {
		return nil, fmt.Errorf("cursor %s follows contract %s, not %s: remove it to sync the new contract from its first block", c.path, d.Contract, contract.Hex())
	}
	sort.Slice(d.Hashes, func(i, j int) bool { return d.Hashes[i].Number < d.Hashes[j].Number })
	return &d, nil
}

// store writes the cursor atomically: a temporary file, synced, renamed.
func (c *cursorFile) store(d *cursorData) error {
	if c == nil {
		return nil
	}
	dir := filepath.Dir(c.path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write cursor: %w", err)
	}
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("write cursor: %w", err)
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(c.path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write cursor: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write cursor %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync cursor %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close cursor %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), c.path); err != nil {
		return fmt.Errorf("rename cursor into %s: %w", c.path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
