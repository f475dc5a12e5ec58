// Package reqresp speaks the consensus-layer Req/Resp domain (Status,
// MetaData, Ping, Goodbye) over libp2p streams with the ssz_snappy encoding of
// consensus-specs specs/phase0/p2p-interface.md, altair and fulu.
//
// Everything read from a stream is treated as hostile: every length is checked
// against the message type's SSZ size bounds before anything is read, the
// compressed bytes read are bounded, and every read and write carries a
// deadline so a stalling peer costs at most the configured timeout.
package reqresp

import (
	"log/slog"
	"time"
)

// Protocol IDs of the messages this package speaks.
const (
	ProtocolStatusV1   = "/eth2/beacon_chain/req/status/1/ssz_snappy"
	ProtocolStatusV2   = "/eth2/beacon_chain/req/status/2/ssz_snappy" // fulu: adds earliest_available_slot
	ProtocolMetaDataV2 = "/eth2/beacon_chain/req/metadata/2/ssz_snappy"
	ProtocolMetaDataV3 = "/eth2/beacon_chain/req/metadata/3/ssz_snappy" // fulu: adds custody_group_count
	ProtocolPing       = "/eth2/beacon_chain/req/ping/1/ssz_snappy"
	ProtocolGoodbye    = "/eth2/beacon_chain/req/goodbye/1/ssz_snappy"
)

// Response codes (phase0 p2p-interface, "Responding side").
const (
	CodeSuccess             byte = 0
	CodeInvalidRequest      byte = 1
	CodeServerError         byte = 2
	CodeResourceUnavailable byte = 3
)

// Goodbye reason codes. 1-3 are from phase0 p2p-interface; the codes from 128
// up are client specific but shared by Lighthouse, Prysm, Teku and Nimbus.
const (
	GoodbyeClientShutdown    uint64 = 1
	GoodbyeIrrelevantNetwork uint64 = 2
	GoodbyeFault             uint64 = 3
	GoodbyeUnableToVerify    uint64 = 128
	GoodbyeTooManyPeers      uint64 = 129
	GoodbyePeerScoreTooLow   uint64 = 250
	GoodbyeBanned            uint64 = 251
	GoodbyeBannedIP          uint64 = 252
)

// Message sizes. Every message here is fixed-size, so min equals max; the
// ErrorMessage is List[byte, 256].
const (
	StatusV1Size      = 84
	StatusV2Size      = 92
	MetaDataV1Size    = 16
	MetaDataV2Size    = 17
	MetaDataV3Size    = 25
	Uint64Size        = 8
	MaxErrorMessage   = 256
	maxUvarintLen     = 10 // a uint64 never needs more (p2p-interface, "SSZ-snappy encoding strategy")
	snappyMaxBlockLen = 65536
)

// Default timeouts. TTFB_TIMEOUT (5 s) and RESP_TIMEOUT (10 s) come from
// phase0 p2p-interface "Configuration"; consensus-specs PR 3767 deprecated them
// and PR 4532 dropped them from the config files, but clients still bound a
// response by 10 s, so they remain sensible defaults.
const (
	DefaultTTFBTimeout          = 5 * time.Second
	DefaultRespTimeout          = 10 * time.Second
	DefaultMaxConcurrentPerPeer = 4
)

// Options tunes timeouts and limits; zero fields take the defaults.
type Options struct {
	// TTFBTimeout bounds the wait for the first byte of a response.
	TTFBTimeout time.Duration
	// RespTimeout bounds writing a request, and reading the rest of a
	// response (or, on the server, reading a request and writing the answer).
	RespTimeout time.Duration
	// MaxConcurrentPerPeer caps inbound streams being served per peer; excess
	// streams are reset.
	MaxConcurrentPerPeer int
	// Logger receives debug lines about misbehaving peers; nil discards them.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.TTFBTimeout <= 0 {
		o.TTFBTimeout = DefaultTTFBTimeout
	}
	if o.RespTimeout <= 0 {
		o.RespTimeout = DefaultRespTimeout
	}
	if o.MaxConcurrentPerPeer <= 0 {
		o.MaxConcurrentPerPeer = DefaultMaxConcurrentPerPeer
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
