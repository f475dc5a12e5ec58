package api

import (
	"errors"
	"fmt"
	"net/http"
)

// apiError is an error a client is meant to see: its message and the
// parameter at fault go into the JSON body as they are. Any other error a
// handler returns is logged and answered with a generic 500, so store details
// never reach a client.
type apiError struct {
	status int
	msg    string
	param  string
}

func (e *apiError) Error() string { return e.msg }

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error     string `json:"error"`
	Parameter string `json:"parameter,omitempty"`
}

func badParam(param, format string, args ...any) error {
	return &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...), param: param}
}

func notFound(param, format string, args ...any) error {
	return &apiError{status: http.StatusNotFound, msg: fmt.Sprintf(format, args...), param: param}
}

// asAPIError reports whether err is meant for the client.
func asAPIError(err error) (*apiError, bool) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae, true
	}
	return nil, false
}

const internalErrorMsg = "internal error; try again later, and tell the operator if it persists"
