package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Error is every refusal and every failure to get an answer. Status is the HTTP status (0
// when no answer came), Code the error code of the body ({"error":{"code":...}}), Reason the
// error value of a refused action request, Message the server's explanation.
//
// Match it with errors.Is against the kinds a caller branches on (ErrNotFound, ErrLeaseLost,
// ...), or errors.As to read the fields.
type Error struct {
	Status  int
	Code    string
	Reason  string
	Message string
	// Request is the request as stored when an action request was refused (request_refused).
	Request *Request
	// RetryAfter is the server's Retry-After, when it sent one (429, 503 too_many_streams).
	RetryAfter time.Duration
	// Err is the transport's error when no answer came.
	Err error
}

func (e *Error) Error() string {
	switch {
	case e.Status == 0 && e.Err != nil:
		return fmt.Sprintf("ixnstore %s: %v", e.Code, e.Err)
	case e.Reason != "":
		return fmt.Sprintf("ixnstore %d %s (%s): %s", e.Status, e.Code, e.Reason, e.Message)
	default:
		return fmt.Sprintf("ixnstore %d %s: %s", e.Status, e.Code, e.Message)
	}
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches the kinds below by code: ErrUnavailable also matches the other answers that
// say "nothing was done, try again" (timeout, too_many_streams).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok || t.Status != 0 || t.Err != nil {
		return false
	}
	if t.Code == CodeUnavailable {
		return e.Code == CodeUnavailable || e.Code == "timeout" || e.Code == "too_many_streams"
	}
	return e.Code == t.Code
}

// Error codes a caller branches on (the full list is the Error schema of the API document).
const (
	CodeNotFound          = "not_found"
	CodeConflict          = "conflict"
	CodeInvalidTransition = "invalid_transition"
	CodeSessionEnded      = "session_ended"
	CodeLeaseLost         = "lease_lost"
	CodeLeaseHeld         = "lease_held"
	CodeNodeNotLive       = "node_not_live"
	CodeRequestRefused    = "request_refused"
	CodeRequestEnded      = "request_ended"
	CodeUnauthenticated   = "unauthenticated"
	CodeForbidden         = "forbidden"
	CodeInvalidValue      = "invalid_value"
	CodeUnavailable       = "unavailable"
	CodeOutcomeUnknown    = "outcome_unknown"
)

// The kinds of error to branch on, for errors.Is.
var (
	ErrNotFound          = &Error{Code: CodeNotFound}
	ErrConflict          = &Error{Code: CodeConflict}
	ErrInvalidTransition = &Error{Code: CodeInvalidTransition}
	ErrSessionEnded      = &Error{Code: CodeSessionEnded}
	// ErrLeaseLost: the session is no longer this node's at the epoch it holds, or the
	// node's own lease lapsed (a Node then refuses every write without sending it).
	ErrLeaseLost       = &Error{Code: CodeLeaseLost}
	ErrLeaseHeld       = &Error{Code: CodeLeaseHeld}
	ErrNodeNotLive     = &Error{Code: CodeNodeNotLive}
	ErrRequestRefused  = &Error{Code: CodeRequestRefused}
	ErrRequestEnded    = &Error{Code: CodeRequestEnded}
	ErrUnauthenticated = &Error{Code: CodeUnauthenticated}
	ErrForbidden       = &Error{Code: CodeForbidden}
	ErrInvalidValue    = &Error{Code: CodeInvalidValue}
	// ErrUnavailable: nothing was done; the same call may be sent again (unavailable,
	// timeout, too_many_streams, or no connection could be made).
	ErrUnavailable = &Error{Code: CodeUnavailable}
	// ErrOutcomeUnknown: a write was sent and its answer lost; read the state, or send it
	// again with the same Idempotency-Key.
	ErrOutcomeUnknown = &Error{Code: CodeOutcomeUnknown}
)

// refusal reads a non-2xx answer into an Error.
func refusal(res *http.Response) *Error {
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	e := &Error{Status: res.StatusCode}
	if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	var body ErrorBody
	if err := json.Unmarshal(raw, &body); err == nil && body.Error.Code != "" {
		e.Code, e.Message, e.Reason = string(body.Error.Code), body.Error.Message, string(body.Error.Reason)
		if body.Request.RequestID != "" {
			r := body.Request
			e.Request = &r
		}
		return e
	}
	// Not ixnstore's error body (a proxy's page, say): keep what can be said.
	e.Code, e.Message = codeOfStatus(res.StatusCode), http.StatusText(res.StatusCode)
	if len(raw) > 0 {
		e.Message = string(truncate(raw, 200))
	}
	return e
}

func codeOfStatus(status int) string {
	switch status {
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusUnauthorized:
		return CodeUnauthenticated
	case http.StatusForbidden:
		return CodeForbidden
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return CodeUnavailable
	default:
		return "http_" + strconv.Itoa(status)
	}
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// transportError is a call that got no answer. A connection that could not be made sent
// nothing (unavailable); after that, a write may have been made (outcome_unknown).
func transportError(req *http.Request, err error) *Error {
	if ctxErr := req.Context().Err(); ctxErr != nil && !sentWrite(req) {
		return &Error{Code: CodeUnavailable, Message: ctxErr.Error(), Err: err}
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" || !sentWrite(req) {
		return &Error{Code: CodeUnavailable, Message: "no answer", Err: err}
	}
	return &Error{Code: CodeOutcomeUnknown, Message: "the write was sent and no answer came; it may have been made", Err: err}
}

func sentWrite(req *http.Request) bool {
	return req.Method != http.MethodGet && req.Method != http.MethodHead
}
