// Package httpapi is the Cosmos domain's part of the HTTP API:
// /api/v1/cosmos/… over the cosmos_* tables (chains, validator sets and
// their signing statistics, who voted what at a height, misses, alerts, the
// live consensus view `valtrack top` reads, and the grid of the page), its
// OpenAPI fragment and the Cosmos section of the page. The server itself
// (keys, limits, cache, errors) is internal/api. Everything is public.
package httpapi

import (
	"context"
	_ "embed"
	"html/template"

	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/store"
)

// Name is the domain's name: its API prefix is /api/v1/cosmos.
const Name = "cosmos"

// AlertLister lists a chain's alerts, open ones only unless includeResolved.
// The alert engine implements it; the value it returns is encoded as the
// "alerts" field of GET /api/v1/cosmos/{chain}/alerts as it is (nil: an
// empty list).
type AlertLister interface {
	List(ctx context.Context, chain string, includeResolved bool) (any, error)
}

//go:embed openapi.yaml
var openapiYAML []byte

//go:embed section.html
var sectionHTML string

//go:embed section.js
var sectionJS string

// handlers serve the routes; rt is set by mount.
type handlers struct {
	q          queries
	configured func() []string
	alerts     AlertLister
	nets       *api.Networks
	rt         *api.Router
}

// New returns the Cosmos domain of the API over db (migrated with
// internal/cosmos/state's migrations). chains lists the chains the process
// is configured with (nil: none); the API also knows every chain db has data
// of. alerts may be nil: /alerts then answers an empty list.
func New(db *store.DB, chains func() []string, alerts AlertLister) api.Domain {
	if chains == nil {
		chains = func() []string { return nil }
	}
	q := queries{db: db}
	h := &handlers{q: q, configured: chains, alerts: alerts, nets: api.NewNetworks(chains, q.chains)}
	return api.Domain{
		Name:     Name,
		Mount:    h.mount,
		OpenAPI:  openapiYAML,
		Networks: h.nets,
		Page: api.Section{
			ID:     Name,
			Title:  "Cosmos",
			HTML:   template.HTML(sectionHTML), //nolint:gosec // compiled in, not from the network
			Script: template.JS(sectionJS),     //nolint:gosec // compiled in, not from the network
		},
	}
}

func (h *handlers) mount(rt *api.Router) {
	h.rt = rt
	rt.Handle("GET /api/v1/cosmos/chains", "/api/v1/cosmos/chains", true, h.handleChains)
	rt.Handle("GET /api/v1/cosmos/{chain}/validators", "/api/v1/cosmos/{chain}/validators", true, h.handleValidators)
	rt.Handle("GET /api/v1/cosmos/{chain}/validators/{address}", "/api/v1/cosmos/{chain}/validators/{address}", true, h.handleValidator)
	rt.Handle("GET /api/v1/cosmos/{chain}/heights/{height}", "/api/v1/cosmos/{chain}/heights/{height}", true, h.handleHeight)
	rt.Handle("GET /api/v1/cosmos/{chain}/missed", "/api/v1/cosmos/{chain}/missed", true, h.handleMissed)
	rt.Handle("GET /api/v1/cosmos/{chain}/alerts", "/api/v1/cosmos/{chain}/alerts", true, h.handleAlerts)
	rt.Handle("GET /api/v1/cosmos/{chain}/consensus", "/api/v1/cosmos/{chain}/consensus", true, h.handleConsensus)
	rt.Handle("GET /api/v1/cosmos/{chain}/grid", "/api/v1/cosmos/{chain}/grid", true, h.handleGrid)
}
