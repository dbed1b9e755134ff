package client_test

import (
	"context"
	"errors"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/ixnstore/ixnstore/client"
)

func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

// TestEveryOperation calls every operation of the API document through the client against a
// real server, and checks that each was answered with a success.
func TestEveryOperation(t *testing.T) {
	t.Parallel()
	_, _, c, rec := newServer(t, "--assign-orphans=false")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	must[*client.GetHealthResponse](t, "health")(c.GetHealthWithResponse(ctx))
	must[*client.GetReadyResponse](t, "ready")(c.GetReadyWithResponse(ctx))
	must[*client.GetOpenAPIJSONResponse](t, "openapi.json")(c.GetOpenAPIJSONWithResponse(ctx))
	must[*client.GetOpenAPIYAMLResponse](t, "openapi.yaml")(c.GetOpenAPIYAMLWithResponse(ctx))
	must[*client.GetMetricsResponse](t, "metrics")(c.GetMetricsWithResponse(ctx))

	// A node with a session, through the node's calls.
	node := must[*client.Node](t, "node")(c.Node(client.NodeConfig{ID: "n1", Lease: 10 * time.Second}))
	must[*client.NodeInfo](t, "register")(node.Register(ctx))
	if err := node.Heartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	must[*client.Session](t, "create session")(node.CreateSession(ctx, "s1"))
	if e, _ := node.Epoch("s1"); e != 1 {
		t.Fatalf("epoch of s1: %d", e)
	}
	page := must[*client.ListSessionsResponse](t, "sessions")(node.ListSessionsWithResponse(ctx, &client.ListSessionsParams{OwnerNode: "n1"}))
	if len(page.JSON200.Sessions) != 1 {
		t.Fatalf("sessions of n1: %+v", page.JSON200)
	}
	added := must[*client.AddInteractionResponse](t, "add")(node.AddInteractionWithResponse(ctx, "s1", nil, client.NewInteraction{
		InteractionID: "i1", Media: "voice", Type: client.NewInteractionTypeInbound,
		Parties: []client.NewParty{{PartyID: "p1", Resource: "+15550001", State: client.Established, Role: client.NewPartyRoleCustomer}},
		Udata:   map[string]any{"lang": "en"},
	}))
	typed, err := added.JSON201.Events[0].Typed()
	if err != nil {
		t.Fatal(err)
	}
	if ev, ok := typed.(client.InteractionAddedEvent); !ok || ev.Data.Interactionid != "i1" {
		t.Fatalf("interaction.added as %T %+v", typed, typed)
	}
	must[*client.GetInteractionResponse](t, "interaction")(node.GetInteractionWithResponse(ctx, "s1", "i1", nil))
	must[*client.PresentInteractionResponse](t, "present")(node.PresentInteractionWithResponse(ctx, "s1", "i1", nil))
	must[*client.AddPartyResponse](t, "party")(node.AddPartyWithResponse(ctx, "s1", "i1", nil, client.NewParty{PartyID: "p2", Resource: "7001", State: client.Alerting}))
	must[*client.ChangePartyStateResponse](t, "party state")(node.ChangePartyStateWithResponse(ctx, "s1", "i1", "p2", nil, client.ChangePartyStateJSONRequestBody{State: client.Established}))
	must[*client.MergeUserDataResponse](t, "merge udata")(node.MergeUserDataWithResponse(ctx, "s1", "i1", nil, client.UserDataChange{Origin: client.UserDataChangeOriginMedia, Data: map[string]any{"vip": true}}))
	must[*client.ReplaceUserDataResponse](t, "replace udata")(node.ReplaceUserDataWithResponse(ctx, "s1", "i1", nil, client.UserDataChange{Origin: client.UserDataChangeOriginSession, Data: map[string]any{"a": 1, "b": 2}}))
	must[*client.DeleteUserDataKeyResponse](t, "udata key")(node.DeleteUserDataKeyWithResponse(ctx, "s1", "i1", "a", nil))
	must[*client.UpdateGenesysPropertiesResponse](t, "genesys")(node.UpdateGenesysPropertiesWithResponse(ctx, "s1", "i1", nil, client.InteractionProperties{Location: "emea"}))
	must[*client.PutCheckpointResponse](t, "checkpoint")(node.PutCheckpointWithResponse(ctx, "s1", nil, client.NewCheckpoint{Datamodel: map[string]any{"n": 1}, Configuration: []string{"main"}}))
	must[*client.GetCheckpointResponse](t, "get checkpoint")(node.GetCheckpointWithResponse(ctx, "s1"))
	must[*client.ListCheckpointHistoryResponse](t, "history")(node.ListCheckpointHistoryWithResponse(ctx, "s1"))

	// The media side's reports.
	must[*client.AddPartyResponse](t, "party 3")(node.AddPartyWithResponse(ctx, "s1", "i1", nil, client.NewParty{PartyID: "p3", Resource: "7002", State: client.Alerting}))
	must[*client.ReportDivertResponse](t, "divert")(c.ReportDivertWithResponse(ctx, "s1", "i1", nil, client.PartyLeft{PartyID: "p3", NewDestination: "7005"}))
	must[*client.ReportSingleStepConferenceResponse](t, "ssc")(c.ReportSingleStepConferenceWithResponse(ctx, "s1", "i1", nil, client.ReportSingleStepConferenceJSONRequestBody{
		PartyID: "p2", AddedParty: client.NewParty{PartyID: "p4", Resource: "7003", State: client.Alerting}}))
	must[*client.ReportSingleStepTransferResponse](t, "sst")(c.ReportSingleStepTransferWithResponse(ctx, "s1", "i1", nil, client.PartyLeft{PartyID: "p4", NewDestination: "sales"}))
	must[*client.AddInteractionResponse](t, "consult")(node.AddInteractionWithResponse(ctx, "s1", nil, client.NewInteraction{
		InteractionID: "c1", Media: "voice", Type: client.NewInteractionTypeConsult, ParentID: "i1",
		Parties: []client.NewParty{{PartyID: "q1", Resource: "7001", State: client.Established}, {PartyID: "q2", Resource: "7009", State: client.Established}}}))
	must[*client.ReportMergeResponse](t, "merge")(c.ReportMergeWithResponse(ctx, "s1", "c1", nil, client.ReportMergeJSONRequestBody{IntoInteractionID: "i1", ActivePartyID: "q2", HeldPartyID: "q1"}))

	// An action request, answered by the media side.
	adapter := c.Adapter(client.AdapterOptions{Media: "voice"})
	must[*client.AddPartyResponse](t, "party 5")(node.AddPartyWithResponse(ctx, "s1", "i1", nil, client.NewParty{PartyID: "p5", Resource: "7010", State: client.Alerting}))
	must[*client.CreateRequestResponse](t, "request")(node.CreateRequestWithResponse(ctx, "s1", nil, client.NewRequest{RequestID: "r1", Action: client.Accept, InteractionID: "i1", Resource: "7010"}))
	must[*client.GetRequestResponse](t, "get request")(c.GetRequestWithResponse(ctx, "s1", "r1"))
	// The feed may not list it yet (it lists by commit order, as publication does); the
	// stream below waits for it.
	must[*client.ListPendingRequestsResponse](t, "pending")(c.ListPendingRequestsWithResponse(ctx, &client.ListPendingRequestsParams{Media: client.Ptr("voice")}))
	sctx := sctx2(t, ctx)
	for r, err := range adapter.Requests(sctx) {
		if err != nil {
			t.Fatal(err)
		}
		if r.RequestID != "r1" {
			t.Fatalf("request %+v", r)
		}
		answer := must[*client.ReportOutcome200JSONResponseBody](t, "answer")(adapter.Answer(ctx, r, client.Done()))
		if len(answer.Events) != 2 || answer.Events[0].Name != "interaction.accept.done" {
			t.Fatalf("answer %+v", answer)
		}
		break
	}
	must[*client.NotControlInteractionResponse](t, "notcontrolled")(node.NotControlInteractionWithResponse(ctx, "s1", "i1", nil, client.NotControlInteractionJSONRequestBody{}))
	must[*client.CreateRequestResponse](t, "request 2")(node.CreateRequestWithResponse(ctx, "s1", nil, client.NewRequest{RequestID: "r2", Action: client.Pick, InteractionID: "i1"}))
	must[*client.ReportOutcomeResponse](t, "outcome")(c.ReportOutcomeWithResponse(ctx, "s1", "r2", nil, client.Done()))
	must[*client.ReportAbandonedResponse](t, "abandoned")(c.ReportAbandonedWithResponse(ctx, "s1", "i1", nil, client.ReportAbandonedJSONRequestBody{FocusResource: "+15550001"}))
	must[*client.DeletePartyResponse](t, "delete party")(node.DeletePartyWithResponse(ctx, "s1", "i1", "p2", nil))
	must[*client.DeleteInteractionResponse](t, "delete interaction")(node.DeleteInteractionWithResponse(ctx, "s1", "i1", nil))

	// Events: the session's, the feed, the stream.
	evs := must[*client.ListSessionEventsResponse](t, "session events")(c.ListSessionEventsWithResponse(ctx, "s1", nil))
	feed := must[*client.ListEventsResponse](t, "events")(c.ListEventsWithResponse(ctx, &client.ListEventsParams{SessionID: client.Ptr("s1")}))
	if len(evs.JSON200.Events) == 0 {
		t.Fatal("no events")
	}
	last := evs.JSON200.Events[len(evs.JSON200.Events)-1].ID
	var streamed int
	for ev, err := range c.Events(sctx, client.StreamOptions{SessionID: "s1"}) {
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ev.Typed(); err != nil {
			t.Fatalf("%s: %v", ev.Name, err)
		}
		streamed++
		if ev.ID == last {
			break
		}
	}
	if streamed != len(evs.JSON200.Events) || (len(feed.JSON200.Events) > 0 && feed.JSON200.Events[0].SessionID != "s1") {
		t.Fatalf("streamed %d of %d events", streamed, len(evs.JSON200.Events))
	}

	// Leases: a second node takes the session from a released first.
	n2 := must[*client.Node](t, "node 2")(c.Node(client.NodeConfig{ID: "n2"}))
	must[*client.NodeInfo](t, "register 2")(n2.Register(ctx))
	must[*client.ListNodesResponse](t, "nodes")(c.ListNodesWithResponse(ctx))
	must[*client.Takeover](t, "release")(node.Release(ctx, "s1", ""))
	orphans := must[*client.ListOrphanedSessionsResponse](t, "orphans")(c.ListOrphanedSessionsWithResponse(ctx, nil))
	if len(orphans.JSON200.Sessions) != 1 {
		t.Fatalf("orphans %+v", orphans.JSON200)
	}
	must[*client.Takeover](t, "claim")(n2.Claim(ctx, "s1"))
	if _, err := node.EndSessionWithResponse(ctx, "s1", nil); !errors.Is(err, client.ErrLeaseLost) {
		t.Fatalf("a write of the node that let s1 go: %v", err)
	}
	if err := n2.Leave(ctx, ""); err != nil {
		t.Fatal(err)
	}
	must[*client.ClaimSessionResponse](t, "admin claim")(c.ClaimSessionWithResponse(ctx, "s1", nil, client.ClaimSessionJSONRequestBody{NodeID: "n1"}))
	must[*client.EndSessionResponse](t, "end")(c.EndSessionWithResponse(ctx, "s1", nil))
	if _, err := c.GetSessionWithResponse(ctx, "nope"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("an unknown session: %v", err)
	}
	must[*client.GetSessionResponse](t, "session")(c.GetSessionWithResponse(ctx, "s1"))
	must[*client.ListSessionRequestsResponse](t, "session requests")(c.ListSessionRequestsWithResponse(ctx, "s1", nil))
	owners := must[*client.ListSessionOwnersResponse](t, "session owners")(c.ListSessionOwnersWithResponse(ctx, "s1"))
	if owners.JSON200 == nil {
		t.Fatalf("owners of s1: %s", owners.Body)
	}
	overview := must[*client.GetOverviewResponse](t, "overview")(c.GetOverviewWithResponse(ctx))
	if overview.JSON200 == nil {
		t.Fatalf("overview: %s", overview.Body)
	}

	// Reports.
	now := time.Now()
	must[*client.ListReportInteractionsResponse](t, "report list")(c.ListReportInteractionsWithResponse(ctx, nil))
	must[*client.GetReportInteractionResponse](t, "report")(c.GetReportInteractionWithResponse(ctx, "i1"))
	must[*client.GetReportInteractionStateResponse](t, "report state")(c.GetReportInteractionStateWithResponse(ctx, "i1", &client.GetReportInteractionStateParams{SessionID: "s1"}))
	must[*client.GetAggregatesResponse](t, "aggregates")(c.GetAggregatesWithResponse(ctx, &client.GetAggregatesParams{From: now.Add(-time.Hour), To: now.Add(time.Hour)}))
	must[*client.GetAuditResponse](t, "audit")(c.GetAuditWithResponse(ctx, &client.GetAuditParams{SessionID: client.Ptr("s1")}))

	// Every operation of the document was answered with a success at least once.
	raw, err := os.ReadFile("../api/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	ok := map[string]bool{}
	rec.mu.Lock()
	for _, s := range rec.sent {
		route, _, err := router.FindRoute(s.req)
		if err == nil && s.status < 300 {
			ok[route.Operation.OperationID] = true
		}
	}
	rec.mu.Unlock()
	var missing []string
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if !ok[op.OperationID] {
				missing = append(missing, op.OperationID)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("operations not called with success: %v", missing)
	}
	t.Logf("%d operations called through the client", len(ok))
}

func sctx2(t *testing.T, ctx context.Context) context.Context {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
