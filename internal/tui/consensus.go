// Package tui is `valtrack top`: a live terminal view of a Cosmos chain's
// consensus, read from a running valtrack's API. Rendering is a pure
// function of the data, the terminal size and the view state (render.go),
// so that layouts are tested without a terminal; the bubbletea model
// (model.go) only polls the API (client.go) and feeds that function.
package tui

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/valtrack/valtrack/internal/safe"
)

// Limits on what a response may hold, so that a wrong or hostile server
// cannot make the view grow without bound.
const (
	maxValidators = 10000 // rows kept from one response
	maxTextBytes  = 256   // a moniker, address, step or chain name
	// RecentLen is the number of analysed heights in Validator.Recent.
	RecentLen = 20
)

// Vote is a validator's vote in the current round: "block", "nil" or
// "none" (not seen). Anything else is shown as none.
type Vote string

const (
	VoteBlock Vote = "block"
	VoteNil   Vote = "nil"
	VoteNone  Vote = "none"
)

// Consensus is GET /api/v1/cosmos/{chain}/consensus. Every field may be
// missing: the view shows what it has.
type Consensus struct {
	Chain               string    `json:"chain"`
	Height              int64     `json:"height"`
	Round               int32     `json:"round"`
	Step                string    `json:"step"`
	StepAt              UnixMilli `json:"step_at"` // 0 unknown
	Proposer            Proposer  `json:"proposer"`
	TotalPower          int64     `json:"total_power"`
	PrevoteShare        float64   `json:"prevote_share"`
	PrecommitShare      float64   `json:"precommit_share"`
	PrevoteBlockShare   float64   `json:"prevote_block_share"`
	PrecommitBlockShare float64   `json:"precommit_block_share"`
	// The chain's RPC endpoints by their latest status (0 of 0: an older
	// server that does not say); EndpointsHealthyAt is the latest healthy
	// status of any of them (0 never or unknown).
	EndpointsHealthy   int         `json:"endpoints_healthy"`
	EndpointsTotal     int         `json:"endpoints_total"`
	EndpointsHealthyAt UnixMilli   `json:"endpoints_healthy_at"`
	Validators         []Validator `json:"validators"`
}

// AllEndpointsDown reports that the chain has endpoints and none of them
// is healthy: the votes shown are the last seen before they went down.
func (c *Consensus) AllEndpointsDown() bool {
	return c != nil && c.EndpointsTotal > 0 && c.EndpointsHealthy == 0
}

// UnixMilli is a time in unix milliseconds, read from what the API writes
// (an RFC 3339 string, like every time of the API) or from a number of
// milliseconds; null, "" or anything unreadable is 0 (unknown).
type UnixMilli int64

// UnmarshalJSON never fails: a time the view cannot read is shown as unknown.
func (u *UnixMilli) UnmarshalJSON(b []byte) error {
	*u = 0
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil && t.Year() > 1970 && t.Year() < 10000 {
			*u = UnixMilli(t.UnixMilli())
		}
		return nil
	}
	var n float64
	if err := json.Unmarshal(b, &n); err == nil && n > 0 && n < 253402300799999 {
		*u = UnixMilli(n)
	}
	return nil
}

// Proposer is the proposer of the current round.
type Proposer struct {
	Address string `json:"address"`
	Moniker string `json:"moniker"`
}

// Validator is one row of the table.
type Validator struct {
	Address      string `json:"address"`
	Moniker      string `json:"moniker"`
	Index        int    `json:"index"`
	VotingPower  int64  `json:"voting_power"`
	Prevote      Vote   `json:"prevote"`
	Precommit    Vote   `json:"precommit"`
	RecentMissed int    `json:"recent_missed"`
	// Recent is the last RecentLen analysed heights, oldest first, one
	// character each: S signed, P proposed, v missed prevote, c missed
	// precommit, M missed signature, ? unknown.
	Recent string `json:"recent"`
}

// Name is what the table shows for the validator: its moniker, else its
// address shortened.
func (v Validator) Name() string {
	if v.Moniker != "" {
		return v.Moniker
	}
	return ShortAddress(v.Address)
}

// ShortAddress keeps the first 12 characters of an address.
func ShortAddress(a string) string {
	if len(a) <= 12 {
		return a
	}
	return a[:12] + "…"
}

// DecodeConsensus reads a consensus response. Unknown fields are ignored
// and missing ones stay zero; text is made safe to print (no control
// characters, so no escape sequences reach the terminal) and bounded.
func DecodeConsensus(body []byte) (*Consensus, error) {
	var c Consensus
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, fmt.Errorf("decode the consensus response: %w", err)
	}
	c.Chain = printable(c.Chain)
	c.Step = printable(c.Step)
	c.Proposer.Address = printable(c.Proposer.Address)
	c.Proposer.Moniker = printable(c.Proposer.Moniker)
	c.PrevoteShare = clampShare(c.PrevoteShare)
	c.PrecommitShare = clampShare(c.PrecommitShare)
	c.PrevoteBlockShare = min(clampShare(c.PrevoteBlockShare), c.PrevoteShare)
	c.PrecommitBlockShare = min(clampShare(c.PrecommitBlockShare), c.PrecommitShare)
	c.EndpointsTotal = max(c.EndpointsTotal, 0)
	c.EndpointsHealthy = min(max(c.EndpointsHealthy, 0), c.EndpointsTotal)
	if len(c.Validators) > maxValidators {
		c.Validators = c.Validators[:maxValidators]
	}
	var sum int64
	for i := range c.Validators {
		v := &c.Validators[i]
		v.Address = printable(v.Address)
		v.Moniker = printable(v.Moniker)
		v.Prevote = normVote(v.Prevote)
		v.Precommit = normVote(v.Precommit)
		v.Recent = normRecent(v.Recent)
		v.VotingPower = max(v.VotingPower, 0)
		v.RecentMissed = max(v.RecentMissed, 0)
		sum += v.VotingPower
	}
	if c.TotalPower <= 0 {
		c.TotalPower = sum // an older or partial server: derive it
	}
	return &c, nil
}

// printable is s without control or other unprintable characters (escape
// sequences, bidi overrides, zero-width joiners), trimmed and bounded.
func printable(s string) string {
	s = safe.String(s, maxTextBytes)
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		if unicode.IsSpace(r) {
			return ' '
		}
		return -1
	}, s))
}

func clampShare(f float64) float64 {
	if f != f || f < 0 { // NaN or negative
		return 0
	}
	return min(f, 1)
}

func normVote(v Vote) Vote {
	switch v := Vote(strings.ToLower(string(v))); v {
	case VoteBlock, VoteNil:
		return v
	default:
		return VoteNone
	}
}

// normRecent keeps the newest RecentLen cells and turns any character
// outside the documented set into '?'.
func normRecent(s string) string {
	if len(s) > 4*RecentLen {
		s = s[len(s)-4*RecentLen:]
	}
	var b []byte
	for _, r := range s {
		switch r {
		case 'S', 'P', 'v', 'c', 'M', '?':
			b = append(b, byte(r))
		default:
			b = append(b, '?')
		}
	}
	if len(b) > RecentLen {
		b = b[len(b)-RecentLen:]
	}
	return string(b)
}

// DecodeChains reads GET /api/v1/cosmos/chains loosely: a list of names, a
// list of objects naming a chain (name, chain, chain_id or id), or an
// object holding such a list under any key (chains, items, data…).
func DecodeChains(body []byte) ([]string, error) {
	var raw any
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("decode the chains response: %w", err)
	}
	var out []string
	seen := map[string]bool{}
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		if depth > 3 || len(out) >= 1000 {
			return
		}
		switch x := v.(type) {
		case string:
			if n := printable(x); n != "" && !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		case []any:
			for _, e := range x {
				walk(e, depth+1)
			}
		case map[string]any:
			for _, k := range []string{"name", "chain", "chain_id", "id"} {
				if s, ok := x[k].(string); ok {
					walk(s, depth+1)
					return
				}
			}
			for _, k := range []string{"chains", "items", "data", "networks", "results"} {
				if l, ok := x[k].([]any); ok {
					walk(l, depth+1)
					return
				}
			}
		}
	}
	walk(raw, 0)
	return out, nil
}
