package sentry

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are one registry's collectors, shared by every chain's sentry in
// the process (labels tell them apart). A nil *metrics records nothing.
type metrics struct {
	received   *prometheus.CounterVec // chain, endpoint, kind
	published  *prometheus.CounterVec // chain, kind
	firstSeen  *prometheus.CounterVec // chain, endpoint, kind
	lag        *prometheus.HistogramVec
	wsCounts   *prometheus.CounterVec // chain, endpoint, kind (decode_error, oversize, …)
	healthy    *prometheus.GaugeVec   // chain, endpoint
	lastHeight *prometheus.GaugeVec   // chain
	backfilled *prometheus.CounterVec // chain
	refused    *prometheus.CounterVec // chain, kind
	malformed  *prometheus.CounterVec // chain, endpoint, method, kind
	pruned     *prometheus.CounterVec // chain
}

const ns = "valtrack_cosmos_sentry"

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "events_received_total",
			Help: "Events decoded from an endpoint's subscriptions, duplicates included."}, []string{"chain", "endpoint", "kind"}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "events_published_total",
			Help: "Events published on the bus (after de-duplication across endpoints)."}, []string{"chain", "kind"}),
		firstSeen: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "first_seen_total",
			Help: "Events an endpoint delivered before any other endpoint."}, []string{"chain", "endpoint", "kind"}),
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "seen_after_first_seconds",
			Help:    "How long after the first endpoint this endpoint delivered the same event.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"chain", "endpoint", "kind"}),
		wsCounts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "subscription_events_total",
			Help: "Subscription troubles by kind: decode_error, oversize, unknown_type, drop, reconnect, subscribe_error, ignored_unhealthy (an event of an endpoint on another chain, catching up or stale, not merged), ignored_height (an event more than the de-duplication window above the frontier and the endpoint's /status height)."}, []string{"chain", "endpoint", "kind"}),
		healthy: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "endpoint_healthy",
			Help: "1 when the endpoint is on the expected chain, not catching up, fresh and advancing."}, []string{"chain", "endpoint"}),
		lastHeight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "last_height",
			Help: "The highest block height published."}, []string{"chain"}),
		backfilled: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "backfilled_heights_total",
			Help: "Heights read back from /commit after a gap."}, []string{"chain"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "events_refused_total",
			Help: "Events not published because they failed the events package's checks."}, []string{"chain", "kind"}),
		malformed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "rpc_malformed_total",
			Help: "HTTP RPC answers (status, validators, commit, block, abci_query) that came but could not be read, by kind: oversize, not_json, no_result, wrong_shape."},
			[]string{"chain", "endpoint", "method", "kind"}),
		pruned: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "pruned_heights_total",
			Help: "Heights given up because every endpoint has pruned them (never published; the analyzer skips them)."}, []string{"chain"}),
	}
	var err error
	if m.received, err = register(reg, m.received); err != nil {
		return nil, err
	}
	if m.published, err = register(reg, m.published); err != nil {
		return nil, err
	}
	if m.firstSeen, err = register(reg, m.firstSeen); err != nil {
		return nil, err
	}
	if m.lag, err = register(reg, m.lag); err != nil {
		return nil, err
	}
	if m.wsCounts, err = register(reg, m.wsCounts); err != nil {
		return nil, err
	}
	if m.healthy, err = register(reg, m.healthy); err != nil {
		return nil, err
	}
	if m.lastHeight, err = register(reg, m.lastHeight); err != nil {
		return nil, err
	}
	if m.backfilled, err = register(reg, m.backfilled); err != nil {
		return nil, err
	}
	if m.refused, err = register(reg, m.refused); err != nil {
		return nil, err
	}
	if m.malformed, err = register(reg, m.malformed); err != nil {
		return nil, err
	}
	if m.pruned, err = register(reg, m.pruned); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector already registered under
// its name (another chain's sentry in the same process).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("register cosmos sentry metrics: %w", err)
	}
	return c, nil
}
