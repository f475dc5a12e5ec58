package httpapi

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// TestPageSection: the page at / carries the Polkadot section, which loads
// nothing from elsewhere and inserts data only as text.
func TestPageSection(t *testing.T) {
	f := newFixture(t)
	resp, err := f.srv.Client().Get(f.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<section id="polkadot"`, `id="polkadot-candidates"`, `id="polkadot-round"`, "/candidates", "/rounds?limit=1"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if regexp.MustCompile(`(src|href)\s*=\s*["']?(https?:)?//|https?://`).MatchString(sectionHTML + sectionJS) {
		t.Error("the section refers to an external URL")
	}
	if strings.Contains(sectionJS, "innerHTML") || strings.Contains(sectionJS, "insertAdjacentHTML") || strings.Contains(sectionJS, "outerHTML") {
		t.Error("the section inserts HTML; data must go in as text")
	}
}
