package httpapi

import (
	"encoding/json"

	"github.com/valtrack/valtrack/internal/polkadot/program"
	"github.com/valtrack/valtrack/internal/polkadot/state"
)

// The 1KV gateway's shapes of scores and score metadata. The field names
// are 1KV's (its ValidatorScore and ValidatorScoreMetadata models): a 1KV
// client reads them; valtrack's own record travels beside them.

// scoreView is 1KV's ValidatorScore — {address, session, updated, total,
// aggregate, randomness} and each component's contribution as a flat field
// named as 1KV names it — with valtrack's score record (name, snapshot_id,
// era, at, components: the explanation of every contribution).
type scoreView struct {
	*state.ScoreRecord
	Updated        int64   `json:"updated"`
	Inclusion      float64 `json:"inclusion"`
	SpanInclusion  float64 `json:"spanInclusion"`
	Discovered     float64 `json:"discovered"`
	Nominated      float64 `json:"nominated"`
	Rank           float64 `json:"rank"`
	Unclaimed      float64 `json:"unclaimed"`
	Bonded         float64 `json:"bonded"`
	Faults         float64 `json:"faults"`
	Offline        float64 `json:"offline"`
	Location       float64 `json:"location"`
	Region         float64 `json:"region"`
	Country        float64 `json:"country"`
	Provider       float64 `json:"provider"`
	NominatorStake float64 `json:"nominatorStake"`
	Client         float64 `json:"client"`
}

// newScoreView flattens r's components into 1KV's fields; nil for nil.
func newScoreView(r *state.ScoreRecord) *scoreView {
	if r == nil {
		return nil
	}
	v := &scoreView{ScoreRecord: r, Updated: r.At}
	fields := map[string]*float64{
		program.CompInclusion: &v.Inclusion, program.CompSpanInclusion: &v.SpanInclusion, program.CompDiscovered: &v.Discovered,
		program.CompNominated: &v.Nominated, program.CompRank: &v.Rank, program.CompUnclaimed: &v.Unclaimed, program.CompBonded: &v.Bonded,
		program.CompFaults: &v.Faults, program.CompOffline: &v.Offline, program.CompLocation: &v.Location, program.CompRegion: &v.Region,
		program.CompCountry: &v.Country, program.CompProvider: &v.Provider, program.CompNominatorStake: &v.NominatorStake, program.CompClient: &v.Client,
	}
	for _, c := range r.Components {
		if f, ok := fields[c.Name]; ok {
			*f = c.Value
		}
	}
	return v
}

// metaKeys are 1KV's score metadata keys per component: the statistics
// ("" none in 1KV) and the weight. 1KV spells the faults weight
// faultWeight.
var metaKeys = []struct{ comp, stats, weight string }{
	{program.CompBonded, "bondedStats", "bondedWeight"},
	{program.CompFaults, "faultsStats", "faultWeight"},
	{program.CompInclusion, "inclusionStats", "inclusionWeight"},
	{program.CompSpanInclusion, "spanInclusionStats", "spanInclusionWeight"},
	{program.CompDiscovered, "discoveredAtStats", "discoveredAtWeight"},
	{program.CompNominated, "nominatedAtStats", "nominatedAtWeight"},
	{program.CompOffline, "offlineStats", "offlineWeight"},
	{program.CompRank, "rankStats", "rankWeight"},
	{program.CompLocation, "locationStats", "locationWeight"},
	{program.CompRegion, "regionStats", "regionWeight"},
	{program.CompCountry, "countryStats", "countryWeight"},
	{program.CompProvider, "providerStats", "providerWeight"},
	{program.CompNominatorStake, "nominatorStakeStats", "nominatorStakeWeight"},
	{program.CompUnclaimed, "", "unclaimedWeight"},
	{program.CompClient, "", "clientWeight"},
}

// oneKVStats is 1KV's Stats: values, absolute min and max, quantiles,
// mean, standard deviation. For the location components 1KV's values are
// {name, numberOfNodes} (its LocationStats); elsewhere numbers.
type oneKVStats struct {
	Values any     `json:"values"`
	Min    float64 `json:"absoluteMin"`
	Max    float64 `json:"absoluteMax"`
	Q10    float64 `json:"q10"`
	Q25    float64 `json:"q25"`
	Q50    float64 `json:"q50"`
	Q75    float64 `json:"q75"`
	Q90    float64 `json:"q90"`
	Mean   float64 `json:"mean"`
	Std    float64 `json:"standardDeviation"`
}

func isLocationComp(name string) bool {
	switch name {
	case program.CompLocation, program.CompRegion, program.CompCountry, program.CompProvider:
		return true
	}
	return false
}

func newOneKVStats(name string, s program.Stats) oneKVStats {
	vals := s.Values
	if vals == nil {
		vals = []float64{}
	}
	v := oneKVStats{Values: vals, Min: s.Min, Max: s.Max, Q10: s.Q10, Q25: s.Q25, Q50: s.Q50, Q75: s.Q75, Q90: s.Q90, Mean: s.Mean, Std: s.Std}
	if isLocationComp(name) {
		gs := s.Groups
		if gs == nil {
			gs = []program.Group{} // a snapshot from before groups were kept
		}
		v.Values = gs
	}
	return v
}

// scoreMetadataView is 1KV's ValidatorScoreMetadata ({session, updated,
// <component>Stats, <component>Weight}) over valtrack's snapshot record
// (id, chain, era, at, seed, weights and stats by component name).
type scoreMetadataView struct {
	*state.SnapshotMeta
}

func (m scoreMetadataView) MarshalJSON() ([]byte, error) {
	base, err := json.Marshal(m.SnapshotMeta)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	if err := json.Unmarshal(base, &out); err != nil {
		return nil, err
	}
	out["updated"] = m.At
	for _, k := range metaKeys {
		if w, ok := m.Weights[k.comp]; ok {
			out[k.weight] = w
		}
		if st, ok := m.Stats[k.comp]; ok && k.stats != "" {
			out[k.stats] = newOneKVStats(k.comp, st)
		}
	}
	return json.Marshal(out)
}
