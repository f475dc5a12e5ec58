package api

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Bounds shared by every domain's parameters. Everything in a query string
// comes from an anonymous client, so every value is bounded before it reaches
// a store; a domain adds the limits of its own parameters.
const (
	// MaxWindow and DefaultWindow bound Query.Window.
	MaxWindow     = 366 * 24 * time.Hour
	DefaultWindow = 24 * time.Hour
	// maxUnix is 9999-12-31T23:59:59Z: later instants cannot be written as RFC3339.
	maxUnix = 253402300799
)

// Query reads parameters from a URL query; each getter returns a 400 error
// naming the parameter when its value is malformed, and the zero value (or
// the given default) when the parameter is absent.
type Query struct{ v url.Values }

// ParseQuery parses the request's query string; a malformed one is a 400
// naming the parameter "query".
func ParseQuery(r *http.Request) (Query, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return Query{}, BadParam("query", "the query string is malformed: %v", err)
	}
	return Query{v}, nil
}

// NewQuery wraps already parsed values (tests, fuzzers).
func NewQuery(v url.Values) Query { return Query{v} }

// Has reports whether the parameter is present and not empty.
func (q Query) Has(name string) bool { return q.v.Get(name) != "" }

// Get returns the raw first value of the parameter, unchecked.
func (q Query) Get(name string) string { return q.v.Get(name) }

// Str returns the parameter trimmed, at most maxLen bytes and free of
// control characters.
func (q Query) Str(name string, maxLen int) (string, error) {
	s := strings.TrimSpace(q.v.Get(name))
	if len(s) > maxLen {
		return "", BadParam(name, "%s must be at most %d characters", name, maxLen)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "", BadParam(name, "%s must not contain control characters", name)
		}
	}
	return s, nil
}

// IntRange returns an integer in [lo, hi], def when the parameter is absent.
func (q Query) IntRange(name string, def, lo, hi int) (int, error) {
	s := q.v.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < int64(lo) || n > int64(hi) {
		return 0, BadParam(name, "%s must be an integer from %d to %d", name, lo, hi)
	}
	return int(n), nil
}

// NonNegInt returns a non-negative 32-bit integer, 0 when absent.
func (q Query) NonNegInt(name string) (int, error) {
	s := q.v.Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil || n < 0 {
		return 0, BadParam(name, "%s must be a non-negative integer", name)
	}
	return int(n), nil
}

// ASN returns an autonomous system number, optionally prefixed AS; 0 when
// absent.
func (q Query) ASN(name string) (uint32, error) {
	s := strings.TrimPrefix(strings.TrimPrefix(q.v.Get(name), "AS"), "as")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, BadParam(name, "%s must be an AS number from 1 to 4294967295 (optionally prefixed AS)", name)
	}
	return uint32(n), nil
}

// Bool returns true or false as strconv.ParseBool reads them; false when absent.
func (q Query) Bool(name string) (bool, error) {
	s := q.v.Get(name)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, BadParam(name, "%s must be true or false", name)
	}
	return b, nil
}

// Instant accepts unix seconds or RFC3339; the zero time when absent.
func (q Query) Instant(name string) (time.Time, error) {
	s := strings.TrimSpace(q.v.Get(name))
	if s == "" {
		return time.Time{}, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > maxUnix {
			return time.Time{}, BadParam(name, "%s must be unix seconds from 0 to %d or an RFC3339 time", name, maxUnix)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil || t.Unix() < 0 || t.Unix() > maxUnix {
		return time.Time{}, BadParam(name, "%s must be unix seconds or an RFC3339 time such as 2025-01-02T15:04:05Z", name)
	}
	return t.UTC(), nil
}

// Window parses a duration such as 90m, 24h or 7d (time.ParseDuration plus a
// day unit, which dashboards want and Go lacks), up to MaxWindow;
// DefaultWindow when absent.
func (q Query) Window(name string) (time.Duration, error) {
	s := strings.TrimSpace(q.v.Get(name))
	if s == "" {
		return DefaultWindow, nil
	}
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n float64
		n, err = strconv.ParseFloat(days, 64)
		if err == nil && (math.IsNaN(n) || n <= 0 || n > MaxWindow.Hours()/24) {
			err = strconv.ErrRange
		}
		d = time.Duration(n * float64(24*time.Hour))
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d <= 0 || d > MaxWindow {
		return 0, BadParam(name, "%s must be a positive duration up to 366d, such as 30m, 24h or 7d", name)
	}
	return d, nil
}

// TimeRange reads from/to and rejects from > to.
func (q Query) TimeRange() (from, to time.Time, err error) {
	if from, err = q.Instant("from"); err != nil {
		return
	}
	if to, err = q.Instant("to"); err != nil {
		return
	}
	if !from.IsZero() && !to.IsZero() && from.After(to) {
		err = BadParam("from", "from must not be after to")
	}
	return
}
