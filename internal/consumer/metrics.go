package consumer

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are labelled by domain (and kind): the consumers of every domain
// in one process share one set.
type metrics struct {
	events       *prometheus.CounterVec
	rejected     *prometheus.CounterVec
	deadLettered *prometheus.CounterVec
	batches      *prometheus.CounterVec
	failures     *prometheus.CounterVec
	retries      *prometheus.CounterVec
	batchSecs    *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "valtrack_consumer_events_total",
			Help: "Events written to the store, by domain and kind."}, []string{"domain", "kind"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "valtrack_consumer_events_rejected_total",
			Help: "Events terminated because they could not be decoded, by domain and subject kind."}, []string{"domain", "kind"}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "valtrack_consumer_events_dead_lettered_total",
			Help: "Events the store refused, set aside on <domain>.dlq.<kind>, by domain and kind."}, []string{"domain", "kind"}),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "valtrack_consumer_batches_total",
			Help: "Batches written and acknowledged, by domain."}, []string{"domain"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "valtrack_consumer_batch_failures_total",
			Help: "Batches that failed to write and will be redelivered, by domain."}, []string{"domain"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "valtrack_consumer_batch_retries_total",
			Help: "In-place retries of batches during a store outage, by domain."}, []string{"domain"}),
		batchSecs: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "valtrack_consumer_batch_seconds",
			Help: "Time to write one batch durably, by domain.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}, []string{"domain"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.events, err = register(reg, m.events)
	if err == nil {
		m.rejected, err = register(reg, m.rejected)
	}
	if err == nil {
		m.deadLettered, err = register(reg, m.deadLettered)
	}
	if err == nil {
		m.batches, err = register(reg, m.batches)
	}
	if err == nil {
		m.failures, err = register(reg, m.failures)
	}
	if err == nil {
		m.retries, err = register(reg, m.retries)
	}
	if err == nil {
		m.batchSecs, err = register(reg, m.batchSecs)
	}
	return m, err
}

// register registers c, or returns the collector already registered under
// its name (a second domain's consumer in the same process).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("register metrics: %w", err)
	}
	return c, nil
}
