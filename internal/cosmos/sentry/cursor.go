package sentry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// cursor is the last height whose block and commit were both published,
// kept in <data-dir>/cosmos-<chain>.cursor so that a restart backfills
// from there.
type cursorFile struct {
	path string
}

type cursorData struct {
	Chain  string `json:"chain"`
	Height int64  `json:"height"`
}

func newCursor(dir, chain string) *cursorFile {
	if dir == "" {
		return nil
	}
	return &cursorFile{path: filepath.Join(dir, "cosmos-"+chain+".cursor")}
}

// load returns the height, 0 when there is no cursor yet.
func (c *cursorFile) load(chain string) (int64, error) {
	if c == nil {
		return 0, nil
	}
	b, err := os.ReadFile(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read cursor: %w", err)
	}
	var d cursorData
	if err := json.Unmarshal(b, &d); err != nil || d.Chain != chain || d.Height < 0 {
		return 0, fmt.Errorf("cursor %s is not a cursor of chain %s: remove it to start from the latest height", c.path, chain)
	}
	return d.Height, nil
}

// store writes the height atomically: a temporary file, synced, renamed.
func (c *cursorFile) store(chain string, h int64) error {
	if c == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o755); err != nil {
		return fmt.Errorf("write cursor: %w", err)
	}
	b, _ := json.Marshal(cursorData{Chain: chain, Height: h})
	tmp, err := os.CreateTemp(filepath.Dir(c.path), filepath.Base(c.path)+".tmp*")
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
	return nil
}
