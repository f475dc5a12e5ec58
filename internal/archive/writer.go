// Package archive writes the events of every domain to a hive-partitioned
// Parquet archive that DuckDB and ClickHouse read as it is:
//
//	<root>/parquet/<domain>/<network>/<table>/date=YYYY-MM-DD/hour=HH/<unique>.parquet
//
// partitioned by the event timestamp in UTC. The package knows no domain:
// each domain registers its tables (Register) with its own row type.
//
// Durability: a row is durable once it is in a complete, fsynced and renamed
// file. Files are written to a dot-prefixed temporary name (".<name>.tmp",
// skipped by *.parquet globs) and renamed into place, so readers never see a
// partial file.
//
// Small files: the consumer calls Sync for every batch it acknowledges. To
// avoid one tiny file per partition per batch, at the next Sync the writer
// replaces each partition's current file (atomically) with a new version
// holding the old and the new rows, until it holds SyncMergeRows rows; then
// the file is sealed and the next Sync starts a new one. The old rows are
// not re-encoded: their row groups are copied byte for byte (one row group
// per Sync), so a Sync costs encoding its own rows plus a copy of at most
// SyncMergeRows rows' bytes. Compact merges the files of closed hours into
// large ones. The partitions of one Sync are written in parallel, and each
// partition directory is created and fsynced once per Writer.
//
// Exactly once: every row carries the message id of its bus event (msg_id).
// The writer remembers the ids it wrote in the last DedupeWindow (reloaded
// from recent files at Open) so a batch redelivered after a crash between
// Sync and acknowledgement is not archived twice: see Contains.
package archive

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"
)

// Defaults of Options.
const (
	DefaultMaxRows       = 100_000
	DefaultMaxBytes      = 64 << 20
	DefaultMaxAge        = 5 * time.Minute
	DefaultSyncMergeRows = 2048
	DefaultDedupeWindow  = 2 * time.Hour
	DefaultMaxDedupeIDs  = 2_000_000
	DefaultSyncWorkers   = 4
)

// Options configures a Writer.
type Options struct {
	Root     string        // data directory; files go under Root/parquet
	MaxRows  int           // rotate a file after this many rows (default 100k)
	MaxBytes int64         // rotate after about this many bytes of rows (default 64 MiB)
	MaxAge   time.Duration // rotate a file open for this long (default 5 min)
	// SyncMergeRows is how many rows a file may hold and still be rewritten
	// to take in the rows of the next Sync (default 2048; 1 makes every Sync
	// write new files). Capped at MaxRows.
	SyncMergeRows int
	// DedupeWindow is how long the message ids of written rows are
	// remembered, by the time they were written (default 2h). It must cover
	// the redelivery window: the bus's AckWait plus a restart.
	DedupeWindow time.Duration
	// MaxDedupeIDs caps the remembered ids (default 2,000,000, about 100 MB);
	// the oldest go first, with a warning if they are younger than
	// DedupeWindow.
	MaxDedupeIDs int
	// SyncWorkers is how many partition files Sync writes at once
	// (default 4: the work is mostly waiting for fsync).
	SyncWorkers int
	Log         *slog.Logger
	// Now is the clock (default time.Now); tests set it to drive rotation by age.
	Now func() time.Time
}

func (o *Options) setDefaults() error {
	if o.Root == "" {
		return errors.New("open archive: Options.Root is empty; set the data directory")
	}
	if o.MaxRows < 0 || o.MaxBytes < 0 || o.MaxAge < 0 || o.SyncMergeRows < 0 ||
		o.DedupeWindow < 0 || o.MaxDedupeIDs < 0 || o.SyncWorkers < 0 {
		return fmt.Errorf("open archive: negative limit (MaxRows %d, MaxBytes %d, MaxAge %s, SyncMergeRows %d, DedupeWindow %s, MaxDedupeIDs %d, SyncWorkers %d); use 0 for the default",
			o.MaxRows, o.MaxBytes, o.MaxAge, o.SyncMergeRows, o.DedupeWindow, o.MaxDedupeIDs, o.SyncWorkers)
	}
	if o.MaxRows == 0 {
		o.MaxRows = DefaultMaxRows
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxAge == 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.SyncMergeRows == 0 {
		o.SyncMergeRows = DefaultSyncMergeRows
	}
	o.SyncMergeRows = min(o.SyncMergeRows, o.MaxRows)
	if o.DedupeWindow == 0 {
		o.DedupeWindow = DefaultDedupeWindow
	}
	if o.MaxDedupeIDs == 0 {
		o.MaxDedupeIDs = DefaultMaxDedupeIDs
	}
	if o.SyncWorkers == 0 {
		o.SyncWorkers = DefaultSyncWorkers
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// Writer appends rows to the archive. It is safe for concurrent use.
type Writer struct {
	mu      sync.Mutex
	o       Options
	base    string         // Root/parquet
	tables  []tableSet     // registered, in registration order
	byName  map[string]int // "<domain>/<table>" → index in tables
	recent  []recentFile   // files whose ids load at first use
	used    bool           // a write or lookup happened: registration is closed
	primary tableBits      // tables whose rows count for Contains
	files   []string
	seen    map[string]struct{} // files already listed, guarded by mu
	dirs    map[string]struct{} // partition directories made, guarded by mu
	ids     *msgIDs             // guarded by mu
	closed  bool
}

// tableSet is what the writer does with a registered table of any row type.
type tableSet interface {
	sealAged(now time.Time)
	syncJobs(now time.Time, seal bool) []*flushJob
	compact(before time.Time) error
}

// Open prepares the archive under o.Root. It first removes temporary files a
// crash left behind and sets aside (as dot-prefixed ".corrupt" files) any
// *.parquet file without a valid trailer, so every *.parquet file present
// afterwards is readable. Then it loads the message ids of the files
// modified within DedupeWindow, reading only their msg_id column.
func Open(o Options) (*Writer, error) {
	if err := o.setDefaults(); err != nil {
		return nil, err
	}
	w := &Writer{
		o: o, base: filepath.Join(o.Root, "parquet"), byName: map[string]int{},
		seen: map[string]struct{}{}, dirs: map[string]struct{}{},
		ids: newMsgIDs(o.DedupeWindow, o.MaxDedupeIDs, o.Log),
	}
	recent, err := recoverDir(w.base, o.Log, o.Now().Add(-o.DedupeWindow))
	if err != nil {
		return nil, err
	}
	w.recent = recent
	return w, nil
}

// MaxTables bounds the tables one Writer holds (a message id's tables are a
// 64-bit set).
const MaxTables = 64

// RowInfo is what the writer needs to know of a row: where it goes and the
// bus message it comes from.
type RowInfo struct {
	Network string // partition directory (made safe for a path)
	Time    int64  // event time, unix milliseconds UTC: the date/hour partition
	Size    int64  // approximate bytes in memory, for the MaxBytes bound
	MsgID   string // the bus message id (exactly-once; see Contains); "" opts out
}

// TableOptions describe a table's role in exactly-once archiving.
type TableOptions struct {
	// Derived tables hold rows derived from an event whose own row is in
	// another (primary) table of the same Writer, with that event's id.
	// They do not count for Contains, and their files are made durable
	// before the primary tables' at each Sync, so a crash between the two
	// leaves the event not contained: it is archived again, and the derived
	// row, whose id its table holds, is dropped rather than doubled.
	Derived bool
}

// Table is a registered table with rows of type T: plain Parquet-taggable
// structs (strings, integers, booleans, lists, optional pointers).
type Table[T any] struct{ t *table[T] }

// Register adds the table <domain>/<name> to w. info tells where a row
// goes. Tables are registered before the first Write or Contains (the ids
// of recent files load then), at most MaxTables per Writer, each once.
func Register[T any](w *Writer, domain, name string, o TableOptions, info func(*T) RowInfo) (*Table[T], error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	key := domain + "/" + name
	switch {
	case w.closed:
		return nil, ErrClosed
	case w.used:
		return nil, fmt.Errorf("archive: register %s after the writer was first used; register every table right after Open", key)
	case safeSegment(domain) != domain || safeSegment(name) != name:
		return nil, fmt.Errorf("archive: table %s: domain and table names must be letters, digits, '-' or '_'", key)
	case len(w.tables) >= MaxTables:
		return nil, fmt.Errorf("archive: register %s: a writer holds at most %d tables", key, MaxTables)
	}
	if _, dup := w.byName[key]; dup {
		return nil, fmt.Errorf("archive: table %s registered twice", key)
	}
	t := newTable(w, domain, name, tableBits(1)<<len(w.tables), o.Derived, info)
	w.byName[key] = len(w.tables)
	w.tables = append(w.tables, t)
	if !o.Derived {
		w.primary |= t.bit
	}
	return &Table[T]{t: t}, nil
}

// Write appends rows to the table. They are durable after the next
// successful Sync. It fails only when the writer is closed: write errors
// surface (and are retried) at Sync. A row whose MsgID the table already
// holds (see Contains) is dropped; rows with an empty MsgID are always kept.
func (t *Table[T]) Write(rows []T) error { return write(t.t.w, t.t, rows) }

// firstUse closes registration and loads the message ids of recent files of
// the registered tables; called with mu held.
func (w *Writer) firstUse() {
	if w.used {
		return
	}
	w.used = true
	w.loadMsgIDs(w.recent)
	w.recent = nil
}

// Contains reports whether the archive holds the event with message id
// msgID: a row of a primary (not Derived) table with that id was written
// within DedupeWindow, either by an earlier process (it is in a file a Sync
// made durable) or by this Writer (durable, or pending until the next Sync).
// Pending rows count because the only way they are lost is a crash, which
// also forgets them: after a failed Sync the caller retries the batch, the
// pending rows are written by the retried Sync, and Contains keeps the retry
// from adding them again. The empty id is never contained.
//
// Rows of Derived tables do not count: they share the id of the event they
// derive from, and a crash between the renames of one Sync could leave one
// of the two durable. Sync therefore makes derived files durable first; an
// event whose primary row was lost is not contained, so it is archived
// again, and the writer drops the rows whose id their table already holds
// (every table does that), so the derived row is not stored twice.
//
// Rows become durable at Sync, not before, except when a partition reaches
// MaxRows or MaxBytes between Syncs (a memory bound the consumer, which
// Syncs every batch, never reaches).
func (w *Writer) Contains(msgID string) bool {
	if msgID == "" {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.firstUse()
	w.ids.expire(w.o.Now())
	return w.ids.has(keyOf(msgID), w.primary)
}

// constError lets sentinel errors be constants.
type constError string

func (e constError) Error() string { return string(e) }

// ErrClosed is returned by a Writer used after Close.
const ErrClosed = constError("archive writer is closed; open a new one")

func write[T any](w *Writer, t *table[T], rows []T) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	w.firstUse()
	now := w.o.Now()
	// Seal aged files first, so new rows start a new file rather than
	// extending one past MaxAge. Rows are always taken: a failed rotation
	// leaves its rows pending, and the next Sync retries them and reports the
	// error. Failing the write instead would make a caller that retries it
	// store the rows twice.
	w.ids.expire(now)
	for _, ts := range w.tables {
		ts.sealAged(now)
	}
	if err := t.append(rows, now); err != nil {
		w.o.Log.Warn("archive rotation failed; rows stay pending until Sync", "table", t.name, "err", err)
	}
	return nil
}

// Sync makes every row written so far durable and visible: after it returns
// nil each is in a complete, fsynced, renamed Parquet file. On error the rows
// stay pending and the next Sync retries them.
func (w *Writer) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	return w.syncLocked(false)
}

func (w *Writer) syncLocked(seal bool) error {
	now := w.o.Now()
	var jobs []*flushJob
	for _, ts := range w.tables {
		jobs = append(jobs, ts.syncJobs(now, seal)...)
	}
	w.runJobs(jobs)
	var errs []error
	for _, j := range jobs {
		if j.err != nil {
			errs = append(errs, j.err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sync archive: %w", err)
	}
	return nil
}

// Close writes every pending row and releases the writer.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	if err := w.syncLocked(true); err != nil {
		return fmt.Errorf("close archive: %w", err)
	}
	w.closed = true
	return nil
}

// Files returns the paths of the files written so far, in the order they were
// first made visible. A file rewritten at a later Sync is listed once.
func (w *Writer) Files() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.files...)
}

// published records a file made visible; called with mu held.
func (w *Writer) published(path string) {
	if _, ok := w.seen[path]; ok {
		return
	}
	w.seen[path] = struct{}{}
	w.files = append(w.files, path)
}
