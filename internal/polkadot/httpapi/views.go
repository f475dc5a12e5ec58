package httpapi

import (
	"strings"

	"github.com/valtrack/valtrack/internal/polkadot/events"
	"github.com/valtrack/valtrack/internal/polkadot/program"
	"github.com/valtrack/valtrack/internal/polkadot/state"
)

// identityView is 1KV's candidate identity {name, address, verified,
// display, judgements}: address is the account holding the identity (the
// parent's for a sub-identity).
type identityView struct {
	Name       string   `json:"name"`
	Address    string   `json:"address"`
	Verified   bool     `json:"verified"`
	Display    string   `json:"display"`
	Judgements []string `json:"judgements"`
	Sub        string   `json:"sub,omitempty"`
	Parent     string   `json:"parent,omitempty"`
}

// noSource is a field of 1KV's shapes that valtrack has no source for
// (1KV's own slot ids and KYC records, its nodes' hardware reports,
// session.queuedKeys, a bond change 1KV's UI asks for): always JSON null,
// so a client reads "no data", never a zero or "" passed off as a value.
// A type of its own, not a nil pointer, so that nothing can fill it.
type noSource struct{}

func (noSource) MarshalJSON() ([]byte, error) { return []byte("null"), nil }

// candidateView is 1KV's candidate view (its field names, where valtrack
// has the data; null where it has none) with valtrack's additions:
// status, telemetryMatch, updated and the raw planck bond.
type candidateView struct {
	Name               string              `json:"name"`
	Stash              string              `json:"stash"`
	KusamaStash        string              `json:"kusamaStash,omitempty"`
	DiscoveredAt       int64               `json:"discoveredAt"`
	NominatedAt        uint32              `json:"nominatedAt"`
	OfflineSince       int64               `json:"offlineSince"`
	OfflineAccumulated int64               `json:"offlineAccumulated"`
	OnlineSince        int64               `json:"onlineSince"`
	Rank               int                 `json:"rank"`
	Faults             int                 `json:"faults"`
	InvalidityReasons  string              `json:"invalidityReasons"`
	UnclaimedEras      []uint32            `json:"unclaimedEras"`
	Inclusion          float64             `json:"inclusion"`
	SpanInclusion      float64             `json:"spanInclusion"`
	Commission         *float64            `json:"commission"` // percent, null unknown
	Identity           *identityView       `json:"identity"`
	Active             bool                `json:"active"`
	Bonded             *float64            `json:"bonded"` // tokens, null unknown
	BondedPlanck       events.Amount       `json:"bondedPlanck"`
	Valid              bool                `json:"valid"`
	Validity           []program.Check     `json:"validity"`
	Score              *scoreView          `json:"score"`
	Total              float64             `json:"total"`
	Location           string              `json:"location"`
	Provider           string              `json:"provider"`
	Region             string              `json:"region"`
	Country            string              `json:"country"`
	Version            string              `json:"version"`
	Implementation     string              `json:"implementation"`
	NextKeys           map[string]string   `json:"nextKeys"`
	Controller         string              `json:"controller"`
	RewardDestination  string              `json:"rewardDestination"`
	Nominations        *nominationsSummary `json:"nominations,omitempty"`
	Status             program.Status      `json:"status"`
	TelemetryMatch     program.Match       `json:"telemetryMatch"`
	Updated            int64               `json:"updated"`
	// 1KV's fields valtrack has no source for.
	SlotID     noSource `json:"slotId"`
	KYC        noSource `json:"kyc"`
	CPU        noSource `json:"cpu"`
	Memory     noSource `json:"memory"`
	CoreCount  noSource `json:"coreCount"`
	VM         noSource `json:"vm"`
	Matrix     noSource `json:"matrix"`
	QueuedKeys noSource `json:"queuedKeys"`
}

// nominationsSummary is 1KV's nominations {…} of a candidate.
type nominationsSummary struct {
	TotalStake         float64 `json:"totalStake"`
	InactiveStake      float64 `json:"inactiveStake"`
	ActiveNominators   int     `json:"activeNominators"`
	InactiveNominators int     `json:"inactiveNominators"`
}

// invalidityReasons joins the details of the checks whose effective
// verdict is invalid, as 1KV's invalidityReasons string does.
func invalidityReasons(checks []program.Check) string {
	var rs []string
	for _, c := range checks {
		if !c.Valid && c.Details != "" {
			rs = append(rs, c.Details)
		}
	}
	return strings.Join(rs, " ")
}

// firstInvalid is the first invalid check's reason, "" none.
func firstInvalid(checks []program.Check) string {
	for _, c := range checks {
		if !c.Valid {
			if c.Details != "" {
				return c.Details
			}
			return c.Type
		}
	}
	return ""
}

func sumTokens(bs []events.Backer, decimals int) float64 {
	var t float64
	for _, b := range bs {
		t += b.Value.Tokens(decimals)
	}
	return t
}

// newCandidateView builds the view; decimals < 0: the chain's decimals are
// unknown (token amounts are then null).
func newCandidateView(c state.Candidate, decimals int) candidateView {
	v := candidateView{
		Name: c.Entry.Name, Stash: c.Entry.Stash, KusamaStash: c.Entry.KusamaStash, NominatedAt: c.NominatedAt,
		Rank: c.Rank, Faults: c.Faults, InvalidityReasons: invalidityReasons(c.Validity.Checks), UnclaimedEras: []uint32{},
		Inclusion: c.Inclusion, SpanInclusion: c.SpanInclusion, Valid: c.Validity.Valid(), Validity: c.Validity.Checks,
		Score: newScoreView(c.Score), Status: c.Validity.Status, TelemetryMatch: c.TelemetryMatch, Updated: c.Updated,
	}
	if v.Status == "" {
		v.Status = program.Unknown
	}
	if v.Validity == nil {
		v.Validity = []program.Check{}
	}
	if c.Score != nil {
		v.Total = c.Score.Total
	}
	if x := c.Validator; x != nil {
		if x.Commission.Known {
			pct := float64(x.Commission.Value) / 1e7
			v.Commission = &pct
		}
		if x.Identity.Known && x.Identity.Value != nil {
			id := x.Identity.Value
			v.Identity = &identityView{Name: strings.TrimSpace(id.Display), Address: c.Entry.Stash, Verified: id.Verified(), Display: id.Display,
				Judgements: id.Judgements, Sub: id.SubName, Parent: id.Parent}
			if id.Parent != "" {
				v.Identity.Address = id.Parent
			}
			if v.Identity.Judgements == nil {
				v.Identity.Judgements = []string{}
			}
		}
		v.Active = x.Active.Known && x.Active.Value
		if x.SelfStake.Known {
			v.BondedPlanck = x.SelfStake.Value
			if decimals >= 0 {
				b := x.SelfStake.Value.Tokens(decimals)
				v.Bonded = &b
			}
		}
		if x.UnclaimedEras.Value != nil {
			v.UnclaimedEras = x.UnclaimedEras.Value
		}
		v.NextKeys = x.NextKeys.Value
		v.Controller, v.RewardDestination = x.Controller.Value, x.Payee.Value
		if decimals >= 0 && (x.ActiveNominators.Known || x.InactiveNominators.Known) {
			v.Nominations = &nominationsSummary{TotalStake: sumTokens(x.ActiveNominators.Value, decimals),
				InactiveStake: sumTokens(x.InactiveNominators.Value, decimals), ActiveNominators: len(x.ActiveNominators.Value),
				InactiveNominators: len(x.InactiveNominators.Value)}
		}
	}
	if n := c.Telemetry; n != nil {
		v.DiscoveredAt, v.OfflineSince, v.OnlineSince, v.OfflineAccumulated = n.DiscoveredAt, n.OfflineSince, n.OnlineSince, n.OfflineWeek
		v.Version, v.Implementation = n.Version, n.Implementation
		if l := n.Location; l != nil {
			v.Location, v.Provider, v.Region, v.Country = l.City, l.Provider, l.Region, l.Country
		}
	}
	return v
}
