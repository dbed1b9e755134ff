package service

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/internal/database"
	"github.com/ixnstore/ixnstore/internal/fault"
)

// The actions a session's routing node can ask for (the reference's action elements).
var Actions = []string{
	"terminate", "redirect", "associate", "pick", "accept", "clear", "singlesteptransfer", "singlestepconference",
}

// The values of a request's error, the `error` attribute of error.interaction.<action>: the
// reference's own (unknown, remote, timeout, invalidstate.<state>, invaliddestination,
// badtranslation) and ixnstore's additions for what it checks itself.
var (
	// Given by ixnstore when it refuses a request or ends it without the media side.
	RequestErrorsOwn = []string{
		"invalidinteraction", // the interaction is not in the session
		"notcontrolled",      // in the session but not controlled by it
		"alreadycontrolled",  // pick: the session controls it already
		"invalidresource",    // no party of the interaction is at the named resource
		"invaliddestination", // associate: the target session does not exist, has ended or is this one
		"invalidstate.null", "invalidstate.ringing", "invalidstate.hold", "invalidstate.routed",
		"invalidstate.treating", // a party in treatment
		"timeout",               // no answer within the request's timeout
		"unknown",               // the session ended with the request pending
	}
	// What the media side may report when it could not do an action.
	RequestErrorsMedia = []string{
		"unknown", "remote", "invaliddestination", "badtranslation", "invalidparty", "invalidresource",
		"invalidstate.null", "invalidstate.ringing", "invalidstate.hold", "invalidstate.transferring",
		"invalidstate.treating", "invalidstate.routed",
	}
	RequestResults = []string{"done", "failed"}
)

// The bounds of a request's timeout.
const (
	DefaultRequestTimeout = 30 * time.Second
	MinRequestTimeout     = 10 * time.Millisecond
	MaxRequestTimeout     = time.Hour
)

// RequestRefusal is the answer to a request refused when it was made.
type RequestRefusal struct {
	Request Request
}

func (e *RequestRefusal) Error() string { return deref(e.Request.Description) }
func (e *RequestRefusal) Unwrap() error { return fault.ErrRequestRefused }

// NewRequest is a routing node's request for an action on an interaction of its session.
type NewRequest struct {
	// The caller's id for the request; empty is given a new UUID. Sending the same request
	// again with the same id is answered by the stored request.
	RequestID     string `json:"request_id"`
	Action        string `json:"action"`
	InteractionID string `json:"interaction_id"`
	// The party's resource the action works on (terminate, redirect, accept, clear,
	// singlesteptransfer, singlestepconference).
	Resource *string `json:"resource,omitempty"`
	// Where to (redirect, singlesteptransfer, singlestepconference).
	Destination *string `json:"destination,omitempty"`
	// The session to move the interaction to (associate).
	TargetSessionID *string         `json:"target_session_id,omitempty"`
	Reason          *string         `json:"reason,omitempty"`
	Hints           json.RawMessage `json:"hints,omitempty" shape:"object"`
	// How long the media side has to answer, a Go duration ("10s", "1500ms"); empty is the
	// store's default.
	Timeout string `json:"timeout,omitempty"`
}

// The parameters each action takes besides the interaction; required ones are marked.
var actionParams = map[string]map[string]bool{
	"terminate":            {"resource": false, "reason": false},
	"redirect":             {"destination": true, "resource": false},
	"associate":            {"target_session_id": true},
	"pick":                 {},
	"accept":               {"resource": false},
	"clear":                {"resource": true, "reason": false},
	"singlesteptransfer":   {"destination": true, "resource": false},
	"singlestepconference": {"destination": true, "resource": false},
}

func (in NewRequest) validate() (time.Duration, error) {
	var c checker
	c.id("request_id", in.RequestID)
	c.oneOf("action", in.Action, Actions)
	c.id("interaction_id", in.InteractionID)
	if takes, ok := actionParams[in.Action]; ok {
		given := map[string]*string{"resource": in.Resource, "destination": in.Destination,
			"target_session_id": in.TargetSessionID, "reason": in.Reason}
		for _, name := range []string{"resource", "destination", "target_session_id", "reason"} {
			required, takesIt := takes[name]
			switch v := given[name]; {
			case v != nil && !takesIt:
				c.addf("%s takes no %s", in.Action, name)
			case v == nil && required:
				c.addf("%s is required for %s", name, in.Action)
			case v != nil && name == "target_session_id":
				c.id(name, *v)
			case v != nil:
				c.text(name, *v, true)
			}
		}
	}
	c.object("hints", in.Hints)
	timeout := c.duration("timeout", in.Timeout, MinRequestTimeout, MaxRequestTimeout)
	return timeout, c.err()
}

// params are the request's parameters as stored and as a repeat of it is compared: only
// what was given, hints as given, the timeout in milliseconds.
func (in NewRequest) params(timeout time.Duration) ([]byte, error) {
	p := map[string]any{}
	for name, v := range map[string]*string{"resource": in.Resource, "destination": in.Destination,
		"sessionid": in.TargetSessionID, "reason": in.Reason} {
		if v != nil {
			p[name] = *v
		}
	}
	if h := hintsOrEmpty(in.Hints); string(h) != "{}" {
		p["hints"] = json.RawMessage(h)
	}
	if timeout > 0 {
		p["timeout_ms"] = timeout.Milliseconds()
	}
	return json.Marshal(p)
}

// RequestOutcome is the media side's report on a pending request.
type RequestOutcome struct {
	// done or failed.
	Result string `json:"result"`
	// failed: one of RequestErrorsMedia, and a sentence for a person.
	Error       string `json:"error,omitempty"`
	Description string `json:"description,omitempty"`
	// Passed on in the events that carry hints.
	Hints json.RawMessage `json:"hints,omitempty" shape:"object"`
	// done, for redirect, singlesteptransfer and singlestepconference: the party that joined
	// at the destination.
	Party *ReportedParty `json:"party,omitempty"`
}

// ReportedParty is a party the media side reports joined; its resource defaults to the
// request's destination and its state to alerting.
type ReportedParty struct {
	PartyID  string  `json:"party_id"`
	Resource *string `json:"resource,omitempty"`
	State    *string `json:"state,omitempty"`
	Role     *string `json:"role,omitempty"`
}

func (in RequestOutcome) validate() error {
	var c checker
	c.oneOf("result", in.Result, RequestResults)
	switch in.Result {
	case "done":
		if in.Error != "" || in.Description != "" {
			c.addf("a done report carries no error or description")
		}
	case "failed":
		c.oneOf("error", in.Error, RequestErrorsMedia)
		c.text("description", in.Description, false)
		if in.Party != nil {
			c.addf("a failed report carries no party")
		}
	}
	c.object("hints", in.Hints)
	if p := in.Party; p != nil {
		c.id("party.party_id", p.PartyID)
		if p.Resource != nil {
			c.text("party.resource", *p.Resource, true)
		}
		if p.State != nil {
			c.oneOf("party.state", *p.State, JoiningPartyStates)
		}
		if p.Role != nil {
			c.oneOf("party.role", *p.Role, PartyRoles)
		}
	}
	return c.err()
}

// Request is an action request as stored.
type Request struct {
	SessionID     string          `json:"session_id"`
	RequestID     string          `json:"request_id"`
	Action        string          `json:"action"`
	InteractionID string          `json:"interaction_id"`
	Media         *string         `json:"media,omitempty"`
	Params        json.RawMessage `json:"params"`
	// pending, done or failed.
	State       string     `json:"state"`
	Error       *string    `json:"error,omitempty"`
	Description *string    `json:"description,omitempty"`
	NodeID      *string    `json:"node_id,omitempty"`
	Epoch       int64      `json:"epoch"`
	TimeoutMS   int64      `json:"timeout_ms"`
	Deadline    time.Time  `json:"deadline"`
	CreatedAt   time.Time  `json:"created_at"`
	AnsweredAt  *time.Time `json:"answered_at,omitempty"`
	// The answer event and the events after it that the outcome caused, by seq.
	AnswerSeqs *[2]int64 `json:"answer_seqs,omitempty"`
	// The request's place in the media side's feed of pending requests.
	Cursor   string        `json:"cursor"`
	position RequestCursor // Cursor, parsed
}

// Position is the request's place in the feed of pending requests: what to read after.
func (r Request) Position() RequestCursor { return r.position }

func requestFromRow(r db.ActionRequest) Request {
	out := Request{
		SessionID: r.SessionID, RequestID: r.RequestID, Action: string(r.Action), InteractionID: r.InteractionID,
		Media: r.Media, Params: r.Params, State: string(r.State), Error: r.Error, Description: r.Description,
		NodeID: r.NodeID, Epoch: r.Epoch, TimeoutMS: r.TimeoutMs, Deadline: r.Deadline, CreatedAt: r.CreatedAt,
		AnsweredAt: r.AnsweredAt, position: RequestCursor{TxID: r.Txid, ID: r.ID},
	}
	out.Cursor = out.position.String()
	if r.AnswerFirstSeq != nil && r.AnswerLastSeq != nil {
		out.AnswerSeqs = &[2]int64{*r.AnswerFirstSeq, *r.AnswerLastSeq}
	}
	return out
}

// RequestCursor is a place in the feed of pending requests: (creating transaction, id).
type RequestCursor struct {
	TxID uint64
	ID   int64
}

func (c RequestCursor) String() string { return fmt.Sprintf("%d.%d", c.TxID, c.ID) }

// ParseRequestCursor reads a cursor as RequestCursor.String writes it; "" is the start.
func ParseRequestCursor(s string) (RequestCursor, error) {
	if s == "" {
		return RequestCursor{}, nil
	}
	tx, id, ok := strings.Cut(s, ".")
	txid, err1 := strconv.ParseUint(tx, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err1 != nil || err2 != nil || n < 0 {
		return RequestCursor{}, fault.Errorf(fault.ErrInvalid, "a request cursor is two numbers joined by a dot, as a request's cursor gives it")
	}
	return RequestCursor{TxID: txid, ID: n}, nil
}

// CreateRequest makes an action request. It is checked against the stored state at once: a
// request the state does not allow is stored as failed, its error event written, and
// returned with a *RequestRefusal. Otherwise it is stored as pending for the media side.
// A request with an id the session used before is answered by the stored request when it
// asks for the same thing, and refused with fault.ErrConflict when not; neither writes anything.
func (s *Store) CreateRequest(ctx context.Context, t Target, in NewRequest) (Request, error) {
	if in.RequestID == "" {
		in.RequestID = uuid.NewString()
	}
	timeout, err := in.validate()
	if err != nil {
		return Request{}, err
	}
	params, err := in.params(timeout)
	if err != nil {
		return Request{}, err
	}
	if timeout == 0 {
		timeout = s.requestTimeout
	}
	row, err := s.q.RequestCreate(ctx, db.RequestCreateParams{
		SessionID: t.SessionID, Epoch: t.Epoch, RequestID: in.RequestID, Action: db.ActionName(in.Action),
		InteractionID: in.InteractionID, Params: params, TimeoutMs: timeout.Milliseconds(),
	})
	if err != nil {
		return Request{}, database.Translate(err)
	}
	req := requestFromRow(row)
	if row.Refused {
		s.written()
		return req, &RequestRefusal{Request: req}
	}
	return req, nil
}

// GetRequest returns one request of a session.
func (s *Store) GetRequest(ctx context.Context, sessionID, requestID string) (Request, error) {
	row, err := s.q.RequestGet(ctx, db.RequestGetParams{SessionID: sessionID, RequestID: requestID})
	if err != nil {
		return Request{}, notFound(err, "request %s not found in session %s", requestID, sessionID)
	}
	return requestFromRow(row), nil
}

// ReportRequest applies the media side's outcome of a pending request: done (the done event,
// then the events of the state change the action implies) or failed (the error event). The
// same report on a request that has already ended returns the events it wrote then and
// writes nothing; any other report on it is refused with fault.ErrRequestEnded.
func (s *Store) ReportRequest(ctx context.Context, sessionID, requestID string, in RequestOutcome) (Request, []Event, error) {
	if err := in.validate(); err != nil {
		return Request{}, nil, err
	}
	var party []byte
	if in.Party != nil {
		var err error
		if party, err = json.Marshal(in.Party); err != nil {
			return Request{}, nil, err
		}
	}
	// The request is read back in the outcome's own transaction: read after the commit, a
	// read that ran out of the deadline would answer "nothing was done" for an outcome that
	// had committed.
	type reported struct {
		request db.ActionRequest
		events  []db.Outbox
	}
	out, err := database.WithTxValue(ctx, s.conn, pgx.TxOptions{}, func(ctx context.Context, q *db.Queries) (reported, error) {
		var events []db.Outbox
		var err error
		if in.Result == "failed" {
			description := in.Description
			if description == "" {
				description = "the media side could not do it: " + in.Error
			}
			events, err = q.RequestFailed(ctx, db.RequestFailedParams{
				SessionID: sessionID, RequestID: requestID, Error: in.Error, Description: description,
			})
		} else {
			events, err = q.RequestDone(ctx, db.RequestDoneParams{
				SessionID: sessionID, RequestID: requestID, Hints: hintsOrEmpty(in.Hints), Party: party,
			})
		}
		if err != nil {
			return reported{}, err
		}
		request, err := q.RequestGet(ctx, db.RequestGetParams{SessionID: sessionID, RequestID: requestID})
		return reported{request: request, events: events}, err
	})
	if err != nil {
		return Request{}, nil, err
	}
	if len(out.events) > 0 {
		s.written()
	}
	return requestFromRow(out.request), eventsFromRows(out.events), nil
}

// MaxRequestsPage is the most requests one ListPendingRequests call returns.
const MaxRequestsPage = 1000

// ListPendingRequests returns pending requests after the cursor, in the order their
// transactions committed (late commits included, in their place), optionally of one medium.
func (s *Store) ListPendingRequests(ctx context.Context, after RequestCursor, media string, limit int) ([]Request, error) {
	if limit <= 0 || limit > MaxRequestsPage {
		limit = MaxRequestsPage
	}
	var m *string
	if media != "" {
		m = &media
	}
	rows, err := s.q.RequestListPending(ctx, db.RequestListPendingParams{
		AfterTxid: after.TxID, AfterID: after.ID, Media: m, MaxRows: int32(limit),
	})
	if err != nil {
		return nil, database.Translate(err)
	}
	out := make([]Request, len(rows))
	for i, r := range rows {
		out[i] = requestFromRow(r)
	}
	return out, nil
}

// ExpireRequests ends up to limit requests whose deadline has passed, each with its error
// event (error timeout), each in its own transaction. A request answered or expired by
// another instance meanwhile is left as it is. It returns how many it ended.
func (s *Store) ExpireRequests(ctx context.Context, limit int) (int, error) {
	due, err := s.q.RequestListExpired(ctx, int32(limit))
	if err != nil {
		return 0, database.Translate(err)
	}
	ended := 0
	for _, r := range due {
		rows, err := s.q.RequestExpire(ctx, db.RequestExpireParams(r))
		if err != nil {
			return ended, database.Translate(err)
		}
		if len(rows) > 0 {
			ended++
			s.written()
		}
	}
	return ended, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
