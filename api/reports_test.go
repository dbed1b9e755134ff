package api_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The report routes answer JSON and CSV, and refuse what they cannot read.
func TestReportRoutes(t *testing.T) {
	t.Parallel()
	c := newServer(t)
	c.seed()
	c.ok("POST", "/v1/sessions/s1/interactions/i1/parties", `{"party_id":"p2","resource":"7001","state":"alerting","role":"agent"}`,
		http.StatusCreated)
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
	records, contentType, err := c.aggregatesCSV()
	if err != nil || contentType != "text/csv; charset=utf-8" || len(records) != 2 ||
		records[0][0] != "group" || records[1][0] != "7001" || records[1][1] != "1" {
		t.Errorf("aggregates as CSV: %v %v %q", records, err, contentType)
	}
	from := url.QueryEscape(time.Now().Add(-time.Hour).Format(time.RFC3339))
	to := url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339))
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
	c.ok("GET", "/v1/reports/interactions?udata_key=k&udata_value="+url.QueryEscape(`"a\u0000"`), "", http.StatusBadRequest)
	c.ok("GET", "/v1/reports/interactions?udata_key=k&udata_value="+url.QueryEscape(`{"n":1e400}`), "", http.StatusUnprocessableEntity)
	c.ok("GET", "/v1/reports/interactions?created_from=yesterday", "", http.StatusBadRequest)
	c.ok("GET", "/v1/reports/aggregates?from="+from, "", http.StatusBadRequest)
	c.ok("GET", "/v1/reports/aggregates?group_by=colour&from="+from+"&to="+to, "", http.StatusUnprocessableEntity)
}

// The state at a past event, and an audit that finds a difference planted in the state.
func TestReportStateAndAudit(t *testing.T) {
	t.Parallel()
	c := newServer(t)
	c.seed()                                                                                       // s1: i1 added with p1 established (seq 1), present (seq 2)
	c.ok("PATCH", "/v1/sessions/s1/interactions/i1/parties/p1", `{"state":"held"}`, http.StatusOK) // seq 3
	var st struct {
		State   string
		Parties []struct{ PartyID, State string }
	}
	c.json("GET", "/v1/reports/interactions/i1/state?session_id=s1&seq=1", "", &st)
	if st.State != "added" || len(st.Parties) != 1 || st.Parties[0].State != "established" {
		t.Errorf("at seq 1: %+v", st)
	}
	c.ok("GET", "/v1/reports/interactions/i1/state?seq=1", "", http.StatusBadRequest)
	var audit struct {
		Checked     int
		Differences []struct{ Field, Stored, Rebuilt string }
	}
	c.json("GET", "/v1/reports/audit?session_id=s1", "", &audit)
	if audit.Checked != 1 || len(audit.Differences) != 0 {
		t.Fatalf("a clean audit: %+v", audit)
	}
	if _, err := c.pool.Exec(context.Background(), `UPDATE parties SET state = 'established' WHERE party_id = 'p1'`); err != nil {
		t.Fatal(err)
	}
	c.json("GET", "/v1/reports/audit?session_id=s1", "", &audit)
	if len(audit.Differences) != 1 || audit.Differences[0].Stored != "established" || audit.Differences[0].Rebuilt != "held" {
		t.Errorf("the planted difference: %+v", audit)
	}
}

// A resource a caller chose is exported as text, never as a spreadsheet formula.
func TestCSVExportEscapesFormulas(t *testing.T) {
	t.Parallel()
	c := newServer(t)
	c.seed()
	resources := []string{`=HYPERLINK("http://evil","x")`, "@SUM(1)", "-2+3", "+1-1", "\tx"}
	for i, r := range resources {
		body, _ := json.Marshal(map[string]string{"party_id": "a" + strconv.Itoa(i), "resource": r, "state": "alerting", "role": "agent"})
		c.ok("POST", "/v1/sessions/s1/interactions/i1/parties", string(body), http.StatusCreated)
	}
	records, _, err := c.aggregatesCSV()
	if err != nil {
		t.Fatal(err)
	}
	groups := map[string]bool{}
	for _, r := range records[1:] {
		groups[r[0]] = true
	}
	for _, r := range resources {
		if !groups["'"+r] || groups[r] {
			t.Errorf("resource %q: groups %v, want it once, prefixed with a quote", r, groups)
		}
	}
}

// aggregatesCSV reads the aggregates of the last and next hour by resource, as CSV.
func (c *client) aggregatesCSV() ([][]string, string, error) {
	from := url.QueryEscape(time.Now().Add(-time.Hour).Format(time.RFC3339))
	to := url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339))
	res, err := http.Get(c.base + "/v1/reports/aggregates?format=csv&group_by=resource&from=" + from + "&to=" + to)
	if err != nil {
		return nil, "", err
	}
	defer res.Body.Close()
	records, err := csv.NewReader(res.Body).ReadAll()
	return records, res.Header.Get("Content-Type"), err
}
