package archive

import (
	"cmp"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// t0 is 2025-03-04 10:00:00 UTC in ms.
var t0 = time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)

func ms(t time.Time) int64 { return t.UnixMilli() }

func ptr(v int64) *int64 { return &v }

// fakeClock is a manual clock, so rotation by age is tested without sleeping.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func openTest(t testing.TB, o Options) (*Writer, *fakeClock) {
	t.Helper()
	if o.Root == "" {
		o.Root = t.TempDir()
	}
	clk := &fakeClock{now: t0}
	if o.Now == nil {
		o.Now = clk.Now
	}
	w, err := openWith(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w, clk
}

func metaRow(i int, ts int64) MetadataRow {
	r := MetadataRow{
		ENR:               fmt.Sprintf("enr:-row%d", i),
		ID:                fmt.Sprintf("%064x", i),
		Multiaddr:         "/ip4/192.0.2.1/tcp/9000",
		Epoch:             int64(1000 + i),
		SeqNumber:         int64(i),
		Attnets:           "0x0000000000000003",
		Syncnets:          "0x01",
		SubscribedSubnets: []int64{int64(i % 64), 7},
		ClientVersion:     "Lighthouse/v5.1.0",
		CrawlerID:         "sentry-1",
		CrawlerLocation:   "eu",
		Timestamp:         ts,
		PeerID:            fmt.Sprintf("16Uiu2peer%d", i),
		IP:                "192.0.2.1",
		Port:              9000,
		Direction:         "outbound",
		HeadSlot:          int64(32000 + i),
		ForkDigest:        "0x6a95a1a9",
		FinalizedEpoch:    998,
		ClientName:        "lighthouse",
		Network:           "mainnet",
		MetadataVersion:   2,
	}
	if i%2 == 0 {
		r.CustodyGroupCount = ptr(4)
	}
	return r
}

func discRow(i int, ts int64) DiscoveryRow {
	r := DiscoveryRow{
		ENR: fmt.Sprintf("enr:-disc%d", i), ID: fmt.Sprintf("%064x", i), IP: "198.51.100.2", Port: 9000,
		CrawlerID: "sentry-1", CrawlerLocation: "eu", Timestamp: ts, PeerID: fmt.Sprintf("16Uiu2disc%d", i),
		ENRSeq: int64(i), TCP: 9000, UDP: 9000, QUIC: 9001, ForkDigest: "0x6a95a1a9",
		NextForkVersion: "0x05000000", NextForkEpoch: 9223372036854775807, Attnets: "0xff00000000000000",
		Syncnets: "0x00", SameNetwork: i%3 != 0, Network: "mainnet",
	}
	if i%2 == 1 {
		r.CGC = ptr(128)
	}
	return r
}

func valRow(i int, ts int64) ValidatorMetadataRow {
	return ValidatorMetadataRow{
		ENR: fmt.Sprintf("enr:-val%d", i), ID: fmt.Sprintf("%064x", i), Multiaddr: "/ip4/203.0.113.9/tcp/9000",
		Epoch: 5, SeqNumber: 3, Attnets: "0x03", Syncnets: "0x00", LongLivedSubnets: []int64{1, 2},
		SubscribedSubnets: []int64{1, 2, 40, 41}, ClientVersion: "teku/v24", CrawlerID: "s", CrawlerLocation: "us",
		Timestamp: ts, PeerID: fmt.Sprintf("p%d", i), Network: "hoodi", ShortLivedSubnets: []int64{40, 41},
	}
}

// readAll reads every visible *.parquet file of a table under root.
func readAll[T any](t testing.TB, root, table string) []T {
	t.Helper()
	var out []T
	for _, f := range parquetFiles(t, root) {
		if !strings.Contains(f, string(filepath.Separator)+table+string(filepath.Separator)) {
			continue
		}
		rows, err := parquet.ReadFile[T](f)
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		out = append(out, rows...)
	}
	return out
}

// parquetFiles lists what a reader's *.parquet glob would see, and fails on
// any temporary file left visible or not.
func parquetFiles(t testing.TB, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".parquet") && !strings.HasPrefix(d.Name(), ".") {
			files = append(files, p)
		}
		if strings.HasSuffix(d.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

func countRows(t testing.TB, path string) int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	return pf.NumRows()
}

// normalize makes empty lists nil, as a Parquet round trip does.
func normalizeMeta(rows []MetadataRow) []MetadataRow {
	for i := range rows {
		if len(rows[i].SubscribedSubnets) == 0 {
			rows[i].SubscribedSubnets = nil
		}
		if len(rows[i].SubscribedSyncnets) == 0 {
			rows[i].SubscribedSyncnets = nil
		}
	}
	slices.SortFunc(rows, func(a, b MetadataRow) int { return cmp.Compare(a.ENR, b.ENR) })
	return rows
}

func TestPartitionsAcrossTwoHoursReadBackEqual(t *testing.T) {
	root := t.TempDir()
	w, _ := openTest(t, Options{Root: root})

	var meta []MetadataRow
	var disc []DiscoveryRow
	var val []ValidatorMetadataRow
	for i := range 20 {
		ts := ms(t0.Add(time.Duration(i) * 6 * time.Minute)) // 10:00 .. 11:54
		meta = append(meta, metaRow(i, ts))
		disc = append(disc, discRow(i, ts))
		val = append(val, valRow(i, ts))
	}
	if err := w.WriteMetadata(meta); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteDiscovery(disc); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteValidatorMetadata(val); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}

	files := parquetFiles(t, root)
	if len(files) != 6 {
		t.Fatalf("want 6 files (3 tables × 2 hours), got %d: %v", len(files), files)
	}
	if !slices.Equal(files, sortedCopy(w.Files())) {
		t.Errorf("Files() = %v, on disk %v", w.Files(), files)
	}
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		parts := strings.Split(rel, string(filepath.Separator))
		if len(parts) != 7 || parts[0] != "parquet" || parts[1] != "ethereum" {
			t.Fatalf("bad layout %s", rel)
		}
		net, table, date, hour := parts[2], parts[3], parts[4], parts[5]
		if date != "date=2025-03-04" || (hour != "hour=10" && hour != "hour=11") {
			t.Errorf("bad partition %s", rel)
		}
		wantNet := "mainnet"
		if table == TableValidatorMetadata {
			wantNet = "hoodi"
		}
		if net != wantNet {
			t.Errorf("%s: network %s, want %s", rel, net, wantNet)
		}
		// Every row of a file belongs to the file's hour.
		for _, r := range readFileAny(t, table, f) {
			h := time.UnixMilli(r).UTC().Hour()
			if fmt.Sprintf("hour=%02d", h) != hour {
				t.Errorf("%s holds a row of hour %d", rel, h)
			}
		}
	}

	if got := normalizeMeta(readAll[MetadataRow](t, root, TableMetadata)); !reflect.DeepEqual(got, normalizeMeta(meta)) {
		t.Errorf("metadata rows differ:\n got %+v\nwant %+v", got[0], meta[0])
	}
	gotDisc := readAll[DiscoveryRow](t, root, TableDiscovery)
	slices.SortFunc(gotDisc, func(a, b DiscoveryRow) int { return cmp.Compare(a.ENR, b.ENR) })
	slices.SortFunc(disc, func(a, b DiscoveryRow) int { return cmp.Compare(a.ENR, b.ENR) })
	if !reflect.DeepEqual(gotDisc, disc) {
		t.Errorf("discovery rows differ")
	}
	gotVal := readAll[ValidatorMetadataRow](t, root, TableValidatorMetadata)
	slices.SortFunc(gotVal, func(a, b ValidatorMetadataRow) int { return cmp.Compare(a.ENR, b.ENR) })
	slices.SortFunc(val, func(a, b ValidatorMetadataRow) int { return cmp.Compare(a.ENR, b.ENR) })
	if !reflect.DeepEqual(gotVal, val) {
		t.Errorf("validator rows differ")
	}
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// readFileAny returns the timestamps of a file of any table.
func readFileAny(t testing.TB, table, path string) []int64 {
	t.Helper()
	var ts []int64
	switch table {
	case TableMetadata:
		rows, err := parquet.ReadFile[MetadataRow](path)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			ts = append(ts, r.Timestamp)
		}
	case TableDiscovery:
		rows, err := parquet.ReadFile[DiscoveryRow](path)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			ts = append(ts, r.Timestamp)
		}
	case TableValidatorMetadata:
		rows, err := parquet.ReadFile[ValidatorMetadataRow](path)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			ts = append(ts, r.Timestamp)
		}
	default:
		t.Fatalf("unknown table %s", table)
	}
	return ts
}

func TestSchemaIsPlainForDuckDBAndClickHouse(t *testing.T) {
	root := t.TempDir()
	w, _ := openTest(t, Options{Root: root})
	if err := w.WriteMetadata([]MetadataRow{metaRow(1, ms(t0))}); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	path := w.Files()[0]
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	ts, ok := pf.Schema().Lookup("timestamp")
	if !ok {
		t.Fatal("no timestamp column")
	}
	lt := ts.Node.Type().LogicalType()
	if lt == nil || !strings.HasPrefix(lt.String(), "TIMESTAMP(") || !strings.Contains(lt.String(), "MILLIS") {
		t.Errorf("timestamp column is not TIMESTAMP(MILLIS): %v", lt)
	}
	if k := ts.Node.Type().Kind(); k != parquet.Int64 {
		t.Errorf("timestamp physical type %v, want INT64", k)
	}
	for _, rg := range pf.Metadata().RowGroups {
		for _, cc := range rg.Columns {
			if cc.MetaData.Codec != format.Zstd {
				t.Errorf("column %v compressed with %v, want ZSTD", cc.MetaData.PathInSchema, cc.MetaData.Codec)
			}
		}
	}
	if v, ok := pf.Lookup("valtrack.table"); !ok || v != TableMetadata {
		t.Errorf("table metadata = %q, %v", v, ok)
	}
}

func TestRotationByRows(t *testing.T) {
	root := t.TempDir()
	w, _ := openTest(t, Options{Root: root, MaxRows: 10})
	var rows []MetadataRow
	for i := range 25 {
		rows = append(rows, metaRow(i, ms(t0)))
	}
	if err := w.WriteMetadata(rows); err != nil {
		t.Fatal(err)
	}
	// Two full files are already complete and visible; 5 rows wait for Sync.
	files := parquetFiles(t, root)
	if len(files) != 2 || countRows(t, files[0]) != 10 || countRows(t, files[1]) != 10 {
		t.Fatalf("before Sync: %v", files)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	files = parquetFiles(t, root)
	if len(files) != 3 {
		t.Fatalf("after Sync: %d files", len(files))
	}
	var n int64
	for _, f := range files {
		c := countRows(t, f)
		if c > 10 {
			t.Errorf("%s holds %d rows, more than MaxRows", f, c)
		}
		n += c
	}
	if n != 25 {
		t.Errorf("%d rows on disk, want 25", n)
	}
}

func TestRotationByBytes(t *testing.T) {
	root := t.TempDir()
	one := metaRow(0, ms(t0))
	w, _ := openTest(t, Options{Root: root, MaxBytes: 3 * one.approxSize()})
	var rows []MetadataRow
	for i := range 7 {
		rows = append(rows, metaRow(i, ms(t0)))
	}
	if err := w.WriteMetadata(rows); err != nil {
		t.Fatal(err)
	}
	if files := parquetFiles(t, root); len(files) != 2 {
		t.Fatalf("want 2 files rotated by size before Sync, got %d", len(files))
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := readAll[MetadataRow](t, root, TableMetadata); len(got) != 7 {
		t.Errorf("%d rows, want 7", len(got))
	}
}

func TestRotationByAge(t *testing.T) {
	root := t.TempDir()
	w, clk := openTest(t, Options{Root: root, MaxAge: time.Minute})
	if err := w.WriteMetadata([]MetadataRow{metaRow(0, ms(t0))}); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	first := w.Files()
	// Within MaxAge the next Sync rewrites the same file.
	clk.Advance(30 * time.Second)
	if err := w.WriteMetadata([]MetadataRow{metaRow(1, ms(t0))}); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := w.Files(); !slices.Equal(got, first) || countRows(t, first[0]) != 2 {
		t.Fatalf("within MaxAge: files %v (want %v with 2 rows)", got, first)
	}
	// Past MaxAge the file is sealed: new rows go to a new file.
	clk.Advance(31 * time.Second)
	if err := w.WriteMetadata([]MetadataRow{metaRow(2, ms(t0))}); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	files := w.Files()
	if len(files) != 2 || countRows(t, files[0]) != 2 || countRows(t, files[1]) != 1 {
		t.Fatalf("after MaxAge: %v", files)
	}

	// Unsynced rows of a partition idle past MaxAge are not written by an
	// unrelated write (a batch becomes durable at its Sync only, see
	// Contains); the next Sync writes them and seals their file.
	if err := w.WriteMetadata([]MetadataRow{metaRow(3, ms(t0.Add(-2*time.Hour)))}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Minute)
	if err := w.WriteDiscovery([]DiscoveryRow{discRow(0, ms(t0))}); err != nil {
		t.Fatal(err)
	}
	if got := readAll[MetadataRow](t, root, TableMetadata); len(got) != 3 {
		t.Errorf("aged rows written before Sync: %d metadata rows on disk, want 3", len(got))
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := readAll[MetadataRow](t, root, TableMetadata); len(got) != 4 {
		t.Errorf("aged rows not written by Sync: %d metadata rows on disk, want 4", len(got))
	}
	// Its part was sealed: a new row of that hour starts a new file.
	n := len(w.Files())
	if err := w.WriteMetadata([]MetadataRow{metaRow(4, ms(t0.Add(-2*time.Hour)))}); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := len(w.Files()); got != n+1 {
		t.Errorf("aged file not sealed: %d files, want %d", got, n+1)
	}
}

func TestSyncMergesBatchesIntoOneFile(t *testing.T) {
	root := t.TempDir()
	w, _ := openTest(t, Options{Root: root, SyncMergeRows: 30})
	written := 0
	for batch := range 5 {
		var rows []MetadataRow
		for range 10 {
			rows = append(rows, metaRow(written, ms(t0)))
			written++
		}
		if err := w.WriteMetadata(rows); err != nil {
			t.Fatal(err)
		}
		// Before Sync these rows are not visible (the file holds the rows of
		// earlier Syncs only).
		if got := len(readAll[MetadataRow](t, root, TableMetadata)); got != batch*10 {
			t.Fatalf("batch %d before Sync: %d rows visible, want %d", batch, got, batch*10)
		}
		if err := w.Sync(); err != nil {
			t.Fatal(err)
		}
		if got := len(readAll[MetadataRow](t, root, TableMetadata)); got != written {
			t.Fatalf("batch %d after Sync: %d rows visible, want %d", batch, got, written)
		}
	}
	// 30 rows went to one file, rewritten at each Sync; then a new file.
	files := w.Files()
	if len(files) != 2 || countRows(t, files[0]) != 30 || countRows(t, files[1]) != 20 {
		t.Errorf("files %v", files)
	}
}

func TestSyncMergeRowsOneWritesAFilePerSync(t *testing.T) {
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
	if n := len(parquetFiles(t, root)); n != 3 {
		t.Errorf("%d files, want 3", n)
	}
}

func TestSyncWithNothingPendingWritesNothing(t *testing.T) {
	root := t.TempDir()
	w, _ := openTest(t, Options{Root: root})
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteMetadata([]MetadataRow{metaRow(0, ms(t0))}); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	path := w.Files()[0]
	before, _ := os.Stat(path)
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(path)
	if !os.SameFile(before, after) {
		t.Errorf("an idle Sync rewrote %s", path)
	}
}

func TestCrashLeftoversAreCleanedOnOpen(t *testing.T) {
	root := t.TempDir()
	// A real complete file from a previous run.
	w, _ := openTest(t, Options{Root: root})
	if err := w.WriteMetadata([]MetadataRow{metaRow(0, ms(t0)), metaRow(1, ms(t0))}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	good := w.Files()[0]
	dir := filepath.Dir(good)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	// The crash: a temporary file cut mid-write, and a torn *.parquet (as a
	// copy or a lossy filesystem would leave).
	tmp := filepath.Join(dir, ".20250304T100000.000000000-abc.parquet.tmp")
	torn := filepath.Join(dir, "20250304T100001.000000000-def.parquet")
	if err := os.WriteFile(tmp, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(torn, data[:len(data)-5], 0o644); err != nil {
		t.Fatal(err)
	}

	w2, _ := openTest(t, Options{Root: root})
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("temporary file still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".20250304T100001.000000000-def.parquet.corrupt")); err != nil {
		t.Errorf("torn file not set aside: %v", err)
	}
	files := parquetFiles(t, root)
	if !slices.Equal(files, []string{good}) {
		t.Errorf("visible files %v, want only %s", files, good)
	}
	for _, f := range files {
		if _, err := parquet.ReadFile[MetadataRow](f); err != nil {
			t.Errorf("%s unreadable after recovery: %v", f, err)
		}
	}
	// The recovered archive takes new rows beside the old.
	if err := w2.WriteMetadata([]MetadataRow{metaRow(2, ms(t0))}); err != nil {
		t.Fatal(err)
	}
	if err := w2.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := readAll[MetadataRow](t, root, TableMetadata); len(got) != 3 {
		t.Errorf("%d rows, want 3", len(got))
	}
}

func TestCloseWritesPendingAndRefusesWrites(t *testing.T) {
	root := t.TempDir()
	w, _ := openTest(t, Options{Root: root})
	if err := w.WriteDiscovery([]DiscoveryRow{discRow(0, ms(t0))}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readAll[DiscoveryRow](t, root, TableDiscovery); len(got) != 1 {
		t.Errorf("%d rows after Close, want 1", len(got))
	}
	if err := w.WriteDiscovery([]DiscoveryRow{discRow(1, ms(t0))}); err != ErrClosed {
		t.Errorf("write after Close: %v, want ErrClosed", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestHostileNetworkNameStaysInsideRoot(t *testing.T) {
	root := t.TempDir()
	w, _ := openTest(t, Options{Root: root})
	for i, n := range []string{"../../escape", "", "a/b", strings.Repeat("x", 500), ".."} {
		r := metaRow(i, ms(t0))
		r.Network = n
		if err := w.WriteMetadata([]MetadataRow{r}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(root, "parquet", "ethereum") + string(filepath.Separator)
	for _, f := range w.Files() {
		if !strings.HasPrefix(f, base) || strings.Count(strings.TrimPrefix(f, base), string(filepath.Separator)) != 4 {
			t.Errorf("file outside its partition layout: %s", f)
		}
	}
	if got := readAll[MetadataRow](t, root, TableMetadata); len(got) != 5 {
		t.Errorf("%d rows, want 5", len(got))
	}
}

func TestOpenRejectsBadOptions(t *testing.T) {
	if _, err := Open(Options{}); err == nil || !strings.Contains(err.Error(), "Root") {
		t.Errorf("empty root: %v", err)
	}
	if _, err := Open(Options{Root: t.TempDir(), MaxRows: -1}); err == nil {
		t.Error("negative MaxRows accepted")
	}
}

func TestConcurrentWritersAndSyncs(t *testing.T) {
	root := t.TempDir()
	w, _ := openTest(t, Options{Root: root, SyncMergeRows: 50})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range 10 {
				rows := make([]MetadataRow, 10)
				for i := range rows {
					rows[i] = metaRow(g*1000+b*10+i, ms(t0.Add(time.Duration(b)*10*time.Minute)))
				}
				if err := w.WriteMetadata(rows); err != nil {
					t.Error(err)
					return
				}
				if err := w.Sync(); err != nil {
					t.Error(err)
					return
				}
				_ = w.Files()
			}
		}()
	}
	wg.Wait()
	if got := readAll[MetadataRow](t, root, TableMetadata); len(got) != 400 {
		t.Errorf("%d rows, want 400", len(got))
	}
}
