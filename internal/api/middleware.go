package api

import (
	"context"
	"errors"
	"math"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// statusWriter records the status code for metrics and whether a response
// has started, so a panic after the first byte does not write a second one.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// apiKeyHeader carries the API key, as in Valtrack.
const apiKeyHeader = "X-API-KEY"

// wrap gives every route the same treatment: CORS headers, panic recovery,
// metrics by route pattern, and for limited routes the API key check and the
// rate limit. route is the label in metrics, a fixed string per route so that
// clients cannot grow the label set.
func (s *Server) wrap(route string, limited bool, h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		w := &statusWriter{ResponseWriter: rw}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler { //nolint:errorlint // sentinel compared as net/http does
					panic(p)
				}
				s.metrics.panics.Inc()
				s.log.Error("handler panicked; answered 500", "route", route, "panic", p, "stack", string(debug.Stack()))
				if w.status == 0 {
					s.writeError(w, r, http.StatusInternalServerError, InternalErrorMessage, "")
				}
			}
			code := w.status
			if code == 0 {
				code = http.StatusOK
			}
			s.metrics.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
			s.metrics.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
		}()
		setCORS(w.Header())
		var c Caller
		if limited {
			if !s.admit(w, r, &c) {
				return
			}
		}
		if err := h(w, r, c); err != nil {
			s.fail(w, r, route, err)
		}
	})
}

// admit checks the API key and the rate limit. A present but unknown key is
// refused with 401 (after taking a token from the IP's bucket, so guessing
// keys is rate limited too): a client with a mistyped key should notice
// rather than silently get the public view.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, c *Caller) bool {
	lim, kind, id := s.ipRate, "ip", "ip:"+s.clientBucket(r)
	badKey := false
	if key := r.Header.Get(apiKeyHeader); key != "" {
		if k, ok := s.keys.lookup(key); ok {
			c.Admin = true
			lim, kind, id = s.keyRate, "key", k.bucketID()
		} else {
			badKey = true
		}
	}
	if ok, wait := lim.allow(id); !ok {
		s.metrics.rateLimited.WithLabelValues(kind).Inc()
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Max(1, math.Ceil(wait.Seconds())))))
		s.writeError(w, r, http.StatusTooManyRequests, "rate limit exceeded; retry after the number of seconds in the Retry-After header", "")
		return false
	}
	if badKey {
		s.writeError(w, r, http.StatusUnauthorized, "invalid API key; check the X-API-KEY header, or omit it for the public view", apiKeyHeader)
		return false
	}
	return true
}

// clientBucket names the rate-limit bucket of the client's address. IPv6
// clients are bucketed by /64, the block one subscriber usually holds: per
// address, one host could take 2^64 buckets.
func (s *Server) clientBucket(r *http.Request) string {
	addr := remoteAddr(r.RemoteAddr)
	if s.o.TrustProxy {
		if a, ok := forwardedFor(r.Header.Values("X-Forwarded-For")); ok {
			addr = a
		}
	}
	if !addr.IsValid() {
		return r.RemoteAddr
	}
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

func remoteAddr(s string) netip.Addr {
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = s
	}
	a, _ := netip.ParseAddr(host)
	return a
}

// forwardedFor returns the last address of X-Forwarded-For: the one our
// proxy appended. Earlier entries are whatever the client chose to send.
func forwardedFor(values []string) (netip.Addr, bool) {
	if len(values) == 0 {
		return netip.Addr{}, false
	}
	last := values[len(values)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	a, err := netip.ParseAddr(strings.TrimSpace(last))
	return a, err == nil
}

func setCORS(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	h.Set("Access-Control-Allow-Headers", apiKeyHeader+", Content-Type")
	h.Set("Access-Control-Expose-Headers", "Retry-After")
	h.Set("Access-Control-Max-Age", "86400")
}

// fail answers a handler error: an *Error as it is, a timeout as 503 and
// anything else as a generic 500 with the details in the log only.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, route string, err error) {
	if ae, ok := AsError(err); ok {
		s.writeError(w, r, ae.Status, ae.Message, ae.Parameter)
		return
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The client went away; nobody reads the answer.
		w.WriteHeader(499)
		return
	}
	if errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("request timed out", "route", route, "err", err)
		s.writeError(w, r, http.StatusServiceUnavailable, "the query took too long; narrow it (fewer rows, a shorter window) or retry later", "")
		return
	}
	s.log.Error("request failed", "route", route, "err", err)
	s.writeError(w, r, http.StatusInternalServerError, InternalErrorMessage, "")
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, status int, msg, param string) {
	s.writeJSON(w, r, status, errorBody{Error: msg, Parameter: param})
}
