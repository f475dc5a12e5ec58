package alerts

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	sent, failed *prometheus.CounterVec
	firing       *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "valtrack_cosmos_alerts_sent_total",
			Help: "Notifications delivered, by channel and status (firing, resolved, test)."}, []string{"channel", "status"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "valtrack_cosmos_alerts_failed_total",
			Help: "Notifications given up on after their retries, by channel and status."}, []string{"channel", "status"}),
		firing: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "valtrack_cosmos_alerts_firing",
			Help: "Firing alerts, by chain, rule and severity."}, []string{"chain", "rule", "severity"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.sent, m.failed, m.firing} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("cosmos alerts: register metrics: %w", err)
			}
		}
	}
	return m, nil
}
