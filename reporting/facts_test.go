package reporting_test

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/reporting"
	"github.com/ixnstore/ixnstore/service"
)

// The list's order is the API's promise (creation order, ties by session and interaction id),
// so it is compared as it comes, never sorted first. callCenter creates i5 before i4, and i6
// moves to sB last, so neither id order nor session order would pass.
func TestListOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, _ := callCenter(t)
	ids := func(rows []reporting.Interaction) (out []string) {
		for _, x := range rows {
			out = append(out, x.SessionID+"/"+x.InteractionID)
		}
		return out
	}
	tests := []struct {
		name string
		f    reporting.Filter
		want []string
	}{
		{"everything", reporting.Filter{}, []string{"sA/i1", "sA/i2", "sB/i3", "sB/i5", "sB/i4", "sA/i6", "sB/i6"}},
		// Found by the resource index, then sorted: the same order.
		{"a resource", reporting.Filter{Resource: "7001"}, []string{"sA/i1", "sB/i5", "sB/i4"}},
		{"a node", reporting.Filter{NodeID: "n2"}, []string{"sB/i3", "sB/i5", "sB/i4", "sB/i6"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all := ok[reporting.Page](t)(r.ListInteractions(ctx, tt.f, "", 0)).Interactions
			if got := ids(all); !slices.Equal(got, tt.want) {
				t.Errorf("order\n got %v\nwant %v", got, tt.want)
			}
			for i := 1; i < len(all); i++ {
				if all[i].CreatedAt.Before(all[i-1].CreatedAt) {
					t.Errorf("%s created %v, listed after %s created %v", ids(all)[i], all[i].CreatedAt, ids(all)[i-1], all[i-1].CreatedAt)
				}
			}
			// Pages of 2 give the same order, each page continuing where the last stopped.
			var walked []reporting.Interaction
			for after := ""; ; {
				page := ok[reporting.Page](t)(r.ListInteractions(ctx, tt.f, after, 2))
				walked = append(walked, page.Interactions...)
				if page.Next == "" {
					break
				}
				after = page.Next
			}
			if got := ids(walked); !slices.Equal(got, tt.want) {
				t.Errorf("pages of 2\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

// Transfers, conferences and the time to the first connected party, made by the state
// changes that cause them (media reports, action requests, party states) and read back from
// the list and the aggregates. The expected times come from the events' own timestamps.
//
//	x1 voice: added with the customer established (connected at once); two single-step
//	          conferences reported by the media side, one transfer asked for by a request
//	x2 voice: added with the customer ringing, connected later, then held and retrieved
//	          (which connects nothing anew); a conference asked for by a request, a transfer
//	          reported by the media side
//	x3 voice: ringing, abandoned, never connected
//	x4 chat:  another media, connected at once, nothing else
func TestTransfersConferencesAndTimeToConnect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := testdb.Pool(t)
	s := service.New(pool, service.Config{})
	r := reporting.New(pool)
	from := time.Now().Add(-time.Minute)
	ok[service.Session](t)(s.CreateSession(ctx, service.NewSession{SessionID: "s", OwnerNode: sp("n1")}))
	tg := service.Target{SessionID: "s"}
	events := ok[[]service.Event](t)
	party := func(id, resource, state string) service.NewParty {
		return service.NewParty{PartyID: id, Resource: resource, State: state}
	}
	add := func(id, media string, parties ...service.NewParty) {
		events(s.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: id, Media: media, Type: "inbound", Parties: parties}))
		events(s.PresentInteraction(ctx, tg, id))
	}
	requestDone := func(id, action, ixn, resource, destination, joined string) {
		ok[service.Request](t)(s.CreateRequest(ctx, tg, service.NewRequest{RequestID: id, Action: action,
			InteractionID: ixn, Resource: sp(resource), Destination: sp(destination)}))
		req, _, err := s.ReportRequest(ctx, "s", id, service.RequestOutcome{Result: "done",
			Party: &service.ReportedParty{PartyID: joined, State: sp("established")}})
		if err != nil || req.State != "done" {
			t.Fatalf("%s: %+v %v", id, req, err)
		}
	}

	add("x1", "voice", party("c1", "+1555001", "established"), party("a1", "7001", "established"))
	events(s.ReportSingleStepConference(ctx, tg, "x1", service.Conference{PartyID: "a1", AddedParty: party("a2", "7002", "alerting")}))
	events(s.ReportSingleStepConference(ctx, tg, "x1", service.Conference{PartyID: "a1", AddedParty: party("a3", "7003", "alerting")}))
	requestDone("r1", "singlesteptransfer", "x1", "7001", "7004", "a4")

	add("x2", "voice", party("c2", "+1555002", "alerting"))
	connect := events(s.ChangePartyState(ctx, tg, "x2", "c2", service.PartyStateChange{State: "established"}))
	events(s.ChangePartyState(ctx, tg, "x2", "c2", service.PartyStateChange{State: "held"}))
	events(s.ChangePartyState(ctx, tg, "x2", "c2", service.PartyStateChange{State: "established"}))
	events(s.AddParty(ctx, tg, "x2", party("a5", "7005", "established")))
	requestDone("r2", "singlestepconference", "x2", "7005", "7006", "a6")
	events(s.ReportSingleStepTransfer(ctx, tg, "x2", service.PartyLeft{PartyID: "a5", NewDestination: "7007"}))

	add("x3", "voice", party("c3", "+1555003", "alerting"))
	events(s.ReportAbandoned(ctx, tg, "x3", service.Abandon{FocusResource: "+1555003", Reason: "hung up"}))

	add("x4", "chat", party("c4", "c4@example.com", "established"))
	to := time.Now().Add(time.Minute)

	rows := map[string]reporting.Interaction{}
	for _, x := range ok[reporting.Page](t)(r.ListInteractions(ctx, reporting.Filter{SessionID: "s"}, "", 0)).Interactions {
		rows[x.InteractionID] = x
	}
	if len(connect) != 1 || connect[0].Name != "interaction.partystatechanged" {
		t.Fatalf("connecting c2 wrote %+v", connect)
	}
	ttc2 := connect[0].CreatedAt.Sub(rows["x2"].CreatedAt).Seconds()
	if ttc2 <= 0 {
		t.Fatalf("x2 connected %v after it was created: the scenario needs a later connection", ttc2)
	}
	type facts struct {
		connected              *time.Time
		transfers, conferences int32
	}
	x1, x4 := rows["x1"].CreatedAt, rows["x4"].CreatedAt
	want := map[string]facts{
		"x1": {&x1, 1, 2},                   // added connected: at once
		"x2": {&connect[0].CreatedAt, 1, 1}, // when c2 was first established, not when retrieved
		"x3": {nil, 0, 0},
		"x4": {&x4, 0, 0},
	}
	for id, w := range want {
		got := rows[id]
		if got.Transfers != w.transfers || got.Conferences != w.conferences {
			t.Errorf("%s: %d transfers and %d conferences, want %d and %d", id, got.Transfers, got.Conferences, w.transfers, w.conferences)
		}
		switch {
		case w.connected == nil && got.FirstConnectedAt != nil:
			t.Errorf("%s: first connected at %v, want never", id, *got.FirstConnectedAt)
		case w.connected != nil && (got.FirstConnectedAt == nil || !got.FirstConnectedAt.Equal(*w.connected)):
			t.Errorf("%s: first connected at %v, want %v", id, got.FirstConnectedAt, *w.connected)
		}
	}

	groups := map[string]reporting.Aggregate{}
	for _, g := range ok[[]reporting.Aggregate](t)(r.Aggregates(ctx, from, to, "media")) {
		groups[g.Group] = g
	}
	voice, chat := groups["voice"], groups["chat"]
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-5 }
	// Voice: connected x1 (0 s) and x2 (ttc2); p50 of two values is their mean.
	if voice.Total != 3 || voice.Connected != 2 || voice.Transfers != 2 || voice.Conferences != 3 ||
		!near(voice.TimeToConnectAvg, ttc2/2) || !near(voice.TimeToConnectP50, ttc2/2) {
		t.Errorf("voice: %+v, want 3 interactions, 2 connected, 2 transfers, 3 conferences, time to connect avg and p50 %f", voice, ttc2/2)
	}
	if chat.Total != 1 || chat.Connected != 1 || chat.Transfers != 0 || chat.Conferences != 0 || chat.TimeToConnectAvg != 0 {
		t.Errorf("chat: %+v, want 1 connected at once, no transfers or conferences", chat)
	}
	// By resource: 7001 was on x1 (transferred away by r1), 7005 on x2 (transferred away by
	// the media report): each group counts its interactions' transfers and conferences.
	res := map[string]reporting.Aggregate{}
	for _, g := range ok[[]reporting.Aggregate](t)(r.Aggregates(ctx, from, to, "resource")) {
		res[g.Group] = g
	}
	if g := res["7001"]; g.Total != 1 || g.Transfers != 1 || g.Conferences != 2 || g.Connected != 1 || g.TimeToConnectAvg != 0 {
		t.Errorf("7001: %+v, want x1's figures", g)
	}
	if g := res["7005"]; g.Total != 1 || g.Transfers != 1 || g.Conferences != 1 || g.Connected != 1 || !near(g.TimeToConnectAvg, ttc2) {
		t.Errorf("7005: %+v, want x2's figures (time to connect %f)", g, ttc2)
	}
}
