package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/api"
	"github.com/ixnstore/ixnstore/service"
)

// The checkpoint routes: PUT fenced by X-Lease-Epoch, GET, the history; a party state change
// and a user data change carrying a checkpoint (both or neither); the claim's answer with the
// checkpoint and each timer's time left.
func TestCheckpointRoutes(t *testing.T) {
	t.Parallel()
	c := newServer(t)
	c.ok("POST", "/v1/nodes", `{"node_id":"n1","lease":"100ms"}`, http.StatusOK)
	c.ok("POST", "/v1/nodes", `{"node_id":"n2","lease":"1m"}`, http.StatusOK)
	c.seed() // s1 owned by n1, epoch 1
	epoch := func(n string) http.Header { return http.Header{"X-Lease-Epoch": {n}} }
	put := func(e, body string, out any) int {
		t.Helper()
		return c.do("PUT", "/v1/sessions/s1/checkpoint", strings.NewReader(body), epoch(e), out)
	}

	var ck service.Checkpoint
	if got := put("1", `{"datamodel":{"counter":1},"configuration":["main","ringing"],
		"timers":[{"sendid":"t1","event":"timeout","delay_ms":60000}]}`, &ck); got != http.StatusOK || ck.Version != 1 {
		t.Fatalf("first checkpoint: %d %+v", got, ck)
	}
	refusals := []struct {
		name, epoch, body string
		status            int
		code              string
	}{
		{"stale epoch", "7", `{"datamodel":{"counter":9}}`, http.StatusConflict, "lease_lost"},
		{"expected version", "1", `{"expected_version":0,"datamodel":{"counter":9}}`, http.StatusConflict, "conflict"},
		{"too large", "1", `{"datamodel":{"blob":"` + strings.Repeat("x", 300<<10) + `"}}`, http.StatusRequestEntityTooLarge, "checkpoint_too_large"},
		{"not an object", "1", `{"datamodel":[1,2]}`, http.StatusBadRequest, "malformed_json"},
		{"left out", "1", `{"configuration":["main"]}`, http.StatusUnprocessableEntity, "invalid_value"},
		{"unknown field", "1", `{"datamodel":{},"states":["main"]}`, http.StatusBadRequest, "malformed_json"},
	}
	for _, tc := range refusals {
		var e api.ErrorBody
		if got := put(tc.epoch, tc.body, &e); got != tc.status || e.Error.Code != tc.code {
			t.Errorf("%s: %d %+v, want %d %s", tc.name, got, e, tc.status, tc.code)
		}
	}
	c.json("GET", "/v1/sessions/s1/checkpoint", "", &ck)
	if ck.Version != 1 || string(ck.DataModel) != `{"counter":1}` || len(ck.Timers) != 1 || ck.Timers[0].RemainingMS == nil {
		t.Fatalf("after the refusals: %+v", ck)
	}

	// A party state change with its checkpoint.
	var w api.EventsResponse
	if got := c.do("PATCH", "/v1/sessions/s1/interactions/i1/parties/p1", strings.NewReader(`{"state":"held",
		"checkpoint":{"expected_version":1,"datamodel":{"counter":2},"configuration":["main","held"],
		"timers":[{"sendid":"t1","event":"timeout","delay_ms":60000}]}}`), epoch("1"), &w); got != http.StatusOK ||
		len(w.Events) != 1 || w.Checkpoint == nil || w.Checkpoint.Version != 2 {
		t.Fatalf("party change with a checkpoint: %d %+v", got, w)
	}
	// A user data change whose checkpoint is refused: neither is written.
	before := c.counts()
	var e api.ErrorBody
	if got := c.do("PATCH", "/v1/sessions/s1/interactions/i1/udata", strings.NewReader(`{"origin":"media","data":{"vip":true},
		"checkpoint":{"expected_version":1,"datamodel":{"counter":3}}}`), epoch("1"), &e); got != http.StatusConflict || e.Error.Code != "conflict" {
		t.Fatalf("user data change with a stale checkpoint: %d %+v", got, e)
	}
	if c.counts() != before {
		t.Error("the refused change wrote")
	}
	if got := c.do("PUT", "/v1/sessions/s1/interactions/i1/udata", strings.NewReader(`{"origin":"session","data":{"vip":true},
		"checkpoint":{"expected_version":2,"datamodel":{"counter":3},"configuration":["main","held"],
		"timers":[{"sendid":"t1","event":"timeout","due_at":"`+time.Now().Add(time.Minute).Format(time.RFC3339Nano)+`"}]}}`), epoch("1"), &w); got != http.StatusOK ||
		w.Checkpoint == nil || w.Checkpoint.Version != 3 {
		t.Fatalf("user data change with a checkpoint: %d %+v", got, w)
	}

	var hist struct{ Checkpoints []service.Checkpoint }
	// The server keeps the current version alone by default.
	if got := c.json("GET", "/v1/sessions/s1/checkpoint/history", "", &hist); got != http.StatusOK || len(hist.Checkpoints) != 1 ||
		hist.Checkpoints[0].Version != 3 {
		t.Errorf("history: %d %+v", got, hist)
	}
	var state service.SessionState
	if c.json("GET", "/v1/sessions/s1", "", &state); state.CheckpointVersion == nil || *state.CheckpointVersion != 3 {
		t.Errorf("the session's checkpoint version: %v", state.CheckpointVersion)
	}
	for _, path := range []string{"/v1/sessions/nope/checkpoint", "/v1/sessions/nope/checkpoint/history"} {
		if got := c.json("GET", path, "", &e); got != http.StatusNotFound {
			t.Errorf("GET %s: %d", path, got)
		}
	}

	// n1's lease lapses; n2 claims and gets the checkpoint with the timer's time left.
	var to service.Takeover
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		got := c.json("POST", "/v1/sessions/s1/claim", `{"node_id":"n2"}`, &to)
		if got == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("claim: %d", got)
		}
	}
	if to.Checkpoint == nil || to.Checkpoint.Version != 3 || len(to.Checkpoint.Timers) != 1 ||
		*to.Checkpoint.Timers[0].RemainingMS <= 0 || *to.Checkpoint.Timers[0].RemainingMS > 60000 {
		t.Fatalf("the claim's checkpoint: %+v", to.Checkpoint)
	}
	if got := put("1", `{"datamodel":{"counter":4}}`, &e); got != http.StatusConflict || e.Error.Code != "lease_lost" {
		t.Errorf("the old owner after the claim: %d %+v", got, e)
	}
	if got := put("2", `{"expected_version":3,"datamodel":{"counter":4}}`, &ck); got != http.StatusOK || ck.Version != 4 ||
		ck.NodeID == nil || *ck.NodeID != "n2" {
		t.Errorf("the new owner's checkpoint: %d %+v", got, ck)
	}
}
