package devnet

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/valtrack/valtrack/internal/polkadot/chopsticks"
)

// TestEmbeddedSpecRunsWestend: the embedded spec is a raw Westend
// development spec with a runtime (":code") in its genesis storage, the
// properties chopsticks needs, and the same bytes as the shared spec where
// that one is at hand.
func TestEmbeddedSpecRunsWestend(t *testing.T) {
	b, err := unpackSpec()
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		ID         string `json:"id"`
		Properties struct {
			SS58Format int `json:"ss58Format"`
		} `json:"properties"`
		Genesis struct {
			Raw struct {
				Top map[string]string `json:"top"`
			} `json:"raw"`
		} `json:"genesis"`
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatalf("the embedded spec is not JSON: %v", err)
	}
	if spec.ID != "westend_dev" || spec.Properties.SS58Format != 42 || len(spec.Genesis.Raw.Top["0x3a636f6465"]) < 1000 {
		t.Fatalf("spec id %q, ss58 %d, :code %d hex chars: not the raw westend-dev spec with its runtime",
			spec.ID, spec.Properties.SS58Format, len(spec.Genesis.Raw.Top["0x3a636f6465"]))
	}
	if p, err := chopsticks.SpecPath(Spec); err == nil {
		shared, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(shared, b) {
			t.Fatalf("the embedded spec differs from %s", p)
		}
	}
}

// TestSpecFileFallsBackToEmbedded: with no spec directory at hand (a
// fresh machine, run from anywhere) the devnet unpacks the embedded spec
// into its directory, once.
func TestSpecFileFallsBackToEmbedded(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("VALTRACK_SUBSTRATE_SPECS", t.TempDir())
	if _, err := chopsticks.SpecPath(Spec); err == nil {
		t.Skip("a shared spec directory is above the temporary directory")
	}
	dir := t.TempDir()
	p, err := specFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	if p != filepath.Join(dir, Spec) {
		t.Fatalf("spec at %s, want it in the devnet directory %s", p, dir)
	}
	st1, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := unpackSpec()
	if got, _ := os.ReadFile(p); !bytes.Equal(got, want) {
		t.Fatal("the unpacked spec differs from the embedded one")
	}
	if _, err := specFile(dir); err != nil {
		t.Fatal(err)
	}
	if st2, _ := os.Stat(p); !st2.ModTime().Equal(st1.ModTime()) {
		t.Error("the spec was written again although it was already there")
	}
}
