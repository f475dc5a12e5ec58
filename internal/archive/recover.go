package archive

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// recoverDir undoes what a crash may leave under dir: temporary files are
// removed (they were never visible), and a *.parquet file that does not end
// with a valid Parquet trailer is renamed to a dot-prefixed ".corrupt" file
// (kept for inspection, invisible to *.parquet globs). Such a file cannot come
// from this writer's rename protocol, but can from a copy or a filesystem that
// lost data; readers must not trip on it.
//
// It returns the valid files of any table modified at or after since,
// whose message ids Open loads: the walk opens every file anyway.
func recoverDir(dir string, log *slog.Logger, since time.Time) ([]recentFile, error) {
	var recent []recentFile
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == dir {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		name := d.Name()
		switch {
		case strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".tmp"):
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("remove stale temporary file %s: %w", path, err)
			}
			log.Info("removed temporary file left by an interrupted write", "path", path)
		case !strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".parquet"):
			ok, err := hasParquetTrailer(path)
			if err != nil {
				return err
			}
			if !ok {
				aside := filepath.Join(filepath.Dir(path), "."+name+".corrupt")
				if err := os.Rename(path, aside); err != nil {
					return fmt.Errorf("set aside damaged parquet file %s: %w", path, err)
				}
				log.Warn("set aside a damaged parquet file", "path", path, "now", aside)
				return nil
			}
			if table := tableOfPath(dir, path); table != "" {
				info, err := d.Info()
				if err != nil {
					return fmt.Errorf("stat %s: %w", path, err)
				}
				if !info.ModTime().Before(since) {
					recent = append(recent, recentFile{path: path, table: table, modTime: info.ModTime()})
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("open archive: recover %s (check permissions): %w", dir, err)
	}
	return recent, nil
}

// tableOfPath gives "<domain>/<table>" of
// root/<domain>/<net>/<table>/date=/hour=/file, or "" for a file elsewhere.
func tableOfPath(root, path string) string {
	rel, err := filepath.Rel(root, path)
	if err != nil {
		return ""
	}
	parts := strings.Split(rel, string(filepath.Separator))
	if len(parts) != 6 {
		return ""
	}
	return parts[0] + "/" + parts[2]
}

// hasParquetTrailer checks the cheap invariants of a complete Parquet file:
// "PAR1" at both ends and a footer length that fits in the file.
func hasParquetTrailer(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("check %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("check %s: %w", path, err)
	}
	ok, err := validTrailer(f, st.Size())
	if err != nil {
		return false, fmt.Errorf("check %s: %w", path, err)
	}
	return ok, nil
}

func validTrailer(r io.ReaderAt, size int64) (bool, error) {
	if size < 12 {
		return false, nil
	}
	var head [4]byte
	var tail [8]byte
	if _, err := r.ReadAt(head[:], 0); err != nil && err != io.EOF {
		return false, err
	}
	if _, err := r.ReadAt(tail[:], size-8); err != nil && err != io.EOF {
		return false, err
	}
	footer := int64(binary.LittleEndian.Uint32(tail[:4]))
	return string(head[:]) == "PAR1" && string(tail[4:]) == "PAR1" && footer > 0 && footer <= size-12, nil
}
