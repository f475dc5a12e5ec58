package archive

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// msgIDColumn is the column a redelivered event is recognised by.
const msgIDColumn = "msg_id"

// recentFile is a visible *.parquet file written within the dedupe window.
type recentFile struct {
	path    string
	table   string // "<domain>/<table>", from the directories
	modTime time.Time
}

// loadMsgIDs reads the msg_id column of files, oldest first so the queue
// stays in write order, each id taking its file's modification time. A file
// it cannot read is logged and skipped: its rows may be archived again if
// redelivered, which is better than refusing to start.
func (w *Writer) loadMsgIDs(files []recentFile) {
	slices.SortFunc(files, func(a, b recentFile) int { return a.modTime.Compare(b.modTime) })
	n := 0
	for _, f := range files {
		i, ok := w.byName[f.table]
		if !ok {
			continue // a table no domain of this process registered
		}
		bit := tableBits(1) << i
		err := readMsgIDs(f.path, func(id []byte) {
			if len(id) > 0 {
				w.ids.add(keyOfBytes(id), bit, f.modTime)
				n++
			}
		})
		if err != nil {
			w.o.Log.Warn("cannot read message ids of an archive file; its rows may be archived again if their batch is redelivered",
				"path", f.path, "err", err)
		}
	}
	w.ids.expire(w.o.Now())
	w.o.Log.Debug("loaded archive message ids", "files", len(files), "ids", n, "held", w.ids.len())
}

// readMsgIDs calls fn with every non-null value of the msg_id column of the
// Parquet file at path, reading that column's pages only. A file without the
// column (written before it existed) has no ids. The bytes passed to fn are
// only valid during the call.
func readMsgIDs(path string, fn func([]byte)) (err error) {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	return readMsgIDsFrom(f, st.Size(), fn)
}

func readMsgIDsFrom(r io.ReaderAt, size int64, fn func([]byte)) (err error) {
	// The file may be damaged in ways the trailer check does not catch;
	// the decoder must not take the process down with it.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("decode parquet: panic: %v", p)
		}
	}()
	// parquet-go allocates the footer length the trailer claims: check it
	// fits in the file first.
	if ok, err := validTrailer(r, size); err != nil || !ok {
		return fmt.Errorf("not a complete parquet file (%v)", err)
	}
	pf, err := parquet.OpenFile(r, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return fmt.Errorf("open parquet: %w", err)
	}
	col, ok := pf.Schema().Lookup(msgIDColumn)
	if !ok {
		return nil
	}
	if col.Node.Type().Kind() != parquet.ByteArray || col.MaxRepetitionLevel != 0 {
		return fmt.Errorf("column %s is not a plain string", msgIDColumn)
	}
	values := make([]parquet.Value, 256)
	meta := pf.Metadata()
	for i, rg := range pf.RowGroups() {
		chunks := rg.ColumnChunks()
		if col.ColumnIndex >= len(chunks) || i >= len(meta.RowGroups) || col.ColumnIndex >= len(meta.RowGroups[i].Columns) {
			return fmt.Errorf("row group lacks column %s", msgIDColumn)
		}
		if err := checkPages(r, size, &meta.RowGroups[i].Columns[col.ColumnIndex].MetaData, meta.RowGroups[i].NumRows); err != nil {
			return err
		}
		if err := readChunkValues(chunks[col.ColumnIndex], values, fn); err != nil {
			return err
		}
	}
	return nil
}

// Bounds of the page headers checkPages accepts.
const (
	maxPageHeaderBytes = 64 << 10
	maxPageBytes       = 64 << 20
	maxRowGroupRows    = 1 << 24
)

// checkPages walks the page headers of a column chunk before parquet-go
// reads it: parquet-go allocates what a page header claims, so a damaged
// header claiming gigabytes would take the process's memory. Every page must
// lie inside the chunk, the chunk inside the file, and sizes and counts stay
// within what this writer produces.
func checkPages(r io.ReaderAt, size int64, md *format.ColumnMetaData, numRows int64) error {
	if numRows < 0 || numRows > maxRowGroupRows {
		return fmt.Errorf("row group claims %d rows", numRows)
	}
	start := md.DataPageOffset
	if md.DictionaryPageOffset > 0 && md.DictionaryPageOffset < start {
		start = md.DictionaryPageOffset
	}
	end := start + md.TotalCompressedSize
	if start < 4 || md.TotalCompressedSize < 0 || end < start || end > size {
		return fmt.Errorf("column %s chunk [%d, %d) outside the %d-byte file", msgIDColumn, start, end, size)
	}
	buf := make([]byte, min(maxPageHeaderBytes, end-start))
	for off := start; off < end; {
		n, err := r.ReadAt(buf[:min(int64(len(buf)), end-off)], off)
		if n == 0 {
			return fmt.Errorf("read page header at %d: %w", off, err)
		}
		pr := (&thrift.CompactProtocol{}).NewReaderFromBytes(buf[:n])
		var h format.PageHeader
		if err := thrift.NewDecoder(pr).Decode(&h); err != nil {
			return fmt.Errorf("decode page header at %d: %w", off, err)
		}
		off += int64(pr.BytesRead())
		var values int64
		switch {
		case h.DataPageHeader.Valid:
			values = int64(h.DataPageHeader.V.NumValues)
		case h.DataPageHeaderV2.Valid:
			values = int64(h.DataPageHeaderV2.V.NumValues)
		case h.DictionaryPageHeader.Valid:
			values = int64(h.DictionaryPageHeader.V.NumValues)
		}
		if h.CompressedPageSize < 0 || int64(h.CompressedPageSize) > end-off ||
			h.UncompressedPageSize < 0 || h.UncompressedPageSize > maxPageBytes || values < 0 || values > numRows {
			return fmt.Errorf("page header at %d out of bounds (compressed %d, uncompressed %d, values %d)",
				off, h.CompressedPageSize, h.UncompressedPageSize, values)
		}
		off += int64(h.CompressedPageSize)
	}
	return nil
}

func readChunkValues(chunk parquet.ColumnChunk, values []parquet.Value, fn func([]byte)) error {
	pages := chunk.Pages()
	defer pages.Close()
	for {
		page, err := pages.ReadPage()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s page: %w", msgIDColumn, err)
		}
		err = readPageValues(page, values, fn)
		parquet.Release(page)
		if err != nil {
			return err
		}
	}
}

func readPageValues(page parquet.Page, values []parquet.Value, fn func([]byte)) error {
	r := page.Values()
	for {
		n, err := r.ReadValues(values)
		if n == 0 && err == nil {
			return nil // a reader making no progress: stop rather than spin
		}
		for _, v := range values[:n] {
			if !v.IsNull() {
				fn(v.ByteArray())
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s values: %w", msgIDColumn, err)
		}
	}
}
