package telemetry

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// A replay frame is mostly node details this package skips (stats,
// hardware, block details); encoding/json validates and copies all of it
// once per nesting level. This scanner splits arrays into their elements
// in one pass without decoding them; only the leaves used are decoded
// (and validated) by the functions below.

// maxDepth bounds nesting: the deepest the server sends is 4.
const maxDepth = 64

var errTooDeep = fmt.Errorf("JSON nested deeper than %d", maxDepth)

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// valueEnd is the index after the JSON value starting at b[i]: strings
// are skipped with their escapes, arrays and objects by matching
// brackets; scalars up to the next delimiter (validated when decoded).
func valueEnd(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errors.New("unexpected end of JSON")
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '[', '{':
		var stack [maxDepth]byte
		depth := 0
		for i < len(b) {
			switch c := b[i]; c {
			case '"':
				e, err := stringEnd(b, i)
				if err != nil {
					return 0, err
				}
				i = e
				continue
			case '[', '{':
				if depth == maxDepth {
					return 0, errTooDeep
				}
				stack[depth] = c + 2 // ']' and '}' are '[' and '{' plus 2
				depth++
			case ']', '}':
				if depth == 0 || stack[depth-1] != c {
					return 0, fmt.Errorf("unbalanced %q at offset %d", c, i)
				}
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return 0, errors.New("unterminated JSON array or object")
	case ',', ']', '}', ':':
		return 0, fmt.Errorf("unexpected %q at offset %d", b[i], i)
	}
	j := i
	for j < len(b) && !isSpace(b[j]) && b[j] != ',' && b[j] != ']' && b[j] != '}' {
		j++
	}
	return j, nil
}

func stringEnd(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errors.New("unterminated JSON string")
}

// splitArray returns the elements of the JSON array b (raw, not
// decoded). dst is reused.
func splitArray(b []byte, dst [][]byte) ([][]byte, error) {
	dst = dst[:0]
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return nil, errors.New("not a JSON array")
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		if skipSpace(b, i+1) != len(b) {
			return nil, errors.New("data after the JSON array")
		}
		return dst, nil
	}
	for {
		e, err := valueEnd(b, i)
		if err != nil {
			return nil, err
		}
		dst = append(dst, b[i:e])
		i = skipSpace(b, e)
		if i >= len(b) {
			return nil, errors.New("unterminated JSON array")
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			if skipSpace(b, i+1) != len(b) {
				return nil, errors.New("data after the JSON array")
			}
			return dst, nil
		default:
			return nil, fmt.Errorf("unexpected %q at offset %d in a JSON array", b[i], i)
		}
	}
}

// parseUint reads a JSON non-negative integer.
func parseUint(b []byte) (uint64, error) {
	if len(b) == 0 || b[0] < '0' || b[0] > '9' || (b[0] == '0' && len(b) > 1) {
		return 0, fmt.Errorf("%.32q is not a non-negative integer", b)
	}
	return strconv.ParseUint(string(b), 10, 64)
}

// parseInt reads a JSON integer.
func parseInt(b []byte) (int64, error) {
	d := b
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
	}
	if len(d) == 0 || d[0] < '0' || d[0] > '9' || (d[0] == '0' && len(d) > 1) {
		return 0, fmt.Errorf("%.32q is not an integer", b)
	}
	return strconv.ParseInt(string(b), 10, 64)
}

// parseFloat reads a JSON number (not NaN or Inf, which strconv takes).
func parseFloat(b []byte) (float64, error) {
	d := b
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
	}
	if len(d) == 0 || d[0] < '0' || d[0] > '9' {
		return 0, fmt.Errorf("%.32q is not a number", b)
	}
	for _, c := range d {
		if !('0' <= c && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			return 0, fmt.Errorf("%.32q is not a number", b)
		}
	}
	return strconv.ParseFloat(string(b), 64)
}

// parseString reads a JSON string: without escapes directly, else via
// encoding/json (which also replaces invalid UTF-8).
func parseString(b []byte) (string, error) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", fmt.Errorf("%.32q is not a string", b)
	}
	in := b[1 : len(b)-1]
	plain := true
	for _, c := range in {
		if c == '\\' || c < 0x20 {
			plain = false
			break
		}
	}
	if plain && utf8.Valid(in) {
		return string(in), nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return "", err
	}
	return s, nil
}
