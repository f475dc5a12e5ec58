package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DefaultHealthInterval is how long a health probe's result is served.
const DefaultHealthInterval = 5 * time.Second

// healthTimeout bounds a probe: a health check must answer quickly even when
// the store hangs.
const healthTimeout = 3 * time.Second

// healthCache runs Options.Health at most once per interval, however many
// clients poll /healthz (load balancers, Kubernetes, monitoring all do), and
// answers from the last result. A probe is run on demand by the first request
// after the interval; requests arriving meanwhile wait for it rather than
// starting their own.
type healthCache struct {
	probe    func(context.Context) error
	interval time.Duration
	now      func() time.Time

	mu      sync.Mutex
	at      time.Time     // when the last probe finished
	err     error         // its result
	valid   bool          // a probe has finished
	running chan struct{} // closed when the probe in flight finishes; nil when none
}

// check returns the current result, probing when the last one is older than
// the interval.
func (h *healthCache) check(ctx context.Context) error {
	h.mu.Lock()
	if h.valid && h.now().Sub(h.at) < h.interval {
		err := h.err
		h.mu.Unlock()
		return err
	}
	wait := h.running
	if wait == nil {
		wait = make(chan struct{})
		h.running = wait
		// The probe is shared, so it runs detached from this request.
		go h.run(wait)
	}
	h.mu.Unlock()
	select {
	case <-wait:
	case <-ctx.Done():
		return ctx.Err()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

func (h *healthCache) run(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), healthTimeout)
	defer cancel()
	var err error
	if h.probe != nil {
		err = h.probe(ctx)
	}
	h.mu.Lock()
	h.err, h.at, h.valid, h.running = err, h.now(), true, nil
	h.mu.Unlock()
	close(done)
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request, _ Caller) error {
	writeHealth(w, r, s.health.check, s.o.Version, s.log)
	return nil
}

// HealthHandler serves /healthz for a process without the API (a fleet's
// sentries and consumers): probe runs at most once per interval, however
// often it is polled, and the answer is the API's.
func HealthHandler(probe func(context.Context) error, interval time.Duration, version string, log *slog.Logger) http.HandlerFunc {
	if interval <= 0 {
		interval = DefaultHealthInterval
	}
	h := &healthCache{probe: probe, interval: interval, now: time.Now}
	return func(w http.ResponseWriter, r *http.Request) { writeHealth(w, r, h.check, version, log) }
}

func writeHealth(w http.ResponseWriter, r *http.Request, check func(context.Context) error, version string, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout+time.Second)
	defer cancel()
	type health struct {
		Status  string   `json:"status"`
		Version string   `json:"version,omitempty"`
		Error   string   `json:"error,omitempty"`
		Failing []string `json:"failing,omitempty"`
	}
	var err error
	if check != nil {
		err = check(ctx)
	}
	if err != nil {
		parts := FailingParts(err)
		log.Warn("health check failed", "failing", strings.Join(parts, ","), "err", err)
		if werr := WriteJSON(w, r, http.StatusServiceUnavailable, health{Status: "unavailable", Version: version,
			Error: "unhealthy: " + strings.Join(parts, ", ") + "; see the server log", Failing: parts}); werr != nil {
			log.Error("encode /healthz", "err", werr)
		}
		return
	}
	if werr := WriteJSON(w, r, http.StatusOK, health{Status: "ok", Version: version}); werr != nil {
		log.Error("encode /healthz", "err", werr)
	}
}

// PartError is a failed health check of one part of the process (the
// state store, a domain): /healthz names the part, its cause goes only to
// the log (it may name hosts and paths a public port should not show).
type PartError struct {
	Part string
	Err  error
}

func (e *PartError) Error() string { return e.Part + ": " + e.Err.Error() }
func (e *PartError) Unwrap() error { return e.Err }

// FailingParts names the parts of a health error (errors.Join of
// PartErrors); "unknown" for an error that names none.
func FailingParts(err error) []string {
	var out []string
	var walk func(error)
	walk = func(e error) {
		var pe *PartError
		if errors.As(e, &pe) && pe == e {
			out = append(out, pe.Part)
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		if errors.As(e, &pe) {
			out = append(out, pe.Part)
		}
	}
	walk(err)
	if len(out) == 0 {
		out = []string{"unknown"}
	}
	return out
}
