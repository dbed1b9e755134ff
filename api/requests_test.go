package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/api"
	"github.com/ixnstore/ixnstore/service"
)

// The answers of the action request routes, as a routing node and a media adapter see them.
func TestRequestAnswers(t *testing.T) {
	t.Parallel()
	c := newServer(t)
	c.seed()

	var pending service.Request
	if got := c.json("POST", "/v1/sessions/s1/requests", `{"action":"clear","interaction_id":"i1","resource":"+15550001"}`,
		&pending); got != http.StatusAccepted {
		t.Fatalf("status %d", got)
	}
	if pending.State != "pending" || len(pending.RequestID) != 36 || pending.TimeoutMS != 30000 || pending.Cursor == "" {
		t.Errorf("a new request: %+v, want pending with a generated id and the default timeout", pending)
	}

	// Refused by the state: 409 with the reference's error value and the stored request.
	before := c.counts()
	var refused api.ErrorBody
	if got := c.json("POST", "/v1/sessions/s1/requests", `{"request_id":"r2","action":"redirect","interaction_id":"i1","destination":"7100"}`,
		&refused); got != http.StatusConflict {
		t.Fatalf("refusal: status %d", got)
	}
	if refused.Error.Code != "request_refused" || refused.Error.Reason != "invalidstate.routed" ||
		refused.Request == nil || refused.Request.State != "failed" || refused.Error.Message != *refused.Request.Description {
		t.Errorf("refusal body %+v", refused)
	}
	if after := c.counts(); after.Requests != before.Requests+1 || after.Events != before.Events+1 {
		t.Errorf("a refusal writes its request and its error event: %+v, then %+v", before, after)
	}

	// Input that cannot be a request: nothing written.
	before = c.counts()
	for body, want := range map[string]int{
		`{"action":"redirect","interaction_id":"i1"}`:                          http.StatusUnprocessableEntity,
		`{"action":"terminate","interaction_id":"i1","timeout":"forever"}`:     http.StatusUnprocessableEntity,
		`{"action":"terminate","interaction_id":"i1","colour":"red"}`:          http.StatusBadRequest,
		`{"action":"terminate","interaction_id":"i1","hints":"not-an-object"}`: http.StatusBadRequest,
	} {
		var e api.ErrorBody
		if got := c.json("POST", "/v1/sessions/s1/requests", body, &e); got != want || e.Error.Code == "" {
			t.Errorf("%s: status %d %+v, want %d", body, got, e, want)
		}
	}
	if after := c.counts(); after != before {
		t.Errorf("bad input wrote: %+v, then %+v", before, after)
	}

	// The media side's report, then a contradicting one.
	var done api.RequestResponse
	path := "/v1/sessions/s1/requests/" + pending.RequestID
	if got := c.json("POST", path+"/outcome", `{"result":"done"}`, &done); got != http.StatusOK {
		t.Fatalf("outcome: status %d", got)
	}
	if done.Request.State != "done" || len(done.Events) != 2 || done.Events[0].Name != "interaction.clear.done" {
		t.Errorf("outcome answer %+v", done)
	}
	var ended api.ErrorBody
	if got := c.json("POST", path+"/outcome", `{"result":"failed","error":"remote"}`, &ended); got != http.StatusConflict ||
		ended.Error.Code != "request_ended" {
		t.Errorf("a second, different outcome: %d %+v", got, ended)
	}
	var got service.Request
	if c.json("GET", path, "", &got); got.State != "done" {
		t.Errorf("GET the request: %+v", got)
	}
	c.ok("GET", "/v1/sessions/s1/requests/nope", "", http.StatusNotFound)
	c.ok("POST", "/v1/sessions/s1/requests/"+pending.RequestID+"/outcome", `{"result":"failed","error":"made-up"}`,
		http.StatusUnprocessableEntity)
}

// The adapters' stream sends the pending requests there are, then each new one; a client
// that reconnects with its last id gets only what came after.
func TestPendingRequestStream(t *testing.T) {
	t.Parallel()
	c := newServer(t)
	c.seed()
	c.ok("POST", "/v1/sessions/s1/requests", `{"request_id":"r1","action":"terminate","interaction_id":"i1"}`, http.StatusAccepted)

	ids, cancel := c.readRequestStream("?media=voice", "")
	first := receiveRequest(t, ids)
	if first.data.RequestID != "r1" || first.id != first.data.Cursor {
		t.Fatalf("first message %+v", first)
	}
	c.ok("POST", "/v1/sessions/s1/requests", `{"request_id":"r2","action":"pick","interaction_id":"i1"}`, http.StatusConflict)
	c.ok("POST", "/v1/sessions/s1/requests", `{"request_id":"r3","action":"clear","interaction_id":"i1","resource":"+15550001"}`,
		http.StatusAccepted)
	if next := receiveRequest(t, ids); next.data.RequestID != "r3" {
		t.Fatalf("next message %+v, want r3 (r2 was refused, never pending)", next)
	}
	cancel()

	c.ok("POST", "/v1/sessions/s1/requests", `{"request_id":"r4","action":"terminate","interaction_id":"i1","reason":"x"}`,
		http.StatusAccepted)
	again, cancel := c.readRequestStream("", first.id)
	defer cancel()
	if m := receiveRequest(t, again); m.data.RequestID != "r3" {
		t.Errorf("after reconnecting from r1: %+v, want r3", m)
	}
	if m := receiveRequest(t, again); m.data.RequestID != "r4" {
		t.Errorf("then %+v, want r4", m)
	}
}

type requestMessage struct {
	id   string
	data service.Request
}

func (c *client) readRequestStream(query, lastEventID string) (<-chan requestMessage, context.CancelFunc) {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/v1/requests/stream"+query, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		c.t.Fatalf("request stream: status %d", res.StatusCode)
	}
	out := make(chan requestMessage, 100)
	go func() {
		defer close(out)
		defer res.Body.Close()
		var m requestMessage
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "" && m.id != "":
				out <- m
				m = requestMessage{}
			case strings.HasPrefix(line, "id: "):
				m.id = line[4:]
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(line[6:]), &m.data)
			}
		}
	}()
	return out, cancel
}

func receiveRequest(t *testing.T, ch <-chan requestMessage) requestMessage {
	t.Helper()
	select {
	case m, ok := <-ch:
		if !ok {
			t.Fatal("the request stream ended")
		}
		return m
	case <-time.After(15 * time.Second):
		t.Fatal("no request on the stream after 15s")
	}
	return requestMessage{}
}

// Every error value a request can end with is listed in the API document.
func TestRequestErrorsAreDocumented(t *testing.T) {
	t.Parallel()
	c := newServer(t)
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Enum []string `json:"enum"`
			} `json:"schemas"`
		} `json:"components"`
	}
	c.json("GET", "/v1/openapi.json", "", &doc)
	listed := map[string]bool{}
	for _, v := range doc.Components.Schemas["RequestError"].Enum {
		listed[v] = true
	}
	for _, v := range append(append([]string{}, service.RequestErrorsOwn...), service.RequestErrorsMedia...) {
		if !listed[v] {
			t.Errorf("error value %s is not in the RequestError schema", v)
		}
	}
}
