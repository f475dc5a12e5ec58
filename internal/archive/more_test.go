package archive

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSyncErrorKeepsRowsPendingUntilFixed(t *testing.T) {
	root := t.TempDir()
	w, _ := openTest(t, Options{Root: root})
	// A plain file where the network directory must go makes every write of
	// that network fail (permissions would not: tests may run as root).
	blocker := filepath.Join(root, "parquet", "ethereum", "mainnet")
	if err := os.MkdirAll(filepath.Dir(blocker), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteMetadata([]MetadataRow{metaRow(0, ms(t0)), metaRow(1, ms(t0))}); err != nil {
		t.Fatal(err)
	}
	err := w.Sync()
	if err == nil {
		t.Fatal("Sync succeeded with an unwritable partition")
	}
	if !strings.Contains(err.Error(), "sync archive") || !strings.Contains(err.Error(), "mainnet") {
		t.Errorf("error does not say what failed: %v", err)
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatalf("Sync after the fix: %v", err)
	}
	if got := readAll[MetadataRow](t, root, TableMetadata); len(got) != 2 {
		t.Errorf("%d rows, want 2", len(got))
	}
}

// TestDuckDBReadsTheArchive runs the duckdb CLI when it is installed (it is
// not packaged for Debian; CI skips this test).
func TestDuckDBReadsTheArchive(t *testing.T) {
	duck, err := exec.LookPath("duckdb")
	if err != nil {
		t.Skip("duckdb CLI not installed")
	}
	root := t.TempDir()
	w, _ := openTest(t, Options{Root: root})
	if err := w.WriteMetadata([]MetadataRow{metaRow(1, ms(t0)), metaRow(2, ms(t0.Add(time.Hour)))}); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	glob := filepath.Join(root, "parquet", "ethereum", "*", TableMetadata, "*", "*", "*.parquet")
	q := "SELECT count(*), min(hour), max(hour), sum(len(subscribed_subnets)), max(epoch(timestamp)) FROM read_parquet('" + glob + "', hive_partitioning=true)"
	out, err := exec.Command(duck, "-csv", "-noheader", "-c", q).CombinedOutput()
	if err != nil {
		t.Fatalf("duckdb: %v\n%s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), "2,10,11,4,"; !strings.HasPrefix(got, want) {
		t.Errorf("duckdb says %q, want prefix %q", got, want)
	}
}

// FuzzParquetTrailer checks recovery's trailer check on arbitrary files: it
// must not fail on content, and must reject what parquet-go cannot open.
func FuzzParquetTrailer(f *testing.F) {
	f.Add([]byte("PAR1\x00\x00\x00\x00PAR1"))
	f.Add([]byte("PAR1xxxx\x04\x00\x00\x00PAR1"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "f.parquet")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ok, err := hasParquetTrailer(path)
		if err != nil {
			t.Fatal(err)
		}
		if ok && len(data) < 12 {
			t.Fatalf("accepted a %d-byte file", len(data))
		}
	})
}
