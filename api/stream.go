package api

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ixnstore/ixnstore/service"
)

// streamPage is how many events a stream reads at a time: a dispatcher batch.
const streamPage = service.MaxPublishedPage

// Waker is raised when events are published; streams wait on it between reads.
type Waker interface {
	C() <-chan struct{}
}

// publishedFilter reads the filters of the published-event routes.
func publishedFilter(c echo.Context) service.PublishedFilter {
	return service.PublishedFilter{SessionID: c.QueryParam("session_id"), NodeID: c.QueryParam("node_id")}
}

// listPublished answers one page of published events: GET /v1/events?after=N.
func (h *handlers) listPublished(c echo.Context) error {
	return page(c, service.MaxEventsPage, service.MaxPublishedPage, func(after int64, limit int) ([]service.PublishedEvent, error) {
		return h.store.ListPublished(c.Request().Context(), publishedFilter(c), after, limit)
	})
}

// stream sends published events as Server-Sent Events, in publication order, from the
// position the client gives (Last-Event-ID, or ?after=) on, for as long as the client stays.
// Each event's SSE id is its publication sequence, so a client that reconnects with the last
// id it saw misses nothing and gets nothing twice.
func (h *handlers) stream(c echo.Context) error {
	after, err := queryInt(c, "after", 0)
	if err != nil {
		return err
	}
	if id := c.Request().Header.Get("Last-Event-ID"); id != "" {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n < 0 {
			return badRequest("malformed_header", "Last-Event-ID must be the id of an event of this stream")
		}
		after = n
	}
	filter := publishedFilter(c)
	if filter.SessionID != "" && filter.NodeID != "" {
		return badRequest("malformed_query", "filter by session_id or by node_id, not both")
	}
	var buf []byte
	return h.serveSSE(c, h.opts.Published.C, h.opts.StreamPoll, func(ctx context.Context, w *echo.Response) (bool, error) {
		events, err := h.store.ListPublished(ctx, filter, after, streamPage)
		if err != nil || len(events) == 0 {
			return false, err
		}
		buf = buf[:0]
		for _, e := range events {
			buf = appendSSE(buf, e)
			after = e.PubSeq
		}
		if _, err := w.Write(buf); err != nil {
			return false, errClientGone
		}
		w.Flush()
		return len(events) == streamPage, nil
	})
}

func oneLine(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == '\n' || c == '\r' {
			b[i] = ' '
		}
	}
	return string(b)
}

// appendSSE appends one event as a Server-Sent Events message: id (the publication sequence),
// event (the name) and data (the event as the API gives it everywhere). Written by hand, not
// with encoding/json: the attributes are already JSON from PostgreSQL, and re-validating them
// for every event was most of a stream's cost.
func appendSSE(b []byte, e service.PublishedEvent) []byte {
	b = append(b, "id: "...)
	b = strconv.AppendInt(b, e.PubSeq, 10)
	b = append(b, "\nevent: "...)
	b = append(b, e.Name...)
	b = append(b, "\ndata: "...)
	b = appendEventJSON(b, e)
	return append(b, "\n\n"...)
}

// appendEventJSON appends e as encoding/json would marshal it (a test holds the two equal).
func appendEventJSON(b []byte, e service.PublishedEvent) []byte {
	b = append(b, `{"pub_seq":`...)
	b = strconv.AppendInt(b, e.PubSeq, 10)
	b = append(b, `,"id":`...)
	b = strconv.AppendInt(b, e.ID, 10)
	b = append(b, `,"session_id":`...)
	b = appendJSONString(b, e.SessionID)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, e.Seq, 10)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, e.Name)
	b = append(b, `,"data":`...)
	b = append(b, e.Data...) // a JSON object, as PostgreSQL wrote it (jsonb)
	if e.NodeID != nil {
		b = append(b, `,"node_id":`...)
		b = appendJSONString(b, *e.NodeID)
	}
	b = append(b, `,"epoch":`...)
	b = strconv.AppendInt(b, e.Epoch, 10)
	b = append(b, `,"created_at":"`...)
	b = e.CreatedAt.AppendFormat(b, time.RFC3339Nano)
	return append(b, `"}`...)
}

// appendJSONString quotes s; identifiers and event names are plain ASCII and are copied, any
// other string goes through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
