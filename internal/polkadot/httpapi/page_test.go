package httpapi

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/valtrack/valtrack/internal/api/apitest"
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

// TestPageRendersCandidates renders the page in headless Chromium against
// the fixture and checks what the section shows: the counts, each
// candidate with its status, score and first failed rule, and the last
// round's targets per nominator.
func TestPageRendersCandidates(t *testing.T) {
	f := newFixture(t)
	dom := apitest.RenderDOM(t, f.srv.URL+"/")
	card := func(id string) string { return apitest.TextOf(dom, id) }
	if s := card("polkadot-status"); !strings.HasPrefix(s, "updated ") {
		t.Fatalf("status %q; DOM:\n%s", s, apitest.Tail(dom))
	}
	for id, want := range map[string]string{"polkadot-count": "3", "polkadot-valid": "2", "polkadot-invalid": "1",
		"polkadot-round-era": "8", "polkadot-round-mode": "dry run"} {
		if got := card(id); got != want {
			t.Errorf("%s shows %q, want %q", id, got, want)
		}
	}
	for _, want := range []string{
		`<tr class="ok"><td>Charlie</td><td>valid</td><td>275.0</td><td></td></tr>`,
		`<tr class="ok"><td>Alice</td><td>valid</td><td>105.0</td><td></td></tr>`,
		`<tr class="err"><td>Bob</td><td>invalid</td><td>–</td><td>Bob commission is set higher than the maximum allowed. Set: 20% Allowed: 5%</td></tr>`,
		"<td>" + dave + "</td><td>2 targets</td><td>" + charlie + ", " + alice + "</td>",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered section lacks %s", want)
		}
	}
	if t.Failed() {
		i := strings.Index(dom, `<section id="polkadot"`)
		t.Logf("section:\n%s", apitest.Tail(dom[max(i, 0):]))
	}
}
