// Package rpc is valtrack's own client of the CometBFT RPC: lenient
// decoders of /status, /validators, /commit, /block and the WebSocket event
// stream, an HTTP client over the GET URI form, and a WebSocket subscriber
// that reconnects forever and never blocks on a slow consumer.
//
// It does not use the cometbft module's client or types: those fail a whole
// response on a public key type they do not know (cometbft/PubKeyBn254 and
// friends), drop events on a full channel without saying so, and give up
// reconnecting. Everything here comes from the network and is hostile:
// sizes are bounded, waits time out, nothing panics on input.
package rpc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/valtrack/valtrack/internal/safe"
)

// Int64 is an int64 as CometBFT's libs/json writes it, a JSON string
// ("1234"); a plain number, null or "" are accepted too.
type Int64 int64

// UnmarshalJSON accepts "123", 123, "" and null (0).
func (v *Int64) UnmarshalJSON(b []byte) error {
	n, err := parseInt(b, 64)
	*v = Int64(n)
	return err
}

// Int32 is an int32 (round, index, flag), a JSON number on the wire; a
// numeric string is accepted too.
type Int32 int32

// UnmarshalJSON accepts 3, "3", "" and null (0), refusing values outside int32.
func (v *Int32) UnmarshalJSON(b []byte) error {
	n, err := parseInt(b, 32)
	*v = Int32(n)
	return err
}

func parseInt(b []byte, bits int) (int64, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return 0, nil
	}
	s := string(b)
	if b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return 0, fmt.Errorf("integer %s: %w", safe.String(string(b), 40), err)
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return 0, nil
		}
	}
	n, err := strconv.ParseInt(s, 10, bits)
	if err != nil {
		return 0, fmt.Errorf("integer %q is not a whole number of %d bits", safe.String(s, 40), bits)
	}
	return n, nil
}

// Bool is a JSON bool; "true"/"false" strings are accepted too.
type Bool bool

// UnmarshalJSON accepts true, false, "true", "false" and null (false).
func (v *Bool) UnmarshalJSON(b []byte) error {
	switch strings.Trim(string(bytes.TrimSpace(b)), `"`) {
	case "true":
		*v = true
	case "false", "null", "":
		*v = false
	default:
		return fmt.Errorf("boolean %s is neither true nor false", safe.String(string(b), 20))
	}
	return nil
}

// Time is an RFC 3339 time; "" and null are the zero time.
type Time struct{ time.Time }

// UnmarshalJSON parses an RFC 3339 string.
func (t *Time) UnmarshalJSON(b []byte) error {
	var s string
	if string(bytes.TrimSpace(b)) == "null" {
		t.Time = time.Time{}
		return nil
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("time %s is not a string", safe.String(string(b), 40))
	}
	if s == "" {
		t.Time = time.Time{}
		return nil
	}
	p, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("time %q is not RFC 3339", safe.String(s, 40))
	}
	t.Time = p
	return nil
}

// maxUnixMS is 9999-12-31T23:59:59.999Z, what events accept.
const maxUnixMS = 253402300799999

// UnixMS is the time in unix milliseconds, 0 for the zero time (CometBFT
// writes 0001-01-01T00:00:00Z for an absent signature) or anything before
// 1970, clamped to year 9999.
func (t Time) UnixMS() int64 {
	if t.IsZero() {
		return 0
	}
	ms := t.UnixMilli()
	if ms < 0 {
		return 0
	}
	return min(ms, maxUnixMS)
}

// PubKey is a typed key {"type": "...", "value": "base64"} of any type,
// known or not: an unknown type is kept, never an error.
type PubKey struct {
	Type  string
	Value string
}

// Bounds on a key's parts (ML-DSA-65 is 1952 bytes, 2604 in base64).
const (
	maxKeyType  = 128
	maxKeyValue = 4096
)

// UnmarshalJSON never fails: what is not a {"type","value"} object of
// strings becomes an empty or partial key.
func (k *PubKey) UnmarshalJSON(b []byte) error {
	*k = PubKey{}
	var raw struct {
		Type  json.RawMessage `json:"type"`
		Value json.RawMessage `json:"value"`
	}
	if json.Unmarshal(b, &raw) != nil {
		return nil
	}
	var s string
	if json.Unmarshal(raw.Type, &s) == nil {
		k.Type = safe.String(s, maxKeyType)
	}
	s = ""
	if json.Unmarshal(raw.Value, &s) == nil {
		k.Value = safe.String(s, maxKeyValue)
	}
	return nil
}

// Hex is an upper-case hex string (addresses, hashes): lower case is
// raised, anything that is not hex of at most 128 characters refused.
type Hex string

const maxHex = 128

// UnmarshalJSON accepts a hex string (or null, "").
func (h *Hex) UnmarshalJSON(b []byte) error {
	*h = ""
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("hex %s is not a string", safe.String(string(b), 40))
	}
	if len(s) > maxHex {
		return fmt.Errorf("hex string of %d characters: at most %d", len(s), maxHex)
	}
	s = strings.ToUpper(s)
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
			return fmt.Errorf("%q is not hex", safe.String(s, 40))
		}
	}
	*h = Hex(s)
	return nil
}

// Text is a string made safe (valid UTF-8, no control characters) and
// bounded at decode; a non-string becomes "".
type Text string

const maxText = 256

// UnmarshalJSON keeps a string, made safe and bounded.
func (t *Text) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) != nil {
		*t = ""
		return nil
	}
	*t = Text(safe.String(s, maxText))
	return nil
}

// Sig is a base64 signature kept as text, bounded.
type Sig string

const maxSig = 512

// UnmarshalJSON keeps a string (null and non-strings are ""), bounded.
func (s *Sig) UnmarshalJSON(b []byte) error {
	var v string
	if json.Unmarshal(b, &v) != nil {
		*s = ""
		return nil
	}
	*s = Sig(safe.String(v, maxSig))
	return nil
}

// checkHeight refuses a height no chain has.
func checkHeight(what string, h int64) error {
	if h < 1 || h == math.MaxInt64 {
		return fmt.Errorf("%s height %d: heights start at 1", what, h)
	}
	return nil
}
