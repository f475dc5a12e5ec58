package httpapi

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/valtrack/valtrack/internal/api/apitest"
)

// TestPageSection: the page at / carries the SSV section, which loads
// nothing from elsewhere and inserts data only as text.
func TestPageSection(t *testing.T) {
	f := newFixture(t, nil, Options{})
	resp, err := f.srv.Client().Get(f.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<section id="ssv"`, `id="ssv-operators"`, `id="ssv-sizes"`, "/summary"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if regexp.MustCompile(`(src|href)\s*=\s*["']?(https?:)?//|https?://`).MatchString(sectionHTML + sectionJS) {
		t.Error("the section refers to an external URL")
	}
	if strings.Contains(sectionJS, "innerHTML") || strings.Contains(sectionJS, "insertAdjacentHTML") {
		t.Error("the section inserts HTML; data must go in as text")
	}
}

// TestPageRendersCounts renders the page in headless Chromium against the
// fixture and checks what the section shows: the counts, validators by
// status, clusters by size and the sync state.
func TestPageRendersCounts(t *testing.T) {
	f := newFixture(t, nil, Options{})
	dom := apitest.RenderDOM(t, f.srv.URL+"/")
	card := func(id string) string { return apitest.TextOf(dom, id) }
	if s := card("ssv-status"); !strings.HasPrefix(s, "updated ") {
		t.Fatalf("status %q; DOM:\n%s", s, apitest.Tail(dom))
	}
	for id, want := range map[string]string{"ssv-operators": "4", "ssv-validators": "4", "ssv-clusters": "2", "ssv-invalid": "1",
		"ssv-block": "100", "ssv-head": "108", "ssv-lag": "8"} {
		if got := card(id); got != want {
			t.Errorf("%s shows %q, want %q", id, got, want)
		}
	}
	for _, want := range []string{"<td>active</td><td>2</td>", "<td>exited</td><td>1</td>", "<td>removed</td><td>1</td>",
		"<td>4 operators</td><td>2</td>", "<td>rpc-1</td><td>healthy</td>", "<td>connection refused</td>"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered section lacks %s", want)
		}
	}
}
