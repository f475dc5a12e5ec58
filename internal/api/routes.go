package api

import (
	"context"
	"fmt"
	"net/http"
	"regexp"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// domainNameRE: the name becomes part of paths, subjects and labels.
var domainNameRE = regexp.MustCompile(`^[a-z][a-z0-9]{0,31}$`)

// routes builds the public handler: the domains' routes, the shared ones and,
// unless Options.SeparateAdmin, the admin ones. A domain that registers a
// pattern twice, or one of the shared patterns, makes net/http panic; New
// turns that into an error.
func (s *Server) routes() (h http.Handler, err error) {
	mux := http.NewServeMux()
	defer func() {
		if p := recover(); p != nil {
			h, err = nil, fmt.Errorf("api: register routes: %v", p)
		}
	}()
	handle := func(pattern, route string, limited bool, h HandlerFunc) {
		mux.Handle(pattern, s.wrap(route, limited, h))
	}
	handle("GET /api/v1/networks", "/api/v1/networks", true, s.handleNetworks)
	handle("GET /openapi.yaml", "/openapi.yaml", true, s.handleOpenAPI)
	handle("GET /{$}", "/", true, s.handleIndex)
	if !s.o.SeparateAdmin {
		s.adminRoutes(handle)
	}
	handle("/", "other", false, s.handleOther)
	seen := map[string]bool{}
	for _, d := range s.o.Domains {
		if !domainNameRE.MatchString(d.Name) || seen[d.Name] {
			return nil, fmt.Errorf("api: domain name %q is not lower-case letters and digits, or is registered twice", d.Name)
		}
		seen[d.Name] = true
		if d.Mount != nil {
			d.Mount(&Router{s: s, mux: mux, domain: d.Name})
		}
	}
	for _, nr := range s.o.NotRun {
		if !domainNameRE.MatchString(nr.Name) || seen[nr.Name] {
			return nil, fmt.Errorf("api: domain %q not run: its name is not lower-case letters and digits, or it is also run or listed twice", nr.Name)
		}
		seen[nr.Name] = true
		prefix := "/api/v1/" + nr.Name
		msg := "the " + nr.Name + " domain is not run by this process: " + nr.Start
		// One fixed metrics label per domain; the exact path too, which
		// the subtree pattern would redirect.
		h := s.wrap(prefix+"/…", false, func(w http.ResponseWriter, r *http.Request, _ Caller) error {
			return s.unmatched(w, r, msg)
		})
		mux.Handle(prefix, h)
		mux.Handle(prefix+"/", h)
	}
	return mux, nil
}

// adminHandler serves only the operator's routes, for a listener of its own.
func (s *Server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	s.adminRoutes(func(pattern, route string, limited bool, h HandlerFunc) {
		mux.Handle(pattern, s.wrap(route, limited, h))
	})
	mux.Handle("/", s.wrap("other", false, s.handleOther))
	return mux
}

// adminRoutes are /healthz and /metrics. Health checks and scrapes come from
// the operator's own systems and must not be starved by the public rate limit.
func (s *Server) adminRoutes(handle func(pattern, route string, limited bool, h HandlerFunc)) {
	handle("GET /healthz", "/healthz", false, s.handleHealth)
	metricsHandler := promhttp.HandlerFor(s.o.Registry, promhttp.HandlerOpts{Registry: s.o.Registry})
	handle("GET /metrics", "/metrics", false, func(w http.ResponseWriter, r *http.Request, _ Caller) error {
		metricsHandler.ServeHTTP(w, r)
		return nil
	})
}

// handleOther answers what no route matched: CORS preflights, unknown paths
// (404) and methods other than GET (405), all in JSON.
func (s *Server) handleOther(w http.ResponseWriter, r *http.Request, _ Caller) error {
	return s.unmatched(w, r, "no such endpoint; see /openapi.yaml for the API")
}

// unmatched is handleOther with the message of its 404.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request, notFound string) error {
	switch r.Method {
	case http.MethodOptions:
		w.WriteHeader(http.StatusNoContent)
		return nil
	case http.MethodGet, http.MethodHead:
		return NotFound("", "%s", notFound)
	default:
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		s.writeError(w, r, http.StatusMethodNotAllowed, "method not allowed; this API is read-only (GET)", "")
		return nil
	}
}

// handleNetworks lists the networks of every domain, in the order of
// Options.Domains.
func (s *Server) handleNetworks(w http.ResponseWriter, r *http.Request, _ Caller) error {
	ctx, cancel := context.WithTimeout(r.Context(), s.o.QueryTimeout)
	defer cancel()
	list := []networkView{}
	for _, d := range s.o.Domains {
		if d.Networks == nil {
			continue
		}
		_, nets, err := d.Networks.list(ctx, false)
		if err != nil {
			return fmt.Errorf("networks of %s: %w", d.Name, err)
		}
		for _, n := range nets {
			n.Domain = d.Name
			list = append(list, n)
		}
	}
	return WriteJSON(w, r, http.StatusOK, struct {
		Networks []networkView `json:"networks"`
	}{list})
}
