package reporting

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/internal/database"
	"github.com/ixnstore/ixnstore/internal/fault"
	"github.com/ixnstore/ixnstore/service"
)

func invalidf(format string, args ...any) error {
	return fault.Errorf(fault.ErrInvalid, format, args...)
}

// Filter narrows a list of interactions. Empty fields do not filter.
type Filter struct {
	// added, present, deleted, or live (not deleted).
	State     string
	Media     string
	SessionID string
	// The node that owns the interaction's session.
	NodeID string
	// A resource (agent, device) that was ever one of its parties.
	Resource string
	// A user data key it has; with UserDataValue (JSON), that value for it.
	UserDataKey   string
	UserDataValue json.RawMessage
	CreatedFrom   *time.Time
	CreatedTo     *time.Time
	EndedFrom     *time.Time
	EndedTo       *time.Time
}

// InteractionStates are the values of Filter.State.
var InteractionStates = []string{"added", "present", "deleted", "live"}

// Interaction is one stay of an interaction in a session, as reports show it.
type Interaction struct {
	SessionID     string     `json:"session_id"`
	InteractionID string     `json:"interaction_id"`
	Media         string     `json:"media"`
	Type          string     `json:"type"`
	State         string     `json:"state"`
	Controlled    bool       `json:"controlled"`
	OwnerNode     *string    `json:"owner_node,omitempty"`
	TenantID      *string    `json:"tenant_id,omitempty"`
	ParentID      *string    `json:"parent_id,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	EndedAt       *time.Time `json:"ended_at,omitempty"`
	AbandonedAt   *time.Time `json:"abandoned_at,omitempty"`
	MergedInto    *string    `json:"merged_into,omitempty"`
	MovedTo       *string    `json:"moved_to,omitempty"`
	// When a party was first connected.
	FirstConnectedAt *time.Time `json:"first_connected_at,omitempty"`
	Transfers        int32      `json:"transfers"`
	Conferences      int32      `json:"conferences"`
	// How it ended: live, completed, abandoned, merged (into another interaction) or moved
	// (to another session).
	Outcome string `json:"outcome"`
	// Genesys is the interaction as a strategy reads it (g_uid, voice.ani, ...).
	Genesys *service.GenesysView `json:"genesys"`
}

func interactionFromRow(r db.ReportInteraction) Interaction {
	return Interaction{
		SessionID: r.SessionID, InteractionID: r.InteractionID, Media: r.Media, Type: string(r.Type),
		State: string(r.State), Controlled: r.Controlled, OwnerNode: r.OwnerNode, TenantID: r.TenantID,
		ParentID: r.ParentID, CreatedAt: r.CreatedAt, EndedAt: r.DeletedAt, AbandonedAt: r.AbandonedAt,
		MergedInto: r.MergedInto, MovedTo: r.MovedTo, FirstConnectedAt: r.FirstEstablishedAt,
		Transfers: r.Transfers, Conferences: r.Conferences,
		Genesys: service.GenesysOf(r.InteractionID, r.Media, string(r.Type), r.TenantID, r.ParentID, r.Properties),
		Outcome: r.Outcome,
	}
}

// MaxPage is the most interactions one list page holds.
const MaxPage = 1000

// Page is one page of a list and the cursor of the next ("" when it is the last).
type Page struct {
	Interactions []Interaction `json:"interactions"`
	Next         string        `json:"next,omitempty"`
}

// cursor is a place in the list's order, given to clients as an opaque string.
type cursor struct {
	CreatedAt     time.Time `json:"t"`
	SessionID     string    `json:"s"`
	InteractionID string    `json:"i"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (*cursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c cursor
	if err != nil || json.Unmarshal(b, &c) != nil || c.SessionID == "" {
		return nil, invalidf("after is not a cursor this list gave")
	}
	return &c, nil
}

// ListInteractions lists the interactions that pass the filter in the order they were
// created (ties by session and interaction id), limit at a time after the cursor.
func (r *Reporter) ListInteractions(ctx context.Context, f Filter, after string, limit int) (Page, error) {
	p, err := listParams(f, after, limit)
	if err != nil {
		return Page{}, err
	}
	rows, err := r.q.ReportListInteractions(ctx, db.ReportListInteractionsParams(p))
	if err != nil {
		return Page{}, database.Translate(err)
	}
	limit = int(p.MaxRows) - 1
	page := Page{Interactions: make([]Interaction, 0, min(len(rows), limit))}
	for i, row := range rows {
		if i == limit {
			last := page.Interactions[limit-1]
			page.Next = cursor{last.CreatedAt, last.SessionID, last.InteractionID}.encode()
			break
		}
		page.Interactions = append(page.Interactions, interactionFromRow(row))
	}
	return page, nil
}

// ExplainList returns the plan (EXPLAIN, JSON) ListInteractions gets for the same arguments.
func (r *Reporter) ExplainList(ctx context.Context, f Filter, after string, limit int) (string, error) {
	p, err := listParams(f, after, limit)
	if err != nil {
		return "", err
	}
	plan, err := r.q.ReportListInteractionsPlan(ctx, p)
	return plan, database.Translate(err)
}

// listParams are the list's parameters; one row more than the page, to know if another follows.
func listParams(f Filter, after string, limit int) (db.ReportListInteractionsPlanParams, error) {
	if limit <= 0 || limit > MaxPage {
		limit = MaxPage
	}
	p := db.ReportListInteractionsPlanParams{MaxRows: int32(limit + 1)}
	if err := f.params(&p); err != nil {
		return p, err
	}
	c, err := decodeCursor(after)
	if err != nil {
		return p, err
	}
	if c != nil {
		p.AfterCreatedAt, p.AfterSessionID, p.AfterInteractionID = &c.CreatedAt, c.SessionID, c.InteractionID
	}
	return p, nil
}

func (f Filter) params(p *db.ReportListInteractionsPlanParams) error {
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	switch f.State {
	case "":
	case "live":
		live := true
		p.Live = &live
	default:
		if !slices.Contains(InteractionStates, f.State) {
			return invalidf("state must be one of %s", strings.Join(InteractionStates, ", "))
		}
		s := db.InteractionState(f.State)
		p.State = &s
	}
	p.Media, p.SessionID, p.NodeID, p.Resource = opt(f.Media), opt(f.SessionID), opt(f.NodeID), opt(f.Resource)
	p.UdataKey = opt(f.UserDataKey)
	if len(bytes.TrimSpace(f.UserDataValue)) > 0 {
		if f.UserDataKey == "" {
			return invalidf("a user data value needs its key")
		}
		if !json.Valid(f.UserDataValue) {
			return invalidf("the user data value must be JSON (a string in quotes)")
		}
		p.UdataValue = f.UserDataValue
	}
	for _, r := range [][2]*time.Time{{f.CreatedFrom, f.CreatedTo}, {f.EndedFrom, f.EndedTo}} {
		if r[0] != nil && r[1] != nil && !r[0].Before(*r[1]) {
			return invalidf("a time range must end after it starts")
		}
	}
	p.CreatedFrom, p.CreatedTo, p.EndedFrom, p.EndedTo = f.CreatedFrom, f.CreatedTo, f.EndedFrom, f.EndedTo
	return nil
}

// Party is a party of an interaction now.
type Party struct {
	SessionID string `json:"session_id"`
	PartyID   string `json:"party_id"`
	Resource  string `json:"resource"`
	State     string `json:"state"`
	Role      string `json:"role"`
}

// Detail is an interaction with all it has been: every stay in a session, its parties and
// user data now, and its events in order.
type Detail struct {
	InteractionID string                                `json:"interaction_id"`
	Stays         []Interaction                         `json:"stays"`
	Parties       []Party                               `json:"parties"`
	UserData      map[string]map[string]json.RawMessage `json:"udata"` // session → key → value
	Timeline      []service.Event                       `json:"timeline"`
}

// InteractionDetail returns one interaction with its parties, user data and timeline, as of
// one snapshot.
func (r *Reporter) InteractionDetail(ctx context.Context, interactionID string) (Detail, error) {
	return inSnapshot(ctx, r, func(ctx context.Context, q *db.Queries) (Detail, error) {
		rows, err := q.ReportInteractionRows(ctx, interactionID)
		if err != nil {
			return Detail{}, err
		}
		if len(rows) == 0 {
			return Detail{}, fmt.Errorf("%w: interaction %s", fault.ErrNotFound, interactionID)
		}
		d := Detail{InteractionID: interactionID, Parties: []Party{}, UserData: map[string]map[string]json.RawMessage{}}
		var sessions []string
		for _, row := range rows {
			d.Stays = append(d.Stays, interactionFromRow(row))
			if !slices.Contains(sessions, row.SessionID) {
				sessions = append(sessions, row.SessionID)
			}
		}
		parties, err := q.ReportPartiesOf(ctx, db.ReportPartiesOfParams{SessionIds: sessions, InteractionID: interactionID})
		if err != nil {
			return Detail{}, err
		}
		for _, p := range parties {
			d.Parties = append(d.Parties, Party{SessionID: p.SessionID, PartyID: p.PartyID, Resource: p.Resource,
				State: string(p.State), Role: string(p.Role)})
		}
		udata, err := q.ReportUserDataOf(ctx, db.ReportUserDataOfParams{SessionIds: sessions, InteractionID: interactionID})
		if err != nil {
			return Detail{}, err
		}
		for _, u := range udata {
			if d.UserData[u.SessionID] == nil {
				d.UserData[u.SessionID] = map[string]json.RawMessage{}
			}
			d.UserData[u.SessionID][u.Key] = u.Value
		}
		events, err := q.ReportInteractionTimeline(ctx, db.ReportInteractionTimelineParams{
			SessionIds: sessions, InteractionID: interactionID})
		if err != nil {
			return Detail{}, err
		}
		d.Timeline = service.EventsFromRows(events)
		return d, nil
	})
}

// GroupBys are what aggregates can be grouped by.
var GroupBys = []string{"media", "node", "resource"}

// Aggregate is one group's figures over a window. Durations are in seconds.
type Aggregate struct {
	Group         string  `json:"group"`
	Total         int64   `json:"total"`
	Live          int64   `json:"live"`
	Completed     int64   `json:"completed"`
	Abandoned     int64   `json:"abandoned"`
	Merged        int64   `json:"merged"`
	Moved         int64   `json:"moved"`
	AbandonedRate float64 `json:"abandoned_rate"`
	// Added → deleted, of the interactions that ended.
	HandleTimeAvg float64 `json:"handle_time_avg"`
	HandleTimeP50 float64 `json:"handle_time_p50"`
	HandleTimeP90 float64 `json:"handle_time_p90"`
	// Added → first party connected, of those that were connected.
	Connected        int64   `json:"connected"`
	TimeToConnectAvg float64 `json:"time_to_connect_avg"`
	TimeToConnectP50 float64 `json:"time_to_connect_p50"`
	Transfers        int64   `json:"transfers"`
	Conferences      int64   `json:"conferences"`
}

// MaxWindow is the longest window one aggregate covers.
const MaxWindow = 31 * 24 * time.Hour

// Aggregates gives the figures of the interactions created in [from, to), per group, from the
// rollups where they serve the window (rollups.go), from the rows otherwise.
func (r *Reporter) Aggregates(ctx context.Context, from, to time.Time, groupBy string) ([]Aggregate, error) {
	groupBy, err := checkAggregates(from, to, groupBy)
	if err != nil {
		return nil, err
	}
	return r.aggregatesFromRollups(ctx, from, to, groupBy)
}

// AggregatesFromRows gives what Aggregates gives, computed from the interactions' rows alone
// (percentiles exact): the reference the rollups are held to.
func (r *Reporter) AggregatesFromRows(ctx context.Context, from, to time.Time, groupBy string) ([]Aggregate, error) {
	groupBy, err := checkAggregates(from, to, groupBy)
	if err != nil {
		return nil, err
	}
	return aggregatesFromRows(ctx, r.q, from, to, groupBy)
}

func checkAggregates(from, to time.Time, groupBy string) (string, error) {
	if groupBy == "" {
		groupBy = "media"
	}
	if !slices.Contains(GroupBys, groupBy) {
		return "", invalidf("group_by must be one of %s", strings.Join(GroupBys, ", "))
	}
	if !from.Before(to) || to.Sub(from) > MaxWindow {
		return "", invalidf("the window must end after it starts and cover at most %s", MaxWindow)
	}
	return groupBy, nil
}

func aggregatesFromRows(ctx context.Context, q *db.Queries, from, to time.Time, groupBy string) ([]Aggregate, error) {
	rows, err := q.ReportAggregate(ctx, db.ReportAggregateParams{GroupBy: groupBy, CreatedFrom: from, CreatedTo: to})
	if err != nil {
		return nil, database.Translate(err)
	}
	out := make([]Aggregate, len(rows))
	for i, g := range rows {
		out[i] = Aggregate{Group: g.GroupKey, Total: g.Total, Live: g.Live, Completed: g.Completed,
			Abandoned: g.Abandoned, Merged: g.Merged, Moved: g.Moved,
			AbandonedRate: float64(g.Abandoned) / float64(g.Total),
			HandleTimeAvg: g.HandleAvg, HandleTimeP50: g.HandleP50, HandleTimeP90: g.HandleP90,
			Connected: g.Connected, TimeToConnectAvg: g.ConnectAvg, TimeToConnectP50: g.ConnectP50,
			Transfers: g.Transfers, Conferences: g.Conferences}
	}
	return out, nil
}
