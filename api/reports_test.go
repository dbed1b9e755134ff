package api_test

import (
	"encoding/csv"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The report routes answer JSON and CSV, and refuse what they cannot read.
func TestReportRoutes(t *testing.T) {
	t.Parallel()
	c := newServer(t)
	c.seed()
	var page struct {
		Interactions []struct {
			InteractionID string `json:"interaction_id"`
			Outcome       string `json:"outcome"`
		} `json:"interactions"`
	}
	c.json("GET", "/v1/reports/interactions?state=live&media=voice&udata_key=lang&udata_value=en", "", &page)
	if len(page.Interactions) != 1 || page.Interactions[0].InteractionID != "i1" || page.Interactions[0].Outcome != "live" {
		t.Errorf("list: %+v", page)
	}
	from := url.QueryEscape(time.Now().Add(-time.Hour).Format(time.RFC3339))
	to := url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339))
	res, err := http.Get(c.base + "/v1/reports/aggregates?format=csv&group_by=resource&from=" + from + "&to=" + to)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	records, err := csv.NewReader(res.Body).ReadAll()
	if err != nil || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" || len(records) != 2 ||
		records[0][0] != "group" || records[1][0] != "+15550001" || records[1][1] != "1" {
		t.Errorf("aggregates as CSV: %v %v %q", records, err, res.Header.Get("Content-Type"))
	}
	req, _ := http.NewRequest("GET", c.base+"/v1/reports/interactions", nil)
	req.Header.Set("Accept", "text/csv")
	res2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res2.Body)
	res2.Body.Close()
	if lines := strings.Split(strings.TrimSpace(string(body)), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "session_id,") {
		t.Errorf("list as CSV: %q", body)
	}
	c.ok("GET", "/v1/reports/interactions/i1", "", http.StatusOK)
	c.ok("GET", "/v1/reports/interactions/nope", "", http.StatusNotFound)
	c.ok("GET", "/v1/reports/interactions?state=gone", "", http.StatusUnprocessableEntity)
	c.ok("GET", "/v1/reports/interactions?created_from=yesterday", "", http.StatusBadRequest)
	c.ok("GET", "/v1/reports/aggregates?from="+from, "", http.StatusBadRequest)
	c.ok("GET", "/v1/reports/aggregates?group_by=colour&from="+from+"&to="+to, "", http.StatusUnprocessableEntity)
}
