package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ixnstore/ixnstore/internal/fault"
	"github.com/ixnstore/ixnstore/service"
	"github.com/ixnstore/ixnstore/streamhub"
)

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
//
// The events come from the instance's stream hub, not from a read of the database per
// stream: see package streamhub. A stream that falls too far behind is cut with a
// stream.cut event that carries the cursor to resume from.
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
	hub := h.opts.Streams
	if hub == nil {
		return fault.Errorf(fault.ErrUnavailable, "event streams are not served by this instance")
	}
	sub, err := hub.Subscribe(filter, after)
	if errors.Is(err, streamhub.ErrTooManyStreams) {
		c.Response().Header().Set("Retry-After", strconv.Itoa(streamRetryAfter))
		return &apiError{status: http.StatusServiceUnavailable, code: "too_many_streams",
			message: "this instance serves as many event streams as it is allowed; retry later, or on another instance"}
	}
	if err != nil {
		return err
	}
	defer sub.Close()
	return h.sendStream(c, sub)
}

// streamRetryAfter is the Retry-After, in seconds, of a stream refused for the cap.
const streamRetryAfter = 5

// streamWriteTimeout is how long one write to a stream may block: a client that reads
// nothing for that long (its connection's buffers full) is dropped and frees its place.
const streamWriteTimeout = 30 * time.Second

// streamChunk is how many bytes a stream writes at a time, and so about the most its write
// buffer holds: with thousands of streams, a buffer per page would be most of the memory.
const streamChunk = 16 << 10

func (h *handlers) sendStream(c echo.Context, sub *streamhub.Stream) error {
	ctx := c.Request().Context()
	w := c.Response()
	startSSE(w)
	rc := http.NewResponseController(w)
	// The deadline stays on the connection, which may serve other requests after this one.
	defer func() { _ = rc.SetWriteDeadline(time.Time{}) }()
	keepAlive := time.NewTicker(h.opts.StreamKeepAlive)
	defer keepAlive.Stop()
	var buf []byte
	write := func(b []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout)) // not every writer has one
		return writeFlush(w, b)
	}
	for {
		events, more, err := sub.Next(ctx)
		var slow *streamhub.SlowError
		var retry <-chan time.Time
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.As(err, &slow):
			write(appendCut(buf[:0], slow))
			return nil
		case err != nil:
			// The database is away: keep the stream, tell the client, try again.
			if !write(fmt.Appendf(buf[:0], ": waiting for the database: %s\n\n", oneLine(err.Error()))) {
				return nil
			}
			retry = time.After(h.opts.StreamPoll)
		case len(events) > 0:
			// Written in pieces of streamChunk bytes: what a stream holds is that, not a page.
			buf = buf[:0]
			for i, e := range events {
				buf = appendSSE(buf, e)
				if len(buf) >= streamChunk || i == len(events)-1 {
					if !write(buf) {
						return nil
					}
					buf = buf[:0]
				}
			}
			if h.opts.Observer != nil {
				h.opts.Observer.EventsSent(len(events))
			}
			if cap(buf) > 2*streamChunk {
				buf = nil // one large event: not kept
			}
			continue
		}
		if !h.idle(ctx, more, retry, keepAlive.C, write) {
			return nil
		}
	}
}

// appendCut appends the message that ends a stream that fell behind: a stream.cut event
// whose id, and whose data's after, is the cursor to resume from (EventSource clients resume
// from the id by themselves).
func appendCut(b []byte, slow *streamhub.SlowError) []byte {
	b = append(b, "id: "...)
	b = strconv.AppendInt(b, slow.After, 10)
	b = append(b, "\nevent: stream.cut\ndata: "...)
	data, _ := json.Marshal(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		After   int64  `json:"after"`
	}{"slow_consumer", slow.Error(), slow.After})
	b = append(b, data...)
	return append(b, "\n\n"...)
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
	b = e.AppendJSON(b)
	return append(b, "\n\n"...)
}
