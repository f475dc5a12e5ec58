package api

import (
	"context"
	"html/template"
	"log/slog"
	"net/http"
	"time"
)

// Caller is what the API knows about who is asking.
type Caller struct {
	// Admin is true for a request with a valid API key: the admin view, which
	// may show what locates a node on the network.
	Admin bool
}

// HandlerFunc is a route's handler. An error it returns becomes the response:
// an *Error as it is, a deadline as 503, anything else a logged, generic 500.
// A handler that has started writing must return nil.
type HandlerFunc func(w http.ResponseWriter, r *http.Request, c Caller) error

// Domain is what a domain (ethereum, cosmos, …) adds to the API. cmd/valtrack
// builds one per registered domain and passes them in Options.Domains; the
// order there is the order of the page's sections and of /api/v1/networks.
type Domain struct {
	// Name is the domain's name, e.g. "ethereum"; its routes should live under
	// /api/v1/<Name>/.
	Name string
	// Mount registers the domain's routes. It runs once, in New.
	Mount func(*Router)
	// OpenAPI is the domain's fragment of the OpenAPI document: a YAML mapping
	// with any of paths, components (schemas, parameters, responses, headers)
	// and tags. A path, component or tag that another fragment (or the base
	// document) already defines makes New fail.
	OpenAPI []byte
	// Page is the domain's section of the page at /; a zero Section adds none.
	Page Section
	// Networks resolves the domain's {network} path values and lists its
	// networks in /api/v1/networks; nil: the domain has no networks.
	Networks *Networks
}

// NotRun is a domain the process could run but does not (Options.NotRun).
type NotRun struct {
	Name string // e.g. "cosmos"
	// Start says how to run it, to follow "the <name> domain is not run
	// by this process: ", e.g. "restart `valtrack run` with --cosmos
	// NAME=RPC[,RPC…]".
	Start string
}

// Section is a domain's part of the page at /. Its HTML and script are
// compiled into the binary by the domain: they are trusted and inserted as
// they are. Nothing received from the network is ever inserted server-side;
// a script fetches data from the API and must insert it as text.
type Section struct {
	ID     string        // the section element's id: lower-case letters, digits and '-'
	Title  string        // heading; escaped
	HTML   template.HTML // the section's markup
	Script template.JS   // runs in its own function scope, in strict mode
}

// Router registers a domain's routes on the server; Mount gets one.
type Router struct {
	s      *Server
	mux    *http.ServeMux
	domain string
}

// Handle registers h for pattern (net/http's syntax, e.g.
// "GET /api/v1/ethereum/{network}/peers"). route is the metrics label: a fixed
// string per route (usually the pattern without its method), never derived
// from the request, so that clients cannot grow the label set. A limited
// route checks the API key and the rate limit; every public route should be.
func (rt *Router) Handle(pattern, route string, limited bool, h HandlerFunc) {
	rt.mux.Handle(pattern, rt.s.wrap(route, limited, h))
}

// Cache is the server's response cache (Options.CacheTTL), shared by the
// domains; give keys a prefix of the domain's own (CacheKey's route).
func (rt *Router) Cache() *Cache { return rt.s.cache }

// Log is the server's logger, labelled with the domain.
func (rt *Router) Log() *slog.Logger { return rt.s.log.With("domain", rt.domain) }

// QueryTimeout is the bound on a request's store queries (Options.QueryTimeout).
func (rt *Router) QueryTimeout() time.Duration { return rt.s.o.QueryTimeout }

// QueryContext bounds a request's store query by the query timeout; a client
// that goes away cancels it.
func (rt *Router) QueryContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), rt.s.o.QueryTimeout)
}

// DetachedContext bounds a query whose result other requests may share (a
// Cache computation): it outlives the request that started it, up to the
// query timeout.
func (rt *Router) DetachedContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.Context()), rt.s.o.QueryTimeout)
}
