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
	dom, rows := renderFixture(t, fixtureOptions{alerts: true})
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

// TestPageRendersSkipped: heights the analyzer skipped are grey columns of
// their own, "not analysed" with the reason in the title, for every
// validator (echo, out of the set, too), between analysed heights that
// still look as they are; a line per chain counts the skipped runs and
// names the newest.
func TestPageRendersSkipped(t *testing.T) {
	dom, rows := renderFixture(t, fixtureOptions{skipped: true})
	for _, r := range rows {
		if len(r.cells) != 24 {
			t.Fatalf("row %s has %d cells, want 24 (1..20, 21..23 skipped, 24)", r.name, len(r.cells))
		}
		for h, reason := range map[int]string{21: "pruned", 22: "pruned", 23: "validator_set_pruned"} {
			c := r.cells[h-1]
			if c.height != itoa(h) || c.class != "cell c-skipped" || c.title != "height "+itoa(h)+": not analysed: "+reason {
				t.Errorf("%s at skipped height %d: %+v, want class cell c-skipped, title naming %s", r.name, h, c, reason)
			}
		}
		want := map[string]string{vAlpha: "cell c-proposed", vEcho: "cell c-out"}[r.address]
		if want == "" {
			want = "cell c-signed"
		}
		if c := r.cells[23]; c.height != "24" || c.class != want {
			t.Errorf("%s at 24 (analysed): %+v, want %s", r.name, c, want)
		}
		if c := r.cells[19]; c.class == "cell c-skipped" {
			t.Errorf("%s at 20 (analysed): %+v", r.name, c)
		}
	}
	if !strings.Contains(dom, `class="cell c-skipped"></span>not analysed`) {
		t.Error("the legend does not explain the skipped cells")
	}
	lines := skippedLines(dom)
	if got, want := lines[testChain], testChain+": not analysed: 2 skipped runs (3 heights), latest 23: validator_set_pruned"; got != want {
		t.Errorf("skipped line %q, want %q", got, want)
	}
	if got, want := lines[emptyChain], emptyChain+": no heights skipped"; got != want {
		t.Errorf("skipped line %q, want %q", got, want)
	}
}

var skippedLineRE = regexp.MustCompile(`<div data-chain="([^"]*)">([^<]*)</div>`)

// skippedLines reads the lines of the rendered #cosmos-skipped, by chain.
func skippedLines(dom string) map[string]string {
	start := strings.Index(dom, `id="cosmos-skipped"`)
	if start < 0 {
		return nil
	}
	end := strings.Index(dom[start:], "</div></")
	if end < 0 {
		end = len(dom) - start
	}
	out := map[string]string{}
	for _, m := range skippedLineRE.FindAllStringSubmatch(dom[start:start+end+len("</div>")], -1) {
		out[html.UnescapeString(m[1])] = html.UnescapeString(m[2])
	}
	return out
}

// renderFixture renders the page over a fixture in headless Chromium and
// reads its grid, which must have the fixture's 5 validator rows.
func renderFixture(t *testing.T, o fixtureOptions) (string, []renderedRow) {
	t.Helper()
	f := newFixture(t, sqliteOpen, o)
	dom := apitest.RenderDOM(t, f.srv.URL+"/")
	rows := gridRows(dom)
	if len(rows) != 5 {
		t.Fatalf("rendered grid has %d validator rows, want 5; status %q; DOM:\n%s", len(rows), statusOf(dom), apitest.Tail(dom))
	}
	return dom, rows
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
