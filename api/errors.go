package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ixnstore/ixnstore/internal/fault"
	"github.com/ixnstore/ixnstore/service"
)

// ErrorBody is the one shape of every error answer. A refused action request also carries
// the request, stored as failed, whose error event says the same.
type ErrorBody struct {
	Error   ErrorDetail      `json:"error"`
	Request *service.Request `json:"request,omitempty"`
}

type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// A refused action request: the error value of its error.interaction.<action> event.
	Reason string `json:"reason,omitempty"`
}

// apiError is an error of the HTTP layer itself: a body that is not JSON, a bad header.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

func badRequest(code, message string) error {
	return &apiError{status: http.StatusBadRequest, code: code, message: message}
}

// statusOf maps each service error kind to its HTTP status and error code: the only place
// where that is decided.
var statusOf = []struct {
	kind   error
	status int
	code   string
}{
	{fault.ErrInvalid, http.StatusUnprocessableEntity, "invalid_value"},
	{fault.ErrNotFound, http.StatusNotFound, "not_found"},
	{fault.ErrConflict, http.StatusConflict, "conflict"},
	{fault.ErrInvalidTransition, http.StatusConflict, "invalid_transition"},
	{fault.ErrSessionEnded, http.StatusConflict, "session_ended"},
	{fault.ErrLeaseLost, http.StatusConflict, "lease_lost"},
	{fault.ErrLeaseHeld, http.StatusConflict, "lease_held"},
	{fault.ErrNodeNotLive, http.StatusConflict, "node_not_live"},
	{fault.ErrRequestRefused, http.StatusConflict, "request_refused"},
	{fault.ErrPartyLeft, http.StatusConflict, "party_left"},
	{fault.ErrIdempotencyKeyReused, http.StatusUnprocessableEntity, "idempotency_key_reused"},
	{fault.ErrRequestEnded, http.StatusConflict, "request_ended"},
	{fault.ErrCheckpointTooLarge, http.StatusRequestEntityTooLarge, "checkpoint_too_large"},
	{fault.ErrUnavailable, http.StatusServiceUnavailable, "unavailable"},
	{fault.ErrTimeout, http.StatusServiceUnavailable, "timeout"},
	{fault.ErrOutcomeUnknown, http.StatusServiceUnavailable, "outcome_unknown"},
	{fault.ErrInvalid, http.StatusUnprocessableEntity, "invalid_value"},
	{fault.ErrNotFound, http.StatusNotFound, "not_found"},
	{fault.ErrNotRebuildable, http.StatusConflict, "not_rebuildable"},
	{fault.ErrUnauthenticated, http.StatusUnauthorized, "unauthenticated"},
	{fault.ErrForbidden, http.StatusForbidden, "forbidden"},
	{fault.ErrEpochRequired, http.StatusPreconditionRequired, "epoch_required"},
	{fault.ErrRateLimited, http.StatusTooManyRequests, "rate_limited"},
}

// echoCodes names the errors echo itself raises (routing, body limit).
var echoCodes = map[int]string{
	http.StatusNotFound:              "not_found",
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusRequestEntityTooLarge: "body_too_large",
	http.StatusUnsupportedMediaType:  "unsupported_media_type",
	http.StatusBadRequest:            "malformed_request",
}

// statusClientClosed is logged for a request whose client left before the answer (nginx's 499).
const statusClientClosed = 499

func classify(err error) (int, ErrorBody) {
	status, detail := classifyDetail(err)
	body := ErrorBody{Error: detail}
	var refusal *service.RequestRefusal
	if errors.As(err, &refusal) {
		body.Error.Reason = deref(refusal.Request.Error)
		body.Request = &refusal.Request
	}
	return status, body
}

func classifyDetail(err error) (int, ErrorDetail) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status, ErrorDetail{Code: ae.code, Message: ae.message}
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		code, ok := echoCodes[he.Code]
		if !ok {
			code = "http_error"
		}
		msg := http.StatusText(he.Code)
		if m, ok := he.Message.(string); ok && m != "" {
			msg = m
		}
		if he.Code == http.StatusRequestEntityTooLarge {
			msg = "the request body is larger than the limit of " + bodyLimit
		}
		return he.Code, ErrorDetail{Code: code, Message: msg}
	}
	for _, s := range statusOf {
		if errors.Is(err, s.kind) {
			return s.status, ErrorDetail{Code: s.code, Message: err.Error()}
		}
	}
	if errors.Is(err, context.Canceled) {
		// The client went away; nobody reads this answer.
		return statusClientClosed, ErrorDetail{Code: "canceled", Message: "the client closed the request"}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return http.StatusServiceUnavailable, ErrorDetail{Code: "timeout", Message: "the request did not finish within its deadline"}
	}
	return http.StatusInternalServerError, ErrorDetail{Code: "internal", Message: "internal error"}
}

func errorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		if readOnly(c.Request()) && errors.Is(err, fault.ErrOutcomeUnknown) {
			// A read changes nothing, so its outcome is known: the database was not there.
			err = &fault.Error{Kind: fault.ErrUnavailable,
				Message: "the database did not answer in time or the connection to it was lost; a read changes nothing"}
		}
		status, body := classify(err)
		if clientGone(c) {
			return // the client is gone: there is no one to answer
		}
		// The failure is logged once, by requestLog, which every request passes through.
		var werr error
		if c.Request().Method == http.MethodHead {
			werr = c.NoContent(status)
		} else {
			werr = c.JSON(status, body)
		}
		if werr != nil {
			logger.Warn("writing error response", "err", werr)
		}
	}
}

// clientGone reports whether the client left: its request's context was cancelled. A request
// whose own deadline passed (deadline middleware) is not gone and gets its 503.
func clientGone(c echo.Context) bool {
	return errors.Is(c.Request().Context().Err(), context.Canceled)
}

func readOnly(r *http.Request) bool {
	return r.Method == http.MethodGet || r.Method == http.MethodHead
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
