package httpapi

import (
	"bytes"
	"html"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/valtrack/valtrack/internal/api/apitest"
)

// TestPageSection: the page at / carries the Cosmos section, which loads
// nothing from elsewhere.
func TestPageSection(t *testing.T) {
	f := newFixture(t, sqliteOpen, fixtureOptions{})
	resp, err := f.srv.Client().Get(f.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{`<section id="cosmos"`, `id="cosmos-grid"`, `id="cosmos-table"`, `id="cosmos-alerts"`, `id="cosmos-legend"`, "/grid?blocks="} {
		if !strings.Contains(page, want) {
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

// TestPageRendersGrid renders the page in headless Chromium against the
// fixture and checks the grid it builds: charlie's heights 10–12 are missed
// signatures, the others signed (or proposed), echo is out of the set after
// height 4, and the hover titles carry height and cause.
func TestPageRendersGrid(t *testing.T) {
	f := newFixture(t, sqliteOpen, fixtureOptions{alerts: true})
	dom := apitest.RenderDOM(t, f.srv.URL+"/")
	rows := gridRows(dom)
	if len(rows) != 5 {
		t.Fatalf("rendered grid has %d validator rows, want 5; status %q; DOM:\n%s", len(rows), statusOf(dom), apitest.Tail(dom))
	}
	for i, want := range append(append([]string{}, set4...), vEcho) {
		r := rows[i]
		if r.address != want || r.name != monikers[want] {
			t.Errorf("row %d is %q (%s), want %q (%s)", i, r.name, r.address, monikers[want], want)
		}
		if len(r.cells) != 20 {
			t.Fatalf("row %s has %d cells, want 20", r.name, len(r.cells))
		}
		for j, c := range r.cells {
			h := j + 1
			if c.height != itoa(h) {
				t.Errorf("%s cell %d is height %q, want %d", r.name, j, c.height, h)
			}
			wantClass := map[byte]string{'S': "c-signed", 'P': "c-proposed", 'v': "c-missed-prevote", 'c': "c-missed-precommit",
				'M': "c-missed-signature", ' ': "c-out"}[wantCells[want][j]]
			if c.class != "cell "+wantClass {
				t.Errorf("%s at height %d: class %q, want %q", r.name, h, c.class, "cell "+wantClass)
			}
		}
	}
	// Validator 3 at its missed heights, and another validator signing there.
	for _, h := range []int{10, 11, 12} {
		c := rows[2].cells[h-1]
		if c.class != "cell c-missed-signature" || !strings.Contains(c.title, "height "+itoa(h)) || !strings.Contains(c.title, "no_vote") {
			t.Errorf("charlie at %d: %+v", h, c)
		}
		if c := rows[3].cells[h-1]; c.class != "cell c-signed" && c.class != "cell c-proposed" {
			t.Errorf("delta at %d: %+v, want signed", h, c)
		}
	}
	if c := rows[2].cells[10]; !strings.Contains(c.title, "incident: round") {
		t.Errorf("charlie at 11: title %q does not name the incident", c.title)
	}
	// The validators table and the alerts were filled too.
	if !strings.Contains(dom, "282 s") || !strings.Contains(dom, "missed 3 blocks in a row") {
		t.Errorf("validators table or alerts not rendered; status %q", statusOf(dom))
	}
}

type renderedCell struct{ class, height, title string }

type renderedRow struct {
	address, name string
	cells         []renderedCell
}

var (
	rowRE  = regexp.MustCompile(`(?s)<tr data-address="([^"]*)">(.*?)</tr>`)
	nameRE = regexp.MustCompile(`(?s)<th[^>]*class="name"[^>]*>(.*?)</th>`)
	tdRE   = regexp.MustCompile(`<td([^>]*)>`)
	attrRE = regexp.MustCompile(`([a-z-]+)="([^"]*)"`)
)

// gridRows reads the validator rows of the rendered #cosmos-grid.
func gridRows(dom string) []renderedRow {
	start := strings.Index(dom, `id="cosmos-grid"`)
	if start < 0 {
		return nil
	}
	end := strings.Index(dom[start:], "</table>")
	if end < 0 {
		return nil
	}
	var out []renderedRow
	for _, m := range rowRE.FindAllStringSubmatch(dom[start:start+end], -1) {
		r := renderedRow{address: m[1]}
		if n := nameRE.FindStringSubmatch(m[2]); n != nil {
			r.name = html.UnescapeString(n[1])
		}
		for _, td := range tdRE.FindAllStringSubmatch(m[2], -1) {
			var c renderedCell
			for _, a := range attrRE.FindAllStringSubmatch(td[1], -1) {
				v := html.UnescapeString(a[2])
				switch a[1] {
				case "class":
					c.class = v
				case "data-height":
					c.height = v
				case "title":
					c.title = v
				}
			}
			r.cells = append(r.cells, c)
		}
		out = append(out, r)
	}
	return out
}

func statusOf(dom string) string {
	m := regexp.MustCompile(`id="cosmos-status"[^>]*>([^<]*)<`).FindStringSubmatch(dom)
	if m == nil {
		return ""
	}
	return m[1]
}

func itoa(n int) string { return strconv.Itoa(n) }

// tail keeps the end of long output for a failure message.
