package domain

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHolderStableAcrossRestarts: the holder is the host and the absolute
// data directory, so a restart of the same process is the same holder
// (also given the directory relative to the working one); another data
// directory is another holder.
func TestHolderStableAcrossRestarts(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	if Holder(a) != Holder(a) || Holder(a) == Holder(b) {
		t.Fatalf("holders %q %q %q", Holder(a), Holder(a), Holder(b))
	}
	if h, _ := os.Hostname(); !strings.HasPrefix(Holder(a), h+":") {
		t.Fatalf("holder %q does not name the host", Holder(a))
	}
	t.Chdir(filepath.Dir(a))
	if rel := filepath.Base(a); Holder(rel) != Holder(a) {
		t.Fatalf("holder of the relative %q is %q, of the absolute %q", rel, Holder(rel), Holder(a))
	}
}
