package sync

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are one registry's collectors, shared by every network's sentry
// in the process (labels tell them apart). A nil *metrics records nothing.
type metrics struct {
	published  *prometheus.CounterVec // network
	skipped    *prometheus.CounterVec // network, reason
	ranges     *prometheus.CounterVec // network, endpoint, result
	halvings   *prometheus.CounterVec // network, endpoint
	rangeSize  *prometheus.GaugeVec   // network
	failovers  *prometheus.CounterVec // network, endpoint (the one left)
	reorgs     *prometheus.CounterVec // network
	mismatches *prometheus.CounterVec // network, endpoint, check
	head       *prometheus.GaugeVec   // network
	processed  *prometheus.GaugeVec   // network
	healthy    *prometheus.GaugeVec   // network, endpoint
}

const ns = "valtrack_ssv_sentry"

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	cv := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: name, Help: help}, labels)
	}
	gv := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: name, Help: help}, labels)
	}
	m := &metrics{
		published:  cv("logs_published_total", "Contract logs published as events.", "network"),
		skipped:    cv("logs_skipped_total", "Contract logs not published: unknown_topic, malformed, decode_error, invalid_event.", "network", "reason"),
		ranges:     cv("getlogs_ranges_total", "eth_getLogs block ranges asked, by result: ok, too_large, rate_limited, error.", "network", "endpoint", "result"),
		halvings:   cv("getlogs_halvings_total", "Times the eth_getLogs range was halved.", "network", "endpoint"),
		rangeSize:  gv("getlogs_range_blocks", "The current eth_getLogs range, blocks.", "network"),
		failovers:  cv("failovers_total", "Moves from an endpoint to the next after an error, time-out or inconsistency.", "network", "endpoint"),
		reorgs:     cv("reorgs_total", "Reorgs that reached processed blocks.", "network"),
		mismatches: cv("crosscheck_mismatches_total", "Answers that failed a check: log_count (a block's receipts), range_log_count (another endpoint's logs of the range), block_hash, inconsistent.", "network", "endpoint", "check"),
		head:       gv("head_block", "The latest head seen.", "network"),
		processed:  gv("processed_block", "The last fully published block.", "network"),
		healthy:    gv("endpoint_healthy", "1 when the endpoint's last call succeeded.", "network", "endpoint"),
	}
	var err error
	reg1 := func(c **prometheus.CounterVec) {
		if err == nil {
			*c, err = register(reg, *c)
		}
	}
	reg2 := func(g **prometheus.GaugeVec) {
		if err == nil {
			*g, err = register(reg, *g)
		}
	}
	reg1(&m.published)
	reg1(&m.skipped)
	reg1(&m.ranges)
	reg1(&m.halvings)
	reg2(&m.rangeSize)
	reg1(&m.failovers)
	reg1(&m.reorgs)
	reg1(&m.mismatches)
	reg2(&m.head)
	reg2(&m.processed)
	reg2(&m.healthy)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector already registered under
// its name (another network's sentry in the same process).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("register ssv sentry metrics: %w", err)
	}
	return c, nil
}
