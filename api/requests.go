package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ixnstore/ixnstore/service"
)

// RequestResponse answers a report on a request: the request as it now is and the events the
// report wrote (or, for a repeated report, wrote the first time).
type RequestResponse struct {
	Request service.Request `json:"request"`
	Events  []service.Event `json:"events"`
}

// createRequest: a routing node asks for an action. 202 with the pending request; a request
// the stored state does not allow is refused (409 request_refused, with the request, whose
// error event is written); the same request again gets the same answer.
func (h *handlers) createRequest(c echo.Context) error {
	var in service.NewRequest
	t, err := decodeWrite(c, &in)
	if err != nil {
		return err
	}
	defer h.requested.Raise()
	return h.respond(c, t.SessionID, func(ctx context.Context, st *service.Store) (int, any, error) {
		req, err := st.CreateRequest(ctx, t, in)
		return http.StatusAccepted, req, err
	})
}

func (h *handlers) getRequest(c echo.Context) error {
	req, err := h.store.GetRequest(c.Request().Context(), c.Param("sid"), c.Param("rid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, req)
}

// reportRequest: the media side's outcome of a request.
func (h *handlers) reportRequest(c echo.Context) error {
	var in service.RequestOutcome
	if err := decodeBody(c, &in, true); err != nil {
		return err
	}
	return h.respond(c, c.Param("sid"), func(ctx context.Context, st *service.Store) (int, any, error) {
		req, events, err := st.ReportRequest(ctx, c.Param("sid"), c.Param("rid"), in)
		if events == nil {
			events = []service.Event{}
		}
		return http.StatusOK, RequestResponse{Request: req, Events: events}, err
	})
}

// pendingQuery reads the feed's position (?after= or Last-Event-ID) and its filter (?media=).
func pendingQuery(c echo.Context) (service.RequestCursor, string, error) {
	after := c.QueryParam("after")
	if id := c.Request().Header.Get("Last-Event-ID"); id != "" {
		after = id
	}
	cursor, err := service.ParseRequestCursor(after)
	if err != nil {
		return cursor, "", badRequest("malformed_query", err.Error())
	}
	return cursor, c.QueryParam("media"), nil
}

// listPendingRequests answers one page of pending requests: GET /v1/requests?after=cursor.
func (h *handlers) listPendingRequests(c echo.Context) error {
	after, media, err := pendingQuery(c)
	if err != nil {
		return err
	}
	limit, err := queryLimit(c, service.MaxRequestsPage, service.MaxRequestsPage)
	if err != nil {
		return err
	}
	reqs, err := h.store.ListPendingRequests(c.Request().Context(), after, media, int(limit))
	if err != nil {
		return err
	}
	next := after.String()
	if len(reqs) > 0 {
		next = reqs[len(reqs)-1].Cursor
	}
	return c.JSON(http.StatusOK, map[string]any{"requests": reqs, "next": next})
}

// streamPendingRequests sends pending requests as Server-Sent Events (event: request, id: the
// request's cursor) for the media side's adapters: from the start, or after the cursor a
// reconnecting client gives, then each new one as it is made.
func (h *handlers) streamPendingRequests(c echo.Context) error {
	after, media, err := pendingQuery(c)
	if err != nil {
		return err
	}
	return h.serveSSE(c, h.requested.C, h.opts.RequestPoll, func(ctx context.Context, w *echo.Response) (bool, error) {
		reqs, err := h.store.ListPendingRequests(ctx, after, media, service.MaxRequestsPage)
		if err != nil || len(reqs) == 0 {
			return false, err
		}
		for _, r := range reqs {
			data, err := json.Marshal(r)
			if err != nil {
				return false, err
			}
			if _, err := fmt.Fprintf(w, "id: %s\nevent: request\ndata: %s\n\n", r.Cursor, data); err != nil {
				return false, errClientGone
			}
			after = r.Position()
		}
		w.Flush()
		return len(reqs) == service.MaxRequestsPage, nil
	})
}
