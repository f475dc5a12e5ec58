package sentry

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	discovered prometheus.Counter
	dialed     prometheus.Counter
	handshaken prometheus.Counter
	failed     *prometheus.CounterVec
	published  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, connected func() float64) (*metrics, error) {
	m := &metrics{
		discovered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "valtrack_eth_peers_discovered_total", Help: "Nodes of the network found by discv5 (new nodes and newer ENRs).",
		}),
		dialed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "valtrack_eth_peers_dialed_total", Help: "libp2p dials attempted.",
		}),
		handshaken: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "valtrack_eth_peers_handshaken_total", Help: "Successful Status+MetaData handshakes.",
		}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "valtrack_eth_peers_failed_total", Help: "Failed dials and handshakes by reason.",
		}, []string{"reason"}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "valtrack_eth_events_published_total", Help: "Events published to the bus by kind.",
		}, []string{"kind"}),
	}
	gauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "valtrack_eth_peers_connected", Help: "Peers the sentry is connected to.",
	}, connected)
	for _, c := range []prometheus.Collector{m.discovered, m.dialed, m.handshaken, m.failed, m.published, gauge} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("sentry: register metrics: %w (one registerer per sentry)", err)
		}
	}
	return m, nil
}
