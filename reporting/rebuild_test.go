package reporting_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/internal/fault"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/reporting"
	"github.com/ixnstore/ixnstore/service"
)

func ps(id, resource, state string) reporting.PartyState {
	return reporting.PartyState{PartyID: id, Resource: resource, State: state}
}

func np(id, resource, state string) service.NewParty {
	return service.NewParty{PartyID: id, Resource: resource, State: state}
}

// seqOf is the seq of the first event named name among events.
func seqOf(t *testing.T, events []service.Event, name string) int64 {
	t.Helper()
	for _, e := range events {
		if e.Name == name {
			return e.Seq
		}
	}
	t.Fatalf("no %s among %d events", name, len(events))
	return 0
}

// call is a consultation call in session s1, and the seqs of its steps:
//
//	i1 inbound: customer c1 (+15550001, established) and agent a1 (7001, alerting) come with
//	    it; presented; a1 answers;
//	i2 consult: a2 (7001, established) calling a3 (7002, alerting); presented; a1 put on hold;
//	    a3 answers; i2 merges into i1 (a2, a3 move); a2 leaves; a1 retrieved;
//	a4 (7003, alerting) joins i1 and is accepted through a request; a pick is refused (i1 is
//	    controlled already); a4 is diverted away; the customer abandons; control is released;
//	    i1 is deleted.
type call struct {
	pool                                 *pgxpool.Pool
	add1, present1, answer1, add2, merge int64
	mergeEvents                          []service.Event
	acceptDone, acceptState, pickRefused int64
	abandoned, last                      int64
}

func makeCall(t *testing.T) call {
	t.Helper()
	ctx := context.Background()
	pool := testdb.Pool(t)
	s := service.New(pool, service.Config{})
	ok[service.Session](t)(s.CreateSession(ctx, service.NewSession{SessionID: "s1", OwnerNode: sp("n1")}))
	tg := service.Target{SessionID: "s1"}
	do := func(evs []service.Event, err error) []service.Event {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	last := func(evs []service.Event) int64 { return evs[len(evs)-1].Seq }
	c := call{pool: pool}

	c.add1 = last(do(s.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: "i1", Media: "voice", Type: "inbound",
		Parties: []service.NewParty{np("c1", "+15550001", "established"), np("a1", "7001", "alerting")}})))
	c.present1 = last(do(s.PresentInteraction(ctx, tg, "i1")))
	c.answer1 = last(do(s.ChangePartyState(ctx, tg, "i1", "a1", service.PartyStateChange{State: "established"})))
	c.add2 = last(do(s.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: "i2", Media: "voice", Type: "consult",
		ParentID: sp("i1"), Parties: []service.NewParty{np("a2", "7001", "established"), np("a3", "7002", "alerting")}})))
	do(s.PresentInteraction(ctx, tg, "i2"))
	do(s.ChangePartyState(ctx, tg, "i1", "a1", service.PartyStateChange{State: "held"}))
	do(s.ChangePartyState(ctx, tg, "i2", "a3", service.PartyStateChange{State: "established"}))
	c.mergeEvents = do(s.ReportMerge(ctx, tg, "i2", service.Merge{IntoInteractionID: "i1", ActivePartyID: "a3", HeldPartyID: "a1"}))
	c.merge = c.mergeEvents[0].Seq
	do(s.DeleteParty(ctx, tg, "i1", "a2"))
	do(s.ChangePartyState(ctx, tg, "i1", "a1", service.PartyStateChange{State: "established"}))
	do(s.AddParty(ctx, tg, "i1", np("a4", "7003", "alerting")))
	ok[service.Request](t)(s.CreateRequest(ctx, tg, service.NewRequest{RequestID: "r1", Action: "accept",
		InteractionID: "i1", Resource: sp("7003")}))
	_, accepted, err := s.ReportRequest(ctx, "s1", "r1", service.RequestOutcome{Result: "done"})
	if err != nil {
		t.Fatal(err)
	}
	c.acceptDone, c.acceptState = accepted[0].Seq, accepted[1].Seq
	_, err = s.CreateRequest(ctx, tg, service.NewRequest{RequestID: "r2", Action: "pick", InteractionID: "i1"})
	var refusal *service.RequestRefusal
	if !errors.As(err, &refusal) {
		t.Fatalf("pick of a controlled interaction: %v, want a refusal", err)
	}
	c.pickRefused = refusal.Request.AnswerSeqs[0]
	do(s.ReportDivert(ctx, tg, "i1", service.PartyLeft{PartyID: "a4", NewDestination: "7009"}))
	c.abandoned = seqOf(t, do(s.ReportAbandoned(ctx, tg, "i1", service.Abandon{FocusResource: "+15550001", Reason: "hung up"})),
		"interaction.abandoned")
	do(s.ReleaseControl(ctx, tg, "i1", "detach"))
	c.last = last(do(s.DeleteInteraction(ctx, tg, "i1")))
	return c
}

func TestStateAt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := makeCall(t)
	r := reporting.New(c.pool)
	mergeDeleted := seqOf(t, c.mergeEvents, "interaction.deleted")
	lastMoved := c.mergeEvents[2].Seq // onmerge, then the two parties that move
	tests := []struct {
		name        string
		interaction string
		seq         int64
		want        reporting.State
	}{
		{"i1 as added: the parties it came with", "i1", c.add1, reporting.State{Seq: c.add1, State: "added",
			Parties: []reporting.PartyState{ps("a1", "7001", "alerting"), ps("c1", "+15550001", "established")}}},
		{"i1 presented", "i1", c.present1, reporting.State{Seq: c.present1, State: "present", Controlled: true,
			Parties: []reporting.PartyState{ps("a1", "7001", "alerting"), ps("c1", "+15550001", "established")}}},
		{"i1 at an event of i2: its own last event", "i1", c.add2, reporting.State{Seq: c.answer1, State: "present",
			Controlled: true, Parties: []reporting.PartyState{ps("a1", "7001", "established"), ps("c1", "+15550001", "established")}}},
		{"i1 at the merge, a1 on hold", "i1", c.merge, reporting.State{Seq: c.merge, State: "present", Controlled: true,
			Parties: []reporting.PartyState{ps("a1", "7001", "held"), ps("c1", "+15550001", "established")}}},
		{"i1 after the merge: the consult's parties joined", "i1", mergeDeleted, reporting.State{Seq: lastMoved,
			State: "present", Controlled: true, Parties: []reporting.PartyState{ps("a1", "7001", "held"),
				ps("a2", "7001", "established"), ps("a3", "7002", "established"), ps("c1", "+15550001", "established")}}},
		{"i2 as added", "i2", c.add2, reporting.State{Seq: c.add2, State: "added",
			Parties: []reporting.PartyState{ps("a2", "7001", "established"), ps("a3", "7002", "alerting")}}},
		{"i2 at the merge: merged, still controlled", "i2", c.merge, reporting.State{Seq: c.merge, State: "present",
			Controlled: true, MergedInto: sp("i1"),
			Parties: []reporting.PartyState{ps("a2", "7001", "established"), ps("a3", "7002", "established")}}},
		// No event says the consult's parties left it: they are still on it as rebuilt.
		{"i2 at the end", "i2", 0, reporting.State{Seq: mergeDeleted, State: "deleted", MergedInto: sp("i1"),
			Parties: []reporting.PartyState{ps("a2", "7001", "established"), ps("a3", "7002", "established")}}},
		{"i1 at interaction.accept.done, which carries only the request id", "i1", c.acceptDone, reporting.State{
			Seq: c.acceptDone, State: "present", Controlled: true, Parties: []reporting.PartyState{
				ps("a1", "7001", "established"), ps("a3", "7002", "established"), ps("a4", "7003", "alerting"),
				ps("c1", "+15550001", "established")}}},
		{"i1 at the refused pick's error event", "i1", c.pickRefused, reporting.State{
			Seq: c.pickRefused, State: "present", Controlled: true, Parties: []reporting.PartyState{
				ps("a1", "7001", "established"), ps("a3", "7002", "established"), ps("a4", "7003", "established"),
				ps("c1", "+15550001", "established")}}},
		{"i1 abandoned, the customer still on it", "i1", c.abandoned, reporting.State{
			Seq: c.abandoned, State: "present", Controlled: true, Abandoned: true, Parties: []reporting.PartyState{
				ps("a1", "7001", "established"), ps("a3", "7002", "established"), ps("c1", "+15550001", "established")}}},
		{"i1 at the end", "i1", 0, reporting.State{Seq: c.last, State: "deleted", Abandoned: true,
			Parties: []reporting.PartyState{ps("a1", "7001", "established"), ps("a3", "7002", "established")}}},
		{"i1 at the session's last event", "i1", c.last, reporting.State{Seq: c.last, State: "deleted", Abandoned: true,
			Parties: []reporting.PartyState{ps("a1", "7001", "established"), ps("a3", "7002", "established")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.StateAt(ctx, "s1", tt.interaction, tt.seq)
			if err != nil {
				t.Fatal(err)
			}
			tt.want.SessionID, tt.want.InteractionID = "s1", tt.interaction
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("StateAt(%s, %d)\n got %+v\nwant %+v", tt.interaction, tt.seq, got, tt.want)
			}
		})
	}
}

func TestStateAtRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := makeCall(t)
	r := reporting.New(c.pool)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := c.pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	type check struct {
		interaction string
		seq         int64
		want        error // nil: rebuilt
	}
	steps := []struct {
		name   string
		plant  func()
		checks []check
	}{
		{"nothing removed", func() {}, []check{
			{"i9", 0, fault.ErrNotFound},          // never in the session
			{"i1", c.last + 1, fault.ErrNotFound}, // after the session's last event
			{"i2", c.add2 - 1, fault.ErrNotFound}, // before it was added
			{"i2", c.add2, nil},
		}},
		// Retention removes by age, so a hole may be anywhere: a stay that began after it, or
		// a seq before it, can still be rebuilt.
		{"an event of i1 removed", func() {
			exec(`DELETE FROM outbox WHERE session_id = 's1' AND seq = $1`, c.answer1)
		}, []check{
			{"i1", 0, fault.ErrNotRebuildable},
			{"i1", c.answer1, fault.ErrNotRebuildable},
			{"i1", c.present1, nil},
			{"i2", 0, nil},
		}},
		{"the last event removed", func() {
			exec(`DELETE FROM outbox WHERE session_id = 's1' AND seq = $1`, c.last)
		}, []check{
			{"i2", 0, fault.ErrNotRebuildable},
			{"i2", c.last - 1, nil},
		}},
		{"the origin of i2 removed", func() {
			exec(`DELETE FROM interaction_origins WHERE session_id = 's1' AND interaction_id = 'i2'`)
		}, []check{
			{"i2", c.add2, fault.ErrNotRebuildable},
		}},
		{"the session purged: its events are still there", func() {
			exec(`DELETE FROM interactions WHERE session_id = 's1'`)
			exec(`DELETE FROM action_requests WHERE session_id = 's1'`)
			exec(`DELETE FROM sessions WHERE session_id = 's1'`)
		}, []check{
			{"i9", 0, fault.ErrNotFound},
			{"i1", c.present1, nil},
			// The last event is gone: the highest seq left is the session's last now.
			{"i1", c.last, fault.ErrNotFound},
			// Neither stored nor with an origin: nothing says it was ever there.
			{"i2", 0, fault.ErrNotFound},
		}},
		{"i1's addition removed, its origin kept", func() {
			exec(`DELETE FROM outbox WHERE session_id = 's1' AND seq = $1`, c.add1)
		}, []check{
			{"i1", c.present1, fault.ErrNotRebuildable},
		}},
	}
	for _, step := range steps {
		step.plant()
		for _, ch := range step.checks {
			_, err := r.StateAt(ctx, "s1", ch.interaction, ch.seq)
			if ch.want == nil && err != nil || ch.want != nil && !errors.Is(err, ch.want) {
				t.Errorf("%s: StateAt(%s, %d): %v, want %v", step.name, ch.interaction, ch.seq, err, ch.want)
			}
		}
	}
}

// An interaction deleted from a session and added to it again is rebuilt, at a seq of its
// second stay, from the parties it came with the second time.
func TestStateAtReadded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	s := service.New(pool, service.Config{})
	r := reporting.New(pool)
	ok[service.Session](t)(s.CreateSession(ctx, service.NewSession{SessionID: "s1"}))
	tg := service.Target{SessionID: "s1"}
	events := ok[[]service.Event](t)
	first := events(s.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: "i1", Media: "voice", Type: "inbound",
		Parties: []service.NewParty{np("c1", "+15550001", "established"), np("a1", "7001", "alerting")}}))[0].Seq
	events(s.PresentInteraction(ctx, tg, "i1"))
	left := seqOf(t, events(s.DeleteInteraction(ctx, tg, "i1")), "interaction.deleted")
	again := events(s.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: "i1", Media: "voice", Type: "inbound",
		Parties: []service.NewParty{np("c1", "+15550001", "established"), np("a2", "7002", "alerting")}}))[0].Seq
	events(s.PresentInteraction(ctx, tg, "i1"))
	end := events(s.ChangePartyState(ctx, tg, "i1", "a2", service.PartyStateChange{State: "established"}))[0].Seq

	tests := []struct {
		seq  int64
		want reporting.State
	}{
		{first, reporting.State{Seq: first, State: "added",
			Parties: []reporting.PartyState{ps("a1", "7001", "alerting"), ps("c1", "+15550001", "established")}}},
		{left, reporting.State{Seq: left, State: "deleted",
			Parties: []reporting.PartyState{ps("a1", "7001", "alerting"), ps("c1", "+15550001", "established")}}},
		{again, reporting.State{Seq: again, State: "added",
			Parties: []reporting.PartyState{ps("a2", "7002", "alerting"), ps("c1", "+15550001", "established")}}},
		{0, reporting.State{Seq: end, State: "present", Controlled: true,
			Parties: []reporting.PartyState{ps("a2", "7002", "established"), ps("c1", "+15550001", "established")}}},
	}
	for _, tt := range tests {
		got, err := r.StateAt(ctx, "s1", "i1", tt.seq)
		if err != nil {
			t.Fatal(err)
		}
		tt.want.SessionID, tt.want.InteractionID = "s1", "i1"
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("StateAt(i1, %d)\n got %+v\nwant %+v", tt.seq, got, tt.want)
		}
	}
	// The first stay's events are no longer needed once it ended.
	if _, err := pool.Exec(ctx, `DELETE FROM outbox WHERE session_id = 's1' AND seq < $1`, again); err != nil {
		t.Fatal(err)
	}
	res := ok[reporting.AuditResult](t)(r.Audit(ctx, reporting.AuditScope{SessionID: "s1"}))
	if res.Checked != 1 || res.Skipped != 0 || len(res.Differences) != 0 {
		t.Errorf("audit: %+v, want one interaction checked and no difference", res)
	}
}

// contactCenter writes, for the audit:
//
//	s1: i1 inbound, live with c1, a1 (held), a2 and a3 after i2, its consultation, merged into
//	    it; i5 abandoned (its customer left), still in the session and controlled;
//	s2: i6, moved to s3 by an associate (deleted here);
//	s3: i6 (moved in), live with c6.
func contactCenter(t *testing.T) (*pgxpool.Pool, time.Time) {
	t.Helper()
	ctx := context.Background()
	pool := testdb.Pool(t)
	s := service.New(pool, service.Config{})
	start := time.Now().Add(-time.Minute)
	for _, id := range []string{"s1", "s2", "s3"} {
		ok[service.Session](t)(s.CreateSession(ctx, service.NewSession{SessionID: id}))
	}
	s1, s2 := service.Target{SessionID: "s1"}, service.Target{SessionID: "s2"}
	events := ok[[]service.Event](t)
	add := func(tg service.Target, id, typ string, parties ...service.NewParty) {
		events(s.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: id, Media: "voice", Type: typ, Parties: parties}))
		events(s.PresentInteraction(ctx, tg, id))
	}
	add(s1, "i1", "inbound", np("c1", "+15550001", "established"), np("a1", "7001", "alerting"))
	events(s.ChangePartyState(ctx, s1, "i1", "a1", service.PartyStateChange{State: "established"}))
	add(s1, "i2", "consult", np("a2", "7001", "established"), np("a3", "7002", "alerting"))
	events(s.ChangePartyState(ctx, s1, "i1", "a1", service.PartyStateChange{State: "held"}))
	events(s.ChangePartyState(ctx, s1, "i2", "a3", service.PartyStateChange{State: "established"}))
	events(s.ReportMerge(ctx, s1, "i2", service.Merge{IntoInteractionID: "i1", ActivePartyID: "a3", HeldPartyID: "a1"}))
	add(s1, "i5", "inbound", np("c5", "+15550005", "alerting"))
	events(s.ReportAbandoned(ctx, s1, "i5", service.Abandon{FocusResource: "+15550005", Reason: "hung up"}))
	add(s2, "i6", "inbound", np("c6", "+15550006", "established"))
	ok[service.Request](t)(s.CreateRequest(ctx, s2, service.NewRequest{RequestID: "r1", Action: "associate",
		InteractionID: "i6", TargetSessionID: sp("s3")}))
	if _, _, err := s.ReportRequest(ctx, "s2", "r1", service.RequestOutcome{Result: "done"}); err != nil {
		t.Fatal(err)
	}
	return pool, start
}

func sortDifferences(ds []reporting.Difference) {
	slices.SortFunc(ds, func(a, b reporting.Difference) int {
		return strings.Compare(a.SessionID+"/"+a.InteractionID+"/"+a.Field, b.SessionID+"/"+b.InteractionID+"/"+b.Field)
	})
}

func TestAudit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, start := contactCenter(t)
	r := reporting.New(pool)
	window := reporting.AuditScope{CreatedFrom: &start, CreatedTo: ptrTime(time.Now().Add(time.Hour))}
	audit := func(scope reporting.AuditScope) reporting.AuditResult {
		t.Helper()
		return ok[reporting.AuditResult](t)(r.Audit(ctx, scope))
	}

	clean := []struct {
		name    string
		scope   reporting.AuditScope
		checked int
	}{
		{"a time window", window, 5},
		{"one session", reporting.AuditScope{SessionID: "s1"}, 3},
		{"one session in a window", reporting.AuditScope{SessionID: "s3", CreatedFrom: &start}, 1},
		{"everything", reporting.AuditScope{}, 5},
		{"limited", reporting.AuditScope{CreatedFrom: &start, Limit: 2}, 2},
		{"a window before it all", reporting.AuditScope{CreatedTo: &start}, 0},
	}
	for _, tt := range clean {
		res := audit(tt.scope)
		if res.Checked != tt.checked || res.Skipped != 0 || len(res.Differences) != 0 {
			t.Errorf("clean history, %s: %+v, want %d checked and no difference", tt.name, res, tt.checked)
		}
	}
	if _, err := r.Audit(ctx, reporting.AuditScope{CreatedFrom: &start, CreatedTo: &start}); !errors.Is(err, fault.ErrInvalid) {
		t.Errorf("an empty window: %v, want ErrInvalid", err)
	}

	// Differences planted by hand in the state tables, each with the difference it makes.
	planted := []struct {
		sql  string
		want []reporting.Difference
	}{
		{`UPDATE parties SET state = 'held' WHERE session_id = 's1' AND interaction_id = 'i1' AND party_id = 'a3'`,
			[]reporting.Difference{diff("s1", "i1", "parties[a3].state", "held", "established")}},
		{`DELETE FROM parties WHERE session_id = 's1' AND interaction_id = 'i1' AND party_id = 'c1'`,
			[]reporting.Difference{diff("s1", "i1", "parties[c1]", "", "resource=+15550001 state=established")}},
		{`UPDATE interactions SET controlled = false WHERE session_id = 's1' AND interaction_id = 'i5'`,
			[]reporting.Difference{diff("s1", "i5", "controlled", "false", "true")}},
		{`UPDATE interactions SET abandoned_at = NULL WHERE session_id = 's1' AND interaction_id = 'i5'`,
			[]reporting.Difference{diff("s1", "i5", "abandoned", "false", "true")}},
		{`UPDATE interactions SET merged_into = NULL WHERE session_id = 's1' AND interaction_id = 'i2'`,
			[]reporting.Difference{diff("s1", "i2", "merged_into", "", "i1")}},
		{`UPDATE interactions SET merged_into = 'i9' WHERE session_id = 's2' AND interaction_id = 'i6'`,
			[]reporting.Difference{diff("s2", "i6", "merged_into", "i9", "")}},
		{`UPDATE interactions SET state = 'added', controlled = false WHERE session_id = 's3' AND interaction_id = 'i6'`,
			[]reporting.Difference{diff("s3", "i6", "state", "added", "present"), diff("s3", "i6", "controlled", "false", "true")}},
		{`UPDATE parties SET resource = '7999' WHERE session_id = 's3' AND interaction_id = 'i6' AND party_id = 'c6'`,
			[]reporting.Difference{diff("s3", "i6", "parties[c6].resource", "7999", "+15550006")}},
		{`INSERT INTO parties (session_id, interaction_id, party_id, resource, state) VALUES ('s3', 'i6', 'x9', '9999', 'alerting')`,
			[]reporting.Difference{diff("s3", "i6", "parties[x9]", "resource=9999 state=alerting", "")}},
		// Not compared: the parties of a deleted interaction.
		{`DELETE FROM parties WHERE session_id = 's2' AND interaction_id = 'i6'`, nil},
	}
	var want []reporting.Difference
	for _, p := range planted {
		if _, err := pool.Exec(ctx, p.sql); err != nil {
			t.Fatalf("%s: %v", p.sql, err)
		}
		want = append(want, p.want...)
		sortDifferences(want)
		res := audit(window)
		sortDifferences(res.Differences)
		if res.Checked != 5 || res.Skipped != 0 || !reflect.DeepEqual(res.Differences, want) {
			t.Fatalf("after %s:\n got %d checked, %d skipped, %+v\nwant 5 checked, %+v", p.sql, res.Checked, res.Skipped,
				res.Differences, want)
		}
	}

	// What cannot be rebuilt is counted apart; the rest is still checked.
	if _, err := pool.Exec(ctx, `DELETE FROM outbox WHERE session_id = 's2' AND seq = 2`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `DELETE FROM interaction_origins WHERE session_id = 's1' AND interaction_id = 'i5'`); err != nil {
		t.Fatal(err)
	}
	res := audit(window)
	want = slices.DeleteFunc(want, func(d reporting.Difference) bool {
		return d.SessionID == "s2" || d.InteractionID == "i5"
	})
	sortDifferences(res.Differences)
	if res.Checked != 3 || res.Skipped != 2 || !reflect.DeepEqual(res.Differences, want) {
		t.Errorf("with s2's events holed and i5's origin gone:\n got %+v\nwant 3 checked, 2 skipped, %+v", res, want)
	}
}

func ptrTime(t time.Time) *time.Time { return &t }

func diff(session, interaction, field, stored, rebuilt string) reporting.Difference {
	return reporting.Difference{SessionID: session, InteractionID: interaction, Field: field, Stored: stored, Rebuilt: rebuilt}
}

// A party that waits (routing, queued), rings and is released leaves the interaction: the
// rebuild, before and after, agrees with what is stored, and the audit finds nothing.
func TestStateAtReleasedPartyLeaves(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	s := service.New(pool, service.Config{})
	ok[service.Session](t)(s.CreateSession(ctx, service.NewSession{SessionID: "s1", OwnerNode: sp("n1")}))
	tg := service.Target{SessionID: "s1"}
	ok[[]service.Event](t)(s.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: "i1", Media: "voice", Type: "inbound",
		Parties: []service.NewParty{np("c1", "+15550001", "routing")}}))
	var last int64
	for _, st := range []string{"queued", "alerting", "released"} {
		evs := ok[[]service.Event](t)(s.ChangePartyState(ctx, tg, "i1", "c1", service.PartyStateChange{State: st}))
		if st == "alerting" {
			last = evs[len(evs)-1].Seq
		}
	}
	r := reporting.New(pool)
	before := ok[reporting.State](t)(r.StateAt(ctx, "s1", "i1", last))
	if want := []reporting.PartyState{ps("c1", "+15550001", "alerting")}; !reflect.DeepEqual(before.Parties, want) {
		t.Errorf("before the release: parties %+v, want %+v", before.Parties, want)
	}
	now := ok[reporting.State](t)(r.StateAt(ctx, "s1", "i1", 0))
	if len(now.Parties) != 0 {
		t.Errorf("after the release: parties %+v, want none", now.Parties)
	}
	res := ok[reporting.AuditResult](t)(r.Audit(ctx, reporting.AuditScope{SessionID: "s1"}))
	if res.Checked != 1 || len(res.Differences) != 0 {
		t.Errorf("audit %+v, want one checked, no difference", res)
	}
}

// A merge that completes a transfer takes the transferring agent off the primary: the rebuild
// agrees with what is stored, for the primary and the consultation.
func TestAuditMergeAsTransfer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	s := service.New(pool, service.Config{})
	ok[service.Session](t)(s.CreateSession(ctx, service.NewSession{SessionID: "s1", OwnerNode: sp("n1")}))
	tg := service.Target{SessionID: "s1"}
	ok[[]service.Event](t)(s.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: "i1", Media: "voice", Type: "inbound",
		Parties: []service.NewParty{np("c1", "+15550001", "established"), np("a1", "7001", "held")}}))
	ok[[]service.Event](t)(s.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: "i2", Media: "voice", Type: "consult",
		ParentID: sp("i1"), Parties: []service.NewParty{np("a2", "7001", "established"), np("a3", "7002", "established")}}))
	ok[[]service.Event](t)(s.ReportMerge(ctx, tg, "i2", service.Merge{IntoInteractionID: "i1", ActivePartyID: "a3",
		HeldPartyID: "a1", Hints: json.RawMessage(`{"merge":"transfer"}`)}))
	r := reporting.New(pool)
	got := ok[reporting.State](t)(r.StateAt(ctx, "s1", "i1", 0))
	if want := []reporting.PartyState{ps("a3", "7002", "established"), ps("c1", "+15550001", "established")}; !reflect.DeepEqual(got.Parties, want) {
		t.Errorf("primary parties %+v, want %+v", got.Parties, want)
	}
	res := ok[reporting.AuditResult](t)(r.Audit(ctx, reporting.AuditScope{SessionID: "s1"}))
	if res.Checked != 2 || len(res.Differences) != 0 {
		t.Errorf("audit %+v, want two checked, no difference", res)
	}
}
