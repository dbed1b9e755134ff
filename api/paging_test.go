package api_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/ixnstore/ixnstore/service"
)

// The session lists page by a cursor over HTTP: next leads to the following page, the last
// page has none; bad limits and a missing node are 422.
func TestSessionListRoutes(t *testing.T) {
	t.Parallel()
	c := newServer(t)
	for _, body := range []string{`{"session_id":"a","owner_node":"n1"}`, `{"session_id":"b","owner_node":"n1"}`,
		`{"session_id":"c","owner_node":"n1"}`, `{"session_id":"d","owner_node":"n2"}`, `{"session_id":"e"}`} {
		c.ok("POST", "/v1/sessions", body, http.StatusCreated)
	}
	c.ok("POST", "/v1/sessions/b/end", "", http.StatusOK)

	follow := func(path string) []string {
		var ids []string
		for url := path; ; {
			var page service.SessionPage
			if got := c.json("GET", url, "", &page); got != http.StatusOK {
				t.Fatalf("GET %s: %d", url, got)
			}
			for _, s := range page.Sessions {
				ids = append(ids, s.SessionID)
			}
			if page.Next == nil {
				return ids
			}
			url = path + "&after=" + *page.Next
		}
	}
	for _, tt := range []struct {
		path string
		want []string
	}{
		{"/v1/sessions?owner_node=n1&limit=1", []string{"a", "b", "c"}},
		{"/v1/sessions?owner_node=n1&state=active&limit=2", []string{"a", "c"}},
		{"/v1/sessions?owner_node=n1&state=ended", []string{"b"}},
		{"/v1/sessions/orphaned?limit=2", []string{"a", "c", "d", "e"}}, // no node registered
	} {
		if got := follow(tt.path); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.path, got, tt.want)
		}
	}
	for _, path := range []string{"/v1/sessions", "/v1/sessions?owner_node=n1&limit=0",
		"/v1/sessions?owner_node=n1&limit=1001", "/v1/sessions?owner_node=n1&state=asleep", "/v1/sessions/orphaned?limit=0"} {
		var body struct{ Error struct{ Code string } }
		if got := c.json("GET", path, "", &body); got != http.StatusUnprocessableEntity || body.Error.Code != "invalid_value" {
			t.Errorf("GET %s: %d %q, want 422 invalid_value", path, got, body.Error.Code)
		}
	}
}
