package api

import (
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Limits on query parameters. Everything in a query string comes from an
// anonymous client, so every value is bounded before it reaches the store.
const (
	maxLimit        = 1000
	defaultLimit    = 100
	maxHistoryLimit = 1000
	defaultHistory  = 100
	maxCursorLen    = 512
	maxClientLen    = 64
	maxWindow       = 366 * 24 * time.Hour
	defaultWindow   = 24 * time.Hour
	// maxUnix is 9999-12-31T23:59:59Z: later instants cannot be written as RFC3339.
	maxUnix = 253402300799
)

var (
	networkNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	countryRE     = regexp.MustCompile(`^[A-Za-z]{2}$`)
)

// query reads parameters from a URL query; each getter returns a 400 error
// naming the parameter when its value is malformed.
type query struct{ v url.Values }

func (q query) has(name string) bool { return q.v.Get(name) != "" }

func (q query) str(name string, maxLen int) (string, error) {
	s := strings.TrimSpace(q.v.Get(name))
	if len(s) > maxLen {
		return "", badParam(name, "%s must be at most %d characters", name, maxLen)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "", badParam(name, "%s must not contain control characters", name)
		}
	}
	return s, nil
}

// intRange returns def when the parameter is absent.
func (q query) intRange(name string, def, lo, hi int) (int, error) {
	s := q.v.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < int64(lo) || n > int64(hi) {
		return 0, badParam(name, "%s must be an integer from %d to %d", name, lo, hi)
	}
	return int(n), nil
}

func (q query) nonNegInt(name string) (int, error) {
	s := q.v.Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil || n < 0 {
		return 0, badParam(name, "%s must be a non-negative integer", name)
	}
	return int(n), nil
}

func (q query) asn(name string) (uint32, error) {
	s := strings.TrimPrefix(strings.TrimPrefix(q.v.Get(name), "AS"), "as")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, badParam(name, "%s must be an AS number from 1 to 4294967295 (optionally prefixed AS)", name)
	}
	return uint32(n), nil
}

func (q query) boolean(name string) (bool, error) {
	s := q.v.Get(name)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, badParam(name, "%s must be true or false", name)
	}
	return b, nil
}

// instant accepts unix seconds or RFC3339; the zero time when absent.
func (q query) instant(name string) (time.Time, error) {
	s := strings.TrimSpace(q.v.Get(name))
	if s == "" {
		return time.Time{}, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > maxUnix {
			return time.Time{}, badParam(name, "%s must be unix seconds from 0 to %d or an RFC3339 time", name, maxUnix)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil || t.Unix() < 0 || t.Unix() > maxUnix {
		return time.Time{}, badParam(name, "%s must be unix seconds or an RFC3339 time such as 2025-01-02T15:04:05Z", name)
	}
	return t.UTC(), nil
}

// window parses a duration such as 90m, 24h or 7d (time.ParseDuration plus a
// day unit, which dashboards want and Go lacks).
func (q query) window(name string) (time.Duration, error) {
	s := strings.TrimSpace(q.v.Get(name))
	if s == "" {
		return defaultWindow, nil
	}
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n float64
		n, err = strconv.ParseFloat(days, 64)
		if err == nil && (math.IsNaN(n) || n <= 0 || n > maxWindow.Hours()/24) {
			err = strconv.ErrRange
		}
		d = time.Duration(n * float64(24*time.Hour))
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d <= 0 || d > maxWindow {
		return 0, badParam(name, "%s must be a positive duration up to 366d, such as 30m, 24h or 7d", name)
	}
	return d, nil
}

// timeRange reads from/to and rejects from > to.
func (q query) timeRange() (from, to time.Time, err error) {
	if from, err = q.instant("from"); err != nil {
		return
	}
	if to, err = q.instant("to"); err != nil {
		return
	}
	if !from.IsZero() && !to.IsZero() && from.After(to) {
		err = badParam("from", "from must not be after to")
	}
	return
}
