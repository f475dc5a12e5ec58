package api

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern, route string, limited bool, h handlerFunc) {
		mux.Handle(pattern, s.wrap(route, limited, h))
	}
	handle("GET /validators", "/validators", true, s.handleValidators)
	handle("GET /api/v1/networks", "/api/v1/networks", true, s.handleNetworks)
	handle("GET /api/v1/ethereum/{network}/peers", "/api/v1/ethereum/{network}/peers", true, s.handlePeers)
	handle("GET /api/v1/ethereum/{network}/peers/{peer_id}", "/api/v1/ethereum/{network}/peers/{peer_id}", true, s.handlePeer)
	handle("GET /api/v1/ethereum/{network}/stats", "/api/v1/ethereum/{network}/stats", true, s.handleStats)
	handle("GET /openapi.yaml", "/openapi.yaml", true, s.handleOpenAPI)
	handle("GET /{$}", "/", true, s.handleIndex)
	// Health checks and scrapes come from the operator's own systems and must
	// not be starved by the public rate limit.
	handle("GET /healthz", "/healthz", false, s.handleHealth)
	metricsHandler := promhttp.HandlerFor(s.o.Registry, promhttp.HandlerOpts{Registry: s.o.Registry})
	handle("GET /metrics", "/metrics", false, func(w http.ResponseWriter, r *http.Request, _ caller) error {
		metricsHandler.ServeHTTP(w, r)
		return nil
	})
	handle("/", "other", false, s.handleOther)
	return mux
}

// handleOther answers what no route matched: CORS preflights, unknown paths
// (404) and methods other than GET (405), all in JSON.
func (s *Server) handleOther(w http.ResponseWriter, r *http.Request, _ caller) error {
	switch r.Method {
	case http.MethodOptions:
		w.WriteHeader(http.StatusNoContent)
		return nil
	case http.MethodGet, http.MethodHead:
		return notFound("", "no such endpoint; see /openapi.yaml for the API")
	default:
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		s.writeError(w, r, http.StatusMethodNotAllowed, "method not allowed; this API is read-only (GET)", "")
		return nil
	}
}
