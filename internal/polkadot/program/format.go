package program

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/valtrack/valtrack/internal/polkadot/events"
)

// FormatAmount writes a planck amount in tokens with thousands separators
// and every significant decimal ("4,999.5 DOT"): rounding could print a
// bond just under a minimum as the minimum itself.
func FormatAmount(a events.Amount, decimals int, token string) string {
	return formatBig(a.Big(), decimals, token)
}

func formatBig(b *big.Int, decimals int, token string) string {
	neg := b.Sign() < 0
	s := new(big.Int).Abs(b).String()
	if decimals < 0 {
		decimals = 0
	}
	if len(s) <= decimals {
		s = strings.Repeat("0", decimals-len(s)+1) + s
	}
	ip, fp := s[:len(s)-decimals], strings.TrimRight(s[len(s)-decimals:], "0")
	var sb strings.Builder
	if neg {
		sb.WriteByte('-')
	}
	for i, ch := range ip {
		if i > 0 && (len(ip)-i)%3 == 0 {
			sb.WriteByte(',')
		}
		sb.WriteRune(ch)
	}
	if fp != "" {
		sb.WriteByte('.')
		sb.WriteString(fp)
	}
	if token != "" {
		sb.WriteByte(' ')
		sb.WriteString(token)
	}
	return sb.String()
}

// formatPercent writes a fraction as a percentage without trailing zeros
// (0.05 → "5%", 0.125 → "12.5%").
func formatPercent(f float64) string {
	return strconv.FormatFloat(f*100, 'f', -1, 64) + "%"
}

// perbillPercent writes a Perbill exactly (50000000 → "5%").
func perbillPercent(p uint32) string {
	return formatBig(new(big.Int).SetUint64(uint64(p)), 7, "") + "%"
}

// formatDuration writes a duration in days, hours and minutes ("3d4h",
// "45m"); seconds only below a minute.
func formatDuration(d time.Duration) string {
	if d < 0 {
		return "-" + formatDuration(-d)
	}
	if d < time.Minute {
		return d.Round(time.Second).String()
	}
	d = d.Round(time.Minute)
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	h := d / time.Hour
	m := (d - h*time.Hour) / time.Minute
	var sb strings.Builder
	if days > 0 {
		fmt.Fprintf(&sb, "%dd", days)
	}
	if h > 0 {
		fmt.Fprintf(&sb, "%dh", h)
	}
	if m > 0 {
		fmt.Fprintf(&sb, "%dm", m)
	}
	return sb.String()
}

// formatDate writes unix ms as a UTC date.
func formatDate(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02") }

// formatTime writes unix ms as a UTC time to the minute.
func formatTime(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04 UTC")
}

// amountFloat is a.Float() without math/big for the common case of a plain
// decimal string (strconv rounds it correctly): the score reads hundreds
// of thousands of nominator bonds per round, and big.Int parsing
// dominated it.
func amountFloat(a events.Amount) float64 {
	s := string(a)
	if s == "" || len(s) > 300 {
		return a.Float()
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return a.Float() // malformed or signed: Amount's own rules (0)
		}
	}
	if len(s) <= 19 { // fits a uint64: an integer parse, exact, then one rounding
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return float64(u)
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return a.Float()
	}
	return f
}
