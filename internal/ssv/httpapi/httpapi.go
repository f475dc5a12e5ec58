// Package httpapi is the SSV domain's part of the HTTP API: the exporter's
// WebSocket API (/query and /stream, internal/ssv/exporter's protocol) over
// valtrack's registry, REST routes under /api/v1/ssv/{network}/, the SSV
// node's GET /v1/validators, its OpenAPI fragment and the SSV section of the
// page. Everything is public.
package httpapi

import (
	_ "embed"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/ssv/exporter"
	"github.com/valtrack/valtrack/internal/ssv/registry"
)

// Name is the domain's name: its API prefix is /api/v1/ssv.
const Name = "ssv"

//go:embed openapi.yaml
var openapiYAML []byte

//go:embed section.html
var sectionHTML string

//go:embed section.js
var sectionJS string

// Defaults of Options.
const (
	DefaultQueryMaxBytes  = 4 << 10
	DefaultStreamMaxBytes = 1024
	DefaultQueueSize      = 256
	DefaultPollInterval   = 250 * time.Millisecond
	DefaultPollBatch      = 1000
	DefaultPingInterval   = 48 * time.Second
	DefaultPongTimeout    = 12 * time.Second // a pong due 60 s after the previous one
	DefaultWriteTimeout   = 30 * time.Second
	DefaultMaxQueryConns  = 1000
	DefaultMaxStreamConns = 10000
	DefaultStreamIdle     = 30 * time.Second
)

// Options tune the WebSocket routes; zero fields take the defaults.
type Options struct {
	// QueryMaxBytes bounds a /query request frame; a larger one closes the
	// connection with 1009 and the reason.
	QueryMaxBytes int64
	// StreamMaxBytes bounds a frame a /stream client sends (it is read and
	// dropped); a larger one closes the connection with 1009 and the
	// reason.
	StreamMaxBytes int64
	// QueueSize is how many messages a /stream client may fall behind: a
	// network's backlog holds the last QueueSize, shared by its clients,
	// and one further behind is closed with 1008 "too slow: N messages
	// behind". The fan-out never waits for a client.
	QueueSize int
	// StreamIdle is how long a network's poller runs without clients.
	StreamIdle time.Duration
	// PollInterval is how often a network's poller reads the registry's
	// changes; PollBatch how many it reads at once (a full batch is followed
	// by the next at once).
	PollInterval time.Duration
	PollBatch    int
	// PingInterval and PongTimeout: a client that does not answer a ping
	// within PongTimeout is closed (1008 "ping timeout"). Both routes.
	PingInterval, PongTimeout time.Duration
	// WriteTimeout bounds one write to a /stream client.
	WriteTimeout time.Duration
	// MaxQueryConns and MaxStreamConns bound each route's open connections.
	MaxQueryConns, MaxStreamConns int
	// MaxItems bounds the items of one /query reply.
	MaxItems int
	// Pending tells what the process knows of a network before the
	// registry has a sync status of it (nil: nothing, or not a network
	// of this process), for /sync and /summary. nil: nothing of any.
	Pending func(network string) *Pending
}

// Pending is what a process knows of a network before the registry has
// its first sync status: its sentry has not reached an RPC endpoint yet
// (or runs elsewhere and has not reported).
type Pending struct {
	Contract string // the configured contract address (network config or --ssv-contract)
	// Endpoints are this process's sentry's, with their last errors
	// (scrubbed); nil when the sentry runs in another process.
	Endpoints []PendingEndpoint
}

// PendingEndpoint is an RPC endpoint of a sentry that has not connected.
type PendingEndpoint struct {
	Name  string // host:port
	URL   string // domain.ShowURL of its URL: no user info, path or query
	Error string // the last error, "" none yet
}

func (o Options) withDefaults() Options {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	defI := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.QueryMaxBytes, DefaultQueryMaxBytes)
	def(&o.StreamMaxBytes, DefaultStreamMaxBytes)
	defI(&o.QueueSize, DefaultQueueSize)
	defI(&o.PollBatch, DefaultPollBatch)
	defI(&o.MaxQueryConns, DefaultMaxQueryConns)
	defI(&o.MaxStreamConns, DefaultMaxStreamConns)
	defI(&o.MaxItems, exporter.DefaultMaxItems)
	defD(&o.PollInterval, DefaultPollInterval)
	defD(&o.PingInterval, DefaultPingInterval)
	defD(&o.PongTimeout, DefaultPongTimeout)
	defD(&o.WriteTimeout, DefaultWriteTimeout)
	defD(&o.StreamIdle, DefaultStreamIdle)
	return o
}

// handlers serve the routes; rt is set by mount.
type handlers struct {
	r          registry.Reader
	configured func() []string
	nets       *api.Networks
	o          Options
	q          *exporter.Querier
	hub        *hub
	rt         *api.Router
}

// New returns the SSV domain of the API over r. networks lists the networks
// the process is configured with (nil: none); the API also knows every
// network r has data of. opts (at most one is read) tune the WebSocket
// routes.
func New(r registry.Reader, networks func() []string, opts ...Options) api.Domain {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	return newHandlers(r, networks, o).domain()
}

func newHandlers(r registry.Reader, networks func() []string, o Options) *handlers {
	if networks == nil {
		networks = func() []string { return nil }
	}
	o = o.withDefaults()
	return &handlers{r: r, configured: networks, nets: api.NewNetworks(networks, r.Networks), o: o,
		q: &exporter.Querier{R: r, MaxItems: o.MaxItems, Keys: &exporter.KeyCache{}}}
}

func (h *handlers) domain() api.Domain {
	return api.Domain{
		Name:     Name,
		Mount:    h.mount,
		OpenAPI:  openapiYAML,
		Networks: h.nets,
		Page: api.Section{
			ID:     Name,
			Title:  "SSV",
			HTML:   template.HTML(sectionHTML), //nolint:gosec // compiled in, not from the network
			Script: template.JS(sectionJS),     //nolint:gosec // compiled in, not from the network
		},
	}
}

const prefix = "/api/v1/ssv/{network}"

func (h *handlers) mount(rt *api.Router) {
	h.rt = rt
	h.hub = newHub(h.r, rt.Log(), h.o)
	get := func(path string, fn api.HandlerFunc) {
		rt.Handle("GET "+path, path, true, fn)
	}
	get(prefix+"/summary", h.handleSummary)
	get(prefix+"/operators", h.handleOperators)
	get(prefix+"/operators/{id}", h.handleOperator)
	get(prefix+"/validators", h.handleValidators)
	get(prefix+"/validators/{pubkey}", h.handleValidator)
	get(prefix+"/clusters", h.handleClusters)
	get(prefix+"/clusters/{owner}", h.handleOwnerClusters)
	get(prefix+"/owners/{address}", h.handleOwner)
	get(prefix+"/sync", h.handleSync)
	get(prefix+"/invalid", h.handleInvalid)
	get(prefix+"/skipped", h.handleSkipped)
	get(prefix+"/node/v1/validators", h.handleNodeValidators)
	// The SSV node's and exporter's own paths serve the single configured
	// network (existing explorers know no {network}); with none or several
	// they answer 404 saying which path to use.
	get("/v1/validators", h.handleNodeValidators)

	// Any origin, as the exporter's upgrader (CheckOrigin always true):
	// explorers are pages of their own sites, the data are public and
	// read-only. --ws-origins (api.Options.WSOrigins) can narrow it.
	anyOrigin := []string{api.AnyOrigin}
	qo := api.WSOptions{Limited: true, MaxConns: h.o.MaxQueryConns, PingInterval: h.o.PingInterval,
		PingTimeout: h.o.PongTimeout, MaxMessageBytes: h.o.QueryMaxBytes + 1, OriginPatterns: anyOrigin}
	so := api.WSOptions{Limited: true, MaxConns: h.o.MaxStreamConns, PingInterval: h.o.PingInterval,
		PingTimeout: h.o.PongTimeout, MaxMessageBytes: h.o.StreamMaxBytes + 1, OriginPatterns: anyOrigin}
	rt.HandleWebSocketRequest("GET "+prefix+"/query", prefix+"/query", qo, h.resolveWS, h.serveQuery)
	rt.HandleWebSocketRequest("GET "+prefix+"/stream", prefix+"/stream", so, h.startStream(h.resolveWS), h.serveStream)
	rt.HandleWebSocketRequest("GET /query", "/query", qo, h.resolveSingle, h.serveQuery)
	rt.HandleWebSocketRequest("GET /stream", "/stream", so, h.startStream(h.resolveSingle), h.serveStream)
}

// resolveWS checks {network} before the upgrade.
func (h *handlers) resolveWS(r *http.Request) error {
	ctx, cancel := h.rt.QueryContext(r)
	defer cancel()
	_, err := h.nets.Resolve(ctx, r)
	return err
}

// single returns the one configured network, or a 404 naming the path to
// use instead.
func (h *handlers) single(path, instead string) (string, error) {
	nets := h.configured()
	if len(nets) != 1 {
		return "", api.NotFound("", "%s serves the SSV network when exactly one is configured (%d are); use /api/v1/ssv/{network}%s", path, len(nets), instead)
	}
	return nets[0], nil
}

// resolveSingle sets {network} to the single configured network.
func (h *handlers) resolveSingle(r *http.Request) error {
	n, err := h.single(r.URL.Path, r.URL.Path)
	if err != nil {
		return err
	}
	r.SetPathValue("network", n)
	return nil
}

// streamFromKey is the request value where the check before a /stream
// upgrade leaves the poller's position for the handler.
const streamFromKey = "ssv-stream-from"

// startStream resolves the network, then makes sure its poller runs, before
// the upgrade: a client whose upgrade succeeded gets every change applied
// after it.
func (h *handlers) startStream(resolve func(*http.Request) error) func(*http.Request) error {
	return func(r *http.Request) error {
		if err := resolve(r); err != nil {
			return err
		}
		from, err := h.hub.start(r.PathValue("network"))
		if err != nil {
			h.rt.Log().Warn("SSV /stream: no starting point", "err", err)
			return api.Errorf(http.StatusServiceUnavailable, "", "the SSV registry of this network is not answering; retry later")
		}
		r.SetPathValue(streamFromKey, strconv.FormatUint(from, 10))
		return nil
	}
}
