package archive

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCompactMergesClosedHoursOnly(t *testing.T) {
	root := t.TempDir()
	w, _ := openTest(t, Options{Root: root, SyncMergeRows: 1})
	for i := range 4 {
		rows := []MetadataRow{metaRow(i, ms(t0)), metaRow(100+i, ms(t0.Add(time.Hour)))}
		if err := w.WriteMetadata(rows); err != nil {
			t.Fatal(err)
		}
		if err := w.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(parquetFiles(t, root)); n != 8 {
		t.Fatalf("%d files before compaction, want 8", n)
	}
	// Hour 10 ended at 11:00; hour 11 has not ended by 11:30.
	if err := Compact(root, t0.Add(90*time.Minute)); err != nil {
		t.Fatal(err)
	}
	files := parquetFiles(t, root)
	var h10, h11 int
	for _, f := range files {
		switch {
		case strings.Contains(f, "hour=10"):
			h10++
			if !strings.HasPrefix(filepath.Base(f), "compact-") || countRows(t, f) != 4 {
				t.Errorf("hour 10 file %s not the merged one", f)
			}
		case strings.Contains(f, "hour=11"):
			h11++
		}
	}
	if h10 != 1 || h11 != 4 {
		t.Errorf("hour 10: %d files (want 1), hour 11: %d (want 4)", h10, h11)
	}
	if got := readAll[MetadataRow](t, root, TableMetadata); len(got) != 8 {
		t.Errorf("%d rows after compaction, want 8", len(got))
	}
}

func TestCompactFinishesAnInterruptedRun(t *testing.T) {
	root := t.TempDir()
	w, _ := openTest(t, Options{Root: root, SyncMergeRows: 1})
	for i := range 3 {
		if err := w.WriteMetadata([]MetadataRow{metaRow(i, ms(t0))}); err != nil {
			t.Fatal(err)
		}
		if err := w.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	sources := w.Files()
	// Simulate a crash after the merged file became visible: put the sources
	// back beside it.
	saved := map[string][]byte{}
	for _, f := range sources {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		saved[f] = b
	}
	if err := Compact(root, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	for f, b := range saved {
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := Compact(root, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if files := parquetFiles(t, root); len(files) != 1 {
		t.Errorf("files after recovery: %v", files)
	}
	if got := readAll[MetadataRow](t, root, TableMetadata); len(got) != 3 {
		t.Errorf("%d rows, want 3 (no duplicates)", len(got))
	}
}
