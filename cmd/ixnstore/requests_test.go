package main_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/internal/testdb"
)

// Pending requests outlive the instance that took them: after kill -9 of that instance, two
// others started after it end every overdue request once, with error timeout, and answer a
// report that comes in time.
func TestRequestTimeoutsSurviveAKillAndFireOnce(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	// The instance that takes the requests never sweeps (its first sweep runs at start, before
	// there is anything to sweep), so the requests are still pending when it is killed, however
	// long making them takes: checked below, before the kill.
	p := start(t, "--database-url", url, "--request-sweep", "1h")
	const n = 20
	var deadline time.Time
	for i := range n {
		sid := fmt.Sprintf("s%d", i)
		traffic(p, sid)
		var req struct{ Deadline time.Time }
		body := p.call("POST", "/v1/sessions/"+sid+"/requests",
			`{"request_id":"r1","action":"terminate","interaction_id":"`+sid+`-i1","timeout":"1s"}`, 202)
		if err := json.Unmarshal([]byte(body), &req); err != nil {
			t.Fatal(err)
		}
		deadline = req.Deadline
	}
	// One more that the media side will answer: with a long timeout it must not expire.
	p.call("POST", "/v1/sessions/s0/requests",
		`{"request_id":"r2","action":"clear","interaction_id":"s0-i1","resource":"7001","timeout":"1h"}`, 202)
	// Pending at the kill: otherwise what follows would test nothing of surviving one.
	for i := range n {
		pendingAtKill(t, p, fmt.Sprintf("s%d", i), "r1")
	}
	pendingAtKill(t, p, "s0", "r2")
	p.kill()

	// No sleep past the deadline: the two start at once and each request is awaited until it
	// has been answered, which their sweeps do once it falls due, whether before or after they
	// start.
	a := start(t, "--database-url", url, "--request-sweep", "20ms", "--dispatcher=false")
	b := start(t, "--database-url", url, "--request-sweep", "20ms", "--dispatcher=false")
	a.call("POST", "/v1/sessions/s0/requests/r2/outcome", `{"result":"done"}`, 200)
	for i := range n {
		sid := fmt.Sprintf("s%d", i)
		wait := time.Now().Add(waitDeadline)
		if wait.Before(deadline.Add(waitDeadline)) {
			wait = deadline.Add(waitDeadline) // the instances started before the deadline
		}
		for {
			var req struct{ State, Error string }
			if err := json.Unmarshal([]byte(b.call("GET", "/v1/sessions/"+sid+"/requests/r1", "", 200)), &req); err != nil {
				t.Fatal(err)
			}
			if req.State != "pending" {
				if req.State != "failed" || req.Error != "timeout" {
					t.Errorf("%s: request %+v, want failed by timeout", sid, req)
				}
				break
			}
			if time.Now().After(wait) {
				t.Fatalf("%s: still pending %v after its deadline", sid, waitDeadline)
			}
			time.Sleep(20 * time.Millisecond)
		}
		var page struct {
			Events []struct {
				Name string
				Data struct{ RequestID, Error string }
			}
		}
		if err := json.Unmarshal([]byte(a.call("GET", "/v1/sessions/"+sid+"/events", "", 200)), &page); err != nil {
			t.Fatal(err)
		}
		got := map[string][]string{}
		for _, e := range page.Events {
			if e.Data.RequestID != "" {
				got[e.Data.RequestID] = append(got[e.Data.RequestID], e.Name+"/"+e.Data.Error)
			}
		}
		if fmt.Sprint(got["r1"]) != "[error.interaction.terminate/timeout]" {
			t.Errorf("%s: answers to r1 %v, want one timeout", sid, got["r1"])
		}
		if sid == "s0" && fmt.Sprint(got["r2"]) != "[interaction.clear.done/]" {
			t.Errorf("s0: answers to r2 %v, want one done", got["r2"])
		}
	}
	a.stop()
	b.stop()
}

func pendingAtKill(t *testing.T, p *process, sid, rid string) {
	t.Helper()
	var req struct{ State string }
	if err := json.Unmarshal([]byte(p.call("GET", "/v1/sessions/"+sid+"/requests/"+rid, "", 200)), &req); err != nil {
		t.Fatal(err)
	}
	if req.State != "pending" {
		t.Fatalf("%s/%s is %s before the kill, want pending", sid, rid, req.State)
	}
}
