package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ixnstore/ixnstore/api"
	"github.com/ixnstore/ixnstore/service"
)

// A user data value of any size up to the body limit is stored and found again by the
// reports' key and value filter, which compares values as jsonb does (1.0 = 1.00).
func TestLargeUserDataValues(t *testing.T) {
	t.Parallel()
	c := newServer(t)
	c.seed()
	huge := strings.Repeat("x", 900<<10)
	mid := strings.Repeat("y", 10<<10)
	body, _ := json.Marshal(map[string]any{"origin": "media", "data": map[string]any{"huge": huge, "mid": mid,
		"n": json.RawMessage(`1.0`)}})
	c.ok("PATCH", "/v1/sessions/s1/interactions/i1/udata", string(body), http.StatusOK)

	var state service.SessionState
	status := c.json("GET", "/v1/sessions/s1", "", &state)
	var got string
	if status != http.StatusOK || len(state.Interactions) != 1 || json.Unmarshal(state.Interactions[0].UserData["huge"], &got) != nil || got != huge {
		t.Fatalf("the 900 KB value did not come back whole (%d bytes)", len(got))
	}
	for _, q := range []string{"udata_key=mid&udata_value=" + url.QueryEscape(`"`+mid+`"`), "udata_key=n&udata_value=1.00"} {
		var page struct {
			Interactions []struct {
				InteractionID string `json:"interaction_id"`
			} `json:"interactions"`
		}
		if status := c.json("GET", "/v1/reports/interactions?"+q, "", &page); status != http.StatusOK ||
			len(page.Interactions) != 1 || page.Interactions[0].InteractionID != "i1" {
			t.Errorf("filter %.40s: status %d, %+v", q, status, page)
		}
	}
}

// A page size out of the range the document gives is refused, not changed.
func TestQueryLimitsOutOfRange(t *testing.T) {
	t.Parallel()
	c := newServer(t)
	c.seed()
	for _, tt := range []struct {
		path   string
		status int
	}{
		{"/v1/sessions/s1/events?limit=1", http.StatusOK},
		{"/v1/sessions/s1/events?limit=1000", http.StatusOK},
		{"/v1/sessions/s1/events?limit=0", http.StatusUnprocessableEntity},
		{"/v1/sessions/s1/events?limit=1001", http.StatusUnprocessableEntity},
		{"/v1/sessions/s1/events?limit=-1", http.StatusUnprocessableEntity},
		{"/v1/sessions/s1/events?limit=x", http.StatusBadRequest},
		{"/v1/events?limit=5000", http.StatusOK},
		{"/v1/events?limit=5001", http.StatusUnprocessableEntity},
		{"/v1/events?limit=99999", http.StatusUnprocessableEntity},
		{"/v1/requests?limit=0", http.StatusUnprocessableEntity},
		{"/v1/sessions/orphaned?limit=0", http.StatusUnprocessableEntity},
		{"/v1/reports/interactions?limit=1000", http.StatusOK},
		{"/v1/reports/interactions?limit=1001", http.StatusUnprocessableEntity},
		{"/v1/reports/audit?limit=0", http.StatusUnprocessableEntity},
	} {
		var e api.ErrorBody
		got := c.json("GET", tt.path, "", &e)
		if got != tt.status || (got >= 400 && e.Error.Message == "") {
			t.Errorf("%s: status %d %+v, want %d", tt.path, got, e, tt.status)
		}
	}
}
