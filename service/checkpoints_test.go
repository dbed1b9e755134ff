package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ixnstore/ixnstore/internal/fault"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/service"
)

// counterCheckpoint is the checkpoint of a small state machine: a counter in the data model,
// the active states, one timer.
func counterCheckpoint(n int, states ...string) service.NewCheckpoint {
	return service.NewCheckpoint{
		DataModel:     json.RawMessage(fmt.Sprintf(`{"counter": %d, "caller": {"lang": "en"}}`, n)),
		Configuration: states,
		Timers:        []service.NewTimer{{SendID: "noanswer", Event: "timeout.noanswer", DelayMS: ptr(int64(5000))}},
	}
}

func counterOf(t *testing.T, ck *service.Checkpoint) int {
	t.Helper()
	if ck == nil {
		t.Fatal("no checkpoint")
	}
	var dm struct{ Counter int }
	if err := json.Unmarshal(ck.DataModel, &dm); err != nil {
		t.Fatal(err)
	}
	return dm.Counter
}

func epoch(t *testing.T, s *service.Store, sessionID string) service.Target {
	t.Helper()
	st := must[service.SessionState](t)(s.GetSession(context.Background(), sessionID))
	return service.Target{SessionID: sessionID, Epoch: ptr(st.LeaseEpoch)}
}

// A checkpoint is written and read back, versions 1, 2, ...; it writes no event; timers given
// by delay are due by the database's clock and read with their time left.
func TestCheckpointWriteAndRead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t)
	fixture(t, s)
	tg := epoch(t, s, "s1")
	if _, err := s.GetCheckpoint(ctx, "s1"); !errors.Is(err, fault.ErrNotFound) {
		t.Fatalf("no checkpoint yet: %v, want not found", err)
	}
	before := counts(t, pool)
	start := time.Now()
	ck1 := must[service.Checkpoint](t)(s.WriteCheckpoint(ctx, tg, counterCheckpoint(1, "main", "ringing")))
	due := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	in2 := counterCheckpoint(2, "main", "connected")
	in2.Timers = append(in2.Timers, service.NewTimer{SendID: "wrapup", Event: "timeout.wrapup", DueAt: &due,
		Target: ptr("#_internal"), Data: json.RawMessage(`{"reason":"x","none":null}`)})
	ck2 := must[service.Checkpoint](t)(s.WriteCheckpoint(ctx, tg, in2))
	if ck1.Version != 1 || ck2.Version != 2 || ck2.Epoch != *tg.Epoch || ck2.NodeID == nil || *ck2.NodeID != "n1" || ck2.SizeBytes <= 0 {
		t.Fatalf("written: %+v then %+v", ck1, ck2)
	}
	if after := counts(t, pool); after != before {
		t.Errorf("a checkpoint wrote events or state: %+v, then %+v", before, after)
	}
	got := must[service.Checkpoint](t)(s.GetCheckpoint(ctx, "s1"))
	if got.Version != 2 || counterOf(t, &got) != 2 || strings.Join(got.Configuration, ",") != "main,connected" || len(got.Timers) != 2 {
		t.Fatalf("read: %+v", got)
	}
	noanswer, wrapup := got.Timers[0], got.Timers[1]
	if d := noanswer.DueAt.Sub(start); d < 4*time.Second || d > 6*time.Second || noanswer.RemainingMS == nil ||
		*noanswer.RemainingMS <= 0 || *noanswer.RemainingMS > 5000 {
		t.Errorf("a timer given by delay: %+v", noanswer)
	}
	if !wrapup.DueAt.Equal(due) || *wrapup.Target != "#_internal" || string(wrapup.Data) != `{"none": null, "reason": "x"}` ||
		*wrapup.RemainingMS < 3500_000 {
		t.Errorf("a timer given by due time: %+v (due %v)", wrapup, due)
	}
	st := must[service.SessionState](t)(s.GetSession(ctx, "s1"))
	if st.CheckpointVersion == nil || *st.CheckpointVersion != 2 {
		t.Errorf("the session's checkpoint version: %v", st.CheckpointVersion)
	}
	if _, err := s.GetCheckpoint(ctx, "nope"); !errors.Is(err, fault.ErrNotFound) {
		t.Errorf("the checkpoint of no session: %v", err)
	}
}

// Refusals write nothing: a stale epoch (lease lost), an ended session, a version that is not
// the expected one (conflict), a checkpoint too large, one that is not well-formed.
func TestCheckpointRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := service.New(testdb.Pool(t), service.Config{CheckpointMaxBytes: 1000})
	fixture(t, s)
	tg := epoch(t, s, "s1")
	must[service.Checkpoint](t)(s.WriteCheckpoint(ctx, tg, counterCheckpoint(1, "main")))
	stale := service.Target{SessionID: "s1", Epoch: ptr(*tg.Epoch + 7)}
	big := counterCheckpoint(2)
	big.DataModel = json.RawMessage(`{"blob":"` + strings.Repeat("x", 1000) + `"}`)
	for _, tc := range []struct {
		name string
		tg   service.Target
		in   service.NewCheckpoint
		want error
	}{
		{"stale epoch", stale, counterCheckpoint(2), fault.ErrLeaseLost},
		{"expected version", tg, func() service.NewCheckpoint { c := counterCheckpoint(2); c.ExpectedVersion = ptr(int64(0)); return c }(), fault.ErrConflict},
		{"too large", tg, big, fault.ErrCheckpointTooLarge},
		{"data model not an object", tg, service.NewCheckpoint{DataModel: json.RawMessage(`[1]`)}, fault.ErrInvalid},
		{"no data model", tg, service.NewCheckpoint{}, fault.ErrInvalid},
		{"timer without due time", tg, service.NewCheckpoint{DataModel: json.RawMessage(`{}`),
			Timers: []service.NewTimer{{SendID: "a", Event: "e"}}}, fault.ErrInvalid},
		{"timer with both", tg, service.NewCheckpoint{DataModel: json.RawMessage(`{}`),
			Timers: []service.NewTimer{{SendID: "a", Event: "e", DelayMS: ptr(int64(1)), DueAt: ptr(time.Now())}}}, fault.ErrInvalid},
		{"timers with one sendid", tg, service.NewCheckpoint{DataModel: json.RawMessage(`{}`), Timers: []service.NewTimer{
			{SendID: "a", Event: "e", DelayMS: ptr(int64(1))}, {SendID: "a", Event: "f", DelayMS: ptr(int64(1))}}}, fault.ErrInvalid},
		{"no session", service.Target{SessionID: "nope"}, counterCheckpoint(2), fault.ErrNotFound},
	} {
		if _, err := s.WriteCheckpoint(ctx, tc.tg, tc.in); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	ok := counterCheckpoint(2)
	ok.ExpectedVersion = ptr(int64(1))
	must[service.Checkpoint](t)(s.WriteCheckpoint(ctx, tg, ok))
	// The default keeps the current version alone.
	if h := must[[]service.Checkpoint](t)(s.CheckpointHistory(ctx, "s1")); len(h) != 1 || h[0].Version != 2 {
		t.Errorf("after the refusals, the history is %d versions, the latest %d", len(h), h[0].Version)
	}
	must[[]service.Event](t)(s.EndSession(ctx, tg))
	if _, err := s.WriteCheckpoint(ctx, tg, counterCheckpoint(3)); !errors.Is(err, fault.ErrSessionEnded) {
		t.Errorf("an ended session's checkpoint: %v, want session ended", err)
	}
}

// The history keeps the configured number of versions, the latest first.
func TestCheckpointHistoryPruned(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := service.New(testdb.Pool(t), service.Config{CheckpointKeep: 3})
	fixture(t, s)
	tg := epoch(t, s, "s1")
	for i := 1; i <= 7; i++ {
		must[service.Checkpoint](t)(s.WriteCheckpoint(ctx, tg, counterCheckpoint(i, "main")))
	}
	h := must[[]service.Checkpoint](t)(s.CheckpointHistory(ctx, "s1"))
	if len(h) != 3 || h[0].Version != 7 || h[2].Version != 5 || counterOf(t, &h[0]) != 7 {
		t.Fatalf("history: %d versions %+v", len(h), h)
	}
	if _, err := s.CheckpointHistory(ctx, "nope"); !errors.Is(err, fault.ErrNotFound) {
		t.Errorf("the history of no session: %v", err)
	}
}

// A state change sent with a checkpoint: both are written, or neither.
func TestCheckpointWithChangeIsAtomic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t)
	fixture(t, s) // p1 and p2 established
	tg := epoch(t, s, "s1")

	w := must[service.Written](t)(s.ChangePartyStateWithCheckpoint(ctx, tg, "i1", "p1",
		service.PartyStateChange{State: "held"}, counterCheckpoint(1, "main", "held")))
	if len(w.Events) != 1 || w.Events[0].Name != "interaction.partystatechanged" || w.Checkpoint == nil || w.Checkpoint.Version != 1 {
		t.Fatalf("written: %+v", w)
	}

	// The change is refused (held → alerting is not a move): the checkpoint is not written.
	before := counts(t, pool)
	if _, err := s.ChangePartyStateWithCheckpoint(ctx, tg, "i1", "p1", service.PartyStateChange{State: "alerting"},
		counterCheckpoint(2, "main")); !errors.Is(err, fault.ErrInvalidTransition) {
		t.Fatalf("an illegal move with a checkpoint: %v", err)
	}
	if ck := must[service.Checkpoint](t)(s.GetCheckpoint(ctx, "s1")); ck.Version != 1 {
		t.Errorf("the refused change's checkpoint was written: version %d", ck.Version)
	}
	// The checkpoint is refused (not the expected version): the change is not written.
	stale := counterCheckpoint(2, "main")
	stale.ExpectedVersion = ptr(int64(0))
	if _, err := s.ChangePartyStateWithCheckpoint(ctx, tg, "i1", "p1", service.PartyStateChange{State: "established"},
		stale); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("a change with a conflicting checkpoint: %v", err)
	}
	if _, err := s.MergeUserDataWithCheckpoint(ctx, tg, "i1", service.UserDataChange{Origin: "media",
		Data: map[string]json.RawMessage{"k": json.RawMessage(`1`)}}, stale); !errors.Is(err, fault.ErrConflict) {
		t.Fatalf("a user data change with a conflicting checkpoint: %v", err)
	}
	if after := counts(t, pool); after != before {
		t.Errorf("refused changes wrote: %+v, then %+v", before, after)
	}
	ix := must[service.Interaction](t)(s.GetInteraction(ctx, "s1", "i1"))
	if ix.Parties[0].State != "held" || ix.UserData["k"] != nil {
		t.Errorf("after the refusals: %+v", ix)
	}

	// A user data change with a checkpoint, the version expected.
	next := counterCheckpoint(2, "main")
	next.ExpectedVersion = ptr(int64(1))
	w = must[service.Written](t)(s.ReplaceUserDataWithCheckpoint(ctx, tg, "i1", service.UserDataChange{Origin: "media",
		Data: map[string]json.RawMessage{"k": json.RawMessage(`1`)}}, next))
	if len(w.Events) != 1 || w.Events[0].Name != "interaction.udata.changed" || w.Checkpoint.Version != 2 {
		t.Fatalf("written: %+v", w)
	}
}

// A claim races a checkpoint write by the owner whose lease lapsed, many times: the claim
// answers either the checkpoint before or the one written, never a mix; the write succeeds
// only when it committed before the claim; after the claim the old epoch writes nothing.
func TestClaimRacesCheckpoint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	register(t, s, "n1", "100ms", 1000)
	register(t, s, "n2", "1m", 1000)
	const n = 40
	for i := range n {
		must[service.Session](t)(s.CreateSession(ctx, service.NewSession{SessionID: fmt.Sprint("r", i), OwnerNode: ptr("n1")}))
	}
	time.Sleep(200 * time.Millisecond) // n1's lease lapses; it does not know yet and writes on
	var before, after int
	for i := range n {
		sid := fmt.Sprint("r", i)
		tg := epoch(t, s, sid)
		must[service.Checkpoint](t)(s.WriteCheckpoint(ctx, tg, counterCheckpoint(1, "a")))
		var (
			wg       sync.WaitGroup
			writeErr error
			claim    service.Takeover
			claimErr error
		)
		wg.Go(func() { _, writeErr = s.WriteCheckpoint(ctx, tg, counterCheckpoint(2, "b")) })
		wg.Go(func() { claim, claimErr = s.ClaimSession(ctx, sid, "n2") })
		wg.Wait()
		if claimErr != nil {
			t.Fatal(claimErr)
		}
		ck := claim.Checkpoint
		c := counterOf(t, ck)
		if c != int(ck.Version) || ck.Configuration[0] != map[int]string{1: "a", 2: "b"}[c] {
			t.Fatalf("%s: the claim answered a mix: %+v", sid, ck)
		}
		switch {
		case writeErr == nil && ck.Version == 2:
			before++
		case errors.Is(writeErr, fault.ErrLeaseLost) && ck.Version == 1:
			after++
		default:
			t.Fatalf("%s: the write answered %v, the claim version %d", sid, writeErr, ck.Version)
		}
		if _, err := s.WriteCheckpoint(ctx, tg, counterCheckpoint(3, "c")); !errors.Is(err, fault.ErrLeaseLost) {
			t.Fatalf("%s: the old epoch's write after the claim: %v", sid, err)
		}
		if got := must[service.Checkpoint](t)(s.GetCheckpoint(ctx, sid)); got.Version != ck.Version {
			t.Fatalf("%s: the checkpoint is version %d after the claim's %d", sid, got.Version, ck.Version)
		}
	}
	t.Logf("the write came first %d times, the claim %d times", before, after)
}

// A node runs a small state machine, each party state change sent with its checkpoint (a
// counter, the active state, a timer), and is killed mid-strategy; another node claims the session
// and continues from the counter, the active state and the timer's time left, with
// interaction.restored for the live interaction, writing under its new epoch.
func TestFailoverRestoresTheStateMachine(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newStore(t)
	// n1's lease is short: it is killed by no longer heartbeating, as a crashed node is.
	register(t, s, "n1", "1s", 10)
	register(t, s, "n2", "1m", 10)
	must[service.Session](t)(s.CreateSession(ctx, service.NewSession{SessionID: "sm", OwnerNode: ptr("n1")}))
	tg := epoch(t, s, "sm")
	must[[]service.Event](t)(s.AddInteraction(ctx, tg, service.NewInteraction{InteractionID: "call", Media: "voice", Type: "inbound",
		Parties: []service.NewParty{{PartyID: "cust", Resource: "+15550001", State: "alerting", Role: ptr("customer")}}}))
	must[[]service.Event](t)(s.PresentInteraction(ctx, tg, "call"))

	version := int64(0)
	step := func(tg service.Target, state, scxmlState string, counter int) (service.Written, error) {
		ck := counterCheckpoint(counter, "main", scxmlState)
		ck.ExpectedVersion = ptr(version)
		w, err := s.ChangePartyStateWithCheckpoint(ctx, tg, "call", "cust", service.PartyStateChange{State: state}, ck)
		if err == nil {
			version = w.Checkpoint.Version
		}
		return w, err
	}
	must[service.Written](t)(step(tg, "established", "connected", 1))
	must[service.Written](t)(step(tg, "held", "onhold", 2))
	written := time.Now()

	// n1 is killed mid-strategy: no leave, no more heartbeats; once its lease lapses, n2 claims.
	untilOrphaned(t, s, "sm")
	got := must[service.Takeover](t)(s.ClaimSession(ctx, "sm", "n2"))
	checkEvents(t, got.Events, []ev{{"interaction.restored", map[string]any{"interactionid": "call"}}})
	ck := got.Checkpoint
	if counterOf(t, ck) != 2 || strings.Join(ck.Configuration, ",") != "main,onhold" || ck.Version != 2 {
		t.Fatalf("restored checkpoint: %+v", ck)
	}
	if len(ck.Timers) != 1 || ck.Timers[0].SendID != "noanswer" || ck.Timers[0].RemainingMS == nil {
		t.Fatalf("restored timers: %+v", ck.Timers)
	}
	if left, most := *ck.Timers[0].RemainingMS, 5000-time.Since(written).Milliseconds()+1000; left <= 0 || left > 5000 || left > most {
		t.Errorf("the timer's time left: %d ms (at most %d)", left, most)
	}
	if st := got.Session; *st.OwnerNode != "n2" || st.Interactions[0].Parties[0].State != "held" ||
		st.CheckpointVersion == nil || *st.CheckpointVersion != 2 {
		t.Errorf("restored state: %+v", st)
	}

	// n2 continues from there under its epoch; n1's epoch is refused.
	if _, err := step(tg, "established", "connected", 3); !errors.Is(err, fault.ErrLeaseLost) {
		t.Errorf("the old node's step: %v, want lease lost", err)
	}
	n2 := service.Target{SessionID: "sm", Epoch: ptr(got.Session.LeaseEpoch)}
	w := must[service.Written](t)(step(n2, "established", "connected", counterOf(t, ck)+1))
	if w.Checkpoint.Version != 3 || w.Checkpoint.Epoch != *n2.Epoch || *w.Checkpoint.NodeID != "n2" {
		t.Errorf("n2's step: %+v", w.Checkpoint)
	}
	if now := must[service.Checkpoint](t)(s.GetCheckpoint(ctx, "sm")); now.Version != 3 || counterOf(t, &now) != 3 {
		t.Errorf("after n2's step: %+v", now)
	}
}
