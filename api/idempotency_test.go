package api_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ixnstore/ixnstore/api"
)

// reply is an answer as sent: status, body bytes, and whether it was a replay.
type reply struct {
	status   int
	body     string
	replayed bool
}

// send sends a request with an Idempotency-Key (none when key is "") and returns the answer.
func (c *client) send(method, path, body, key string) reply {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Error(err)
		return reply{}
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set(api.IdempotencyHeader, key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Error(err)
		return reply{}
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, res.Body); err != nil {
		c.t.Error(err)
	}
	return reply{status: res.StatusCode, body: buf.String(), replayed: res.Header.Get(api.ReplayedHeader) == "true"}
}

// A write sent again with its Idempotency-Key, after the first or at the same time, gets the
// first answer byte for byte and writes nothing more: one set of events in the outbox. The key
// sent with another request is refused and writes nothing.
func TestIdempotentWrites(t *testing.T) {
	t.Parallel()
	type write struct{ method, path, body string }
	tests := []struct {
		name   string
		write  write
		other  string // another body for the same route
		status int
		events int64 // the events the write writes
	}{
		{name: "create a session", status: http.StatusCreated,
			write: write{"POST", "/v1/sessions", `{"session_id":"s2","owner_node":"n1"}`}, other: `{"session_id":"s2","owner_node":"n2"}`},
		{name: "create a session without an id", status: http.StatusCreated,
			write: write{"POST", "/v1/sessions", `{"owner_node":"n1"}`}, other: `{"owner_node":"n2"}`},
		{name: "add an interaction", status: http.StatusCreated, events: 1,
			write: write{"POST", "/v1/sessions/s1/interactions", `{"interaction_id":"i2","media":"voice","type":"inbound"}`},
			other: `{"interaction_id":"i3","media":"voice","type":"inbound"}`},
		{name: "add a party", status: http.StatusCreated, events: 1,
			write: write{"POST", "/v1/sessions/s1/interactions/i1/parties", `{"party_id":"p2","resource":"7001","state":"alerting"}`},
			other: `{"party_id":"p3","resource":"7001","state":"alerting"}`},
		{name: "change a party's state", status: http.StatusOK, events: 1,
			write: write{"PATCH", "/v1/sessions/s1/interactions/i1/parties/p1", `{"state":"held"}`}, other: `{"state":"released"}`},
		{name: "release a party", status: http.StatusOK, events: 2,
			write: write{"PATCH", "/v1/sessions/s1/interactions/i1/parties/p1", `{"state":"released"}`}, other: `{"state":"held"}`},
		{name: "merge user data", status: http.StatusOK, events: 1,
			write: write{"PATCH", "/v1/sessions/s1/interactions/i1/udata", `{"origin":"media","data":{"n":1}}`},
			other: `{"origin":"media","data":{"n":2}}`},
		{name: "divert", status: http.StatusOK, events: 2,
			write: write{"POST", "/v1/sessions/s1/interactions/i1/reports/divert", `{"party_id":"p1","new_destination":"7002"}`},
			other: `{"party_id":"p1","new_destination":"7003"}`},
		{name: "make an action request", status: http.StatusAccepted,
			write: write{"POST", "/v1/sessions/s1/requests", `{"request_id":"r1","action":"terminate","interaction_id":"i1"}`},
			other: `{"request_id":"r2","action":"terminate","interaction_id":"i1"}`},
		{name: "a refused action request", status: http.StatusConflict, events: 1,
			write: write{"POST", "/v1/sessions/s1/requests", `{"request_id":"r1","action":"pick","interaction_id":"i1"}`},
			other: `{"request_id":"r2","action":"pick","interaction_id":"i1"}`},
		{name: "write a checkpoint", status: http.StatusOK,
			write: write{"PUT", "/v1/sessions/s1/checkpoint", `{"datamodel":{"a":1}}`}, other: `{"datamodel":{"a":2}}`},
		{name: "end the session", status: http.StatusOK, events: 2,
			write: write{"POST", "/v1/sessions/s1/end", ``}, other: `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newServer(t)
			c.seed()
			w := tt.write
			before := c.counts()

			first := c.send(w.method, w.path, w.body, "k-1")
			if first.status != tt.status || first.replayed {
				t.Fatalf("first answer %d (replayed %v), want %d: %s", first.status, first.replayed, tt.status, first.body)
			}
			written := c.counts()
			if got := written.Events - before.Events; got != tt.events {
				t.Errorf("the write wrote %d events, want %d", got, tt.events)
			}

			// Again, one after the other, then eight at once.
			var wg sync.WaitGroup
			retries := make([]reply, 9)
			retries[0] = c.send(w.method, w.path, w.body, "k-1")
			for i := 1; i < len(retries); i++ {
				wg.Go(func() { retries[i] = c.send(w.method, w.path, w.body, "k-1") })
			}
			wg.Wait()
			for i, r := range retries {
				if r.status != first.status || r.body != first.body || !r.replayed {
					t.Errorf("retry %d: %d (replayed %v) %s\nwant the first answer %d %s", i, r.status, r.replayed, r.body, first.status, first.body)
				}
			}
			if after := c.counts(); after != written {
				t.Errorf("the retries wrote: after the first %+v, after the retries %+v", written, after)
			}

			reused := c.send(w.method, w.path, tt.other, "k-1")
			if reused.status != http.StatusUnprocessableEntity || !strings.Contains(reused.body, `"idempotency_key_reused"`) {
				t.Errorf("the key with another request: %d %s, want 422 idempotency_key_reused", reused.status, reused.body)
			}
			if after := c.counts(); after != written {
				t.Errorf("the reused key wrote: %+v, want %+v", after, written)
			}
		})
	}
}

// Concurrent first sends of one key: exactly one writes, the others answer what it wrote.
func TestIdempotentConcurrentFirstWrites(t *testing.T) {
	t.Parallel()
	c := newServer(t)
	c.seed()
	before := c.counts()
	var wg sync.WaitGroup
	replies := make([]reply, 8)
	for i := range replies {
		wg.Go(func() {
			replies[i] = c.send("POST", "/v1/sessions/s1/interactions/i1/parties", `{"party_id":"p2","resource":"7001","state":"alerting"}`, "once")
		})
	}
	wg.Wait()
	replayed := 0
	for i, r := range replies {
		if r.status != http.StatusCreated || r.body != replies[0].body {
			t.Errorf("reply %d: %d %s, want 201 %s", i, r.status, r.body, replies[0].body)
		}
		if r.replayed {
			replayed++
		}
	}
	if replayed != len(replies)-1 {
		t.Errorf("%d replays, want %d", replayed, len(replies)-1)
	}
	if after := c.counts(); after.Events != before.Events+1 || after.Parties != before.Parties+1 {
		t.Errorf("before %+v, after %+v: want one party and one event more", before, after)
	}
}

// Creations are idempotent by content without a key: the same creation again answers what
// exists with 200 and writes nothing; a different one is a conflict.
func TestCreationsWithTheSameContent(t *testing.T) {
	t.Parallel()
	c := newServer(t)
	c.seed()
	const ixn = `"interaction_id":"i2","media":"chat","type":"inbound","parties":[{"party_id":"a","resource":"x","state":"alerting"},{"party_id":"b","resource":"y","state":"queued"}]`
	first := c.send("POST", "/v1/sessions/s1/interactions", `{`+ixn+`}`, "")
	if first.status != http.StatusCreated {
		t.Fatalf("add: %d %s", first.status, first.body)
	}
	before := c.counts()
	tests := []struct {
		name, path, body string
		status           int
		same             string // the answer it must equal, when set
	}{
		{name: "the same session", path: "/v1/sessions", body: `{"session_id":"s1","owner_node":"n1"}`, status: http.StatusOK},
		{name: "a session of another owner", path: "/v1/sessions", body: `{"session_id":"s1","owner_node":"n9"}`, status: http.StatusConflict},
		{name: "the same interaction", path: "/v1/sessions/s1/interactions", status: http.StatusOK, same: first.body,
			body: `{"interaction_id":"i2","media":"chat","type":"inbound","parties":[{"party_id":"b","resource":"y","state":"queued"},{"party_id":"a","resource":"x","state":"alerting"}]}`},
		{name: "the interaction with other parties", path: "/v1/sessions/s1/interactions", status: http.StatusConflict,
			body: `{"interaction_id":"i2","media":"chat","type":"inbound","parties":[{"party_id":"a","resource":"x","state":"alerting"}]}`},
		{name: "the interaction of another media", path: "/v1/sessions/s1/interactions", status: http.StatusConflict,
			body: `{` + strings.Replace(ixn, "chat", "email", 1) + `}`},
	}
	for _, tt := range tests {
		got := c.send("POST", tt.path, tt.body, "")
		if got.status != tt.status || (tt.same != "" && got.body != tt.same) {
			t.Errorf("%s: %d %s, want %d %s", tt.name, got.status, got.body, tt.status, tt.same)
		}
	}
	if after := c.counts(); after != before {
		t.Errorf("repeated creations wrote: before %+v, after %+v", before, after)
	}
}
