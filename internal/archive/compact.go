package archive

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
)

// compactMaxRows bounds the rows merged into one file (and held in memory).
const compactMaxRows = DefaultMaxRows

// compactedFromKey is the file metadata naming the files a compacted file
// replaces: if Compact stops between making the merged file visible and
// removing its sources, the next Compact removes them, so rows are
// never visible twice for long.
const compactedFromKey = "valtrack.compacted_from"

// Compact merges the small files of every partition of the registered
// tables whose hour ended at or before `before` into files of up to 100k
// rows. Run it only on hours no Writer still writes to: pass a time at least
// MaxAge (plus clock skew) in the past, e.g. time.Now().Add(-time.Hour).
func (w *Writer) Compact(before time.Time) error {
	w.mu.Lock()
	tables := append([]tableSet(nil), w.tables...)
	w.mu.Unlock()
	var errs []error
	for _, t := range tables {
		errs = append(errs, t.compact(before))
	}
	return errors.Join(errs...)
}

func (t *table[T]) compact(before time.Time) error {
	base := filepath.Join(t.w.base, t.domain)
	nets, err := os.ReadDir(base)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("compact archive %s: %w", base, err)
	}
	var errs []error
	for _, n := range nets {
		if !n.IsDir() {
			continue
		}
		hours, _ := filepath.Glob(filepath.Join(base, n.Name(), t.name, "date=*", "hour=*"))
		for _, dir := range hours {
			end, ok := hourEnd(dir)
			if !ok || end.After(before) {
				continue
			}
			if err := compactDir[T](dir, t.name); err != nil {
				errs = append(errs, fmt.Errorf("compact %s: %w", dir, err))
			}
		}
	}
	return errors.Join(errs...)
}

// hourEnd parses ".../date=YYYY-MM-DD/hour=HH" into the end of that hour.
func hourEnd(dir string) (time.Time, bool) {
	h := strings.TrimPrefix(filepath.Base(dir), "hour=")
	d := strings.TrimPrefix(filepath.Base(filepath.Dir(dir)), "date=")
	t, err := time.Parse("2006-01-02 15", d+" "+h)
	if err != nil {
		return time.Time{}, false
	}
	return t.Add(time.Hour), true
}

func compactDir[T any](dir, table string) error {
	if err := removeCompactedSources(dir); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var files []string
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && !strings.HasPrefix(n, ".") && strings.HasSuffix(n, ".parquet") {
			files = append(files, n)
		}
	}
	slices.Sort(files)
	for len(files) > 1 {
		var rows []T
		var used []string
		for _, name := range files {
			rs, err := parquet.ReadFile[T](filepath.Join(dir, name))
			if err != nil {
				return fmt.Errorf("read %s (move the file aside if it is damaged): %w", name, err)
			}
			if len(used) > 0 && len(rows)+len(rs) > compactMaxRows {
				break
			}
			rows = append(rows, rs...)
			used = append(used, name)
		}
		files = files[len(used):]
		if len(used) < 2 {
			continue
		}
		name := "compact-" + uniqueName(time.Now())
		if err := writeFileAtomic(dir, name, rows,
			parquet.KeyValueMetadata("valtrack.table", table),
			parquet.KeyValueMetadata(compactedFromKey, strings.Join(used, ","))); err != nil {
			return fmt.Errorf("write merged file: %w", err)
		}
		if err := removeFiles(dir, used); err != nil {
			return err
		}
	}
	return nil
}

// removeCompactedSources finishes a compaction a crash interrupted.
func removeCompactedSources(dir string) error {
	merged, _ := filepath.Glob(filepath.Join(dir, "compact-*.parquet"))
	for _, m := range merged {
		f, err := os.Open(m)
		if err != nil {
			return err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return err
		}
		pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
		if err != nil {
			f.Close()
			return fmt.Errorf("open merged file %s: %w", m, err)
		}
		from, _ := pf.Lookup(compactedFromKey)
		f.Close()
		var present []string
		for _, name := range strings.Split(from, ",") {
			if name == "" || strings.ContainsAny(name, `/\`) || name == filepath.Base(m) {
				continue
			}
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				present = append(present, name)
			}
		}
		if err := removeFiles(dir, present); err != nil {
			return err
		}
	}
	return nil
}

func removeFiles(dir string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	for _, n := range names {
		if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove merged source %s: %w", n, err)
		}
	}
	return syncDir(dir)
}
