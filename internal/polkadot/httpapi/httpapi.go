// Package httpapi is the Polkadot domain's part of the HTTP API: REST
// routes under /api/v1/polkadot/{network}/ ({network} is the chain:
// polkadot, kusama, westend…) that follow the 1KV gateway's paths and field
// names where valtrack has the data, with valtrack's own additions (the
// tri-state validity, the telemetry match, score explanations, rounds); its
// OpenAPI fragment; and the Polkadot section of the page. Everything is
// public and read-only.
package httpapi

import (
	_ "embed"
	"html/template"

	"github.com/valtrack/valtrack/internal/api"
	"github.com/valtrack/valtrack/internal/polkadot/state"
)

// Name is the domain's name: its API prefix is /api/v1/polkadot.
const Name = "polkadot"

//go:embed openapi.yaml
var openapiYAML []byte

//go:embed section.html
var sectionHTML string

//go:embed section.js
var sectionJS string

// handlers serve the routes; rt is set by mount.
type handlers struct {
	st   *state.Store
	nets *api.Networks
	rt   *api.Router
}

// New returns the Polkadot domain of the API over st. networks lists the
// chains the process is configured with (nil: none); the API also knows
// every chain st has data of.
func New(st *state.Store, networks func() []string) api.Domain {
	return newHandlers(st, networks).domain()
}

func newHandlers(st *state.Store, networks func() []string) *handlers {
	return &handlers{st: st, nets: api.NewNetworks(networks, st.Networks)}
}

func (h *handlers) domain() api.Domain {
	return api.Domain{
		Name:     Name,
		Mount:    h.mount,
		OpenAPI:  openapiYAML,
		Networks: h.nets,
		Page: api.Section{
			ID:     Name,
			Title:  "Polkadot",
			HTML:   template.HTML(sectionHTML), //nolint:gosec // compiled in, not from the network
			Script: template.JS(sectionJS),     //nolint:gosec // compiled in, not from the network
		},
	}
}

const prefix = "/api/v1/polkadot/{network}"

func (h *handlers) mount(rt *api.Router) {
	h.rt = rt
	get := func(path string, fn api.HandlerFunc) {
		rt.Handle("GET "+prefix+path, prefix+path, true, fn)
	}
	get("/candidates", h.handleCandidates(candidatesAll))
	get("/candidates/valid", h.handleCandidates(candidatesValid))
	get("/candidates/invalid", h.handleCandidates(candidatesInvalid))
	get("/candidates/rank", h.handleCandidates(candidatesByRank))
	get("/candidate/{address}", h.handleCandidate)
	get("/nominators", h.handleNominators)
	get("/nominator/{address}", h.handleNominator)
	get("/nominations", h.handleNominations)
	get("/lastnomination", h.handleLastNomination)
	get("/proxytxs", h.handleProxyTxs)
	get("/score/{address}", h.handleScore)
	get("/score/{address}/explain", h.handleExplain)
	get("/scoremetadata", h.handleScoreMetadata)
	get("/erapoints/{address}", h.handleEraPoints)
	get("/validators", h.handleValidators)
	get("/rounds", h.handleRounds)
	get("/faults/{address}", h.handleFaults)
}
