package bus

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the bus counters. One set is shared by a Bus, its publishers
// and its consumers.
type Metrics struct {
	Published      prometheus.Counter // messages acknowledged by the stream
	PublishRetries prometheus.Counter // re-sends after an error, timeout or disconnect
	Pending        prometheus.Gauge   // messages enqueued and not yet acknowledged
	Consumed       prometheus.Counter // messages handed to a consumer handler
	Acked          prometheus.Counter // messages acknowledged by a consumer
	Naked          prometheus.Counter // messages negatively acknowledged (redelivered later)
	Termed         prometheus.Counter // messages a consumer gave up on
}

// NewMetrics creates the bus metrics and registers them on reg (nil: not
// registered). If another Bus already registered them on reg, the existing
// collectors are shared.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "valtrack", Subsystem: "bus", Name: name, Help: help})
	}
	m := &Metrics{
		Published:      counter("published_total", "Messages acknowledged by the stream."),
		PublishRetries: counter("publish_retries_total", "Messages re-sent after a publish error, ack timeout or disconnect."),
		Pending: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "valtrack", Subsystem: "bus", Name: "publish_pending",
			Help: "Messages enqueued by publishers and not yet acknowledged by the stream."}),
		Consumed: counter("consumed_total", "Messages handed to consumer handlers."),
		Acked:    counter("acked_total", "Messages acknowledged by consumers."),
		Naked:    counter("naked_total", "Messages negatively acknowledged by consumers, to be redelivered."),
		Termed:   counter("termed_total", "Messages consumers gave up on (undecodable)."),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.Published, err = register(reg, m.Published)
	if err == nil {
		m.PublishRetries, err = register(reg, m.PublishRetries)
	}
	if err == nil {
		m.Pending, err = register(reg, m.Pending)
	}
	if err == nil {
		m.Consumed, err = register(reg, m.Consumed)
	}
	if err == nil {
		m.Acked, err = register(reg, m.Acked)
	}
	if err == nil {
		m.Naked, err = register(reg, m.Naked)
	}
	if err == nil {
		m.Termed, err = register(reg, m.Termed)
	}
	if err != nil {
		return nil, err
	}
	return m, nil
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	var zero C
	return zero, errors.Join(errors.New("register bus metrics: use a registry without conflicting valtrack_bus_* collectors"), err)
}
