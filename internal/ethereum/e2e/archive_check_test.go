package e2e

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/valtrack/valtrack/internal/ethereum/sink"
)

// archiveIDs reads every visible Parquet file of the archive and returns how
// many times each message id occurs per table. A file that does not read
// fails the test.
func archiveIDs(t *testing.T, dataDir string) map[string]map[string]int {
	t.Helper()
	out := map[string]map[string]int{}
	root := filepath.Join(dataDir, "parquet")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".parquet") || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		table := filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(path))))
		if out[table] == nil {
			out[table] = map[string]int{}
		}
		var ids []string
		switch table {
		case sink.TableDiscovery:
			rows, err := parquet.ReadFile[sink.DiscoveryRow](path)
			if err != nil {
				t.Errorf("read %s: %v", path, err)
				return nil
			}
			for _, r := range rows {
				ids = append(ids, r.MsgID)
			}
		case sink.TableMetadata:
			rows, err := parquet.ReadFile[sink.MetadataRow](path)
			if err != nil {
				t.Errorf("read %s: %v", path, err)
				return nil
			}
			for _, r := range rows {
				ids = append(ids, r.MsgID)
			}
		case sink.TableValidatorMetadata:
			rows, err := parquet.ReadFile[sink.ValidatorMetadataRow](path)
			if err != nil {
				t.Errorf("read %s: %v", path, err)
				return nil
			}
			for _, r := range rows {
				ids = append(ids, r.MsgID)
			}
		default:
			t.Errorf("unexpected archive file %s", path)
		}
		for _, id := range ids {
			out[table][id]++
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk archive: %v", err)
	}
	return out
}

func checkArchive(t *testing.T, dataDir string, minMetadata int) {
	t.Helper()
	ids := archiveIDs(t, dataDir)
	for table, m := range ids {
		for id, c := range m {
			if c != 1 || id == "" {
				t.Errorf("archive %s: message %q stored %d times", table, id, c)
			}
		}
	}
	if len(ids[sink.TableMetadata]) < minMetadata || len(ids[sink.TableDiscovery]) < minMetadata {
		t.Errorf("archive holds %d metadata and %d discovery rows, want at least %d each",
			len(ids[sink.TableMetadata]), len(ids[sink.TableDiscovery]), minMetadata)
	}
}
