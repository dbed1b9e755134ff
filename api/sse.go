package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// errClientGone ends a stream whose client has left.
var errClientGone = errors.New("the client left")

// pageSender reads what is new and writes it to the stream. It says whether it sent a full
// page (more may be waiting at once); an error other than errClientGone is a failed read,
// which the stream reports as a comment and retries.
type pageSender func(ctx context.Context, w *echo.Response) (full bool, err error)

// startSSE sends the headers of a Server-Sent Events answer.
func startSSE(w *echo.Response) {
	w.Header().Set(echo.HeaderContentType, "text/event-stream")
	w.Header().Set(echo.HeaderCacheControl, "no-cache")
	w.Header().Set(echo.HeaderConnection, "keep-alive")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	w.Flush()
}

// serveSSE answers with a Server-Sent Events stream and keeps it until the client leaves or
// the server stops: it sends a page, then waits for a wake-up, a poll or a keep-alive. The
// wake-up channel is taken before each read, so a wake-up during the read is not missed.
func (h *handlers) serveSSE(c echo.Context, wake func() <-chan struct{}, poll time.Duration, send pageSender) error {
	ctx := c.Request().Context()
	w := c.Response()
	startSSE(w)

	keepAlive := time.NewTicker(h.opts.StreamKeepAlive)
	defer keepAlive.Stop()
	for {
		woken := wake()
		full, err := send(ctx, w)
		switch {
		case ctx.Err() != nil, errors.Is(err, errClientGone):
			return nil
		case err != nil:
			// The database is away: keep the stream, tell the client, try again.
			if _, err := fmt.Fprintf(w, ": waiting for the database: %s\n\n", oneLine(err.Error())); err != nil {
				return nil
			}
			w.Flush()
		case full:
			continue
		}
		if !h.idle(ctx, woken, time.After(poll), keepAlive.C, func(b []byte) bool { return writeFlush(w, b) }) {
			return nil
		}
	}
}

// writeFlush writes b to the client now; false: the client is gone.
func writeFlush(w *echo.Response, b []byte) bool {
	if _, err := w.Write(b); err != nil {
		return false
	}
	w.Flush()
	return true
}

// idle waits between two reads of a stream: until woken, retry, or the client or the server
// leaves (false). It sends a keep-alive comment when one is due (false: it could not).
func (h *handlers) idle(ctx context.Context, woken <-chan struct{}, retry, keepAlive <-chan time.Time, write func([]byte) bool) bool {
	select {
	case <-ctx.Done():
		return false
	case <-h.opts.Stopping:
		// The last message: the stream ends because this instance stops, not for anything
		// the client did, and the client loses nothing by reconnecting where it was.
		write([]byte(": shutting down; reconnect with Last-Event-ID (the last id received) to resume\n\n"))
		return false
	case <-woken:
	case <-retry:
	case <-keepAlive:
		return write([]byte(": keep-alive\n\n"))
	}
	return true
}
