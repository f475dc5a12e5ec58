package sentry

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/valtrack/valtrack/internal/ethereum/reqresp"
)

// Failure reasons, the label of valtrack_eth_peers_failed_total.
const (
	ReasonTimeout      = "timeout"
	ReasonRefused      = "refused"
	ReasonProtocol     = "protocol" // security/muxer negotiation, bad or missing req/resp answers
	ReasonWrongNetwork = "wrong_network"
	ReasonGoodbye      = "goodbye"
	ReasonOther        = "other"
)

// classify maps a dial or req/resp error to a reason.
func classify(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, reqresp.ErrTimeout):
		return ReasonTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return ReasonRefused
	case errors.Is(err, reqresp.ErrEncoding), errors.Is(err, reqresp.ErrLength):
		return ReasonProtocol
	}
	var re *reqresp.ResponseError
	if errors.As(err, &re) {
		return ReasonProtocol
	}
	// Transport errors from libp2p are not all typed; their text is stable.
	msg := strings.ToLower(err.Error())
	switch {
	case strings.Contains(msg, "timeout"), strings.Contains(msg, "deadline"):
		return ReasonTimeout
	case strings.Contains(msg, "refused"), strings.Contains(msg, "no route"), strings.Contains(msg, "unreachable"):
		return ReasonRefused
	case strings.Contains(msg, "protocol"), strings.Contains(msg, "handshake"), strings.Contains(msg, "noise"),
		strings.Contains(msg, "negotiat"), strings.Contains(msg, "stream reset"), strings.Contains(msg, "eof"),
		strings.Contains(msg, "peer id mismatch"), strings.Contains(msg, "malformed"):
		return ReasonProtocol
	}
	return ReasonOther
}

// backoff is the wait before the next dial after n consecutive failures:
// base·2^(n-1), capped.
func backoff(n int, base, limit time.Duration) time.Duration {
	if n <= 0 {
		return 0
	}
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}
