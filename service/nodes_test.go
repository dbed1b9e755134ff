package service_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/internal/fault"
	"github.com/ixnstore/ixnstore/service"
)

func register(t *testing.T, s *service.Store, id, lease string, capacity int) service.Node {
	t.Helper()
	return must[service.Node](t)(s.RegisterNode(context.Background(), service.NodeRegistration{
		NodeID: id, Lease: lease, Capacity: &capacity}))
}

// untilOrphaned waits for the lease of the session's owner to lapse.
func untilOrphaned(t *testing.T, s *service.Store, sessionID string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, o := range must[service.SessionPage](t)(s.ListOrphanedSessions(context.Background(), "", service.MaxSessionsPage)).Sessions {
			if o.SessionID == sessionID {
				return
			}
		}
	}
	t.Fatalf("session %s is not orphaned after 10s", sessionID)
}

// A session whose node's lease lapsed is claimed by another node: a new epoch, the owner,
// interaction.restored for each live interaction in order, the whole state in the answer;
// the old owner's writes are refused from then on and write nothing.
func TestClaimAfterTheOwnerDies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t)
	register(t, s, "n1", "1m", 10)
	register(t, s, "n2", "1m", 10)
	tg := fixture(t, s) // s1 owned by n1, epoch 1, interaction i1
	must[[]service.Event](t)(s.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: "i2", Media: "chat", Type: "inbound"}))
	must[[]service.Event](t)(s.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: "i3", Media: "chat", Type: "inbound"}))
	must[[]service.Event](t)(s.DeleteInteraction(ctx, tg, "i3"))
	pending := must[service.Request](t)(s.CreateRequest(ctx, tg, request("terminate", nil)))

	if _, err := s.ClaimSession(ctx, "s1", "n2"); !errors.Is(err, fault.ErrLeaseHeld) {
		t.Fatalf("claim while n1 is alive: %v, want lease held", err)
	}
	register(t, s, "n1", "100ms", 10) // its last heartbeat: the lease lapses 100 ms from now
	untilOrphaned(t, s, "s1")
	got := must[service.Takeover](t)(s.ClaimSession(ctx, "s1", "n2"))
	checkEvents(t, got.Events, []ev{
		{"interaction.restored", map[string]any{"interactionid": "i1"}},
		{"interaction.restored", map[string]any{"interactionid": "i2"}},
	})
	for _, e := range got.Events {
		if e.Epoch != 2 || e.NodeID == nil || *e.NodeID != "n2" {
			t.Errorf("restored event %+v, want epoch 2 by n2", e)
		}
	}
	if st := got.Session; st.LeaseEpoch != 2 || *st.OwnerNode != "n2" || len(st.Interactions) != 2 ||
		len(st.Interactions[0].Parties) != 2 || st.LastSeq != got.Events[1].Seq {
		t.Errorf("state in the answer: %+v", st)
	}

	before := counts(t, pool)
	stale := service.Target{SessionID: "s1", Epoch: ptr(int64(1))}
	if _, err := s.ChangePartyState(ctx, stale, "i1", "p1", service.PartyStateChange{State: "held"}); !errors.Is(err, fault.ErrLeaseLost) {
		t.Errorf("the old owner's write: %v, want lease lost", err)
	}
	if _, err := s.CreateRequest(ctx, stale, service.NewRequest{RequestID: "r9", Action: "pick", InteractionID: "i1"}); !errors.Is(err, fault.ErrLeaseLost) {
		t.Errorf("the old owner's request: %v, want lease lost", err)
	}
	if after := counts(t, pool); after != before {
		t.Errorf("refused writes wrote: %+v, then %+v", before, after)
	}
	current := service.Target{SessionID: "s1", Epoch: ptr(int64(2))}
	must[[]service.Event](t)(s.ChangePartyState(ctx, current, "i1", "p1", service.PartyStateChange{State: "held"}))

	// The request made before the claim is still pending and ends as requests do.
	if r := must[service.Request](t)(s.GetRequest(ctx, "s1", pending.RequestID)); r.State != "pending" {
		t.Errorf("the pending request after the claim: %s", r.State)
	}
	if _, events, err := s.ReportRequest(ctx, "s1", pending.RequestID, service.RequestOutcome{Result: "done"}); err != nil ||
		events[0].Name != "interaction.terminate.done" {
		t.Errorf("its report after the claim: %v %v", names(events), err)
	}
}

// Ten nodes claim the same orphaned session at once: exactly one wins; each other is told the
// session is held, and the restore is written once.
func TestTenClaimsOneWinner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t)
	register(t, s, "n1", "100ms", 10)
	fixture(t, s)
	others := make([]*service.Store, 10)
	for i := range others {
		// Each claimant on its own pool: ten connections racing for the row.
		p, err := pgxpool.New(ctx, pool.Config().ConnString())
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		others[i] = service.New(p, service.Config{})
		register(t, s, fmt.Sprintf("c%d", i), "1m", 10)
	}
	untilOrphaned(t, s, "s1")
	errs := make([]error, len(others))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, o := range others {
		wg.Go(func() {
			<-start
			_, errs[i] = o.ClaimSession(ctx, "s1", fmt.Sprintf("c%d", i))
		})
	}
	close(start)
	wg.Wait()
	winners := 0
	for i, err := range errs {
		switch {
		case err == nil:
			winners++
		case !errors.Is(err, fault.ErrLeaseHeld):
			t.Errorf("claimant c%d: %v, want a win or lease held", i, err)
		}
	}
	if winners != 1 {
		t.Errorf("%d winners, want 1", winners)
	}
	restored := 0
	for _, e := range allEvents(t, s, "s1") {
		if e.Name == "interaction.restored" {
			restored++
		}
	}
	st := must[service.SessionState](t)(s.GetSession(ctx, "s1"))
	if restored != 1 || st.LeaseEpoch != 2 {
		t.Errorf("%d restored events and epoch %d, want 1 and 2", restored, st.LeaseEpoch)
	}
}

// Handing over without waiting for the lease: a release to nobody orphans the session at
// once; a release to a named node and a node's leave give the sessions to that node with
// their restore. Every one raises the epoch.
func TestOrderlyHandover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("release to nobody", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		register(t, s, "n1", "1m", 10)
		register(t, s, "n2", "1m", 10)
		fixture(t, s)
		if _, err := s.ReleaseSession(ctx, service.Target{SessionID: "s1", Epoch: ptr(int64(7))}, nil); !errors.Is(err, fault.ErrLeaseLost) {
			t.Errorf("release with a stale epoch: %v", err)
		}
		out := must[service.Takeover](t)(s.ReleaseSession(ctx, service.Target{SessionID: "s1", Epoch: ptr(int64(1))}, nil))
		if len(out.Events) != 0 || out.Session.OwnerNode != nil || out.Session.LeaseEpoch != 2 {
			t.Errorf("released: %+v", out)
		}
		orphans := must[service.SessionPage](t)(s.ListOrphanedSessions(ctx, "", service.MaxSessionsPage)).Sessions
		if len(orphans) != 1 || orphans[0].SessionID != "s1" {
			t.Errorf("orphans %+v", orphans)
		}
		got := must[service.Takeover](t)(s.ClaimSession(ctx, "s1", "n2"))
		if got.Session.LeaseEpoch != 3 || len(got.Events) != 1 {
			t.Errorf("claimed: %+v", got)
		}
	})

	t.Run("release to a node", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		register(t, s, "n1", "1m", 10)
		register(t, s, "n2", "1m", 10)
		fixture(t, s)
		if _, err := s.ReleaseSession(ctx, service.Target{SessionID: "s1"}, ptr("ghost")); !errors.Is(err, fault.ErrNotFound) {
			t.Errorf("release to an unknown node: %v", err)
		}
		out := must[service.Takeover](t)(s.ReleaseSession(ctx, service.Target{SessionID: "s1", Epoch: ptr(int64(1))}, ptr("n2")))
		if *out.Session.OwnerNode != "n2" || out.Session.LeaseEpoch != 2 || len(out.Events) != 1 || out.Events[0].Name != "interaction.restored" {
			t.Errorf("handed over: %+v", out)
		}
	})

	t.Run("a node leaves", func(t *testing.T) {
		t.Parallel()
		s, _ := newStore(t)
		register(t, s, "n1", "1m", 10)
		register(t, s, "n2", "1m", 10)
		fixture(t, s)
		must[service.Session](t)(s.CreateSession(ctx, service.NewSession{SessionID: "s2", OwnerNode: ptr("n1")}))
		must[service.Session](t)(s.CreateSession(ctx, service.NewSession{SessionID: "s3", OwnerNode: ptr("n2")}))
		moved := must[[]service.Session](t)(s.LeaveNode(ctx, "n1", ptr("n2")))
		if len(moved) != 2 || *moved[0].OwnerNode != "n2" || moved[0].LeaseEpoch != 2 || moved[1].SessionID != "s2" {
			t.Errorf("moved %+v", moved)
		}
		for _, n := range must[[]service.Node](t)(s.ListNodes(ctx)) {
			if want := n.NodeID == "n2"; n.Alive != want || (n.NodeID == "n2" && *n.Owned != 3) {
				t.Errorf("after n1 left: %+v (owned %d)", n, *n.Owned)
			}
		}
		if _, err := s.ClaimSession(ctx, "s3", "n1"); !errors.Is(err, fault.ErrNodeNotLive) {
			t.Errorf("a node that left claims: %v, want not live", err)
		}
	})
}

// The assigner gives orphaned sessions to live nodes by spare capacity, and to no node that
// is full or dead.
func TestAssignOrphansBySpareCapacity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	register(t, s, "dead", "100ms", 100)
	register(t, s, "big", "1m", 6)
	register(t, s, "small", "1m", 3)
	register(t, s, "full", "1m", 0)
	for i := range 5 {
		must[service.Session](t)(s.CreateSession(ctx, service.NewSession{SessionID: fmt.Sprintf("s%d", i), OwnerNode: ptr("dead")}))
	}
	must[service.Session](t)(s.CreateSession(ctx, service.NewSession{SessionID: "nobody"}))
	untilOrphaned(t, s, "s0")
	if n := must[int](t)(s.AssignOrphans(ctx, 100)); n != 6 {
		t.Fatalf("assigned %d, want 6", n)
	}
	owned := map[string]int64{}
	for _, n := range must[[]service.Node](t)(s.ListNodes(ctx)) {
		owned[n.NodeID] = *n.Owned
	}
	// 6 sessions on capacities 6 and 3: in proportion.
	if owned["big"] != 4 || owned["small"] != 2 || owned["full"] != 0 || owned["dead"] != 0 {
		t.Errorf("owned %v, want big 4, small 2", owned)
	}
	if left := must[service.SessionPage](t)(s.ListOrphanedSessions(ctx, "", service.MaxSessionsPage)).Sessions; len(left) != 0 {
		t.Errorf("orphans left: %+v", left)
	}
}

// The assigner's bulk give passes over, without waiting or failing the rest, every session
// that may not be given when its statement runs; the one that may gets what a claim gives.
func TestSessionsAssignPassesOverWhatMayNotBeGiven(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t)
	register(t, s, "dead", "100ms", 100)
	register(t, s, "live", "1m", 100)
	register(t, s, "target-dead", "100ms", 100)
	for _, sid := range []string{"given", "ended", "locked", "to-dead"} {
		must[service.Session](t)(s.CreateSession(ctx, service.NewSession{SessionID: sid, OwnerNode: ptr("dead")}))
	}
	must[service.Session](t)(s.CreateSession(ctx, service.NewSession{SessionID: "held", OwnerNode: ptr("live")}))
	must[service.Session](t)(s.CreateSession(ctx, service.NewSession{SessionID: "probe", OwnerNode: ptr("target-dead")}))
	must[[]service.Event](t)(s.AddInteraction(ctx, service.Target{SessionID: "given"}, service.NewInteraction{
		InteractionID: "i1", Media: "voice", Type: "inbound"}))
	must[[]service.Event](t)(s.EndSession(ctx, service.Target{SessionID: "ended"}))
	untilOrphaned(t, s, "given")
	untilOrphaned(t, s, "probe") // target-dead's lease has lapsed too

	// Another transaction holds "locked": the bulk give must not wait for it.
	tx := must[pgx.Tx](t)(pool.Begin(ctx))
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT 1 FROM sessions WHERE session_id = 'locked' FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	given := must[[]db.SessionsAssignRow](t)(db.New(pool).SessionsAssign(short, db.SessionsAssignParams{
		SessionIds: []string{"locked", "held", "given", "ended", "to-dead", "missing"},
		NodeIds:    []string{"live", "live", "live", "live", "target-dead", "live"},
	}))
	if len(given) != 1 || given[0] != (db.SessionsAssignRow{SessionID: "given", NodeID: "live"}) {
		t.Fatalf("given %+v, want only session given to live", given)
	}
	got := must[service.SessionState](t)(s.GetSession(ctx, "given"))
	if *got.OwnerNode != "live" || got.LeaseEpoch != 2 {
		t.Errorf("given: owner %v epoch %d, want live 2", *got.OwnerNode, got.LeaseEpoch)
	}
	events := must[[]service.Event](t)(s.ListEvents(ctx, "given", 0, 100))
	if last := events[len(events)-1]; last.Name != "interaction.restored" {
		t.Errorf("given's last event %s, want interaction.restored", last.Name)
	}
	for _, sid := range []string{"held", "to-dead"} {
		if got := must[service.SessionState](t)(s.GetSession(ctx, sid)); got.LeaseEpoch != 1 {
			t.Errorf("%s was given: epoch %d", sid, got.LeaseEpoch)
		}
	}
	if _, err := db.New(pool).SessionsAssign(ctx, db.SessionsAssignParams{SessionIds: []string{"a"}}); err == nil {
		t.Error("sessions without nodes: no error")
	}
}
