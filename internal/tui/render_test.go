package tui

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
)

// now is the fixed clock of the rendering tests: 2.5s after the fixture's
// step began.
var now = time.UnixMilli(1700000002500)

// fixtureJSON is a consensus answer of n validators: val-0 has the most
// power and no misses, val-(n-1) the least power and the most misses.
func fixtureJSON(n int) string {
	var vs []string
	for i := range n {
		pv, pc := "block", "none"
		switch i % 3 {
		case 1:
			pv, pc = "nil", "block"
		case 2:
			pv, pc = "none", "nil"
		}
		recent := strings.Repeat("S", RecentLen-3) + "PvM"
		if i == 0 {
			recent = strings.Repeat("S", RecentLen)
		}
		vs = append(vs, fmt.Sprintf(`{"address":"ADDR%02dABCDEF0123456789","moniker":"val-%d","index":%d,"voting_power":%d,
			"prevote":%q,"precommit":%q,"recent_missed":%d,"recent":%q}`, i, i, i, 100-i, pv, pc, i, recent))
	}
	return `{"chain":"devnet-1","height":1234,"round":2,"step":"Prevote","step_at":1700000000000,
		"proposer":{"address":"ADDR00ABCDEF0123456789","moniker":"val-0"},
		"total_power":0,"prevote_share":0.75,"precommit_share":0.5,"prevote_block_share":0.7,"precommit_block_share":0.25,
		"validators":[` + strings.Join(vs, ",") + `]}`
}

func fixture(t *testing.T, n int) *Consensus {
	t.Helper()
	c, err := DecodeConsensus([]byte(fixtureJSON(n)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func state(c *Consensus) State {
	return State{API: "http://127.0.0.1:8080", Chain: "devnet-1", Refresh: time.Second, Data: c, FetchedAt: now.Add(-800 * time.Millisecond), Now: now}
}

// colour styles write escape sequences, so that width checks measure the
// visible text, not the bytes.
func colour() Styles {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.TrueColor)
	return NewStyles(r)
}

// checkFits fails when a line of out is wider than w or out is taller
// than h, and returns out without escape sequences.
func checkFits(t *testing.T, out string, w, h int) string {
	t.Helper()
	lines := strings.Split(out, "\n")
	if len(lines) > h {
		t.Errorf("%d lines, the terminal has %d", len(lines), h)
	}
	for i, ln := range lines {
		if lw := lipgloss.Width(ln); lw > w {
			t.Errorf("line %d is %d columns wide, the terminal %d: %q", i, lw, w, ansi.Strip(ln))
		}
	}
	return ansi.Strip(out)
}

func TestRender80x24(t *testing.T) {
	s := state(fixture(t, 30))
	out := Render(s, colour(), 80, 24)
	if !strings.Contains(out, "\x1b[") {
		t.Fatal("the colour styles wrote no escape sequences: the width check would not measure them")
	}
	plain := checkFits(t, out, 80, 24)
	if n := len(strings.Split(out, "\n")); n != 24 {
		t.Errorf("%d lines, want the full 24", n)
	}
	for _, want := range []string{
		"devnet-1", "height 1234", "round 2", "Prevote", "for 2.5s", // header, time in step
		"proposer val-0",
		"prevote", "75.0%", "block  70.0%", "precommit", "50.0%", "block  25.0%", // shares
		"VALIDATOR", "POWER", "PV", "PC", "MISS",
		"updated 800ms ago", "1-17/30",
	} {
		if !strings.Contains(plain, want) {
			t.Errorf("80x24 view lacks %q:\n%s", want, plain)
		}
	}
	// Power order: the first row is val-0 with 100 of 2565 (3.9%),
	// block prevote, no precommit, 20 signed heights.
	rows := tableRows(plain)
	if len(rows) != 17 {
		t.Fatalf("%d table rows, want 17 (24 lines less 7):\n%s", len(rows), plain)
	}
	if !regexp.MustCompile(`^val-0 +3\.9% ✓ +· +0 ·{20}$`).MatchString(rows[0]) {
		t.Errorf("first row %q: want val-0, 3.9%%, ✓ prevote, · precommit, 0 misses, 20 signed", rows[0])
	}
	if !regexp.MustCompile(`^val-1 +3\.9% nil ✓ +1 ·{17}Pv✗$`).MatchString(rows[1]) {
		t.Errorf("second row %q: want val-1, nil prevote, ✓ precommit, 1 miss, strip ending Pv✗", rows[1])
	}
	if !regexp.MustCompile(`^val-2 .* · +nil +2 `).MatchString(rows[2]) {
		t.Errorf("third row %q: want · prevote and nil precommit", rows[2])
	}
	// The 2/3 marker sits inside each bar.
	for _, ln := range strings.Split(plain, "\n")[2:4] {
		if !strings.Contains(ln, "│") || !strings.Contains(ln, "█") {
			t.Errorf("bar %q lacks the 2/3 marker or the block fill", ln)
		}
	}
}

// tableRows are the lines below the table header that name a validator.
func tableRows(plain string) []string {
	var rows []string
	in := false
	for _, ln := range strings.Split(plain, "\n") {
		if strings.HasPrefix(strings.TrimSpace(ln), "VALIDATOR") || strings.Contains(ln, "#") && strings.Contains(ln, "VALIDATOR") {
			in = true
			continue
		}
		if in && strings.Contains(ln, "val-") {
			rows = append(rows, strings.TrimRight(strings.TrimSpace(ln), " "))
		}
	}
	return rows
}

func TestRenderFitsEverySize(t *testing.T) {
	c := fixture(t, 40)
	c.Validators[3].Moniker = strings.Repeat("a-very-long-moniker-", 10)
	c.Validators[4].Moniker = "验证者节点验证者节点验证者节点验证者节点" // wide runes
	c.Validators[5].Moniker = ""                     // shown by address
	s := state(c)
	s.Err = errors.New("cannot reach valtrack at http://127.0.0.1:8080: is `valtrack run` running? " + strings.Repeat("more detail ", 20))
	for _, w := range []int{1, 10, 20, 39, 40, 59, 60, 79, 80, 81, 109, 110, 200} {
		for _, h := range []int{1, 2, 3, 5, 8, 10, 24, 60} {
			t.Run(fmt.Sprintf("%dx%d", w, h), func(t *testing.T) {
				checkFits(t, Render(s, colour(), w, h), w, h)
				s2 := s
				s2.Err = nil
				checkFits(t, Render(s2, colour(), w, h), w, h)
			})
		}
	}
}

func TestLayoutsNarrowAndWide(t *testing.T) {
	c := fixture(t, 5)
	c.Validators[0].Moniker = "a-rather-long-moniker-that-never-ends"
	s := state(c)

	wide := checkFits(t, Render(s, colour(), 140, 24), 140, 24)
	for _, want := range []string{"#", "ADDRESS", "ADDR00ABCDEF…", "LAST 20", "MISS", "POWER"} {
		if !strings.Contains(wide, want) {
			t.Errorf("140 columns wide: lacks %q:\n%s", want, wide)
		}
	}
	normal := checkFits(t, Render(s, colour(), 80, 24), 80, 24)
	if strings.Contains(normal, "ADDRESS") || !strings.Contains(normal, "LAST 20") {
		t.Errorf("80 columns: want the recent strip and no address column:\n%s", normal)
	}
	if !strings.Contains(normal, "a-rather-long-moniker-that-ne…") {
		t.Errorf("80 columns: the long moniker is not cut to %d cells with …:\n%s", maxNameW, normal)
	}
	narrow := checkFits(t, Render(s, colour(), 50, 24), 50, 24)
	if strings.Contains(narrow, "LAST 20") || !strings.Contains(narrow, "MISS") || !strings.Contains(narrow, "PV") {
		t.Errorf("50 columns: want the strip hidden, misses and votes kept:\n%s", narrow)
	}
	tiny := checkFits(t, Render(s, colour(), 24, 24), 24, 24)
	if strings.Contains(tiny, "POWER") || !regexp.MustCompile(`VALIDATOR +PV +PC`).MatchString(tiny) || !strings.Contains(tiny, "val-1") {
		t.Errorf("24 columns: want only names and votes:\n%s", tiny)
	}
}

func TestSortByMisses(t *testing.T) {
	c := fixture(t, 6)
	byPower := SortedValidators(c, SortPower)
	byMisses := SortedValidators(c, SortMisses)
	if byPower[0].Moniker != "val-0" || byMisses[0].Moniker != "val-5" || byMisses[5].Moniker != "val-0" {
		t.Errorf("power order starts %s, misses order %s…%s; want val-0, val-5…val-0",
			byPower[0].Moniker, byMisses[0].Moniker, byMisses[5].Moniker)
	}
	// Equal misses: by power, then by index.
	c.Validators[2].RecentMissed, c.Validators[4].RecentMissed = 9, 9
	if got := SortedValidators(c, SortMisses); got[0].Moniker != "val-2" || got[1].Moniker != "val-4" {
		t.Errorf("ties: %s, %s; want val-2 (more power), val-4", got[0].Moniker, got[1].Moniker)
	}
	if c.Validators[0].Moniker != "val-0" || c.Validators[5].Moniker != "val-5" {
		t.Error("sorting reordered the data it was given")
	}
	s := state(c)
	s.Sort = SortMisses
	plain := ansi.Strip(Render(s, colour(), 80, 24))
	if rows := tableRows(plain); !strings.HasPrefix(rows[0], "val-2") || !strings.Contains(plain, "s sort: misses") {
		t.Errorf("the misses order is not the one shown:\n%s", plain)
	}
}

func TestScrollOffsetIsClamped(t *testing.T) {
	s := state(fixture(t, 30))
	s.Offset = 5
	rows := tableRows(ansi.Strip(Render(s, colour(), 80, 24)))
	if !strings.HasPrefix(rows[0], "val-5 ") || !strings.HasPrefix(rows[16], "val-21 ") {
		t.Errorf("offset 5 shows %q…%q, want val-5…val-21", rows[0], rows[16])
	}
	s.Offset = 1000
	plain := ansi.Strip(Render(s, colour(), 80, 24))
	if rows := tableRows(plain); !strings.HasPrefix(rows[16], "val-29 ") || !strings.Contains(plain, "14-30/30") {
		t.Errorf("an offset past the end does not show the last page:\n%s", plain)
	}
	if got := MaxOffset(s, 80, 24); got != 13 {
		t.Errorf("MaxOffset 80x24 of 30 rows = %d, want 13", got)
	}
}

func TestStatusLine(t *testing.T) {
	s := state(fixture(t, 3))
	s.Err = errors.New("cannot reach valtrack at http://127.0.0.1:8080: is `valtrack run` running?")
	s.Now = s.FetchedAt.Add(12 * time.Second)
	plain := checkFits(t, Render(s, colour(), 80, 24), 80, 24)
	joined := strings.ReplaceAll(plain, "\n", " ")
	if !strings.Contains(joined, "✗ cannot reach valtrack at http://127.0.0.1:8080: is `valtrack run` running?") ||
		!strings.Contains(joined, "showing data from 12.0s ago") {
		t.Errorf("the status does not tell the whole error and the data's age:\n%s", plain)
	}
	if !strings.Contains(plain, "height 1234") || !strings.Contains(plain, "val-2") {
		t.Errorf("the last data is not shown under an error:\n%s", plain)
	}

	s.Err = nil
	if plain := ansi.Strip(Render(s, colour(), 80, 24)); !strings.Contains(plain, "stale: last answer 12.0s ago") {
		t.Errorf("12s-old data at a 1s refresh is not called stale:\n%s", plain)
	}
	s.Data, s.Err = nil, errors.New("unknown chain devnet-9; known: devnet-1, osmosis-1")
	plain = checkFits(t, Render(s, colour(), 80, 24), 80, 24)
	if !strings.Contains(plain, "waiting for the first answer") || !strings.Contains(plain, "unknown chain devnet-9; known: devnet-1, osmosis-1") {
		t.Errorf("no data and an error:\n%s", plain)
	}
}

// downJSON is fixtureJSON(n) with the chain's endpoints as given (a JSON
// fragment of endpoints_healthy, endpoints_total, endpoints_healthy_at).
func downJSON(n int, endpoints string) string {
	j := fixtureJSON(n)
	return j[:len(j)-1] + "," + endpoints + "}"
}

func decoded(t *testing.T, body string) *Consensus {
	t.Helper()
	c, err := DecodeConsensus([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// With every endpoint of the chain down, the view says so, when one was
// last reported healthy (the latest healthy status the API has) and that the votes are the last
// seen, and still shows them; a chain with one healthy endpoint does not.
func TestRenderAllEndpointsDown(t *testing.T) {
	// Healthy last at 22:10:15 UTC, 3m07.5s before the view's clock.
	at := now.Add(-187500 * time.Millisecond).UnixMilli()
	s := state(decoded(t, downJSON(30, fmt.Sprintf(`"endpoints_healthy":0,"endpoints_total":2,"endpoints_healthy_at":%d`, at))))
	plain := checkFits(t, Render(s, colour(), 80, 24), 80, 24)
	joined := strings.ReplaceAll(plain, "\n", " ")
	for _, want := range []string{"✗ all 2 RPC endpoints of devnet-1 are down, last healthy 2023-11-14 22:10:15 UTC (3m07s ago)",
		"votes shown are the last seen; check the nodes and --cosmos URLs", "updated 800ms ago", "height 1234"} {
		if !strings.Contains(joined, want) {
			t.Errorf("all endpoints down: the view lacks %q:\n%s", want, plain)
		}
	}
	if rows := tableRows(plain); len(rows) == 0 || !strings.HasPrefix(rows[0], "val-0") {
		t.Errorf("the last seen votes are not shown:\n%s", plain)
	}

	// The RFC 3339 form the API writes reads the same.
	s = state(decoded(t, downJSON(3, `"endpoints_healthy":0,"endpoints_total":2,"endpoints_healthy_at":"2023-11-14T22:10:15Z"`)))
	if plain := ansi.Strip(Render(s, colour(), 120, 24)); !strings.Contains(plain, "last healthy 2023-11-14 22:10:15 UTC") {
		t.Errorf("healthy_at as RFC 3339:\n%s", plain)
	}

	// Never healthy, and a single endpoint.
	s = state(decoded(t, downJSON(3, `"endpoints_healthy":0,"endpoints_total":1,"endpoints_healthy_at":null`)))
	if plain := ansi.Strip(Render(s, colour(), 120, 24)); !strings.Contains(plain, "✗ the only RPC endpoint of devnet-1 is down (none has been healthy yet)") {
		t.Errorf("one endpoint never healthy:\n%s", plain)
	}

	// A short terminal keeps the message (the status is cut to its first line).
	s = state(decoded(t, downJSON(30, fmt.Sprintf(`"endpoints_healthy":0,"endpoints_total":2,"endpoints_healthy_at":%d`, at))))
	for _, h := range []int{3, 4, 5} {
		if plain := checkFits(t, Render(s, colour(), 80, h), 80, h); !strings.Contains(plain, "all 2 RPC endpoints of devnet-1 are down") {
			t.Errorf("80x%d drops the message:\n%s", h, plain)
		}
	}
	for _, w := range []int{1, 20, 40, 80, 200} {
		for _, h := range []int{1, 2, 8, 24} {
			checkFits(t, Render(s, colour(), w, h), w, h)
		}
	}

	// One healthy endpoint of two, or a server that does not say: nothing.
	for _, body := range []string{downJSON(3, `"endpoints_healthy":1,"endpoints_total":2,"endpoints_healthy_at":1700000000000`), fixtureJSON(3),
		downJSON(3, `"endpoints_healthy":-4,"endpoints_total":-1`)} {
		if plain := ansi.Strip(Render(state(decoded(t, body)), colour(), 120, 24)); strings.Contains(plain, "down") {
			t.Errorf("endpoints not all down, yet the view says so:\n%s", plain)
		}
	}
}

func TestDecodeToleratesMissingAndBadFields(t *testing.T) {
	c, err := DecodeConsensus([]byte(`{"height":7,"extra":{"x":1},"prevote_share":1.7,"precommit_share":-1,
		"validators":[{"address":"AB","voting_power":3,"prevote":"BLOCK","precommit":"maybe","recent":"SSxM\u001b[2J"},
		{"moniker":"evil\u001b]0;title\u0007\u202e-name","voting_power":1,"recent":"` + strings.Repeat("S", 30) + `M"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Height != 7 || c.TotalPower != 4 || c.PrevoteShare != 1 || c.PrecommitShare != 0 {
		t.Errorf("height %d, total power %d (want derived 4), shares %g %g (want clamped 1, 0)", c.Height, c.TotalPower, c.PrevoteShare, c.PrecommitShare)
	}
	v0, v1 := c.Validators[0], c.Validators[1]
	if v0.Prevote != VoteBlock || v0.Precommit != VoteNone || v1.Prevote != VoteNone {
		t.Errorf("votes %q %q %q, want block, none, none", v0.Prevote, v0.Precommit, v1.Prevote)
	}
	if v0.Recent != "SS?M????" { // x, then ESC [ 2 J
		t.Errorf("recent %q: unknown cells should be ?", v0.Recent)
	}
	if len(v1.Recent) != RecentLen || !strings.HasSuffix(v1.Recent, "SM") {
		t.Errorf("recent %q: want the newest %d cells", v1.Recent, RecentLen)
	}
	if strings.ContainsAny(v1.Moniker, "\x1b\x07\u202e") || v1.Name() == "" {
		t.Errorf("moniker %q keeps control or bidi characters", v1.Moniker)
	}
	if v0.Name() != "AB" {
		t.Errorf("a validator without a moniker is named %q, want its address", v0.Name())
	}
	plain := checkFits(t, Render(state(c), colour(), 80, 24), 80, 24)
	if !strings.Contains(plain, "height 7") || !strings.Contains(plain, "round 0  ?") {
		t.Errorf("a partial answer:\n%s", plain)
	}

	if _, err := DecodeConsensus([]byte(`{"height":"high"}`)); err == nil || !strings.Contains(err.Error(), "decode the consensus response") {
		t.Errorf("a wrongly typed field: %v", err)
	}
}

func TestDecodeChainsShapes(t *testing.T) {
	for _, body := range []string{
		`["devnet-1","osmosis-1"]`,
		`[{"name":"devnet-1"},{"chain_id":"osmosis-1","x":2}]`,
		`{"chains":["devnet-1","osmosis-1"]}`,
		`{"items":[{"chain":"devnet-1"},{"id":"osmosis-1"}],"next":""}`,
	} {
		got, err := DecodeChains([]byte(body))
		if err != nil || strings.Join(got, ",") != "devnet-1,osmosis-1" {
			t.Errorf("%s: %v %v, want devnet-1, osmosis-1", body, got, err)
		}
	}
	if got, err := DecodeChains([]byte(`{"count":0}`)); err != nil || len(got) != 0 {
		t.Errorf("no list: %v %v", got, err)
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second: "0s", 850 * time.Millisecond: "850ms", 2300 * time.Millisecond: "2.3s",
		65 * time.Second: "1m05s", 130 * time.Minute: "2h10m",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

// The API writes times as RFC 3339 strings; numbers of milliseconds are
// read too, and an unreadable time is unknown rather than an error.
func TestDecodeStepAtForms(t *testing.T) {
	for in, want := range map[string]int64{
		`"2025-03-01T12:02:06.5Z"`: time.Date(2025, 3, 1, 12, 2, 6, 500e6, time.UTC).UnixMilli(),
		`1700000000000`:            1700000000000,
		`null`:                     0,
		`"yesterday"`:              0,
		`-5`:                       0,
	} {
		c, err := DecodeConsensus([]byte(`{"height":1,"step_at":` + in + `}`))
		if err != nil {
			t.Fatalf("step_at %s: %v", in, err)
		}
		if int64(c.StepAt) != want {
			t.Errorf("step_at %s read as %d, want %d", in, c.StepAt, want)
		}
	}
}
