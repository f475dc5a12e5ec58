package tui

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// SortOrder is the order of the validator table.
type SortOrder int

const (
	SortPower  SortOrder = iota // voting power, largest first
	SortMisses                  // recent misses, most first, then power
)

func (o SortOrder) String() string {
	if o == SortMisses {
		return "misses"
	}
	return "power"
}

// State is what the view shows, besides the terminal size.
type State struct {
	API       string        // the API's base URL, for messages
	Chain     string        // the chain asked for
	Refresh   time.Duration // poll interval: data older than 3 of them is stale
	Data      *Consensus    // the last good answer; nil before the first
	FetchedAt time.Time     // when Data arrived
	Err       error         // the last poll's error; nil when it succeeded
	Now       time.Time
	Sort      SortOrder
	Offset    int // first table row shown (clamped when rendered)
}

// Styles are the colours of the view, from one lipgloss renderer (whose
// colour profile decides whether escape sequences are written at all).
type Styles struct {
	Title, Dim, Good, Warn, Bad, Accent, Header, Proposer lipgloss.Style
}

// NewStyles makes the styles of r; nil means lipgloss's default renderer
// (stdout's profile).
func NewStyles(r *lipgloss.Renderer) Styles {
	if r == nil {
		r = lipgloss.DefaultRenderer()
	}
	s := r.NewStyle
	return Styles{
		Title:    s().Bold(true),
		Dim:      s().Foreground(lipgloss.Color("8")),
		Good:     s().Foreground(lipgloss.Color("2")),
		Warn:     s().Foreground(lipgloss.Color("3")),
		Bad:      s().Foreground(lipgloss.Color("1")).Bold(true),
		Accent:   s().Foreground(lipgloss.Color("6")),
		Header:   s().Bold(true).Underline(true),
		Proposer: s().Bold(true).Foreground(lipgloss.Color("6")),
	}
}

// Column widths of the table; the name takes what is left, within bounds.
const (
	idxW, addrW, powerW, voteW, missW = 4, 13, 6, 3, 4
	minNameW, maxNameW                = 10, 30
	maxStatusLines                    = 3
	headerLines                       = 4 // title, proposer, two bars
)

// columns is which table columns fit a width.
type columns struct {
	idx, addr, power, miss, recent bool
	nameW                          int
}

func columnsFor(width int) columns {
	c := columns{idx: width >= 110, addr: width >= 110, power: true, miss: true, recent: true}
	fixed := func() int {
		n := 2 * (voteW + 1) // PV and PC are always shown
		for _, col := range []struct {
			on bool
			w  int
		}{{c.idx, idxW}, {c.addr, addrW}, {c.power, powerW}, {c.miss, missW}, {c.recent, RecentLen}} {
			if col.on {
				n += col.w + 1
			}
		}
		return n
	}
	// Columns go, least useful first, until the name is readable.
	for _, drop := range []*bool{&c.addr, &c.idx, &c.recent, &c.miss, &c.power} {
		if width-fixed() >= minNameW {
			break
		}
		*drop = false
	}
	c.nameW = max(1, min(width-fixed(), maxNameW))
	if c.addr {
		c.nameW = min(width-fixed(), maxNameW-6)
	}
	return c
}

// layout is the split of the terminal height.
type layout struct {
	header  []bool // which of the header lines are shown
	status  []string
	rows    int // table rows
	columns columns
}

func layoutOf(s State, st Styles, width, height int) layout {
	l := layout{header: []bool{true, true, true, true}, columns: columnsFor(width)}
	l.status = statusLines(s, st, width)
	// Without room for one table row, the bars and the proposer line give
	// way; then the status is cut to one line.
	used := func() int {
		n := 2 + len(l.status) // table header, status, help
		for _, h := range l.header {
			if h {
				n++
			}
		}
		return n
	}
	for _, i := range []int{3, 2, 1} {
		if height-used() >= 1 {
			break
		}
		l.header[i] = false
	}
	if height-used() < 1 && len(l.status) > 1 {
		l.status = l.status[:1]
	}
	l.rows = max(0, height-used())
	return l
}

// VisibleRows is the number of table rows a terminal of that size shows.
func VisibleRows(s State, width, height int) int {
	return layoutOf(s, Styles{}, width, height).rows
}

// MaxOffset is the largest useful scroll offset.
func MaxOffset(s State, width, height int) int {
	if s.Data == nil {
		return 0
	}
	return max(0, len(s.Data.Validators)-VisibleRows(s, width, height))
}

// Render draws the whole view: never wider than width nor taller than
// height, whatever the data.
func Render(s State, st Styles, width, height int) string {
	if width <= 0 || height <= 0 {
		return ""
	}
	l := layoutOf(s, st, width, height)
	var lines []string
	hdr := headerOf(s, st, width)
	for i, on := range l.header {
		if on {
			lines = append(lines, hdr[i])
		}
	}
	rows := SortedValidators(s.Data, s.Sort)
	off := min(max(0, s.Offset), max(0, len(rows)-l.rows))
	lines = append(lines, tableHeader(l.columns, st))
	shown := 0
	for i := off; i < len(rows) && shown < l.rows; i++ {
		lines = append(lines, tableRow(rows[i], s.Data, l.columns, st))
		shown++
	}
	if s.Data != nil && len(rows) == 0 && l.rows > 0 {
		lines = append(lines, st.Dim.Render("no validators in the answer yet"))
		shown++
	}
	for ; shown < l.rows; shown++ {
		lines = append(lines, "")
	}
	lines = append(lines, l.status...)
	lines = append(lines, helpLine(s, st, off, l.rows, len(rows)))
	if len(lines) > height {
		lines = lines[:height]
	}
	for i, ln := range lines {
		lines[i] = ansi.Truncate(ln, width, "")
	}
	return strings.Join(lines, "\n")
}

// SortedValidators is the table's rows in order, a copy.
func SortedValidators(c *Consensus, o SortOrder) []Validator {
	if c == nil {
		return nil
	}
	vs := append([]Validator(nil), c.Validators...)
	sort.SliceStable(vs, func(i, j int) bool {
		a, b := vs[i], vs[j]
		if o == SortMisses && a.RecentMissed != b.RecentMissed {
			return a.RecentMissed > b.RecentMissed
		}
		if a.VotingPower != b.VotingPower {
			return a.VotingPower > b.VotingPower
		}
		return a.Index < b.Index
	})
	return vs
}

// headerOf is the four header lines: title, proposer, prevote and
// precommit bars.
func headerOf(s State, st Styles, width int) [headerLines]string {
	var h [headerLines]string
	c := s.Data
	chain := s.Chain
	if c != nil && c.Chain != "" {
		chain = c.Chain
	}
	if c == nil {
		h[0] = st.Title.Render(chain) + st.Dim.Render(" · waiting for the first answer from "+s.API)
		return h
	}
	step := c.Step
	if step == "" {
		step = "?"
	}
	title := fmt.Sprintf("%s  height %d  round %d  %s", chain, c.Height, c.Round, step)
	if c.StepAt > 0 {
		in := s.Now.Sub(time.UnixMilli(int64(c.StepAt)))
		title += " for " + shortDuration(in)
	}
	h[0] = st.Title.Render(title)
	prop := c.Proposer.Moniker
	if prop == "" {
		prop = ShortAddress(c.Proposer.Address)
	} else if c.Proposer.Address != "" && width >= 60 {
		prop += st.Dim.Render(" " + ShortAddress(c.Proposer.Address))
	}
	if prop == "" {
		prop = "?"
	}
	h[1] = "proposer " + st.Proposer.Render(prop) +
		st.Dim.Render(fmt.Sprintf("  %d validators, power %d", len(c.Validators), c.TotalPower))
	h[2] = shareBar("prevote", c.PrevoteShare, c.PrevoteBlockShare, st, width)
	h[3] = shareBar("precommit", c.PrecommitShare, c.PrecommitBlockShare, st, width)
	return h
}

// shareBar draws the share of voting power that voted: █ for the block, ▒
// for nil, ░ for not seen yet, with │ at 2/3 (CometBFT needs more than
// that for the block).
func shareBar(label string, share, block float64, st Styles, width int) string {
	const labelW = 10
	pct := fmt.Sprintf(" %5.1f%%", share*100)
	detail := fmt.Sprintf("  block %5.1f%%", block*100)
	pctStyle := st.Warn
	if block > 2.0/3 {
		pctStyle = st.Good
	}
	barW := width - labelW - len(pct) - len(detail)
	if barW < 10 {
		detail = ""
		barW = width - labelW - len(pct)
	}
	out := fmt.Sprintf("%-*s", labelW, label)
	if barW >= 5 {
		barW = min(barW, 60)
		full := int(math.Round(block * float64(barW)))
		voted := max(full, int(math.Round(share*float64(barW))))
		mark := int(math.Floor(2.0 / 3 * float64(barW)))
		var b strings.Builder
		for i := range barW {
			switch {
			case i == mark:
				b.WriteString(st.Title.Render("│"))
			case i < full:
				b.WriteString(st.Good.Render("█"))
			case i < voted:
				b.WriteString(st.Warn.Render("▒"))
			default:
				b.WriteString(st.Dim.Render("░"))
			}
		}
		out += b.String()
	}
	return out + pctStyle.Render(pct) + st.Dim.Render(detail)
}

func tableHeader(c columns, st Styles) string {
	var cells []string
	if c.idx {
		cells = append(cells, fmt.Sprintf("%*s", idxW, "#"))
	}
	cells = append(cells, fit("VALIDATOR", c.nameW))
	if c.addr {
		cells = append(cells, fit("ADDRESS", addrW))
	}
	if c.power {
		cells = append(cells, fmt.Sprintf("%*s", powerW, "POWER"))
	}
	cells = append(cells, "PV ", "PC ")
	if c.miss {
		cells = append(cells, fmt.Sprintf("%*s", missW, "MISS"))
	}
	if c.recent {
		cells = append(cells, fit("LAST 20 →NEW", RecentLen))
	}
	return st.Header.Render(strings.Join(cells, " "))
}

func tableRow(v Validator, c *Consensus, cols columns, st Styles) string {
	var cells []string
	if cols.idx {
		cells = append(cells, fmt.Sprintf("%*d", idxW, v.Index))
	}
	name := fit(v.Name(), cols.nameW)
	if c.Proposer.Address != "" && v.Address == c.Proposer.Address {
		name = st.Proposer.Render(name)
	}
	cells = append(cells, name)
	if cols.addr {
		cells = append(cells, st.Dim.Render(fit(ShortAddress(v.Address), addrW)))
	}
	if cols.power {
		p := fmt.Sprintf("%*s", powerW, "-")
		if c.TotalPower > 0 {
			p = fmt.Sprintf("%5.1f%%", float64(v.VotingPower)*100/float64(c.TotalPower))
		}
		cells = append(cells, p)
	}
	cells = append(cells, voteCell(v.Prevote, st), voteCell(v.Precommit, st))
	if cols.miss {
		m := fmt.Sprintf("%*d", missW, v.RecentMissed)
		if v.RecentMissed > 0 {
			m = st.Bad.Render(m)
		}
		cells = append(cells, m)
	}
	if cols.recent {
		cells = append(cells, recentStrip(v.Recent, st))
	}
	return strings.Join(cells, " ")
}

func voteCell(v Vote, st Styles) string {
	switch v {
	case VoteBlock:
		return st.Good.Render("✓  ")
	case VoteNil:
		return st.Warn.Render("nil")
	default:
		return st.Dim.Render("·  ")
	}
}

// recentStrip draws Recent right-aligned (newest at the right): · signed,
// P proposed, v and c a missed prevote or precommit, ✗ a missed
// signature, ? unknown.
func recentStrip(r string, st Styles) string {
	var b strings.Builder
	b.WriteString(strings.Repeat(" ", max(0, RecentLen-len(r))))
	for _, ch := range r {
		switch ch {
		case 'S':
			b.WriteString(st.Good.Render("·"))
		case 'P':
			b.WriteString(st.Accent.Render("P"))
		case 'v', 'c':
			b.WriteString(st.Warn.Render(string(ch)))
		case 'M':
			b.WriteString(st.Bad.Render("✗"))
		default:
			b.WriteString(st.Dim.Render("?"))
		}
	}
	return b.String()
}

// statusLines is what the view must say below the table: that every RPC
// endpoint of the chain is down (first, so that it stays when the
// terminal is short), then the last poll's outcome.
func statusLines(s State, st Styles, width int) []string {
	return append(endpointLines(s, st, width), pollLines(s, st, width)...)
}

// maxEndpointLines bounds the endpoints' message, wrapped.
const maxEndpointLines = 2

// endpointLines says, when the last answer has every endpoint of the
// chain down, when one was last reported healthy, and that the
// votes shown are the last seen; nothing otherwise.
func endpointLines(s State, st Styles, width int) []string {
	c := s.Data
	if !c.AllEndpointsDown() {
		return nil
	}
	chain := s.Chain
	if c.Chain != "" {
		chain = c.Chain
	}
	msg := fmt.Sprintf("✗ all %d RPC endpoints of %s are down", c.EndpointsTotal, chain)
	if c.EndpointsTotal == 1 {
		msg = fmt.Sprintf("✗ the only RPC endpoint of %s is down", chain)
	}
	if c.EndpointsHealthyAt > 0 {
		at := time.UnixMilli(int64(c.EndpointsHealthyAt)).UTC()
		// Not "down since": the sentry re-reports an unchanged status only
		// once a minute, so the last healthy report can be up to a minute
		// older than the moment the endpoints went down.
		msg += fmt.Sprintf(", last healthy %s (%s ago)", at.Format("2006-01-02 15:04:05 UTC"), shortDuration(s.Now.Sub(at)))
	} else {
		msg += " (none has been healthy yet)"
	}
	msg += ": votes shown are the last seen; check the nodes and --cosmos URLs"
	return boundedLines(msg, st.Bad, width, maxEndpointLines)
}

// boundedLines wraps msg to width in at most n lines, the last cut with …
// when it does not fit, each in style.
func boundedLines(msg string, style lipgloss.Style, width, n int) []string {
	wrapped := strings.Split(ansi.Wrap(msg, max(1, width), ""), "\n")
	if len(wrapped) > n {
		wrapped = wrapped[:n]
		wrapped[n-1] = ansi.Truncate(wrapped[n-1], max(1, width-1), "") + "…"
	}
	for i := range wrapped {
		wrapped[i] = style.Render(wrapped[i])
	}
	return wrapped
}

// pollLines is the last poll's outcome: its error (wrapped, at most
// maxStatusLines), or the age of the data.
func pollLines(s State, st Styles, width int) []string {
	if s.Err != nil {
		msg := "✗ " + s.Err.Error()
		if s.Data != nil {
			msg += "; showing data from " + shortDuration(s.Now.Sub(s.FetchedAt)) + " ago"
		}
		return boundedLines(msg, st.Bad, width, maxStatusLines)
	}
	if s.Data == nil {
		return []string{st.Dim.Render("connecting to " + s.API + " …")}
	}
	age := s.Now.Sub(s.FetchedAt)
	if stale := max(3*s.Refresh, 3*time.Second); age > stale {
		return []string{st.Warn.Render("stale: last answer " + shortDuration(age) + " ago")}
	}
	return []string{st.Dim.Render("updated " + shortDuration(age) + " ago from " + s.API)}
}

func helpLine(s State, st Styles, off, rows, n int) string {
	// The position comes first: a narrow terminal cuts the end of the line.
	pos := ""
	if n > 0 {
		pos = fmt.Sprintf("%d-%d/%d  ", off+1, min(n, off+rows), n)
	}
	return pos + st.Dim.Render("q quit  s sort: "+s.Sort.String()+"  ↑↓ PgUp PgDn scroll")
}

// fit cuts s to w cells (with …) and pads it to w.
func fit(s string, w int) string {
	if ansi.StringWidth(s) > w {
		s = ansi.Truncate(s, w, "…")
	}
	return s + strings.Repeat(" ", max(0, w-ansi.StringWidth(s)))
}

// shortDuration writes d for a narrow column: 850ms, 2.3s, 1m05s, 2h10m.
func shortDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}
