package sink

import (
	"math"

	"github.com/valtrack/valtrack/internal/ethereum/events"
)

// FromPeerDiscovered converts a discovery event to its discovery_events row.
// MsgID is left empty: the id is the bus message's, which the caller sets.
func FromPeerDiscovered(e *events.PeerDiscovered) DiscoveryRow {
	return DiscoveryRow{
		ENR:             e.ENR,
		ID:              e.ID,
		IP:              e.IP,
		Port:            int64(e.Port),
		CrawlerID:       e.Sentry.ID,
		CrawlerLocation: e.Sentry.Location,
		Timestamp:       e.Timestamp,
		PeerID:          e.PeerID,
		ENRSeq:          sat(e.ENRSeq),
		TCP:             int64(e.TCP),
		UDP:             int64(e.UDP),
		QUIC:            int64(e.QUIC),
		IP6:             e.IP6,
		ForkDigest:      e.ForkDigest,
		NextForkVersion: e.NextForkVersion,
		NextForkEpoch:   sat(e.NextForkEpoch),
		Attnets:         e.Attnets,
		Syncnets:        e.Syncnets,
		CGC:             satPtr(e.CGC),
		SameNetwork:     e.SameNetwork,
		Network:         e.Network,
		TCP6:            int64(e.TCP6),
		UDP6:            int64(e.UDP6),
		QUIC6:           int64(e.QUIC6),
		NFD:             e.NFD,
		Multiaddr:       e.Multiaddr,
	}
}

// FromMetadataReceived converts a handshake event to its metadata_events row.
// MsgID is left empty, as in FromPeerDiscovered.
func FromMetadataReceived(e *events.MetadataReceived) MetadataRow {
	return MetadataRow{
		ENR:                 e.ENR,
		ID:                  e.ID,
		Multiaddr:           e.Multiaddr,
		Epoch:               sat(e.Epoch),
		SeqNumber:           sat(e.MetaData.SeqNumber),
		Attnets:             e.MetaData.Attnets,
		Syncnets:            e.MetaData.Syncnets,
		CustodyGroupCount:   satPtr(e.MetaData.CGC),
		SubscribedSubnets:   clone(e.SubscribedSubnets),
		ClientVersion:       e.ClientVersion,
		CrawlerID:           e.Sentry.ID,
		CrawlerLocation:     e.Sentry.Location,
		Timestamp:           e.Timestamp,
		PeerID:              e.PeerID,
		IP:                  e.IP,
		Port:                int64(e.Port),
		Direction:           e.Direction,
		HeadSlot:            sat(e.HeadSlot),
		ForkDigest:          e.ForkDigest,
		FinalizedEpoch:      sat(e.Status.FinalizedEpoch),
		ClientName:          e.ClientName,
		Network:             e.Network,
		SubscribedSyncnets:  clone(e.SubscribedSyncnets),
		ClientVersionNumber: e.ClientVersionNum,
		ClientOS:            e.ClientOS,
		MetadataVersion:     int32(e.MetaData.Version),
	}
}

// sat converts an unsigned protocol value to int64, saturating: see rows.go.
func sat(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}

func satPtr(v *uint64) *int64 {
	if v == nil {
		return nil
	}
	s := sat(*v)
	return &s
}

// clone copies a slice so the row does not alias the event the caller may reuse.
func clone(s []int64) []int64 {
	if len(s) == 0 {
		return nil
	}
	return append([]int64(nil), s...)
}
