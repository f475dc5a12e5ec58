package api

import (
	_ "embed"
	"net/http"
)

// openapiYAML is a copy of docs/openapi.yaml (go:embed cannot reach outside
// the package); TestOpenAPIMatchesDocs keeps the two identical.
//
//go:embed openapi.yaml
var openapiYAML []byte

//go:embed index.html
var indexHTML []byte

// indexCSP lets the page run its own inline script and talk to this server
// only: it loads nothing from elsewhere.
const indexCSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request, _ caller) error {
	s.writeBody(w, r, http.StatusOK, "application/yaml", openapiYAML)
	return nil
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request, _ caller) error {
	w.Header().Set("Content-Security-Policy", indexCSP)
	s.writeBody(w, r, http.StatusOK, "text/html; charset=utf-8", indexHTML)
	return nil
}
