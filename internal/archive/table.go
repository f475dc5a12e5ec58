package archive

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
)

// table holds the open files (one per partition) of one table. Its methods
// are called with the Writer's mutex held.
type table[T any] struct {
	domain, name string
	bit          tableBits // this table in the message id set
	derived      bool      // see TableOptions.Derived
	w            *Writer
	info         func(*T) RowInfo
	parts        map[partKey]*part[T]
}

// partKey identifies a partition: a network and an hour (unix ms, floored).
type partKey struct {
	network string
	hour    int64
}

// part is the current file of a partition: all its rows are kept until the
// file is sealed, so a Sync can rewrite the file with the new ones.
type part[T any] struct {
	dir    string
	name   string // final file name, fixed for the life of the part
	rows   []T
	synced int   // rows[:synced] are in the file on disk
	bytes  int64 // approximate size of rows
	opened time.Time
}

func newTable[T any](w *Writer, domain, name string, bit tableBits, derived bool, info func(*T) RowInfo) *table[T] {
	return &table[T]{domain: domain, name: name, bit: bit, derived: derived, w: w, info: info, parts: map[partKey]*part[T]{}}
}

const hourMs = int64(time.Hour / time.Millisecond)

// append takes rows into their partitions, skipping rows whose message id
// this table already holds (a redelivered event).
func (t *table[T]) append(rows []T, now time.Time) error {
	var errs []error
	for i := range rows {
		ri := t.info(&rows[i])
		if ri.MsgID != "" {
			k := keyOf(ri.MsgID)
			if t.w.ids.has(k, t.bit) {
				continue
			}
			t.w.ids.add(k, t.bit, now)
		}
		k := partKey{network: safeSegment(ri.Network), hour: floorDiv(ri.Time, hourMs) * hourMs}
		p := t.parts[k]
		if p == nil {
			p = t.newPart(k, now)
			t.parts[k] = p
		}
		p.rows = append(p.rows, rows[i])
		p.bytes += ri.Size
		// A memory bound for callers that do not Sync: the consumer Syncs
		// every batch, far below these limits, so its batches become
		// durable at Sync only (see Writer.Contains).
		if len(p.rows) >= t.w.o.MaxRows || p.bytes >= t.w.o.MaxBytes {
			j := t.job(p, false)
			t.w.runJobs([]*flushJob{j})
			if j.err != nil {
				// The rows stay in memory; Sync retries them.
				errs = append(errs, j.err)
				continue
			}
			delete(t.parts, k)
		}
	}
	return errors.Join(errs...)
}

func (t *table[T]) newPart(k partKey, now time.Time) *part[T] {
	hour := time.UnixMilli(k.hour).UTC()
	return &part[T]{
		dir:    filepath.Join(t.w.base, t.domain, k.network, t.name, "date="+hour.Format("2006-01-02"), fmt.Sprintf("hour=%02d", hour.Hour())),
		name:   uniqueName(now),
		opened: now,
	}
}

// sealAged seals parts older than MaxAge that have nothing pending, so a
// quiet partition (an hour that has passed) does not keep its rows in
// memory. Pending rows wait for Sync, which writes and seals their part: a
// batch must not become durable piecemeal before its Sync.
func (t *table[T]) sealAged(now time.Time) {
	for k, p := range t.parts {
		if now.Sub(p.opened) >= t.w.o.MaxAge && p.synced == len(p.rows) {
			delete(t.parts, k)
		}
	}
}

// syncJobs returns the flushes of the parts with pending rows; parts that
// reach SyncMergeRows or MaxAge, or all of them when seal is set, are sealed
// once written.
func (t *table[T]) syncJobs(now time.Time, seal bool) []*flushJob {
	var jobs []*flushJob
	for k, p := range t.parts {
		sealIt := seal || now.Sub(p.opened) >= t.w.o.MaxAge
		if p.synced == len(p.rows) {
			if sealIt || len(p.rows) >= t.w.o.SyncMergeRows {
				delete(t.parts, k)
			}
			continue
		}
		j := t.job(p, t.derived)
		done := j.done
		j.done = func() {
			done()
			if sealIt || len(p.rows) >= t.w.o.SyncMergeRows {
				delete(t.parts, k)
			}
		}
		jobs = append(jobs, j)
	}
	return jobs
}

// job writes all rows of p to its file, replacing the previous version.
func (t *table[T]) job(p *part[T], first bool) *flushJob {
	rows := p.rows[:len(p.rows):len(p.rows)]
	synced := p.synced
	final := filepath.Join(p.dir, p.name)
	return &flushJob{
		dir:   p.dir,
		name:  p.name,
		first: first,
		write: func() (string, error) {
			return writeTempMerged(p.dir, p.name, rows, synced, parquet.KeyValueMetadata("valtrack.table", t.name))
		},
		done: func() {
			p.synced = len(rows)
			t.w.published(final)
		},
	}
}

// writeFileAtomic writes rows as dir/name through the dot-prefixed temporary
// dir/.name.tmp, so the final name only ever holds a complete file.
func writeFileAtomic[T any](dir, name string, rows []T, opts ...parquet.WriterOption) error {
	tmp, err := writeTemp(dir, name, rows, opts...)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("rename temporary file into place: %w", err)
	}
	return syncDir(dir)
}

// writeTempMerged writes the next version of dir/name, which holds
// rows[:synced], as the temporary dir/.name.tmp: the row groups of the
// current file are copied as they are (parquet-go splices their compressed
// pages without decoding them) and only rows[synced:] are encoded, so a Sync
// costs the new rows plus a byte copy rather than re-encoding the file. If
// the current file is not the expected one (missing, or a version whose
// rename was not confirmed), every row is encoded from memory instead.
func writeTempMerged[T any](dir, name string, rows []T, synced int, opts ...parquet.WriterOption) (string, error) {
	if synced == 0 {
		return writeTemp(dir, name, rows, opts...)
	}
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return writeTemp(dir, name, rows, opts...)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return writeTemp(dir, name, rows, opts...)
	}
	prev, err := parquet.OpenFile(f, st.Size(), parquet.SkipBloomFilters(true))
	if err != nil || prev.NumRows() != int64(synced) {
		return writeTemp(dir, name, rows, opts...)
	}
	return writeTempWith(dir, name, func(pw *parquet.GenericWriter[T]) error {
		for _, rg := range prev.RowGroups() {
			if _, err := pw.WriteRowGroup(rg); err != nil {
				return fmt.Errorf("copy row group of the previous version: %w", err)
			}
		}
		if _, err := pw.Write(rows[synced:]); err != nil {
			return fmt.Errorf("encode parquet rows: %w", err)
		}
		return nil
	}, opts...)
}

// writeTemp writes rows to the temporary dir/.name.tmp and fsyncs it.
func writeTemp[T any](dir, name string, rows []T, opts ...parquet.WriterOption) (string, error) {
	return writeTempWith(dir, name, func(pw *parquet.GenericWriter[T]) error {
		if _, err := pw.Write(rows); err != nil {
			return fmt.Errorf("encode parquet rows: %w", err)
		}
		return nil
	}, opts...)
}

func writeTempWith[T any](dir, name string, fill func(*parquet.GenericWriter[T]) error, opts ...parquet.WriterOption) (tmp string, err error) {
	tmp = filepath.Join(dir, "."+name+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return "", fmt.Errorf("create temporary file (check the data directory is writable): %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	pw := parquet.NewGenericWriter[T](f, append([]parquet.WriterOption{parquet.Compression(&parquet.Zstd)}, opts...)...)
	if err := fill(pw); err != nil {
		return "", err
	}
	if err := pw.Close(); err != nil {
		return "", fmt.Errorf("finish parquet file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("fsync file (disk full or failing?): %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("close file: %w", err)
	}
	return tmp, nil
}

// makeDirs creates dir and fsyncs it and its parents up to stop, so a new
// partition directory survives a crash along with its first file.
func makeDirs(dir, stop string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create partition directory (check permissions): %w", err)
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		if err := syncDir(d); err != nil {
			return err
		}
		if d == stop || len(d) <= len(stop) || d == filepath.Dir(d) {
			return nil
		}
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory for fsync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

// uniqueName names a file by its opening time (so names sort by age) and a
// random suffix (so concurrent writers, e.g. scaled-out consumers sharing a
// directory, never collide).
func uniqueName(now time.Time) string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return fmt.Sprintf("%s-%s.parquet", now.UTC().Format("20060102T150405.000000000"), hex.EncodeToString(b[:]))
}

// safeSegment makes a network name safe as one path segment: it comes from
// the bus, which carries what sentries sent.
func safeSegment(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
	if s == "" {
		return "unknown"
	}
	return s
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
