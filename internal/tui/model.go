package tui

import (
	"context"
	"errors"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// Config is what `valtrack top` is started with.
type Config struct {
	API     string        // base URL of the API
	Chain   string        // chain to show
	APIKey  string        // optional, sent as X-API-KEY
	Refresh time.Duration // poll interval
	Timeout time.Duration // bound of one request (0: DefaultTimeout)
	Styles  *Styles       // nil: NewStyles(nil)
	Now     func() time.Time
	Client  *Client // nil: NewClient(API, APIKey, Timeout)
}

// Default size until the terminal tells its own.
const defaultWidth, defaultHeight = 80, 24

// Model is the bubbletea model of `valtrack top`. One poll is in flight at
// a time: the next is scheduled Refresh after the previous one ended, so a
// slow API is never asked faster than it answers, and each request has a
// timeout, so the UI never waits on one.
type Model struct {
	cfg    Config
	client *Client
	styles Styles
	now    func() time.Time
	ctx    context.Context
	cancel context.CancelFunc

	state         State
	width, height int
	nextPoll      time.Duration // delay before the poll after the last outcome
}

// fetchedMsg is the outcome of one poll.
type fetchedMsg struct {
	data *Consensus
	err  error
	at   time.Time
}

// pollMsg asks for the next poll.
type pollMsg struct{}

// clockMsg redraws the ages once a second, answer or not.
type clockMsg struct{}

// New returns the model of cfg.
func New(cfg Config) *Model { return newModel(context.Background(), cfg) }

// newModel returns the model of cfg, whose polls end with ctx.
func newModel(ctx context.Context, cfg Config) *Model {
	if cfg.Refresh <= 0 {
		cfg.Refresh = time.Second
	}
	m := &Model{cfg: cfg, client: cfg.Client, now: cfg.Now, width: defaultWidth, height: defaultHeight}
	if m.client == nil {
		m.client = NewClient(cfg.API, cfg.APIKey, cfg.Timeout)
	}
	if m.now == nil {
		m.now = time.Now
	}
	if cfg.Styles != nil {
		m.styles = *cfg.Styles
	} else {
		m.styles = NewStyles(nil)
	}
	m.ctx, m.cancel = context.WithCancel(ctx)
	m.state = State{API: cfg.API, Chain: cfg.Chain, Refresh: cfg.Refresh, Now: m.now()}
	return m
}

// Init starts the first poll and the clock.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(m.fetch(), clock())
}

// fetch polls the API once.
func (m *Model) fetch() tea.Cmd {
	ctx, client, chain, now := m.ctx, m.client, m.cfg.Chain, m.now
	return func() tea.Msg {
		c, err := client.Consensus(ctx, chain)
		return fetchedMsg{data: c, err: err, at: now()}
	}
}

func clock() tea.Cmd {
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return clockMsg{} })
}

// Update applies one message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case fetchedMsg:
		m.state.Now = msg.at
		if msg.err != nil {
			m.state.Err = msg.err // the last good data stays on screen
		} else {
			m.state.Err, m.state.Data, m.state.FetchedAt = nil, msg.data, msg.at
		}
		m.clampOffset()
		// A rate-limited or unavailable API that says when to come back
		// is asked again then, not sooner.
		m.nextPoll = m.cfg.Refresh
		var se *StatusError
		if errors.As(msg.err, &se) && se.RetryAfter > m.nextPoll {
			m.nextPoll = se.RetryAfter
		}
		return m, tea.Tick(m.nextPoll, func(time.Time) tea.Msg { return pollMsg{} })
	case pollMsg:
		return m, m.fetch()
	case clockMsg:
		m.state.Now = m.now()
		return m, clock()
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.clampOffset()
	case tea.KeyMsg:
		if msg.Paste {
			return m, nil // pasted text is not a key press
		}
		if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 {
			// Keys typed faster than the terminal is read arrive as one
			// message: each is applied in turn.
			for _, r := range msg.Runes {
				if cmd := m.key(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}}); cmd != nil {
					return m, cmd
				}
			}
			return m, nil
		}
		return m, m.key(msg)
	}
	return m, nil
}

func (m *Model) key(k tea.KeyMsg) tea.Cmd {
	page := max(1, VisibleRows(m.state, m.width, m.height))
	switch k.String() {
	case "q", "ctrl+c", "esc":
		m.cancel() // a poll in flight ends now
		return tea.Quit
	case "s":
		if m.state.Sort == SortPower {
			m.state.Sort = SortMisses
		} else {
			m.state.Sort = SortPower
		}
		m.state.Offset = 0
	case "up", "k":
		m.state.Offset--
	case "down", "j":
		m.state.Offset++
	case "pgup", "b":
		m.state.Offset -= page
	case "pgdown", " ", "f":
		m.state.Offset += page
	case "home", "g":
		m.state.Offset = 0
	case "end", "G":
		m.state.Offset = MaxOffset(m.state, m.width, m.height)
	}
	m.clampOffset()
	return nil
}

func (m *Model) clampOffset() {
	m.state.Offset = min(max(0, m.state.Offset), MaxOffset(m.state, m.width, m.height))
}

// View renders the current state at the terminal's size.
func (m *Model) View() string {
	return Render(m.state, m.styles, m.width, m.height)
}

// State is a copy of what the view shows.
func (m *Model) State() State { return m.state }

// Run runs the view on the terminal until q, Ctrl-C or ctx's end.
func Run(ctx context.Context, cfg Config) error {
	m := newModel(ctx, cfg)
	defer m.cancel()
	_, err := tea.NewProgram(m, tea.WithContext(ctx), tea.WithAltScreen()).Run()
	return err
}
