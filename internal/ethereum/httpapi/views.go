package httpapi

import (
	"math"
	"strconv"
	"time"

	"github.com/valtrack/valtrack/internal/ethereum/state"
)

// The public view hides what locates a node on the network (its ENR,
// multiaddr, IP and port: each is enough to reach or attack it) and coarsens
// its coordinates to 0.1° (about 11 km); the admin view, for a valid API key,
// shows everything.

// roundCoord rounds to 0.1°, the precision anonymous clients get.
func roundCoord(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return math.Round(x*10) / 10
}

// validatorRow is one row of GET /validators, field for field what
// Valtrack's /validators returns (its asn is a string too).
type validatorRow struct {
	PeerID                 string  `json:"peer_id"`
	ENR                    string  `json:"enr"`
	Multiaddr              string  `json:"multiaddr"`
	IP                     string  `json:"ip"`
	Port                   int     `json:"port"`
	LastSeen               int64   `json:"last_seen"`
	LastEpoch              uint64  `json:"last_epoch"`
	ClientVersion          string  `json:"client_version"`
	ValidatorCount         int     `json:"validator_count"`
	ValidatorCountAccuracy float64 `json:"validator_count_accuracy"`
	City                   string  `json:"city"`
	Region                 string  `json:"region"`
	Country                string  `json:"country"`
	Latitude               float64 `json:"latitude"`
	Longitude              float64 `json:"longitude"`
	ASN                    string  `json:"asn"`
	ASNOrganization        string  `json:"asn_organization"`
	ASNType                string  `json:"asn_type"`
}

func newValidatorRow(p *state.Peer, admin bool) validatorRow {
	r := validatorRow{
		PeerID:          p.PeerID,
		LastSeen:        p.LastSeen.Unix(),
		LastEpoch:       p.LastEpoch,
		ClientVersion:   p.ClientVersion,
		City:            p.Geo.City,
		Region:          p.Geo.Region,
		Country:         p.Geo.Country,
		Latitude:        roundCoord(p.Geo.Latitude),
		Longitude:       roundCoord(p.Geo.Longitude),
		ASNOrganization: p.Geo.ASOrganization,
		ASNType:         p.Geo.Class,
	}
	if p.Geo.ASN != 0 {
		r.ASN = strconv.FormatUint(uint64(p.Geo.ASN), 10)
	}
	if p.Estimate != nil {
		r.ValidatorCount = p.Estimate.Validators
		r.ValidatorCountAccuracy = p.Estimate.Confidence
	}
	if admin {
		r.ENR, r.Multiaddr, r.IP, r.Port = p.ENR, p.Multiaddr, p.IP, p.Port
		r.Latitude, r.Longitude = p.Geo.Latitude, p.Geo.Longitude
	}
	return r
}

type geoView struct {
	Country        string  `json:"country"`
	CountryCode    string  `json:"country_code"`
	Region         string  `json:"region"`
	City           string  `json:"city"`
	Latitude       float64 `json:"latitude"`
	Longitude      float64 `json:"longitude"`
	ASN            uint32  `json:"asn"`
	ASOrganization string  `json:"as_organization"`
	HostingClass   string  `json:"hosting_class"`
}

type estimateView struct {
	Validators int       `json:"validators"`
	Low        int       `json:"low"`
	High       int       `json:"high"`
	Confidence float64   `json:"confidence"`
	Method     string    `json:"method"`
	Heuristic  int       `json:"heuristic"`
	Epochs     int       `json:"epochs"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// peerView is a peer in the /api/v1 responses.
type peerView struct {
	Network            string        `json:"network"`
	PeerID             string        `json:"peer_id"`
	NodeID             string        `json:"node_id"`
	ENR                string        `json:"enr"`
	Multiaddr          string        `json:"multiaddr"`
	IP                 string        `json:"ip"`
	Port               int           `json:"port"`
	Direction          string        `json:"direction"`
	ForkDigest         string        `json:"fork_digest"`
	HeadSlot           uint64        `json:"head_slot"`
	LastEpoch          uint64        `json:"last_epoch"`
	Seq                uint64        `json:"seq"`
	Attnets            string        `json:"attnets"`
	Syncnets           string        `json:"syncnets"`
	CGC                *uint64       `json:"cgc"`
	SubscribedSubnets  []int64       `json:"subscribed_subnets"`
	SubscribedSyncnets []int64       `json:"subscribed_syncnets"`
	ClientVersion      string        `json:"client_version"`
	ClientName         string        `json:"client_name"`
	ClientVersionNum   string        `json:"client_version_number"`
	SameNetwork        bool          `json:"same_network"`
	Handshaken         bool          `json:"handshaken"`
	FirstSeen          time.Time     `json:"first_seen"`
	LastSeen           time.Time     `json:"last_seen"`
	Geo                geoView       `json:"geo"`
	Estimate           *estimateView `json:"estimate"`
}

func nonNil(xs []int64) []int64 {
	if xs == nil {
		return []int64{}
	}
	return xs
}

func newPeerView(p *state.Peer, admin bool) peerView {
	v := peerView{
		Network: p.Network, PeerID: p.PeerID, NodeID: p.NodeID,
		Direction: p.Direction, ForkDigest: p.ForkDigest, HeadSlot: p.HeadSlot,
		LastEpoch: p.LastEpoch, Seq: p.Seq, Attnets: p.Attnets, Syncnets: p.Syncnets,
		CGC: p.CGC, SubscribedSubnets: nonNil(p.SubscribedSubnets),
		SubscribedSyncnets: nonNil(p.SubscribedSyncnets), ClientVersion: p.ClientVersion,
		ClientName: p.ClientName, ClientVersionNum: p.ClientVersionNum,
		SameNetwork: p.SameNetwork, Handshaken: p.Handshaken,
		FirstSeen: p.FirstSeen.UTC(), LastSeen: p.LastSeen.UTC(),
		Geo: geoView{
			Country: p.Geo.Country, CountryCode: p.Geo.CountryCode, Region: p.Geo.Region,
			City: p.Geo.City, Latitude: roundCoord(p.Geo.Latitude),
			Longitude: roundCoord(p.Geo.Longitude), ASN: p.Geo.ASN,
			ASOrganization: p.Geo.ASOrganization, HostingClass: p.Geo.Class,
		},
	}
	if e := p.Estimate; e != nil {
		v.Estimate = &estimateView{Validators: e.Validators, Low: e.Low, High: e.High,
			Confidence: e.Confidence, Method: e.Method, Heuristic: e.Heuristic,
			Epochs: e.Epochs, UpdatedAt: e.UpdatedAt.UTC()}
	}
	if admin {
		v.ENR, v.Multiaddr, v.IP, v.Port = p.ENR, p.Multiaddr, p.IP, p.Port
		v.Geo.Latitude, v.Geo.Longitude = p.Geo.Latitude, p.Geo.Longitude
	}
	return v
}

type peersResponse struct {
	Peers      []peerView `json:"peers"`
	NextCursor string     `json:"next_cursor"`
}

// observationView is one handshake in a peer's history.
type observationView struct {
	Time               time.Time `json:"time"`
	ENR                string    `json:"enr"`
	Multiaddr          string    `json:"multiaddr"`
	IP                 string    `json:"ip"`
	Port               int       `json:"port"`
	Direction          string    `json:"direction"`
	Epoch              uint64    `json:"epoch"`
	HeadSlot           uint64    `json:"head_slot"`
	ForkDigest         string    `json:"fork_digest"`
	Seq                uint64    `json:"seq"`
	Attnets            string    `json:"attnets"`
	Syncnets           string    `json:"syncnets"`
	CGC                *uint64   `json:"cgc"`
	SubscribedSubnets  []int64   `json:"subscribed_subnets"`
	SubscribedSyncnets []int64   `json:"subscribed_syncnets"`
	ClientVersion      string    `json:"client_version"`
	SentryID           string    `json:"sentry_id"`
}

func newObservationView(o *state.Observation, admin bool) observationView {
	v := observationView{
		Time: o.Time.UTC(), Direction: o.Direction, Epoch: o.Epoch, HeadSlot: o.HeadSlot,
		ForkDigest: o.ForkDigest, Seq: o.Seq, Attnets: o.Attnets, Syncnets: o.Syncnets,
		CGC: o.CGC, SubscribedSubnets: nonNil(o.SubscribedSubnets),
		SubscribedSyncnets: nonNil(o.SubscribedSyncnets), ClientVersion: o.ClientVersion,
		SentryID: o.SentryID,
	}
	if admin {
		v.ENR, v.Multiaddr, v.IP, v.Port = o.ENR, o.Multiaddr, o.IP, o.Port
	}
	return v
}

type subscriptionView struct {
	Time       time.Time `json:"time"`
	Kind       string    `json:"kind"`
	Subnet     int       `json:"subnet"`
	Subscribed bool      `json:"subscribed"`
	Epoch      uint64    `json:"epoch"`
	SentryID   string    `json:"sentry_id"`
}

type peerDetailResponse struct {
	peerView
	History       []observationView  `json:"history"`
	Subscriptions []subscriptionView `json:"subscriptions"`
}

func newPeerDetail(d *state.PeerDetail, admin bool) peerDetailResponse {
	r := peerDetailResponse{peerView: newPeerView(&d.Peer, admin),
		History: make([]observationView, 0, len(d.History)), Subscriptions: make([]subscriptionView, 0, len(d.Subscriptions))}
	for i := range d.History {
		r.History = append(r.History, newObservationView(&d.History[i], admin))
	}
	for _, s := range d.Subscriptions {
		r.Subscriptions = append(r.Subscriptions, subscriptionView{Time: s.Time.UTC(), Kind: s.Kind,
			Subnet: s.Subnet, Subscribed: s.Subscribed, Epoch: s.Epoch, SentryID: s.SentryID})
	}
	return r
}

type groupView struct {
	Key        string `json:"key"`
	Nodes      int    `json:"nodes"`
	Validators int    `json:"validators"`
}

type statsResponse struct {
	Network             string      `json:"network"`
	Window              string      `json:"window"`
	Since               time.Time   `json:"since"`
	Nodes               int         `json:"nodes"`
	EstimatedValidators int         `json:"estimated_validators"`
	ByClient            []groupView `json:"by_client"`
	ByCountry           []groupView `json:"by_country"`
	ByASOrganization    []groupView `json:"by_as_organization"`
	ByHostingClass      []groupView `json:"by_hosting_class"`
	SubnetCoverage      []int       `json:"subnet_coverage"`
}

// attestationSubnets is ATTESTATION_SUBNET_COUNT of the consensus specs
// (phase0 p2p-interface).
const attestationSubnets = 64

func groups(gs []state.Group) []groupView {
	out := make([]groupView, 0, len(gs))
	for _, g := range gs {
		out = append(out, groupView{Key: g.Key, Nodes: g.Nodes, Validators: g.Validators})
	}
	return out
}

func newStats(st *state.Stats, window time.Duration, since time.Time) statsResponse {
	cov := make([]int, attestationSubnets)
	copy(cov, st.SubnetCoverage)
	return statsResponse{Network: st.Network, Window: window.String(), Since: since.UTC(),
		Nodes: st.Nodes, EstimatedValidators: st.EstimatedValidators,
		ByClient: groups(st.ByClient), ByCountry: groups(st.ByCountry),
		ByASOrganization: groups(st.ByASOrganization), ByHostingClass: groups(st.ByHostingClass),
		SubnetCoverage: cov}
}
