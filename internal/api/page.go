package api

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"regexp"
)

//go:embed page.html
var pageHTML string

var pageTemplate = template.Must(template.New("page").Parse(pageHTML))

// sectionIDRE keeps section ids usable as element ids and unambiguous.
var sectionIDRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,63}$`)

// pageCSP lets the page run its own inline scripts and talk to this server
// only: it loads nothing from elsewhere.
const pageCSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// renderPage renders the shell with the domains' sections, once, in New: the
// page holds nothing that changes per request.
func renderPage(domains []Domain) ([]byte, error) {
	var sections []Section
	seen := map[string]bool{}
	for _, d := range domains {
		if d.Page == (Section{}) {
			continue
		}
		if !sectionIDRE.MatchString(d.Page.ID) || seen[d.Page.ID] {
			return nil, fmt.Errorf("api: page section of domain %s: id %q is not lower-case letters, digits and '-', or is taken", d.Name, d.Page.ID)
		}
		seen[d.Page.ID] = true
		sections = append(sections, d.Page)
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, sections); err != nil {
		return nil, fmt.Errorf("api: render the page: %w", err)
	}
	return buf.Bytes(), nil
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request, _ Caller) error {
	w.Header().Set("Content-Security-Policy", pageCSP)
	WriteBody(w, r, http.StatusOK, "text/html; charset=utf-8", s.page)
	return nil
}
