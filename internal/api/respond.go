package api

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// gzipMinBytes: below this, compressing costs more than it saves.
const gzipMinBytes = 1024

// MarshalJSON encodes a response body as WriteJSON does (with a trailing
// newline), for handlers that cache the encoded body.
func MarshalJSON(v any) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode response: %w", err)
	}
	return append(body, '\n'), nil
}

// WriteJSON encodes v completely before writing anything and returns the
// encoding error without writing, so that a handler returning it still gets
// a clean 500.
func WriteJSON(w http.ResponseWriter, r *http.Request, status int, v any) error {
	body, err := MarshalJSON(v)
	if err != nil {
		return err
	}
	WriteBody(w, r, status, "application/json", body)
	return nil
}

// writeJSON is WriteJSON for the server's own answers (errors, health),
// whose values always encode; a failure is still answered, with a fixed body.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	if err := WriteJSON(w, r, status, v); err != nil {
		s.log.Error("encode response", "path", r.URL.Path, "err", err)
		WriteBody(w, r, http.StatusInternalServerError, "application/json", []byte(`{"error":"`+InternalErrorMessage+`"}`+"\n"))
	}
}

// WriteBody writes a complete body with its content type, gzip-compressed
// when it is large enough and the client accepts gzip; HEAD gets the headers
// only.
func WriteBody(w http.ResponseWriter, r *http.Request, status int, contentType string, body []byte) {
	if len(body) >= gzipMinBytes && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		out := StreamBody(w, r, status, contentType)
		// Write errors mean the client went away; there is nobody to tell.
		_, _ = out.Write(body)
		_ = out.Close()
		return
	}
	setBodyHeaders(w, contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// StreamBody starts a body of unknown length with WriteBody's headers,
// gzip-compressed when the client accepts gzip: write the body to the
// writer it returns, then Close it (which does not close w). HEAD gets the
// headers only: the writer discards.
func StreamBody(w http.ResponseWriter, r *http.Request, status int, contentType string) io.WriteCloser {
	setBodyHeaders(w, contentType)
	gz := acceptsGzip(r.Header.Get("Accept-Encoding"))
	if gz {
		w.Header().Set("Content-Encoding", "gzip")
	}
	w.WriteHeader(status)
	switch {
	case r.Method == http.MethodHead:
		return nopCloser{io.Discard}
	case gz:
		z, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
		if err == nil { // BestSpeed is a valid level
			return z
		}
	}
	return nopCloser{w}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func setBodyHeaders(w http.ResponseWriter, contentType string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Add("Vary", "Accept-Encoding")
}

// acceptsGzip reads Accept-Encoding: gzip (or *) unless its q is zero.
func acceptsGzip(header string) bool {
	if len(header) > 1024 {
		header = header[:1024]
	}
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "gzip" && name != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.ToLower(params), " ", "")
		if strings.HasPrefix(q, "q=0") && strings.Trim(strings.TrimPrefix(q, "q="), "0.") == "" {
			return false
		}
		return true
	}
	return false
}
