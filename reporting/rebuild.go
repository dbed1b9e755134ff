package reporting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/internal/database"
	"github.com/ixnstore/ixnstore/internal/fault"
)

// State is an interaction as the events say it was: its state, control, parties,
// abandonment and merge. User data is not part of it: interaction.udata.changed carries only
// the interaction id, so no event says what the user data was.
type State struct {
	SessionID     string `json:"session_id"`
	InteractionID string `json:"interaction_id"`
	// The last event of the interaction applied: at or before the seq asked for.
	Seq        int64   `json:"seq"`
	State      string  `json:"state"`
	Controlled bool    `json:"controlled"`
	Abandoned  bool    `json:"abandoned"`
	MergedInto *string `json:"merged_into,omitempty"`
	// Sorted by party id. Once the interaction is deleted they are the parties no event took
	// off it (a merged consultation's, an associated interaction's): not what is stored, and
	// not compared by Audit.
	Parties []PartyState `json:"parties"`
}

type PartyState struct {
	PartyID  string `json:"party_id"`
	Resource string `json:"resource"`
	State    string `json:"state"`
}

// StateAt rebuilds an interaction of a session as it was after the session's event seq
// (seq <= 0: after all of them): from the parties it had when the stay that seq falls in
// began (interaction_origins: they come without events) through its events up to seq. User
// data is not rebuilt (see State). The reads are one snapshot.
//
// fault.ErrNotFound: the interaction was never in the session, was not in it yet at seq, or the
// session has no event seq yet. fault.ErrNotRebuildable: the rebuild needs events or an origin that
// are no longer kept.
func (r *Reporter) StateAt(ctx context.Context, sessionID, interactionID string, seq int64) (State, error) {
	return inSnapshot(ctx, r, func(ctx context.Context, q *db.Queries) (State, error) {
		upTo := seq
		if seq <= 0 {
			upTo = math.MaxInt64
		}
		start, err := q.RebuildStart(ctx, db.RebuildStartParams{SessionID: sessionID, InteractionID: interactionID, UpTo: upTo})
		if err != nil {
			return State{}, err
		}
		if !start.Stored && !start.HasOrigins {
			return State{}, fmt.Errorf("%w: interaction %s in session %s", fault.ErrNotFound, interactionID, sessionID)
		}
		if seq > start.LastSeq {
			return State{}, fmt.Errorf("%w: session %s has no event %d yet: its last is %d", fault.ErrNotFound, sessionID, seq, start.LastSeq)
		}
		target := seq
		if seq <= 0 {
			target = start.LastSeq
		}
		if start.OriginSeq == 0 {
			if start.HasOrigins {
				return State{}, fmt.Errorf("%w: interaction %s was not yet in session %s at event %d",
					fault.ErrNotFound, interactionID, sessionID, target)
			}
			return State{}, fmt.Errorf("%w: interaction %s of session %s has no origin: it was added before origins were kept",
				fault.ErrNotRebuildable, interactionID, sessionID)
		}
		events, err := q.RebuildSessionEvents(ctx, db.RebuildSessionEventsParams{
			SessionIds: []string{sessionID}, FromSeqs: []int64{start.OriginSeq}, ToSeqs: []int64{target},
		})
		if err != nil {
			return State{}, err
		}
		if missing := lastMissing(events, start.OriginSeq, target); missing != 0 {
			return State{}, fmt.Errorf("%w: event %d of session %s, which the rebuild of interaction %s from its addition at %d needs, is no longer kept",
				fault.ErrNotRebuildable, missing, sessionID, interactionID, start.OriginSeq)
		}
		b, err := newRebuild(sessionID, interactionID, start.OriginSeq, start.OriginParties)
		if err != nil {
			return State{}, err
		}
		for i := range events {
			if about(&events[i], interactionID) {
				b.apply(&events[i])
			}
		}
		return b.result()
	})
}

// AuditScope is what an audit checks: the interactions of one session, or those created in
// [CreatedFrom, CreatedTo), or both together; none of them: all interactions, oldest first.
// Limit caps how many interactions are checked (DefaultAuditLimit when 0, at most
// MaxAuditLimit); the oldest are taken.
type AuditScope struct {
	SessionID   string
	CreatedFrom *time.Time
	CreatedTo   *time.Time
	Limit       int
}

const (
	DefaultAuditLimit = 1000
	MaxAuditLimit     = 100_000
)

// Difference is a field of an interaction whose stored value is not what its events say.
// Field is state, controlled, abandoned, merged_into, parties[<id>] (a party on one side
// only; the other side is "") or parties[<id>].resource / parties[<id>].state. Values are as
// stored; a party is "resource=<resource> state=<state>"; "" is none.
type Difference struct {
	SessionID     string `json:"session_id"`
	InteractionID string `json:"interaction_id"`
	Field         string `json:"field"`
	Stored        string `json:"stored"`
	Rebuilt       string `json:"rebuilt"`
}

// AuditResult: Checked interactions were rebuilt and compared; Skipped could not be rebuilt
// (fault.ErrNotRebuildable); an interaction that went away between the listing and its check (its
// session purged) is neither.
type AuditResult struct {
	Checked     int          `json:"checked"`
	Skipped     int          `json:"skipped"`
	Differences []Difference `json:"differences"`
}

// auditBatch is about how many interactions are checked in one snapshot: enough to make few
// round trips, few enough that no snapshot is held long. A session is never split.
const auditBatch = 500

// Audit rebuilds each interaction of the scope from all its events and reports where the
// stored state differs. Compared: state, controlled, abandoned and merged_into, and for an
// interaction not deleted its parties (id, resource, state); user data is not (see State).
// The parties of a deleted interaction are not compared: the stored rows are left as they
// were when it left (or moved to the interaction it merged into), while the events of a
// terminate, a merge or an associate do not say that every party left.
//
// The interactions of a session are checked together, in one snapshot with the stored state:
// the session's events are read once, from the earliest origin among them.
func (r *Reporter) Audit(ctx context.Context, scope AuditScope) (AuditResult, error) {
	limit := scope.Limit
	switch {
	case limit == 0:
		limit = DefaultAuditLimit
	case limit < 0 || limit > MaxAuditLimit:
		return AuditResult{}, invalidf("limit must be from 1 to %d", MaxAuditLimit)
	}
	if scope.CreatedFrom != nil && scope.CreatedTo != nil && !scope.CreatedFrom.Before(*scope.CreatedTo) {
		return AuditResult{}, invalidf("a time range must end after it starts")
	}
	p := db.AuditScopeParams{CreatedFrom: scope.CreatedFrom, CreatedTo: scope.CreatedTo, MaxRows: int32(limit)}
	if scope.SessionID != "" {
		p.SessionID = &scope.SessionID
	}
	rows, err := r.q.AuditScope(ctx, p)
	if err != nil {
		return AuditResult{}, database.Translate(err)
	}
	var order []string
	bySession := map[string][]string{}
	for _, row := range rows {
		if bySession[row.SessionID] == nil {
			order = append(order, row.SessionID)
		}
		bySession[row.SessionID] = append(bySession[row.SessionID], row.InteractionID)
	}
	res := AuditResult{Differences: []Difference{}}
	var batch []db.AuditScopeRow
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		part, err := inSnapshot(ctx, r, func(ctx context.Context, q *db.Queries) (AuditResult, error) {
			return audit(ctx, q, batch)
		})
		if err != nil {
			return err
		}
		res.Checked += part.Checked
		res.Skipped += part.Skipped
		res.Differences = append(res.Differences, part.Differences...)
		batch = batch[:0]
		return nil
	}
	for _, sid := range order {
		for _, iid := range bySession[sid] {
			batch = append(batch, db.AuditScopeRow{SessionID: sid, InteractionID: iid})
		}
		if len(batch) >= auditBatch {
			if err := flush(); err != nil {
				return AuditResult{}, err
			}
		}
	}
	if err := flush(); err != nil {
		return AuditResult{}, err
	}
	return res, nil
}

// audit checks the interactions of keys, whole sessions, with q's snapshot.
func audit(ctx context.Context, q *db.Queries, keys []db.AuditScopeRow) (AuditResult, error) {
	res := AuditResult{}
	sids, iids := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		sids[i], iids[i] = k.SessionID, k.InteractionID
	}
	stored, err := q.AuditStoredInteractions(ctx, db.AuditStoredInteractionsParams{SessionIds: sids, InteractionIds: iids})
	if err != nil {
		return res, err
	}

	// Each session's events are read from the earliest origin of its interactions to its end.
	type span struct{ from, to int64 }
	spans := map[string]*span{}
	var spanOrder []string
	var liveSids, liveIids []string
	for _, s := range stored {
		if s.OriginSeq == 0 {
			continue
		}
		if sp := spans[s.SessionID]; sp == nil {
			spans[s.SessionID] = &span{s.OriginSeq, s.LastSeq}
			spanOrder = append(spanOrder, s.SessionID)
		} else {
			sp.from = min(sp.from, s.OriginSeq)
		}
		if s.State != db.InteractionStateDeleted {
			liveSids, liveIids = append(liveSids, s.SessionID), append(liveIids, s.InteractionID)
		}
	}
	ep := db.RebuildSessionEventsParams{}
	for _, sid := range spanOrder {
		ep.SessionIds = append(ep.SessionIds, sid)
		ep.FromSeqs = append(ep.FromSeqs, spans[sid].from)
		ep.ToSeqs = append(ep.ToSeqs, spans[sid].to)
	}
	events, err := q.RebuildSessionEvents(ctx, ep)
	if err != nil {
		return res, err
	}
	parties, err := q.AuditStoredParties(ctx, db.AuditStoredPartiesParams{SessionIds: liveSids, InteractionIds: liveIids})
	if err != nil {
		return res, err
	}
	storedParties := map[[2]string][]PartyState{}
	for _, p := range parties {
		k := [2]string{p.SessionID, p.InteractionID}
		storedParties[k] = append(storedParties[k], PartyState{PartyID: p.PartyID, Resource: p.Resource, State: string(p.State)})
	}

	// Both lists are in session order: walk the sessions, replaying each session's events
	// once for all of its interactions.
	eventsOf := func(sid string) []db.RebuildSessionEventsRow {
		lo, _ := slices.BinarySearchFunc(events, sid, func(e db.RebuildSessionEventsRow, s string) int {
			return strings.Compare(e.SessionID, s)
		})
		hi := lo
		for hi < len(events) && events[hi].SessionID == sid {
			hi++
		}
		return events[lo:hi]
	}
	for lo := 0; lo < len(stored); {
		hi := lo
		for hi < len(stored) && stored[hi].SessionID == stored[lo].SessionID {
			hi++
		}
		group := stored[lo:hi]
		lo = hi
		sid := group[0].SessionID
		sp := spans[sid]
		if sp == nil {
			res.Skipped += len(group)
			continue
		}
		evs := eventsOf(sid)
		missing := lastMissing(evs, sp.from, sp.to)
		builds := map[string]*rebuild{}
		for _, s := range group {
			if s.OriginSeq == 0 || s.OriginSeq <= missing {
				continue
			}
			b, err := newRebuild(sid, s.InteractionID, s.OriginSeq, s.OriginParties)
			if err != nil {
				return res, err
			}
			builds[s.InteractionID] = b
		}
		for i := range evs {
			e := &evs[i]
			for _, id := range [...]string{e.InteractionID, e.FromInteractionID, e.ToInteractionID, e.RequestInteractionID} {
				if b := builds[id]; b != nil && e.Seq >= b.origin && b.last < e.Seq && about(e, id) {
					b.apply(e)
				}
			}
		}
		for _, s := range group {
			b := builds[s.InteractionID]
			if b == nil {
				res.Skipped++
				continue
			}
			rebuilt, err := b.result()
			if errors.Is(err, fault.ErrNotRebuildable) {
				res.Skipped++
				continue
			}
			res.Checked++
			res.Differences = append(res.Differences,
				compare(s, storedParties[[2]string{sid, s.InteractionID}], rebuilt)...)
		}
	}
	return res, nil
}

// compare lists where the stored interaction s (with its stored parties, sorted by id)
// differs from the rebuilt one.
func compare(s db.AuditStoredInteractionsRow, parties []PartyState, rebuilt State) []Difference {
	var out []Difference
	diff := func(field, stored, rebuilt string) {
		if stored != rebuilt {
			out = append(out, Difference{SessionID: s.SessionID, InteractionID: s.InteractionID, Field: field,
				Stored: stored, Rebuilt: rebuilt})
		}
	}
	diff("state", string(s.State), rebuilt.State)
	diff("controlled", strconv.FormatBool(s.Controlled), strconv.FormatBool(rebuilt.Controlled))
	diff("abandoned", strconv.FormatBool(s.Abandoned), strconv.FormatBool(rebuilt.Abandoned))
	diff("merged_into", deref(s.MergedInto), deref(rebuilt.MergedInto))
	if s.State == db.InteractionStateDeleted {
		return out
	}
	show := func(p PartyState) string { return "resource=" + p.Resource + " state=" + p.State }
	i, j := 0, 0
	for i < len(parties) || j < len(rebuilt.Parties) {
		switch {
		case j == len(rebuilt.Parties) || i < len(parties) && parties[i].PartyID < rebuilt.Parties[j].PartyID:
			diff("parties["+parties[i].PartyID+"]", show(parties[i]), "")
			i++
		case i == len(parties) || rebuilt.Parties[j].PartyID < parties[i].PartyID:
			diff("parties["+rebuilt.Parties[j].PartyID+"]", "", show(rebuilt.Parties[j]))
			j++
		default:
			field := "parties[" + parties[i].PartyID + "]"
			diff(field+".resource", parties[i].Resource, rebuilt.Parties[j].Resource)
			diff(field+".state", parties[i].State, rebuilt.Parties[j].State)
			i, j = i+1, j+1
		}
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// lastMissing returns the highest seq of [from, to] that events (one session's, in seq
// order) lack, 0 when none is missing. Retention removes events by age, which within a
// session is nearly but not exactly seq order, so a range may be holed anywhere; a stay
// whose origin is above the highest hole can still be rebuilt.
func lastMissing(events []db.RebuildSessionEventsRow, from, to int64) int64 {
	var missing int64
	next := from
	for _, e := range events {
		if e.Seq > next {
			missing = e.Seq - 1
		}
		next = e.Seq + 1
	}
	if next <= to {
		missing = to
	}
	return missing
}

// about reports whether e is an event of the interaction id: one that names it, a merge it
// was part of, or the answer to an action request on it.
func about(e *db.RebuildSessionEventsRow, id string) bool {
	return e.InteractionID == id || e.RequestInteractionID == id ||
		e.Name == db.EventNameInteractiononmerge && (e.FromInteractionID == id || e.ToInteractionID == id)
}

// partyReleased is the state in which a party leaves its interaction.
const partyReleased = string(db.PartyStateReleased)

// rebuild is one stay of an interaction being replayed from its origin.
type rebuild struct {
	state   State
	origin  int64
	last    int64
	parties map[string]PartyState
	broken  error
}

func newRebuild(sessionID, interactionID string, origin int64, originParties []byte) (*rebuild, error) {
	var ps []struct {
		PartyID  string `json:"party_id"`
		Resource string `json:"resource"`
		State    string `json:"state"`
	}
	if err := json.Unmarshal(originParties, &ps); err != nil {
		return nil, fmt.Errorf("the origin of interaction %s of session %s at %d: %w", interactionID, sessionID, origin, err)
	}
	b := &rebuild{state: State{SessionID: sessionID, InteractionID: interactionID}, origin: origin,
		parties: make(map[string]PartyState, len(ps))}
	for _, p := range ps {
		// A released party is not on its interaction (see apply); origins written before
		// parties left on release may still list one.
		if p.State != partyReleased {
			b.parties[p.PartyID] = PartyState{PartyID: p.PartyID, Resource: p.Resource, State: p.State}
		}
	}
	return b, nil
}

// apply replays one event of the interaction (seq at or after its origin, in order). The
// events that report a change by the media side (ondivert, onsinglesteptransfer,
// onsinglestepconference), restored, udata.changed and the answers to requests change
// nothing here themselves: the state events that follow them do.
func (b *rebuild) apply(e *db.RebuildSessionEventsRow) {
	id := b.state.InteractionID
	if b.last == 0 && e.Seq != b.origin && b.broken == nil {
		b.broken = fmt.Errorf("%w: the addition of interaction %s to session %s at %d is no longer kept",
			fault.ErrNotRebuildable, id, b.state.SessionID, b.origin)
	}
	b.last = e.Seq
	b.state.Seq = e.Seq
	switch e.Name {
	case db.EventNameInteractionadded:
		if e.Seq != b.origin && b.broken == nil {
			// Every addition writes its origin; one without is from before origins were kept.
			b.broken = fmt.Errorf("%w: interaction %s was added to session %s again at %d, of which no origin is kept",
				fault.ErrNotRebuildable, id, b.state.SessionID, e.Seq)
		}
		b.state.State, b.state.Controlled = "added", false
	case db.EventNameInteractionpresent:
		b.state.State, b.state.Controlled = "present", true
	case db.EventNameInteractionnotcontrolled:
		b.state.Controlled = false
	case db.EventNameInteractiondeleted:
		b.state.State, b.state.Controlled = "deleted", false
	case db.EventNameInteractionpartyadded, db.EventNameInteractionpartystatechanged:
		// A party that reaches released leaves its interaction. The partydeleted that follows
		// says so too, but events written before that rule have none: taking the change to
		// released as the leaving keeps both histories in agreement with what is stored (the
		// migration that made the rule removed the released parties it found).
		if e.PartyState == partyReleased {
			delete(b.parties, e.PartyID)
			break
		}
		// partystatechanged carries the party's resource too, so it is taken from the event.
		b.parties[e.PartyID] = PartyState{PartyID: e.PartyID, Resource: e.FocusResource, State: e.PartyState}
	case db.EventNameInteractionpartydeleted:
		delete(b.parties, e.PartyID)
	case db.EventNameInteractionabandoned:
		b.state.Abandoned = true
	case db.EventNameInteractiononmerge:
		if e.FromInteractionID == id {
			into := e.ToInteractionID
			b.state.MergedInto = &into
		}
	}
}

// result is the state after the events applied.
func (b *rebuild) result() (State, error) {
	if b.broken != nil {
		return State{}, b.broken
	}
	if b.last == 0 {
		return State{}, fmt.Errorf("%w: the addition of interaction %s to session %s at %d is no longer kept",
			fault.ErrNotRebuildable, b.state.InteractionID, b.state.SessionID, b.origin)
	}
	st := b.state
	st.Parties = make([]PartyState, 0, len(b.parties))
	for _, p := range b.parties {
		st.Parties = append(st.Parties, p)
	}
	slices.SortFunc(st.Parties, func(a, c PartyState) int { return strings.Compare(a.PartyID, c.PartyID) })
	return st, nil
}
