package sink

import (
	"log/slog"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/valtrack/valtrack/internal/archive"
	"github.com/valtrack/valtrack/internal/ethereum/events"
)

func ptr(v int64) *int64 { return &v }

// normalizeMeta makes rows comparable after a Parquet round trip, which
// reads empty lists as empty, not nil.
func normalizeMeta(rows []MetadataRow) []MetadataRow {
	for i := range rows {
		if len(rows[i].SubscribedSubnets) == 0 {
			rows[i].SubscribedSubnets = nil
		}
		if len(rows[i].SubscribedSyncnets) == 0 {
			rows[i].SubscribedSyncnets = nil
		}
	}
	return rows
}

func TestFromPeerDiscovered(t *testing.T) {
	cgc := uint64(8)
	e := &events.PeerDiscovered{
		V: 1, Network: "sepolia", ENR: "enr:-x", ID: "ab", PeerID: "16Uiu2x", ENRSeq: 7, IP: "192.0.2.7",
		Port: 9000, IP6: "2001:db8::7", TCP: 9000, UDP: 9001, QUIC: 9002, TCP6: 9100, UDP6: 9101, QUIC6: 9102,
		Multiaddr: "/ip4/192.0.2.7/tcp/9000", ForkDigest: "0x01020304", NextForkVersion: "0x05000000",
		NextForkEpoch: math.MaxUint64, Attnets: "0x03", Syncnets: "0x01", CGC: &cgc, NFD: "0x0a0b0c0d",
		SameNetwork: true, Sentry: events.Sentry{ID: "s1", Location: "eu-west"}, Timestamp: 1741082400000,
	}
	want := DiscoveryRow{
		ENR: "enr:-x", ID: "ab", IP: "192.0.2.7", Port: 9000, CrawlerID: "s1", CrawlerLocation: "eu-west",
		Timestamp: 1741082400000, PeerID: "16Uiu2x", ENRSeq: 7, TCP: 9000, UDP: 9001, QUIC: 9002,
		IP6: "2001:db8::7", ForkDigest: "0x01020304", NextForkVersion: "0x05000000",
		NextForkEpoch: math.MaxInt64, Attnets: "0x03", Syncnets: "0x01", CGC: ptr(8), SameNetwork: true,
		Network: "sepolia", TCP6: 9100, UDP6: 9101, QUIC6: 9102, NFD: "0x0a0b0c0d", Multiaddr: "/ip4/192.0.2.7/tcp/9000",
	}
	if got := FromPeerDiscovered(e); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	e.CGC = nil
	if got := FromPeerDiscovered(e); got.CGC != nil {
		t.Errorf("absent cgc became %d", *got.CGC)
	}
}

func TestFromMetadataReceived(t *testing.T) {
	cgc := uint64(4)
	e := &events.MetadataReceived{
		V: 1, Network: "hoodi", ENR: "enr:-m", ID: "cd", PeerID: "16Uiu2m", Multiaddr: "/ip4/198.51.100.3/tcp/13000",
		IP: "198.51.100.3", Port: 13000, Direction: "inbound", Epoch: 1234, HeadSlot: 39500, ForkDigest: "0xaabbccdd",
		Status:            events.Status{FinalizedEpoch: 1232, ForkDigest: "0xaabbccdd"},
		MetaData:          events.MetaData{SeqNumber: 9, Attnets: "0x0300000000000000", Syncnets: "0x00", CGC: &cgc, Version: 3},
		SubscribedSubnets: []int64{3, 9, 20}, SubscribedSyncnets: []int64{1},
		ClientVersion: "Prysm/v6.0.0/abc", ClientName: "prysm", ClientVersionNum: "v6.0.0", ClientOS: "linux",
		Sentry: events.Sentry{ID: "s2", Location: "us-east"}, Timestamp: 1741082400123,
	}
	want := MetadataRow{
		ENR: "enr:-m", ID: "cd", Multiaddr: "/ip4/198.51.100.3/tcp/13000", Epoch: 1234, SeqNumber: 9,
		Attnets: "0x0300000000000000", Syncnets: "0x00", CustodyGroupCount: ptr(4), SubscribedSubnets: []int64{3, 9, 20},
		ClientVersion: "Prysm/v6.0.0/abc", CrawlerID: "s2", CrawlerLocation: "us-east", Timestamp: 1741082400123,
		PeerID: "16Uiu2m", IP: "198.51.100.3", Port: 13000, Direction: "inbound", HeadSlot: 39500,
		ForkDigest: "0xaabbccdd", FinalizedEpoch: 1232, ClientName: "prysm", Network: "hoodi",
		SubscribedSyncnets: []int64{1}, ClientVersionNumber: "v6.0.0", ClientOS: "linux", MetadataVersion: 3,
	}
	got := FromMetadataReceived(e)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	// The row must not alias the event's slices.
	e.SubscribedSubnets[0] = 63
	if got.SubscribedSubnets[0] != 3 {
		t.Error("row aliases the event's subscribed_subnets")
	}
}

// FuzzWriteMetadata writes a row built from arbitrary text and numbers and
// checks it lands inside the archive layout and reads back unchanged.
func FuzzWriteMetadata(f *testing.F) {
	f.Add("mainnet", "enr:-abc", "Lighthouse/v5", int64(1741082400000), int64(3), uint64(5))
	f.Add("../..", "", "\x00\xff", int64(-1), int64(-64), uint64(math.MaxUint64))
	f.Add("a/b\\c", "é", strings.Repeat("x", 300), int64(math.MaxInt64), int64(0), uint64(0))
	f.Add("", "x", "y", int64(math.MinInt64), int64(math.MaxInt64), uint64(1)<<63)
	f.Fuzz(func(t *testing.T, network, enr, client string, ts, subnet int64, epoch uint64) {
		root := t.TempDir()
		w, err := archive.Open(archive.Options{Root: root})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		_, meta, _, err := RegisterTables(w)
		if err != nil {
			t.Fatal(err)
		}
		row := FromMetadataReceived(&events.MetadataReceived{
			Network: network, ENR: enr, ClientVersion: client, Timestamp: ts, Epoch: epoch,
			SubscribedSubnets: []int64{subnet},
		})
		if err := meta.Write([]MetadataRow{row}); err != nil {
			t.Fatal(err)
		}
		if err := w.Sync(); err != nil {
			t.Fatal(err)
		}
		files := w.Files()
		if len(files) != 1 {
			t.Fatalf("files %v", files)
		}
		base := filepath.Join(root, "parquet", "ethereum") + string(filepath.Separator)
		if !strings.HasPrefix(files[0], base) || strings.Count(strings.TrimPrefix(files[0], base), string(filepath.Separator)) != 4 {
			t.Fatalf("file outside the layout: %s", files[0])
		}
		rows, err := parquet.ReadFile[MetadataRow](files[0])
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || !reflect.DeepEqual(normalizeMeta(rows)[0], normalizeMeta([]MetadataRow{row})[0]) {
			t.Fatalf("read back %+v, wrote %+v", rows, row)
		}
	})
}

// Events of a network the consumer was not given are kept (with
// mainnet's subnet parameters), and the log says once what to give.
func TestUnknownNetworkWarnedOnce(t *testing.T) {
	var buf strings.Builder
	s := &Sink{cfg: Config{Log: slog.New(slog.NewTextHandler(&buf, nil))}}
	e := &events.MetadataReceived{V: 1, Network: "holesky", ID: "cd", Epoch: 10, SubscribedSubnets: []int64{1, 2, 3, 4, 5}}
	for range 3 {
		s.validatorRow(e, FromMetadataReceived(e))
	}
	if n := strings.Count(buf.String(), "give the consumer --eth holesky"); n != 1 {
		t.Fatalf("%d warnings for the unknown network, want 1:\n%s", n, buf.String())
	}
}
