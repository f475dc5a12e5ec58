// Package httpapi is the Ethereum domain's part of the HTTP API:
// Valtrack-compatible /validators and /api/v1/ethereum/{network}/… over the
// state store, their OpenAPI fragment and the Ethereum section of the page.
// The server itself (keys, limits, cache, errors) is internal/api. Reads are
// public; a valid X-API-KEY unlocks the fields that locate nodes on the
// network (see views.go).
package httpapi

import (
	_ "embed"
	"html/template"

	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/ethereum/state"
)

// Name is the domain's name: its API prefix is /api/v1/ethereum.
const Name = "ethereum"

// openapiYAML is the domain's OpenAPI fragment; internal/api merges it into
// the served document, and TestOpenAPIMatchesDocs keeps docs/openapi.yaml
// equal to the result.
//
//go:embed openapi.yaml
var openapiYAML []byte

//go:embed section.html
var sectionHTML string

//go:embed section.js
var sectionJS string

// handlers serve the routes; rt is set by mount.
type handlers struct {
	st   state.Store
	nets *api.Networks
	rt   *api.Router
}

// New returns the Ethereum domain of the API over st. configured lists the
// networks the process runs (nil: none); the API also knows every network st
// has peers of.
func New(st state.Store, configured func() []string) api.Domain {
	h := &handlers{st: st, nets: api.NewNetworks(configured, st.Networks)}
	return api.Domain{
		Name:     Name,
		Mount:    h.mount,
		OpenAPI:  openapiYAML,
		Networks: h.nets,
		Page: api.Section{
			ID:     Name,
			Title:  "Ethereum",
			HTML:   template.HTML(sectionHTML), //nolint:gosec // compiled in, not from the network
			Script: template.JS(sectionJS),     //nolint:gosec // compiled in, not from the network
		},
	}
}

func (h *handlers) mount(rt *api.Router) {
	h.rt = rt
	rt.Handle("GET /validators", "/validators", true, h.handleValidators)
	rt.Handle("GET /api/v1/ethereum/{network}/peers", "/api/v1/ethereum/{network}/peers", true, h.handlePeers)
	rt.Handle("GET /api/v1/ethereum/{network}/peers/{peer_id}", "/api/v1/ethereum/{network}/peers/{peer_id}", true, h.handlePeer)
	rt.Handle("GET /api/v1/ethereum/{network}/stats", "/api/v1/ethereum/{network}/stats", true, h.handleStats)
}
