package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Config is how a Client reaches the server.
type Config struct {
	// Token is the bearer token sent with every request (ixnstore token create).
	Token string
	// HTTPClient sends the requests; nil: one without an overall timeout (streams last),
	// each call bounded by its context and CallTimeout.
	HTTPClient *http.Client
	// CallTimeout bounds each call that has no deadline of its own (not streams); 0: 30s.
	CallTimeout time.Duration
}

// Client is every route of the API as a typed call: the generated ClientWithResponses
// (one method per operation, named by its operationId, with WithResponse), whose refusals
// come back as *Error. Answers are in the response's JSON200, JSON201 or JSON202 field.
type Client struct {
	*ClientWithResponses
	base string
	doer *doer
}

// New makes a client of the server at baseURL (http://host:port).
func New(baseURL string, cfg Config) (*Client, error) {
	d := &doer{http: cfg.HTTPClient, token: cfg.Token, timeout: cfg.CallTimeout}
	if d.http == nil {
		d.http = &http.Client{}
	}
	if d.timeout == 0 {
		d.timeout = 30 * time.Second
	}
	return newClient(strings.TrimRight(baseURL, "/"), d)
}

func newClient(base string, d *doer) (*Client, error) {
	gen, err := NewClientWithResponses(base, WithHTTPClient(d))
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	return &Client{ClientWithResponses: gen, base: base, doer: d}, nil
}

// BaseURL is the server's address as given to New.
func (c *Client) BaseURL() string { return c.base }

// doer sends the generated calls' requests: it adds the token, runs the node's checks and
// turns every answer that is not a success into *Error.
type doer struct {
	http    *http.Client
	token   string
	timeout time.Duration
	// before may refuse a request before it is sent, or add to it (a Node's epoch).
	before func(*http.Request) error
	// after sees every answer (a Node learns from lease_lost).
	after func(*http.Request, *Error)
}

func (d *doer) Do(req *http.Request) (*http.Response, error) {
	if d.token != "" && req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Bearer "+d.token)
	}
	if d.before != nil {
		if err := d.before(req); err != nil {
			return nil, err
		}
	}
	stream := strings.Contains(req.Header.Get("Accept"), "text/event-stream")
	var cancel context.CancelFunc = func() {}
	if _, ok := req.Context().Deadline(); !ok && !stream {
		var ctx context.Context
		ctx, cancel = context.WithTimeout(req.Context(), d.timeout)
		req = req.WithContext(ctx)
	}
	res, err := d.http.Do(req)
	if err != nil {
		cancel()
		return nil, transportError(req, err)
	}
	if res.StatusCode >= 300 {
		defer cancel()
		defer res.Body.Close()
		e := refusal(res)
		if d.after != nil {
			d.after(req, e)
		}
		return nil, e
	}
	res.Body = &cancelOnClose{ReadCloser: res.Body, cancel: cancel}
	return res, nil
}

// cancelOnClose ends a call's own deadline when its answer has been read.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
