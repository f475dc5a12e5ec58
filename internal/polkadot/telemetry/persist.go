package telemetry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/valtrack/valtrack/internal/polkadot/events"
)

// The node state is kept in a file across restarts of the client (the
// sentry's data directory): without it a restart would forget this
// week's offline minutes and reset every node's online-since to the
// restart, so ACCUMULATED_OFFLINE_TIME could be escaped by restarting
// valtrack, and CONNECTION_TIME would lose its history.

// maxStateFile bounds the state file read back: DefaultMaxNames records of
// a few hundred bytes each.
const maxStateFile = 256 << 20

// stateFile is the file's JSON: the records of Snapshot, IPs removed (an
// address is geolocated, never stored).
type stateFile struct {
	Chain string             `json:"chain"`
	Nodes []events.Telemetry `json:"nodes"`
}

// SaveState writes the tracker's records to path atomically (a temporary
// file renamed over it), so a crash mid-write leaves the previous state.
func (c *Client) SaveState(path string) error {
	recs := c.tr.Snapshot()
	for i := range recs {
		recs[i].IP = ""
	}
	b, err := json.Marshal(stateFile{Chain: c.cfg.Chain, Nodes: recs})
	if err != nil {
		return fmt.Errorf("encode the telemetry state of %s: %w", c.cfg.Chain, err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save the telemetry state: %w", err)
	}
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("save the telemetry state: %w", err)
	}
	_, werr := tmp.Write(b)
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("save the telemetry state to %s: %w", path, werr)
	}
	return nil
}

// RestoreState seeds the tracker from a file SaveState wrote; a missing
// file is no state (the first run), not an error. Records of another
// chain are ignored (Tracker.Restore).
func (c *Client) RestoreState(path string) (int, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("restore the telemetry state: %w", err)
	}
	defer f.Close()
	var st stateFile
	if err := json.NewDecoder(io.LimitReader(f, maxStateFile)).Decode(&st); err != nil {
		return 0, fmt.Errorf("restore the telemetry state from %s: %w (delete the file to start afresh)", path, err)
	}
	if st.Chain != c.cfg.Chain {
		return 0, fmt.Errorf("restore the telemetry state from %s: it is of chain %q, not %q; delete it or give each chain its own data directory", path, clip(st.Chain, 64), c.cfg.Chain)
	}
	c.tr.Restore(st.Nodes)
	return len(st.Nodes), nil
}
