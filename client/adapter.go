package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"time"
)

// AdapterOptions chooses the requests an Adapter follows and how it reconnects.
type AdapterOptions struct {
	// Media keeps the requests on interactions of this media ("": all).
	Media string
	// After is the cursor to start from: the Cursor of the last request handled ("": from
	// the oldest pending).
	After string
	// Backoff and IdleTimeout as for Events.
	Backoff     Backoff
	IdleTimeout time.Duration
}

// Adapter is the media side: it follows the feed of pending action requests and reports
// their outcomes.
type Adapter struct {
	c    *Client
	opts AdapterOptions
}

// Adapter makes the media side of this client's server.
func (c *Client) Adapter(opts AdapterOptions) *Adapter { return &Adapter{c: c, opts: opts} }

// Requests follows the pending requests (/v1/requests/stream), every one once, in the order
// their transactions committed, reconnecting and resuming by itself as Events does. It
// yields an error, and stops, only when the server refuses the stream for good or ctx ends.
func (a *Adapter) Requests(ctx context.Context) iter.Seq2[Request, error] {
	return func(yield func(Request, error) bool) {
		cursor := a.opts.After
		seen := map[[2]string]struct{}{}
		var stopped bool
		err := follow(ctx, a.c.doer, a.opts.Backoff, idleOr(a.opts.IdleTimeout), func() (*http.Request, error) {
			p := StreamRequestsParams{}
			if cursor != "" {
				p.After = Ptr(cursor)
			}
			if a.opts.Media != "" {
				p.Media = Ptr(a.opts.Media)
			}
			return NewStreamRequestsRequest(a.c.base, &p)
		}, func(m message) bool {
			var r Request
			if err := json.Unmarshal(m.data, &r); err != nil {
				stopped = !yield(Request{}, fmt.Errorf("client: request %s is not a request: %w", m.id, err))
				return !stopped
			}
			if r.Cursor == "" {
				r.Cursor = m.id
			}
			cursor = r.Cursor
			key := [2]string{r.SessionID, r.RequestID}
			if _, dup := seen[key]; dup {
				return true
			}
			seen[key] = struct{}{}
			if !yield(r, nil) {
				stopped = true
				return false
			}
			return true
		})
		if !stopped && err != nil {
			yield(Request{}, err)
		}
	}
}

// Answer reports a request's outcome. A request that ended meanwhile (timed out, its
// session ended) answers ErrRequestEnded.
func (a *Adapter) Answer(ctx context.Context, r Request, outcome RequestOutcome) (*ReportOutcome200JSONResponseBody, error) {
	res, err := a.c.ReportOutcomeWithResponse(ctx, r.SessionID, r.RequestID, nil, outcome)
	if err != nil {
		return nil, err
	}
	return res.JSON200, nil
}

// Run answers every pending request with handle's outcome until ctx ends (it returns nil)
// or the stream is refused for good. A request that ended before its answer is skipped.
func (a *Adapter) Run(ctx context.Context, handle func(context.Context, Request) RequestOutcome) error {
	for r, err := range a.Requests(ctx) {
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if _, err := a.Answer(ctx, r, handle(ctx, r)); err != nil && !errors.Is(err, ErrRequestEnded) {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("answering request %s of session %s: %w", r.RequestID, r.SessionID, err)
		}
	}
	return nil
}

// Done is the outcome of a request carried out.
func Done() RequestOutcome { return RequestOutcome{Result: RequestOutcomeResultDone} }

// Failed is the outcome of a request the media side could not carry out.
func Failed(why RequestOutcomeError, description string) RequestOutcome {
	return RequestOutcome{Result: RequestOutcomeResultFailed, Error: why, Description: description}
}
