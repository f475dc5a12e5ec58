package api

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	rateLimited *prometheus.CounterVec
	keys        prometheus.Gauge
	panics      prometheus.Counter
}

func newMetrics(reg *prometheus.Registry) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "valtrack_api_requests_total",
			Help: "HTTP requests served, by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "valtrack_api_request_duration_seconds",
			Help:    "Time to serve a request, by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "valtrack_api_rate_limited_total",
			Help: "Requests refused with 429, by client kind (ip or key).",
		}, []string{"kind"}),
		keys: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "valtrack_api_keys",
			Help: "API keys loaded from the keys file.",
		}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "valtrack_api_panics_total",
			Help: "Handler panics turned into 500 responses; each is a bug worth reporting.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.rateLimited, m.keys, m.panics} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("api: register metrics: %w (is a second API server sharing the registry?)", err)
		}
	}
	return m, nil
}
