package archive

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

// openCrashable opens a writer the test abandons without Close, as a crash
// would: nothing flushes its pending rows later.
func openCrashable(t *testing.T, o Options) *Writer {
	t.Helper()
	w, err := openWith(o)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func idMeta(i int, id string) MetadataRow {
	r := metaRow(i, ms(t0))
	r.MsgID = id
	return r
}

// event is one bus message as the consumer sees it: a metadata event, and
// for some a derived validator row with the same id.
type event struct {
	id        string
	validator bool
}

// archiveBatch does what the consumer does with a delivered batch: archive
// the events Contains does not report, then Sync.
func archiveBatch(t *testing.T, w *Writer, batch []event) error {
	t.Helper()
	var meta []MetadataRow
	var val []ValidatorMetadataRow
	for i, e := range batch {
		if w.Contains(e.id) {
			continue
		}
		meta = append(meta, idMeta(i, e.id))
		if e.validator {
			v := valRow(i, ms(t0))
			v.MsgID = e.id
			val = append(val, v)
		}
	}
	if err := w.WriteMetadata(meta); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteValidatorMetadata(val); err != nil {
		t.Fatal(err)
	}
	return w.Sync()
}

func makeEvents(prefix string, n int) []event {
	var b []event
	for i := range n {
		b = append(b, event{id: fmt.Sprintf("%s-%d", prefix, i), validator: i%3 == 0})
	}
	return b
}

// idCounts reads every visible file of a table and counts its msg ids.
func idCounts[T any](t *testing.T, root, table string, id func(*T) string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	rows := readAll[T](t, root, table)
	for i := range rows {
		counts[id(&rows[i])]++
	}
	return counts
}

func metaID(r *MetadataRow) string         { return r.MsgID }
func valID(r *ValidatorMetadataRow) string { return r.MsgID }
func discID(r *DiscoveryRow) string        { return r.MsgID }

func TestCrashAfterSyncKeepsSyncedIDsOnly(t *testing.T) {
	root := t.TempDir()
	clk := &fakeClock{now: t0}
	w1 := openCrashable(t, Options{Root: root, Now: clk.Now})
	var synced []MetadataRow
	for i := range 10 {
		synced = append(synced, idMeta(i, fmt.Sprintf("m-%d", i)))
	}
	disc := discRow(0, ms(t0))
	disc.MsgID = "d-0"
	if err := w1.WriteMetadata(synced); err != nil {
		t.Fatal(err)
	}
	if err := w1.WriteDiscovery([]DiscoveryRow{disc}); err != nil {
		t.Fatal(err)
	}
	if err := w1.Sync(); err != nil {
		t.Fatal(err)
	}
	// Written, never synced: pending in w1, so contained there...
	if err := w1.WriteMetadata([]MetadataRow{idMeta(10, "m-10"), idMeta(11, "m-11")}); err != nil {
		t.Fatal(err)
	}
	if !w1.Contains("m-10") {
		t.Error("a pending row's id is not contained by its writer")
	}
	// ...and lost with the crash: w1 is dropped without Close.
	clk.Advance(time.Minute)
	w2, _ := openTest(t, Options{Root: root, Now: clk.Now})
	for _, r := range synced {
		if !w2.Contains(r.MsgID) {
			t.Errorf("synced id %s not contained after reopening", r.MsgID)
		}
	}
	if !w2.Contains("d-0") {
		t.Error("synced discovery id not contained after reopening")
	}
	for _, id := range []string{"m-10", "m-11", "", "never-written"} {
		if w2.Contains(id) {
			t.Errorf("id %q contained after reopening, but it was never durable", id)
		}
	}
	if got := len(readAll[MetadataRow](t, root, TableMetadata)); got != 10 {
		t.Errorf("%d metadata rows on disk, want the 10 synced", got)
	}
}

func TestRedeliveredBatchIsArchivedOnce(t *testing.T) {
	root := t.TempDir()
	clk := &fakeClock{now: t0}
	b1, b2 := makeEvents("a", 30), makeEvents("b", 30)

	// Batch 1 is archived and synced, then the process dies before the ack.
	w1 := openCrashable(t, Options{Root: root, Now: clk.Now, SyncMergeRows: 16})
	if err := archiveBatch(t, w1, b1); err != nil {
		t.Fatal(err)
	}
	// Batch 2 is written but the process dies before its Sync.
	for _, e := range b2[:10] {
		if err := w1.WriteMetadata([]MetadataRow{idMeta(0, e.id)}); err != nil {
			t.Fatal(err)
		}
	}

	clk.Advance(30 * time.Second)
	w2 := openCrashable(t, Options{Root: root, Now: clk.Now, SyncMergeRows: 16})
	// Both are redelivered; batch 1 twice more for good measure.
	for _, b := range [][]event{b1, b2, b1} {
		if err := archiveBatch(t, w2, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w2.Close(); err != nil {
		t.Fatal(err)
	}

	meta := idCounts(t, root, TableMetadata, metaID)
	val := idCounts(t, root, TableValidatorMetadata, valID)
	for _, e := range append(b1, b2...) {
		if meta[e.id] != 1 {
			t.Errorf("metadata row %s stored %d times, want 1", e.id, meta[e.id])
		}
		want := 0
		if e.validator {
			want = 1
		}
		if val[e.id] != want {
			t.Errorf("validator row %s stored %d times, want %d", e.id, val[e.id], want)
		}
	}
	if len(meta) != 60 {
		t.Errorf("%d distinct metadata ids, want 60", len(meta))
	}
}

func TestRetryAfterFailedSyncIsArchivedOnce(t *testing.T) {
	root := t.TempDir()
	w, _ := openTest(t, Options{Root: root})
	// A file where the network directory must go fails the Sync.
	blocker := filepath.Join(root, "parquet", "ethereum", "mainnet")
	if err := os.MkdirAll(filepath.Dir(blocker), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	b := makeEvents("r", 12)
	if err := archiveBatch(t, w, b); err == nil {
		t.Fatal("Sync succeeded with an unwritable partition")
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	// The consumer did not ack; the batch comes again. Its rows are
	// pending, so Contains skips them and this Sync writes them.
	if err := archiveBatch(t, w, b); err != nil {
		t.Fatal(err)
	}
	meta := idCounts(t, root, TableMetadata, metaID)
	for _, e := range b {
		if meta[e.id] != 1 {
			t.Errorf("%s stored %d times, want 1", e.id, meta[e.id])
		}
	}
}

func TestValidatorFileFailureHoldsBackTheOthers(t *testing.T) {
	root := t.TempDir()
	w, _ := openTest(t, Options{Root: root})
	// Validator rows go to network hoodi (valRow); block that directory.
	blocker := filepath.Join(root, "parquet", "ethereum", "hoodi")
	if err := os.MkdirAll(filepath.Dir(blocker), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	v := valRow(0, ms(t0))
	v.MsgID = "x"
	if err := w.WriteMetadata([]MetadataRow{idMeta(0, "x")}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteValidatorMetadata([]ValidatorMetadataRow{v}); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err == nil {
		t.Fatal("Sync succeeded with an unwritable validator partition")
	}
	// The metadata row must not be durable without its validator row: a
	// crash now would make Contains skip the event and lose the latter.
	if got := len(readAll[MetadataRow](t, root, TableMetadata)); got != 0 {
		t.Errorf("%d metadata rows visible before their validator row", got)
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if m, v := len(readAll[MetadataRow](t, root, TableMetadata)), len(readAll[ValidatorMetadataRow](t, root, TableValidatorMetadata)); m != 1 || v != 1 {
		t.Errorf("after the fix: %d metadata, %d validator rows, want 1 and 1", m, v)
	}
}

func TestValidatorRowsAloneDoNotMakeAnEventContained(t *testing.T) {
	root := t.TempDir()
	clk := &fakeClock{now: t0}
	// A crash between the validator file's rename and the metadata file's.
	w1 := openCrashable(t, Options{Root: root, Now: clk.Now})
	v := valRow(0, ms(t0))
	v.MsgID = "v-1"
	if err := w1.WriteValidatorMetadata([]ValidatorMetadataRow{v}); err != nil {
		t.Fatal(err)
	}
	if err := w1.Sync(); err != nil {
		t.Fatal(err)
	}
	w2, _ := openTest(t, Options{Root: root, Now: clk.Now})
	if w2.Contains("v-1") {
		t.Fatal("an event with only its validator row archived is contained: its metadata row would be lost")
	}
	// The redelivered event is archived; the writer drops the validator
	// row it already holds.
	if err := archiveBatch(t, w2, []event{{id: "v-1", validator: true}}); err != nil {
		t.Fatal(err)
	}
	if n := idCounts(t, root, TableMetadata, metaID)["v-1"]; n != 1 {
		t.Errorf("metadata row stored %d times, want 1", n)
	}
	if n := idCounts(t, root, TableValidatorMetadata, valID)["v-1"]; n != 1 {
		t.Errorf("validator row stored %d times, want 1", n)
	}
}

func TestWriterDropsRowsItHoldsAndKeepsEmptyIDs(t *testing.T) {
	root := t.TempDir()
	w, _ := openTest(t, Options{Root: root})
	d := discRow(0, ms(t0))
	d.MsgID = "same"
	noID := discRow(1, ms(t0))
	for range 3 {
		if err := w.WriteDiscovery([]DiscoveryRow{d, noID}); err != nil {
			t.Fatal(err)
		}
		if err := w.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	got := idCounts(t, root, TableDiscovery, discID)
	if got["same"] != 1 || got[""] != 3 {
		t.Errorf("counts %v, want same:1 and 3 rows without id", got)
	}
	if w.Contains("") {
		t.Error("the empty id is contained")
	}
}

func TestDedupeWindowEvictsByWriteTime(t *testing.T) {
	root := t.TempDir()
	clk := &fakeClock{now: t0}
	w1 := openCrashable(t, Options{Root: root, Now: clk.Now, DedupeWindow: time.Hour})
	if err := w1.WriteMetadata([]MetadataRow{idMeta(0, "old")}); err != nil {
		t.Fatal(err)
	}
	if err := w1.Sync(); err != nil {
		t.Fatal(err)
	}
	clk.Advance(40 * time.Minute)
	if err := w1.WriteMetadata([]MetadataRow{idMeta(1, "new")}); err != nil {
		t.Fatal(err)
	}
	if err := w1.Sync(); err != nil {
		t.Fatal(err)
	}
	clk.Advance(30 * time.Minute) // "old" written 70 min ago, "new" 30
	if w1.Contains("old") || !w1.Contains("new") {
		t.Errorf("in memory: old %v (want false), new %v (want true)", w1.Contains("old"), w1.Contains("new"))
	}

	// At Open, the file's modification time is the write time: only files
	// within the window are read.
	files := w1.Files()
	if len(files) != 2 {
		t.Fatalf("files %v, want two (MaxAge sealed the first)", files)
	}
	old := clk.Now().Add(-3 * time.Hour)
	if err := os.Chtimes(files[0], old, old); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		age  time.Duration
		want bool
	}{{50 * time.Minute, true}, {61 * time.Minute, false}} {
		mt := clk.Now().Add(-c.age)
		if err := os.Chtimes(files[1], mt, mt); err != nil {
			t.Fatal(err)
		}
		w, _ := openTest(t, Options{Root: root, Now: clk.Now, DedupeWindow: time.Hour})
		if w.Contains("old") {
			t.Error("id of a file older than the window loaded")
		}
		if got := w.Contains("new"); got != c.want {
			t.Errorf("file written %s ago: Contains = %v, want %v", c.age, got, c.want)
		}
		// A loaded id expires with the time of its file.
		clk.Advance(11 * time.Minute)
		if w.Contains("new") {
			t.Errorf("file written %s ago: id still contained 11 min later", c.age)
		}
		clk.Advance(-11 * time.Minute)
	}
}

func TestMaxDedupeIDsEvictsOldestFirst(t *testing.T) {
	root := t.TempDir()
	clk := &fakeClock{now: t0}
	w1, _ := openTest(t, Options{Root: root, Now: clk.Now, MaxDedupeIDs: 5, SyncMergeRows: 1})
	for i := range 8 {
		if err := w1.WriteMetadata([]MetadataRow{idMeta(i, fmt.Sprintf("c-%d", i))}); err != nil {
			t.Fatal(err)
		}
		if err := w1.Sync(); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
	}
	for i := range 8 {
		if got, want := w1.Contains(fmt.Sprintf("c-%d", i)), i >= 3; got != want {
			t.Errorf("in memory: c-%d contained %v, want %v", i, got, want)
		}
	}
	if n := w1.ids.len(); n != 5 {
		t.Errorf("%d ids held, want the cap 5", n)
	}
	// Reopened, the newest files win: one file per id, modification times
	// in write order.
	for i, f := range w1.Files() {
		mt := clk.Now().Add(time.Duration(i-10) * time.Second)
		if err := os.Chtimes(f, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	w2, _ := openTest(t, Options{Root: root, Now: clk.Now, MaxDedupeIDs: 5})
	for i := range 8 {
		if got, want := w2.Contains(fmt.Sprintf("c-%d", i)), i >= 3; got != want {
			t.Errorf("reopened: c-%d contained %v, want %v", i, got, want)
		}
	}
}

func TestMsgIDQueueReclaimsItsFront(t *testing.T) {
	s := newMsgIDs(time.Minute, 1500, slog.New(slog.DiscardHandler))
	for i := range 5000 {
		s.add(keyOf(fmt.Sprint(i)), tableBits(2), t0.Add(time.Duration(i)*time.Millisecond))
	}
	if s.len() != 1500 || len(s.queue)-s.head != 1500 {
		t.Fatalf("held %d, queued %d, want 1500", s.len(), len(s.queue)-s.head)
	}
	if len(s.queue) > 3000 {
		t.Errorf("queue slice kept %d entries for 1500 ids", len(s.queue))
	}
	for _, i := range []int{0, 3499, 3500, 4999} {
		if got, want := s.has(keyOf(fmt.Sprint(i)), tableBits(2)), i >= 3500; got != want {
			t.Errorf("id %d held %v, want %v", i, got, want)
		}
	}
	s.expire(t0.Add(time.Minute + 4500*time.Millisecond))
	if s.len() != 500 || !s.has(keyOf("4500"), tableBits(2)) || s.has(keyOf("4499"), tableBits(2)) {
		t.Errorf("after expiry held %d ids, want 500 (4500..4999)", s.len())
	}
}

func TestFilesWithoutMsgIDColumnStillOpenAndCompact(t *testing.T) {
	root := t.TempDir()
	// A file as the writer made them before msg_id existed.
	type oldRow struct {
		ENR       string `parquet:"enr"`
		Timestamp int64  `parquet:"timestamp,timestamp(millisecond)"`
		Network   string `parquet:"network"`
	}
	dir := filepath.Join(root, "parquet", "ethereum", "mainnet", TableMetadata, "date=2025-03-04", "hour=10")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writeFileAtomic(dir, "20250304T100000.000000000-old.parquet", []oldRow{{ENR: "enr:-old", Timestamp: ms(t0), Network: "mainnet"}}); err != nil {
		t.Fatal(err)
	}
	w, _ := openTest(t, Options{Root: root})
	if err := w.WriteMetadata([]MetadataRow{idMeta(1, "n-1")}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := Compact(root, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	got := idCounts(t, root, TableMetadata, metaID)
	if got[""] != 1 || got["n-1"] != 1 || len(parquetFiles(t, root)) != 1 {
		t.Errorf("after compaction: ids %v in %d files, want one old row, n-1 once, one file", got, len(parquetFiles(t, root)))
	}
	// The compacted file's ids are loaded like any other.
	w2, _ := openTest(t, Options{Root: root})
	if !w2.Contains("n-1") {
		t.Error("id of a compacted file not contained")
	}
}

// FuzzReadMsgIDs feeds the msg_id column reader arbitrary files, seeded with
// a real one: it must return, never panic, and read the real one exactly.
func FuzzReadMsgIDs(f *testing.F) {
	dir := f.TempDir()
	rows := []MetadataRow{idMeta(0, "f-0"), idMeta(1, "f-1"), idMeta(2, "")}
	if err := writeFileAtomic(dir, "seed.parquet", rows); err != nil {
		f.Fatal(err)
	}
	seed, err := os.ReadFile(filepath.Join(dir, "seed.parquet"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add([]byte("PAR1\x00\x00\x00\x00PAR1"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var ids []string
		err := readMsgIDsFrom(bytes.NewReader(data), int64(len(data)), func(id []byte) {
			ids = append(ids, string(id))
		})
		if bytes.Equal(data, seed) && (err != nil || fmt.Sprint(ids) != "[f-0 f-1 ]") {
			t.Fatalf("seed file read as %q, %v", ids, err)
		}
	})
}

func TestSyncMergeCopiesEarlierRowGroupsUnchanged(t *testing.T) {
	root := t.TempDir()
	w, _ := openTest(t, Options{Root: root, SyncMergeRows: 100})
	var all []MetadataRow
	for b := range 4 {
		var rows []MetadataRow
		for i := range 20 {
			rows = append(rows, idMeta(b*100+i, fmt.Sprintf("g-%d-%d", b, i)))
		}
		all = append(all, rows...)
		if err := w.WriteMetadata(rows); err != nil {
			t.Fatal(err)
		}
		if err := w.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	files := w.Files()
	if len(files) != 1 {
		t.Fatalf("files %v, want one merged file", files)
	}
	// One row group per Sync: the earlier ones were carried over, not
	// re-encoded into one.
	f, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(pf.RowGroups()); n != 4 {
		t.Errorf("%d row groups, want 4", n)
	}
	got, err := parquet.ReadFile[MetadataRow](files[0])
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(normalizeMeta(got), normalizeMeta(all)) {
		t.Error("merged file does not read back as the rows written")
	}

	// If the file on disk is not the version the writer made (here: gone),
	// the next Sync writes every row from memory.
	if err := os.Remove(files[0]); err != nil {
		t.Fatal(err)
	}
	more := []MetadataRow{idMeta(999, "g-last")}
	if err := w.WriteMetadata(more); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := readAll[MetadataRow](t, root, TableMetadata); len(got) != 81 {
		t.Errorf("%d rows after rewriting a missing file, want 81", len(got))
	}
}
