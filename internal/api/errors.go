package api

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an error a client is meant to see: its message and the parameter
// at fault go into the JSON body as they are. Any other error a handler
// returns is logged and answered with a generic 500, so store details never
// reach a client.
type Error struct {
	Status    int    // HTTP status code
	Message   string // shown to the client
	Parameter string // the parameter at fault, or ""
}

func (e *Error) Error() string { return e.Message }

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error     string `json:"error"`
	Parameter string `json:"parameter,omitempty"`
}

// Errorf returns an *Error with the given status, parameter and message.
func Errorf(status int, param, format string, args ...any) error {
	return &Error{Status: status, Message: fmt.Sprintf(format, args...), Parameter: param}
}

// BadParam is a 400 naming the malformed parameter.
func BadParam(param, format string, args ...any) error {
	return Errorf(http.StatusBadRequest, param, format, args...)
}

// NotFound is a 404; param names the path value that matched nothing ("" for
// the path itself).
func NotFound(param, format string, args ...any) error {
	return Errorf(http.StatusNotFound, param, format, args...)
}

// AsError reports whether err is meant for the client, and unwraps it.
func AsError(err error) (*Error, bool) {
	var ae *Error
	if errors.As(err, &ae) {
		return ae, true
	}
	return nil, false
}

// InternalErrorMessage is the body of every 500: the details are in the log.
const InternalErrorMessage = "internal error; try again later, and tell the operator if it persists"
