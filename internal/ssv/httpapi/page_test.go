package httpapi

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/valtrack/valtrack/internal/api/apitest"
	"github.com/valtrack/valtrack/internal/ssv/registry"
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
		"<td>4 operators</td><td>2</td>", "<td>rpc-1</td><td>healthy</td>", "<td>connection refused</td>",
		`<p id="ssv-held" class="err" hidden="">`} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered section lacks %s", want)
		}
	}
	if got := card("ssv-held-block"); got != "none" {
		t.Errorf("held block shows %q with none held", got)
	}
}

// TestPageRendersSyncProblems: with skipped logs and a held block the
// section shows how many logs were skipped, links to their list, lists the
// latest five with block and reason, and shows the first held block and
// that health fails because of it.
func TestPageRendersSyncProblems(t *testing.T) {
	f := newFixture(t, nil, Options{})
	for i := uint64(0); i < 7; i++ {
		f.fake.AddSkipped(testNet, registry.Skipped{Block: 90 + i, BlockHash: "0xb", TxHash: "0x7", LogIndex: uint(i),
			Topic0: "0x" + strings.Repeat("ee", 32), Reason: fmt.Sprintf("unknown topic, case %d", i)})
	}
	held := &registry.Held{Block: 101, Hash: "0x" + strings.Repeat("ab", 32), Announced: 3, Received: 2,
		Since: time.Date(2026, 1, 2, 3, 5, 0, 0, time.UTC), Blocks: 2}
	f.fake.SetSync(testNet, registry.Sync{Network: testNet, LastBlock: 100, Head: 108, SkippedLogs: 7, Held: held,
		StatusAt: time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC)})
	dom := apitest.RenderDOM(t, f.srv.URL+"/")
	if s := apitest.TextOf(dom, "ssv-status"); !strings.HasPrefix(s, "updated ") {
		t.Fatalf("status %q; DOM:\n%s", s, apitest.Tail(dom))
	}
	for id, want := range map[string]string{"ssv-skipped-count": "7", "ssv-held-block": "101",
		"ssv-held": "Block 101 (" + held.Hash + ") is held since 2026-01-02T03:05:00Z: its marker announces 3 events, 2 arrived. " +
			"2 blocks are held and none is applied until its events are in; health fails while a block is held."} {
		if got := apitest.TextOf(dom, id); got != want {
			t.Errorf("%s shows %q, want %q", id, got, want)
		}
	}
	if want := `id="ssv-skipped-link" href="/api/v1/ssv/` + testNet + `/skipped"`; !strings.Contains(dom, want) {
		t.Errorf("rendered section lacks the link %s", want)
	}
	if strings.Contains(dom, `id="ssv-held" class="err" hidden`) {
		t.Error("the held block's explanation is hidden")
	}
	// The latest five, newest first; the two oldest are not listed.
	for i := 6; i >= 2; i-- {
		if want := fmt.Sprintf("<td>block %d</td><td>log %d</td><td>unknown topic, case %d</td>", 90+i, i, i); !strings.Contains(dom, want) {
			t.Errorf("rendered section lacks skipped log %s", want)
		}
	}
	if strings.Contains(dom, "case 1<") || strings.Contains(dom, "case 0<") {
		t.Error("the section lists more than the latest five skipped logs")
	}
	if i, j := strings.Index(dom, "case 6<"), strings.Index(dom, "case 2<"); i < 0 || j < i {
		t.Error("skipped logs are not listed newest first")
	}
}

// TestPageRendersAGap: a block held for a gap shows the blocks never
// received and the replay that fills them, not an event count.
func TestPageRendersAGap(t *testing.T) {
	f := newFixture(t, nil, Options{})
	held := &registry.Held{Block: 108, Hash: "0x" + strings.Repeat("ab", 32), Announced: 1, Received: 1,
		Since: time.Date(2026, 1, 2, 3, 5, 0, 0, time.UTC), Blocks: 3, Gap: &registry.Gap{From: 101, To: 105}}
	f.fake.SetSync(testNet, registry.Sync{Network: testNet, LastBlock: 100, LastBlockHash: "0xcd", Head: 110, Held: held,
		StatusAt: time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC)})
	dom := apitest.RenderDOM(t, f.srv.URL+"/")
	want := "Block 108 (" + held.Hash + ") is held since 2026-01-02T03:05:00Z: a gap, blocks 101..105 were never received. " +
		"3 blocks are held and none is applied until they are: start the sentry once with --ssv-replay-from 101; health fails while a block is held."
	if got := apitest.TextOf(dom, "ssv-held"); got != want {
		t.Errorf("ssv-held shows %q, want %q; DOM:\n%s", got, want, apitest.Tail(dom))
	}
}
