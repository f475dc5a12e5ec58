package devnet

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/valtrack/valtrack/internal/polkadot/chopsticks"
)

// embeddedSpec is westend-dev.json, the raw chain spec the devnet runs,
// gzipped, so that `valtrack devnet polkadot` and `valtrack run --devnet`
// work from any directory of a fresh machine. Source: ChainSafe/gossamer
// at 257754473386bf14a71fb31de0fd52c7cf1fe097,
// chain/westend-dev/westend-dev-spec-raw.json, with "properties" set to
// {"ss58Format":42,"tokenDecimals":12,"tokenSymbol":"WND"} (chopsticks
// refuses null); the same file as the project's shared substrate specs.
//
//go:embed spec/westend-dev.json.gz
var embeddedSpec []byte

// maxSpec bounds the unpacked spec (2.3 MB today).
const maxSpec = 64 << 20

// specFile is the path of the raw chain spec: the one chopsticks.SpecPath
// finds ($VALTRACK_SUBSTRATE_SPECS, a shared/substrate directory), else
// the embedded one, unpacked into dir once.
func specFile(dir string) (string, error) {
	if p, err := chopsticks.SpecPath(Spec); err == nil {
		return p, nil
	}
	path := filepath.Join(dir, Spec)
	want, err := unpackSpec()
	if err != nil {
		return "", err
	}
	if have, err := os.ReadFile(path); err == nil && bytes.Equal(have, want) {
		return path, nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, want, 0o644); err != nil {
		return "", fmt.Errorf("write the chain spec %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("write the chain spec %s: %w", path, err)
	}
	return path, nil
}

func unpackSpec() ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(embeddedSpec))
	if err != nil {
		return nil, fmt.Errorf("the embedded chain spec: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(zr, maxSpec+1))
	if err != nil || len(b) > maxSpec {
		return nil, fmt.Errorf("the embedded chain spec does not unpack (%d bytes read): %v", len(b), err)
	}
	return b, nil
}
