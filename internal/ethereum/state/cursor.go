package state

import (
	"encoding/base64"
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrInvalidFilter is wrapped by ListPeers errors caused by the filter
// itself (a bad cursor, a missing network, an out-of-range subnet): the
// caller's mistake, e.g. HTTP 400, not a server failure.
var ErrInvalidFilter = errors.New("invalid peer filter")

// maxCursorLen bounds a cursor taken from a request; peer ids are ~52
// characters, so this leaves ample room.
const maxCursorLen = 512

// encodeCursor makes the opaque cursor that resumes a listing after peerID.
func encodeCursor(peerID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(peerID))
}

// decodeCursor reverses encodeCursor, refusing anything it did not make.
func decodeCursor(c string) (string, error) {
	if len(c) > maxCursorLen {
		return "", fmt.Errorf("%w: cursor longer than %d characters; pass the next_cursor of the previous page unchanged", ErrInvalidFilter, maxCursorLen)
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) == 0 || !utf8.Valid(b) {
		return "", fmt.Errorf("%w: cursor is not one this server issued; pass the next_cursor of the previous page unchanged", ErrInvalidFilter)
	}
	return string(b), nil
}
