package reporting_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/reporting"
	"github.com/ixnstore/ixnstore/service"
)

func ok[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func sp(s string) *string { return &s }

// callCenter writes a small day whose answers are known:
//
//	sA (node n1): i1 voice, answered by 7001, transferred to 7002, completed;
//	              i2 chat at 7002, live, lang fr; i6 voice, moved to sB by an associate
//	sB (node n2): i3 voice, abandoned while ringing; i4 email consult merged into i5;
//	              i5 voice at 7001, live; i6 voice (moved in), live
func callCenter(t *testing.T) (*reporting.Reporter, time.Time) {
	t.Helper()
	ctx := context.Background()
	pool := testdb.Pool(t)
	s := service.New(pool, service.Config{})
	start := time.Now().Add(-time.Minute)
	for _, sess := range [][2]string{{"sA", "n1"}, {"sB", "n2"}} {
		ok[service.Session](t)(s.CreateSession(ctx, service.NewSession{SessionID: sess[0], OwnerNode: sp(sess[1])}))
	}
	a, b := service.Target{SessionID: "sA"}, service.Target{SessionID: "sB"}
	events := ok[[]service.Event](t)
	add := func(tg service.Target, id, media, typ string, udata string, parties ...service.NewParty) {
		var u map[string]json.RawMessage
		if udata != "" {
			if err := json.Unmarshal([]byte(udata), &u); err != nil {
				t.Fatal(err)
			}
		}
		events(s.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: id, Media: media, Type: typ,
			Parties: parties, UserData: u}))
		events(s.PresentInteraction(ctx, tg, id))
	}
	party := func(id, resource, state string) service.NewParty {
		return service.NewParty{PartyID: id, Resource: resource, State: state}
	}

	add(a, "i1", "voice", "inbound", `{"lang":"en"}`, party("c1", "+1555001", "established"), party("p2", "7001", "alerting"))
	events(s.ChangePartyState(ctx, a, "i1", "p2", service.PartyStateChange{State: "established"}))
	events(s.ReportSingleStepTransfer(ctx, a, "i1", service.PartyLeft{PartyID: "p2", NewDestination: "7002"}))
	events(s.AddParty(ctx, a, "i1", party("p3", "7002", "established")))
	events(s.DeleteInteraction(ctx, a, "i1"))

	add(a, "i2", "chat", "inbound", `{"lang":"fr"}`, party("p4", "7002", "established"))

	add(b, "i3", "voice", "inbound", `{"lang":"en"}`, party("c3", "+1555003", "alerting"))
	events(s.ReportAbandoned(ctx, b, "i3", service.Abandon{FocusResource: "+1555003", Reason: "hung up"}))
	events(s.DeleteInteraction(ctx, b, "i3"))

	add(b, "i5", "voice", "inbound", "", party("c5", "+1555005", "held"), party("p5", "7001", "established"))
	add(b, "i4", "email", "consult", "", party("p6", "7001", "established"), party("p7", "7003", "established"))
	events(s.ReportMerge(ctx, b, "i4", service.Merge{IntoInteractionID: "i5", ActivePartyID: "p6", HeldPartyID: "c5"}))

	add(a, "i6", "voice", "inbound", "", party("c6", "+1555006", "established"))
	ok[service.Request](t)(s.CreateRequest(ctx, a, service.NewRequest{RequestID: "r1", Action: "associate",
		InteractionID: "i6", TargetSessionID: sp("sB")}))
	if _, _, err := s.ReportRequest(ctx, "sA", "r1", service.RequestOutcome{Result: "done"}); err != nil {
		t.Fatal(err)
	}
	return reporting.New(pool), start
}

func keys(page reporting.Page) []string {
	var out []string
	for _, r := range page.Interactions {
		out = append(out, r.SessionID+"/"+r.InteractionID+":"+r.Outcome)
	}
	sort.Strings(out)
	return out
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, start := callCenter(t)
	past := start.Add(-time.Hour)
	future := time.Now().Add(time.Hour)
	tests := []struct {
		name string
		f    reporting.Filter
		want []string
	}{
		{"everything", reporting.Filter{}, []string{"sA/i1:completed", "sA/i2:live", "sA/i6:moved", "sB/i3:abandoned",
			"sB/i4:merged", "sB/i5:live", "sB/i6:live"}},
		{"live", reporting.Filter{State: "live"}, []string{"sA/i2:live", "sB/i5:live", "sB/i6:live"}},
		{"deleted", reporting.Filter{State: "deleted"}, []string{"sA/i1:completed", "sA/i6:moved", "sB/i3:abandoned", "sB/i4:merged"}},
		{"media", reporting.Filter{Media: "chat"}, []string{"sA/i2:live"}},
		{"session", reporting.Filter{SessionID: "sA", Media: "voice"}, []string{"sA/i1:completed", "sA/i6:moved"}},
		{"node", reporting.Filter{NodeID: "n2", State: "live"}, []string{"sB/i5:live", "sB/i6:live"}},
		// 7001 left i1 by the transfer, and came to i5 with the merge's parties too.
		{"resource, also one that left", reporting.Filter{Resource: "7001"}, []string{"sA/i1:completed", "sB/i4:merged", "sB/i5:live"}},
		{"resource by merge", reporting.Filter{Resource: "7003"}, []string{"sB/i4:merged", "sB/i5:live"}},
		{"user data key and value", reporting.Filter{UserDataKey: "lang", UserDataValue: json.RawMessage(`"en"`)},
			[]string{"sA/i1:completed", "sB/i3:abandoned"}},
		{"user data key", reporting.Filter{UserDataKey: "lang"}, []string{"sA/i1:completed", "sA/i2:live", "sB/i3:abandoned"}},
		{"created in a range", reporting.Filter{CreatedFrom: &start, CreatedTo: &future, Media: "email"}, []string{"sB/i4:merged"}},
		{"created before", reporting.Filter{CreatedTo: &past}, nil},
		{"ended in a range", reporting.Filter{EndedFrom: &start, EndedTo: &future, Media: "voice"},
			[]string{"sA/i1:completed", "sA/i6:moved", "sB/i3:abandoned"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := keys(ok[reporting.Page](t)(r.ListInteractions(ctx, tt.f, "", 0))); !slices.Equal(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
	for _, bad := range []reporting.Filter{{State: "gone"}, {UserDataValue: json.RawMessage(`1`)}, {CreatedFrom: &future, CreatedTo: &past}} {
		if _, err := r.ListInteractions(ctx, bad, "", 0); err == nil {
			t.Errorf("filter %+v: no error", bad)
		}
	}
}

// Pages of 2 walk the whole list once, in order.
func TestListPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, _ := callCenter(t)
	all := ok[reporting.Page](t)(r.ListInteractions(ctx, reporting.Filter{}, "", 0)).Interactions
	var walked []reporting.Interaction
	after := ""
	for {
		page := ok[reporting.Page](t)(r.ListInteractions(ctx, reporting.Filter{}, after, 2))
		walked = append(walked, page.Interactions...)
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	order := func(rows []reporting.Interaction) (out []string) {
		for _, r := range rows {
			out = append(out, r.SessionID+"/"+r.InteractionID)
		}
		return out
	}
	if !slices.Equal(order(walked), order(all)) || len(all) != 7 {
		t.Errorf("pages walked %d interactions, the list has %d", len(walked), len(all))
	}
	if _, err := r.ListInteractions(ctx, reporting.Filter{}, "garbage", 2); err == nil {
		t.Error("a bad cursor: no error")
	}
}

func TestAggregates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, start := callCenter(t)
	end := time.Now().Add(time.Minute)
	type counts struct{ total, live, completed, abandoned, merged, moved, connected, transfers int64 }
	tests := []struct {
		groupBy string
		want    map[string]counts
	}{
		{"media", map[string]counts{
			"voice": {total: 5, live: 2, completed: 1, abandoned: 1, moved: 1, connected: 4, transfers: 1},
			"chat":  {total: 1, live: 1, connected: 1},
			"email": {total: 1, merged: 1, connected: 1},
		}},
		{"node", map[string]counts{
			"n1": {total: 3, live: 1, completed: 1, moved: 1, connected: 3, transfers: 1},
			"n2": {total: 4, live: 2, abandoned: 1, merged: 1, connected: 3},
		}},
		{"resource", map[string]counts{
			"7001":     {total: 3, live: 1, completed: 1, merged: 1, connected: 3, transfers: 1},
			"7002":     {total: 2, live: 1, completed: 1, connected: 2, transfers: 1},
			"7003":     {total: 2, live: 1, merged: 1, connected: 2},
			"+1555001": {total: 1, completed: 1, connected: 1, transfers: 1},
			"+1555003": {total: 1, abandoned: 1},
			"+1555005": {total: 1, live: 1, connected: 1},
			"+1555006": {total: 2, live: 1, moved: 1, connected: 2},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.groupBy, func(t *testing.T) {
			groups := ok[[]reporting.Aggregate](t)(r.Aggregates(ctx, start, end, tt.groupBy))
			got := map[string]counts{}
			for _, g := range groups {
				got[g.Group] = counts{g.Total, g.Live, g.Completed, g.Abandoned, g.Merged, g.Moved, g.Connected, g.Transfers}
				if g.AbandonedRate != float64(g.Abandoned)/float64(g.Total) {
					t.Errorf("%s: abandoned rate %f", g.Group, g.AbandonedRate)
				}
				ended := g.Completed + g.Abandoned + g.Merged + g.Moved
				if ended > 0 && (g.HandleTimeP50 <= 0 || g.HandleTimeP50 > g.HandleTimeP90 || g.HandleTimeAvg <= 0) {
					t.Errorf("%s: handle times avg %f p50 %f p90 %f", g.Group, g.HandleTimeAvg, g.HandleTimeP50, g.HandleTimeP90)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
	if groups := ok[[]reporting.Aggregate](t)(r.Aggregates(ctx, start.Add(-2*time.Hour), start.Add(-time.Hour), "media")); len(groups) != 0 {
		t.Errorf("an empty window: %+v", groups)
	}
	if _, err := r.Aggregates(ctx, end, start, "media"); err == nil {
		t.Error("a window that ends before it starts: no error")
	}
	if _, err := r.Aggregates(ctx, start, end, "colour"); err == nil {
		t.Error("an unknown grouping: no error")
	}
}

// One interaction with all its stays, its parties, user data and timeline.
func TestInteractionDetail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r, _ := callCenter(t)
	d := ok[reporting.Detail](t)(r.InteractionDetail(ctx, "i6"))
	if len(d.Stays) != 2 || d.Stays[0].Outcome != "moved" || d.Stays[1].SessionID != "sB" || len(d.Parties) != 2 {
		t.Errorf("i6: stays %+v, parties %+v", d.Stays, d.Parties)
	}
	var names []string
	for _, e := range d.Timeline {
		names = append(names, e.SessionID+" "+e.Name)
	}
	want := []string{"sA interaction.added", "sA interaction.present", "sA interaction.associate.done",
		"sA interaction.deleted", "sA interaction.notcontrolled", "sB interaction.added", "sB interaction.present"}
	if !slices.Equal(names, want) {
		t.Errorf("timeline\n got %v\nwant %v", names, want)
	}
	merged := ok[reporting.Detail](t)(r.InteractionDetail(ctx, "i4"))
	if last := merged.Timeline[len(merged.Timeline)-1]; last.Name != "interaction.deleted" ||
		!slices.ContainsFunc(merged.Timeline, func(e service.Event) bool { return e.Name == "interaction.onmerge" }) {
		t.Errorf("i4's timeline: %+v", merged.Timeline)
	}
	if _, err := r.InteractionDetail(ctx, "nope"); err == nil {
		t.Error("an unknown interaction: no error")
	}
}
