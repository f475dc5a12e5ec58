package reqresp

import (
	"fmt"
	"strings"
	"unicode"
)

// sentinel is a constant error value, matched with errors.Is.
type sentinel string

func (e sentinel) Error() string { return string(e) }

// Sentinel errors, matched with errors.Is.
const (
	// ErrTimeout: the peer did not answer (or accept data) in time.
	ErrTimeout = sentinel("req/resp timeout")
	// ErrLength: a declared length lies outside the message type's SSZ bounds.
	ErrLength = sentinel("declared length out of bounds")
	// ErrEncoding: the snappy frames or SSZ bytes are malformed, truncated or
	// inconsistent with the declared length.
	ErrEncoding = sentinel("malformed ssz_snappy payload")
	// errInvalidRequest marks server-side failures the peer caused and
	// should hear about.
	errInvalidRequest = sentinel("invalid request")
)

// ResponseError is a non-success response chunk from a peer.
type ResponseError struct {
	Code    byte
	Message string // the peer's ErrorMessage, made printable
}

func (e *ResponseError) Error() string {
	return fmt.Sprintf("peer answered with error code %d (%s): %q", e.Code, codeName(e.Code), e.Message)
}

func codeName(c byte) string {
	switch c {
	case CodeSuccess:
		return "success"
	case CodeInvalidRequest:
		return "invalid request"
	case CodeServerError:
		return "server error"
	case CodeResourceUnavailable:
		return "resource unavailable"
	}
	if c >= 128 {
		return "client specific"
	}
	return "reserved"
}

// printable turns a peer's bytes into something safe for logs.
func printable(b []byte) string {
	return strings.Map(func(r rune) rune {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, string(b))
}
