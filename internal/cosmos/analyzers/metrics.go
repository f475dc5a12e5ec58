package analyzers

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Gauges, named after what operators know from tenderduty and
// cosmos-validator-watcher. All but one are gauges, set from the stored
// totals after each pass, so they survive restarts; skipped heights are a
// counter of this process (a skip is an event, not stored state).
type metrics struct {
	validator map[string]*prometheus.GaugeVec // by stat name
	analyzed  *prometheus.GaugeVec
	sinceLast *prometheus.GaugeVec
	endpoint  *prometheus.GaugeVec
	waitSet   *prometheus.GaugeVec
	// The slashing parameters in force per chain. cosmos-validator-watcher
	// calls them signed_blocks_window and min_signed_blocks_per_window, but
	// valtrack_cosmos_signed_blocks_window is already the per-validator
	// window size (labels chain, address, moniker), and one name cannot
	// carry two label sets: params_ says they are the chain's (as
	// cosmos-exporter's cosmos_params_*).
	paramWindow, paramMin *prometheus.GaugeVec
	skipped               *prometheus.CounterVec
	late                  *prometheus.CounterVec
}

// validatorGauges: name suffix, help.
var validatorGauges = [][2]string{
	{"signed_blocks", "Analysed heights whose commit holds the validator's signature (commit or nil)."},
	{"missed_blocks", "Analysed heights whose commit lacks the validator's signature (absent)."},
	{"missed_prevotes", "Observed heights without the validator's prevote for the committed block."},
	{"missed_precommits", "Observed heights without the validator's precommit for the committed block."},
	{"consecutive_missed_blocks", "Absent signatures since the validator's last signed height."},
	{"missed_blocks_window", "Absent signatures in the last signed_blocks_window heights."},
	{"signed_blocks_window", "Heights of the last signed_blocks_window in which the validator was in the set."},
	{"time_to_jail_seconds", "Time until jailing if it misses every block from now (recent mean block interval); +Inf never (min_signed_per_window 0); absent while the slashing parameters are unknown."},
	{"blocks_to_jail", "Missed blocks until jailing (x/slashing: missed > window - round(min_signed*window)); +Inf never (min_signed_per_window 0); absent while the slashing parameters are unknown."},
	{"proposed_blocks", "Blocks the validator proposed."},
	{"missed_proposals", "Rounds the validator was proposer of that committed no block."},
	{"solo_missed_blocks", "Absent signatures where it was the only one absent and the rest signed ≥ 2/3 of the power."},
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{validator: map[string]*prometheus.GaugeVec{}}
	var cs []prometheus.Collector
	for _, g := range validatorGauges {
		v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "valtrack_cosmos_" + g[0], Help: g[1]}, []string{"chain", "address", "moniker"})
		m.validator[g[0]] = v
		cs = append(cs, v)
	}
	m.analyzed = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "valtrack_cosmos_analyzed_height",
		Help: "The highest height the missed-vote analyzer has passed."}, []string{"chain"})
	m.sinceLast = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "valtrack_cosmos_time_since_last_block_seconds",
		Help: "Seconds since the header time of the latest stored block."}, []string{"chain"})
	m.endpoint = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "valtrack_cosmos_endpoint_healthy",
		Help: "1 if the endpoint's latest status was healthy."}, []string{"chain", "endpoint"})
	m.waitSet = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "valtrack_cosmos_waiting_for_validator_set",
		Help: "The height the analyzer waits at because its validator set (the validators_hash its block names) is not stored yet; 0 when none."}, []string{"chain"})
	m.skipped = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "valtrack_cosmos_skipped_heights_total",
		Help: "Heights the analyzer gave up on (not analysed: no miss is recorded for them) since this process started, by reason: pruned (every endpoint had pruned it; not waited for), validator_set_pruned (every endpoint had pruned its validator set; not waited for), block_missing, commit_missing, validator_set_not_stored, no_validator_set, signatures_set_mismatch."},
		[]string{"chain", "reason"})
	m.late = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "valtrack_cosmos_late_vote_corrections_total",
		Help: "Miss rows corrected since this process started because a vote of their height was stored after the height was analysed (within --cosmos-late-votes)."},
		[]string{"chain"})
	m.paramWindow = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "valtrack_cosmos_params_signed_blocks_window",
		Help: "The chain's x/slashing signed_blocks_window in force (--cosmos-slashing, else the chain's, from its LCD or abci_query); absent while unknown."}, []string{"chain"})
	m.paramMin = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "valtrack_cosmos_params_min_signed_per_window",
		Help: "The chain's x/slashing min_signed_per_window in force (0..1; 0: never jailed for downtime); absent while unknown."}, []string{"chain"})
	cs = append(cs, m.analyzed, m.sinceLast, m.endpoint, m.waitSet, m.skipped, m.late, m.paramWindow, m.paramMin)
	if reg != nil {
		for _, c := range cs {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("cosmos analyzers: register metrics: %w", err)
			}
		}
	}
	return m, nil
}
