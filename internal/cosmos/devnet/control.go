package devnet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// The control endpoint, on loopback, named by chain.json's "control":
//
//	GET  /status                  Status
//	POST /validators/{i}/stop     ActionResult; 404 no such validator, 409 already stopped
//	POST /validators/{i}/start    ActionResult; 404 no such validator, 409 already running
//
// Errors are {"error": "..."} with a status code: 400 a bad index, 404 an
// unknown path or validator, 405 a wrong method, 409 a validator already
// in the asked state, 503 a devnet closing, 500 a stop or start that
// failed (a port taken meanwhile, a store that would not open).

// ActionResult is the answer to a stop or start.
type ActionResult struct {
	Validator int    `json:"validator"`
	Address   string `json:"address"`
	Action    string `json:"action"`
	Running   bool   `json:"running"`
	Took      string `json:"took"`
}

type errorBody struct {
	Error string `json:"error"`
}

func (d *Devnet) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, r, "GET")
			return
		}
		reply(w, http.StatusOK, d.Status())
	})
	mux.HandleFunc("/validators/{i}/{action}", func(w http.ResponseWriter, r *http.Request) {
		action := r.PathValue("action")
		if action != "stop" && action != "start" {
			replyError(w, http.StatusNotFound, fmt.Sprintf("unknown action %q: use POST /validators/{i}/stop or /validators/{i}/start", action))
			return
		}
		if r.Method != http.MethodPost {
			methodNotAllowed(w, r, "POST")
			return
		}
		i, err := strconv.Atoi(r.PathValue("i"))
		if err != nil {
			replyError(w, http.StatusBadRequest, fmt.Sprintf("validator index %q is not a number: give 0 to %d", r.PathValue("i"), len(d.vals)-1))
			return
		}
		began := time.Now()
		if action == "stop" {
			err = d.StopValidator(i)
		} else {
			err = d.StartValidator(i)
		}
		switch {
		case err == nil:
			reply(w, http.StatusOK, ActionResult{
				Validator: i, Address: d.vals[i].address.String(), Action: action,
				Running: action == "start", Took: time.Since(began).Round(time.Millisecond).String(),
			})
		case errors.Is(err, ErrNoValidator):
			replyError(w, http.StatusNotFound, err.Error())
		case errors.Is(err, ErrStopped), errors.Is(err, ErrRunning):
			replyError(w, http.StatusConflict, err.Error())
		case errors.Is(err, ErrClosed):
			replyError(w, http.StatusServiceUnavailable, err.Error())
		default:
			replyError(w, http.StatusInternalServerError, err.Error())
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		replyError(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s: use GET /status, POST /validators/{i}/stop or POST /validators/{i}/start", r.URL.Path))
	})
	return mux
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	replyError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: use %s", r.Method, r.URL.Path, allow))
}

func replyError(w http.ResponseWriter, code int, msg string) {
	reply(w, code, errorBody{Error: msg})
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// ControlError is an error answer of the control endpoint.
type ControlError struct {
	StatusCode int
	Message    string
}

func (e *ControlError) Error() string { return e.Message }

// controlClient has no timeout of its own: callers bound requests with
// their context (a start can take seconds when stores are slow to open).
// Every request has its own connection: one kept from an earlier request
// to a devnet that has since closed would fail as an EOF (a POST is not
// retried) where a new one is refused, which says "not running".
var controlClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// GetStatus asks the control endpoint at base (chain.json's "control")
// which validators run.
func GetStatus(ctx context.Context, base string) (Status, error) {
	var st Status
	err := call(ctx, http.MethodGet, base+"/status", &st)
	return st, err
}

// ValidatorAction asks the control endpoint at base to "stop" or "start"
// validator i.
func ValidatorAction(ctx context.Context, base, action string, i int) (ActionResult, error) {
	var res ActionResult
	err := call(ctx, http.MethodPost, fmt.Sprintf("%s/validators/%d/%s", base, i, action), &res)
	return res, err
}

func call(ctx context.Context, method, url string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return err
	}
	resp, err := controlClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read the answer: %w", method, url, err)
	}
	if resp.StatusCode != http.StatusOK {
		var eb errorBody
		if json.Unmarshal(body, &eb) != nil || eb.Error == "" {
			eb.Error = fmt.Sprintf("%s %s: %s: %s", method, url, resp.Status, bytes.TrimSpace(body))
		}
		return &ControlError{StatusCode: resp.StatusCode, Message: eb.Error}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s %s: decode the answer: %w", method, url, err)
	}
	return nil
}
