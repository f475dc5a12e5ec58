package sink

// Row types of the three tables. Column names and meaning follow Valtrack's
// discovery_events, metadata_events and validator_metadata_events; valtrack's
// extra columns come after Valtrack's. Only plain types are used so DuckDB and
// ClickHouse read the files as they are: strings, int64, bool, lists of int64,
// and timestamp as INT64 milliseconds with the TIMESTAMP(MILLIS) annotation.
//
// Unsigned 64-bit protocol values (sequence numbers, slots, epochs) are stored
// as int64, saturated at math.MaxInt64: FAR_FUTURE_EPOCH (2^64-1) reads as
// 9223372036854775807, still larger than any real epoch.

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
