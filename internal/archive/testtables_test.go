package archive

import (
	"sync"
	"testing"
	"time"
)

// The writer's tests archive tables shaped like the Ethereum domain's (the
// widest rows valtrack writes, with lists and optional columns), registered
// the way a domain does. These are copies of its row types: the writer
// cannot import a domain, even in tests.

// Table names, also the directory names under <root>/parquet/ethereum/<network>/.
const (
	TableDiscovery         = "discovery_events"
	TableMetadata          = "metadata_events"
	TableValidatorMetadata = "validator_metadata_events"
)

// DiscoveryRow is one row of discovery_events: a node found by discv5.
type DiscoveryRow struct {
	ENR             string `parquet:"enr"`
	ID              string `parquet:"id"`
	IP              string `parquet:"ip"`
	Port            int64  `parquet:"port"`
	CrawlerID       string `parquet:"crawler_id"`
	CrawlerLocation string `parquet:"crawler_location"`
	Timestamp       int64  `parquet:"timestamp,timestamp(millisecond)"` // unix ms, UTC
	PeerID          string `parquet:"peer_id"`
	ENRSeq          int64  `parquet:"enr_seq"`
	TCP             int64  `parquet:"tcp"`
	UDP             int64  `parquet:"udp"`
	QUIC            int64  `parquet:"quic"`
	IP6             string `parquet:"ip6"`
	ForkDigest      string `parquet:"fork_digest"`
	NextForkVersion string `parquet:"next_fork_version"`
	NextForkEpoch   int64  `parquet:"next_fork_epoch"`
	Attnets         string `parquet:"attnets"`
	Syncnets        string `parquet:"syncnets"`
	CGC             *int64 `parquet:"cgc,optional"`
	SameNetwork     bool   `parquet:"same_network"`
	Network         string `parquet:"network"`
	TCP6            int64  `parquet:"tcp6"`
	UDP6            int64  `parquet:"udp6"`
	QUIC6           int64  `parquet:"quic6"`
	NFD             string `parquet:"nfd"`
	Multiaddr       string `parquet:"multiaddr"`
	MsgID           string `parquet:"msg_id"` // bus message id of the event; see Writer.Contains
}

// MetadataRow is one row of metadata_events: a completed handshake. Valtrack's
// "metadata" struct column is flattened into seq_number, attnets, syncnets and
// custody_group_count.
type MetadataRow struct {
	ENR                 string  `parquet:"enr"`
	ID                  string  `parquet:"id"`
	Multiaddr           string  `parquet:"multiaddr"`
	Epoch               int64   `parquet:"epoch"`
	SeqNumber           int64   `parquet:"seq_number"`
	Attnets             string  `parquet:"attnets"`
	Syncnets            string  `parquet:"syncnets"`
	CustodyGroupCount   *int64  `parquet:"custody_group_count,optional"`
	SubscribedSubnets   []int64 `parquet:"subscribed_subnets,list"`
	ClientVersion       string  `parquet:"client_version"`
	CrawlerID           string  `parquet:"crawler_id"`
	CrawlerLocation     string  `parquet:"crawler_location"`
	Timestamp           int64   `parquet:"timestamp,timestamp(millisecond)"` // unix ms, UTC
	PeerID              string  `parquet:"peer_id"`
	IP                  string  `parquet:"ip"`
	Port                int64   `parquet:"port"`
	Direction           string  `parquet:"direction"`
	HeadSlot            int64   `parquet:"head_slot"`
	ForkDigest          string  `parquet:"fork_digest"`
	FinalizedEpoch      int64   `parquet:"finalized_epoch"`
	ClientName          string  `parquet:"client_name"`
	Network             string  `parquet:"network"`
	SubscribedSyncnets  []int64 `parquet:"subscribed_syncnets,list"`
	ClientVersionNumber string  `parquet:"client_version_number"`
	ClientOS            string  `parquet:"client_os"`
	MetadataVersion     int32   `parquet:"metadata_version"`
	MsgID               string  `parquet:"msg_id"` // bus message id of the event
}

// ValidatorMetadataRow is one row of validator_metadata_events: a metadata
// observation of a peer subscribed to more subnets than its long-lived ones,
// which Valtrack reads as hosting validators. The caller builds it.
type ValidatorMetadataRow struct {
	ENR               string  `parquet:"enr"`
	ID                string  `parquet:"id"`
	Multiaddr         string  `parquet:"multiaddr"`
	Epoch             int64   `parquet:"epoch"`
	SeqNumber         int64   `parquet:"seq_number"`
	Attnets           string  `parquet:"attnets"`
	Syncnets          string  `parquet:"syncnets"`
	LongLivedSubnets  []int64 `parquet:"long_lived_subnets,list"`
	SubscribedSubnets []int64 `parquet:"subscribed_subnets,list"`
	ClientVersion     string  `parquet:"client_version"`
	CrawlerID         string  `parquet:"crawler_id"`
	CrawlerLocation   string  `parquet:"crawler_location"`
	Timestamp         int64   `parquet:"timestamp,timestamp(millisecond)"` // unix ms, UTC
	PeerID            string  `parquet:"peer_id"`
	Network           string  `parquet:"network"`
	ShortLivedSubnets []int64 `parquet:"short_lived_subnets,list"`
	MsgID             string  `parquet:"msg_id"` // id of the metadata event it derives from
}

// Approximate in-memory sizes, used for the MaxBytes rotation limit. They
// over-count a little (fixed part per row) rather than under-count.
const rowOverhead = 128

func (r *DiscoveryRow) approxSize() int64 {
	return rowOverhead + int64(len(r.ENR)+len(r.ID)+len(r.IP)+len(r.CrawlerID)+len(r.CrawlerLocation)+
		len(r.PeerID)+len(r.IP6)+len(r.ForkDigest)+len(r.NextForkVersion)+len(r.Attnets)+len(r.Syncnets)+
		len(r.Network)+len(r.NFD)+len(r.Multiaddr)+len(r.MsgID))
}

func (r *MetadataRow) approxSize() int64 {
	return rowOverhead + int64(len(r.ENR)+len(r.ID)+len(r.Multiaddr)+len(r.Attnets)+len(r.Syncnets)+
		len(r.ClientVersion)+len(r.CrawlerID)+len(r.CrawlerLocation)+len(r.PeerID)+len(r.IP)+
		len(r.Direction)+len(r.ForkDigest)+len(r.ClientName)+len(r.Network)+len(r.ClientVersionNumber)+
		len(r.ClientOS)+len(r.MsgID)) + 8*int64(len(r.SubscribedSubnets)+len(r.SubscribedSyncnets))
}

func (r *ValidatorMetadataRow) approxSize() int64 {
	return rowOverhead + int64(len(r.ENR)+len(r.ID)+len(r.Multiaddr)+len(r.Attnets)+len(r.Syncnets)+
		len(r.ClientVersion)+len(r.CrawlerID)+len(r.CrawlerLocation)+len(r.PeerID)+len(r.Network)+len(r.MsgID)) +
		8*int64(len(r.LongLivedSubnets)+len(r.SubscribedSubnets)+len(r.ShortLivedSubnets))
}

// testTables are the three tables as one domain registers them.
type testTables struct {
	disc *Table[DiscoveryRow]
	meta *Table[MetadataRow]
	val  *Table[ValidatorMetadataRow]
}

var registered sync.Map // *Writer → *testTables

func registerTestTables(w *Writer) error {
	info := func(network string, ts int64, size int64, id string) RowInfo {
		return RowInfo{Network: network, Time: ts, Size: size, MsgID: id}
	}
	disc, err := Register(w, "ethereum", TableDiscovery, TableOptions{}, func(r *DiscoveryRow) RowInfo {
		return info(r.Network, r.Timestamp, r.approxSize(), r.MsgID)
	})
	if err != nil {
		return err
	}
	meta, err := Register(w, "ethereum", TableMetadata, TableOptions{}, func(r *MetadataRow) RowInfo {
		return info(r.Network, r.Timestamp, r.approxSize(), r.MsgID)
	})
	if err != nil {
		return err
	}
	val, err := Register(w, "ethereum", TableValidatorMetadata, TableOptions{Derived: true}, func(r *ValidatorMetadataRow) RowInfo {
		return info(r.Network, r.Timestamp, r.approxSize(), r.MsgID)
	})
	if err != nil {
		return err
	}
	registered.Store(w, &testTables{disc: disc, meta: meta, val: val})
	return nil
}

// openWith is Open plus the test tables.
func openWith(o Options) (*Writer, error) {
	w, err := Open(o)
	if err != nil {
		return nil, err
	}
	if err := registerTestTables(w); err != nil {
		return nil, err
	}
	return w, nil
}

func tablesOf(w *Writer) *testTables {
	t, ok := registered.Load(w)
	if !ok {
		panic("archive test: writer opened without openWith")
	}
	return t.(*testTables)
}

func (w *Writer) WriteDiscovery(rows []DiscoveryRow) error { return tablesOf(w).disc.Write(rows) }
func (w *Writer) WriteMetadata(rows []MetadataRow) error   { return tablesOf(w).meta.Write(rows) }
func (w *Writer) WriteValidatorMetadata(rows []ValidatorMetadataRow) error {
	return tablesOf(w).val.Write(rows)
}

// Compact compacts root's test tables with a writer of its own.
func Compact(root string, before time.Time) error {
	w, err := openWith(Options{Root: root})
	if err != nil {
		return err
	}
	defer w.Close()
	return w.Compact(before)
}

var _ = testing.Short
