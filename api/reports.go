package api

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ixnstore/ixnstore/reporting"
)

// reportsConfigured refuses the report routes when this server has no reporting database.
func (h *handlers) reportsConfigured(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if h.reports == nil {
			return &apiError{status: http.StatusServiceUnavailable, code: "unavailable", message: "reports are not configured on this server"}
		}
		return next(c)
	}
}

// wantsCSV: ?format=csv, or an Accept header that asks for CSV.
func wantsCSV(c echo.Context) (bool, error) {
	switch c.QueryParam("format") {
	case "csv":
		return true, nil
	case "", "json":
		return strings.Contains(c.Request().Header.Get(echo.HeaderAccept), "text/csv"), nil
	}
	return false, badRequest("malformed_query", "format must be json or csv")
}

// queryTime reads an RFC 3339 time from the query; nil when absent.
func queryTime(c echo.Context, name string) (*time.Time, error) {
	s := c.QueryParam(name)
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, badRequest("malformed_query", name+" must be a time such as 2026-11-25T00:00:00Z")
	}
	return &t, nil
}

func (h *handlers) reportInteractions(c echo.Context) error {
	asCSV, err := wantsCSV(c)
	if err != nil {
		return err
	}
	f := reporting.Filter{
		State: c.QueryParam("state"), Media: c.QueryParam("media"), SessionID: c.QueryParam("session_id"),
		NodeID: c.QueryParam("node_id"), Resource: c.QueryParam("resource"), UserDataKey: c.QueryParam("udata_key"),
	}
	if v := c.QueryParam("udata_value"); v != "" {
		f.UserDataValue = json.RawMessage(v)
		if !json.Valid(f.UserDataValue) {
			// A bare word is meant as a string.
			quoted, _ := json.Marshal(v)
			f.UserDataValue = quoted
		}
		// The JSON given follows the rule of JSON bodies (\u0000, lone surrogates, 1e400).
		if p := scanJSON(f.UserDataValue); p != nil {
			return p.err("malformed_query", "udata_value: ")
		}
	}
	for name, dst := range map[string]**time.Time{"created_from": &f.CreatedFrom, "created_to": &f.CreatedTo,
		"ended_from": &f.EndedFrom, "ended_to": &f.EndedTo} {
		if *dst, err = queryTime(c, name); err != nil {
			return err
		}
	}
	limit, err := queryLimit(c, 100, reporting.MaxPage)
	if err != nil {
		return err
	}
	page, err := h.reports.ListInteractions(c.Request().Context(), f, c.QueryParam("after"), int(limit))
	if err != nil {
		return err
	}
	if !asCSV {
		return c.JSON(http.StatusOK, page)
	}
	if page.Next != "" {
		c.Response().Header().Set("X-Next-Cursor", page.Next)
	}
	return writeCSV(c, []string{"session_id", "interaction_id", "media", "type", "state", "controlled", "owner_node",
		"created_at", "ended_at", "abandoned_at", "merged_into", "moved_to", "first_connected_at", "transfers",
		"conferences", "outcome"}, len(page.Interactions), func(i int) []string {
		r := page.Interactions[i]
		return []string{r.SessionID, r.InteractionID, r.Media, r.Type, r.State, strconv.FormatBool(r.Controlled),
			deref(r.OwnerNode), r.CreatedAt.Format(time.RFC3339Nano), timeStr(r.EndedAt), timeStr(r.AbandonedAt),
			deref(r.MergedInto), deref(r.MovedTo), timeStr(r.FirstConnectedAt), strconv.Itoa(int(r.Transfers)),
			strconv.Itoa(int(r.Conferences)), r.Outcome}
	})
}

func (h *handlers) reportInteraction(c echo.Context) error {
	d, err := h.reports.InteractionDetail(c.Request().Context(), c.Param("iid"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, d)
}

func (h *handlers) reportAggregates(c echo.Context) error {
	asCSV, err := wantsCSV(c)
	if err != nil {
		return err
	}
	from, err := queryTime(c, "from")
	if err != nil {
		return err
	}
	to, err := queryTime(c, "to")
	if err != nil {
		return err
	}
	if from == nil || to == nil {
		return badRequest("malformed_query", "from and to are required: the window of creation times")
	}
	groups, err := h.reports.Aggregates(c.Request().Context(), *from, *to, c.QueryParam("group_by"))
	if err != nil {
		return err
	}
	if !asCSV {
		return c.JSON(http.StatusOK, map[string]any{"from": from, "to": to, "groups": groups})
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	return writeCSV(c, []string{"group", "total", "live", "completed", "abandoned", "merged", "moved",
		"abandoned_rate", "handle_time_avg", "handle_time_p50", "handle_time_p90", "connected",
		"time_to_connect_avg", "time_to_connect_p50", "transfers", "conferences"}, len(groups), func(i int) []string {
		g := groups[i]
		return []string{g.Group, n(g.Total), n(g.Live), n(g.Completed), n(g.Abandoned), n(g.Merged), n(g.Moved),
			f(g.AbandonedRate), f(g.HandleTimeAvg), f(g.HandleTimeP50), f(g.HandleTimeP90), n(g.Connected),
			f(g.TimeToConnectAvg), f(g.TimeToConnectP50), n(g.Transfers), n(g.Conferences)}
	})
}

// writeCSV answers with a header line and n records.
func writeCSV(c echo.Context, header []string, n int, record func(i int) []string) error {
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	out := csv.NewWriter(w)
	if err := out.Write(header); err != nil {
		return err
	}
	for i := range n {
		rec := record(i)
		for j, cell := range rec {
			rec[j] = csvCell(cell)
		}
		if err := out.Write(rec); err != nil {
			return fmt.Errorf("writing CSV: %w", err)
		}
	}
	out.Flush()
	return out.Error()
}

// csvCell keeps a spreadsheet from running a cell as a formula (CSV injection): text that
// begins with = + - @, a tab or a carriage return is prefixed with a single quote, as OWASP
// advises. Numbers are left as they are: a spreadsheet reads -5 as a number, not a formula.
func csvCell(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return s
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return s
	}
	return "'" + s
}

func timeStr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

// reportStateAt: the interaction as its events say it was at ?seq= (all events when absent),
// in the session of ?session_id=.
func (h *handlers) reportStateAt(c echo.Context) error {
	sid := c.QueryParam("session_id")
	if sid == "" {
		return badRequest("malformed_query", "session_id is required: the session whose events are replayed")
	}
	seq, err := queryInt(c, "seq", 0)
	if err != nil {
		return err
	}
	st, err := h.reports.StateAt(c.Request().Context(), sid, c.Param("iid"), seq)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// reportAudit rebuilds interactions from their events and lists where the stored state
// differs.
func (h *handlers) reportAudit(c echo.Context) error {
	scope := reporting.AuditScope{SessionID: c.QueryParam("session_id")}
	var err error
	if scope.CreatedFrom, err = queryTime(c, "created_from"); err != nil {
		return err
	}
	if scope.CreatedTo, err = queryTime(c, "created_to"); err != nil {
		return err
	}
	limit, err := queryLimit(c, reporting.DefaultAuditLimit, reporting.MaxAuditLimit)
	if err != nil {
		return err
	}
	scope.Limit = int(limit)
	res, err := h.reports.Audit(c.Request().Context(), scope)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}
