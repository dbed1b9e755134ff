package reporting_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/ixnstore/ixnstore/internal/fault"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/reporting"
	"github.com/ixnstore/ixnstore/service"
)

// A model-based random test: random sequences of operations over many sessions — most of
// them allowed, some refused by the state they meet — after which
//   - every session's events are numbered 1..last_seq exactly, and each operation answered
//     with the next numbers in order (a refused one with none, and wrote none);
//   - the stored state of every interaction equals the state rebuilt from its events (the
//     audit finds no difference).
//
// The seed is printed; IXN_MODEL_SEED=<n> runs one again, IXN_MODEL_OPS=<n> a longer run.
// Under CI the seed is fixed.
func TestRandomOperationsKeepStateAndEventsAgreed(t *testing.T) {
	t.Parallel()
	// A new walk at every run here; in CI the same walk, so that a red CI run is this change's
	// and not a walk no one can repeat (a failing seed found here is kept as a test of its own).
	seed := uint64(rand.Int64())
	if os.Getenv("CI") != "" {
		seed = 20261202
	}
	if v, err := strconv.ParseUint(os.Getenv("IXN_MODEL_SEED"), 10, 64); err == nil {
		seed = v
	}
	ops := 1500
	if v, err := strconv.Atoi(os.Getenv("IXN_MODEL_OPS")); err == nil && v > 0 {
		ops = v
	}
	t.Logf("seed %d (IXN_MODEL_SEED=%d to run it again), %d operations", seed, seed, ops)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	ctx := context.Background()
	pool := testdb.Pool(t)
	s := service.New(pool, service.Config{})
	const sessions = 12
	m := &model{t: t, s: s, rng: rng, lastSeq: map[string]int64{}}
	for i := range sessions {
		sid := fmt.Sprintf("m%d", i)
		if _, err := s.CreateSession(ctx, service.NewSession{SessionID: sid}); err != nil {
			t.Fatal(err)
		}
		m.sessions = append(m.sessions, sid)
	}
	accepted := map[string]int{}
	refused := map[string]int{}
	for range ops {
		name, events, err := m.step(ctx)
		sid := m.current
		switch {
		case err == nil:
			accepted[name]++
			for _, e := range events {
				if e.SessionID != sid {
					continue // associate's events in another session are counted there
				}
				m.lastSeq[sid]++
				if e.Seq != m.lastSeq[sid] {
					t.Fatalf("%s on %s: event %s has seq %d, want %d", name, sid, e.Name, e.Seq, m.lastSeq[sid])
				}
			}
		case errors.Is(err, fault.ErrInvalidTransition) || errors.Is(err, fault.ErrNotFound) ||
			errors.Is(err, fault.ErrConflict) || errors.Is(err, fault.ErrInvalid) || errors.Is(err, fault.ErrSessionEnded):
			refused[name]++
		default:
			t.Fatalf("%s on %s: %v", name, sid, err)
		}
	}
	t.Logf("accepted %v", accepted)
	t.Logf("refused %v", refused)
	if len(accepted) < 8 {
		t.Errorf("only %d kinds of operation were ever accepted: the walk does not cover the model", len(accepted))
	}

	// Numbering: what each session's answers said is what its outbox holds, 1..last_seq.
	for _, sid := range m.sessions {
		st, err := s.GetSession(ctx, sid)
		if err != nil {
			t.Fatal(err)
		}
		if st.LastSeq != m.lastSeq[sid] {
			t.Errorf("%s: last_seq %d, the answers numbered %d", sid, st.LastSeq, m.lastSeq[sid])
		}
		var seq int64
		for {
			evs, err := s.ListEvents(ctx, sid, seq, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) == 0 {
				break
			}
			for _, e := range evs {
				if seq++; e.Seq != seq {
					t.Fatalf("%s: event %d has seq %d", sid, seq, e.Seq)
				}
			}
		}
		if seq != st.LastSeq {
			t.Errorf("%s: %d events in the outbox, last_seq %d", sid, seq, st.LastSeq)
		}
	}

	// State: every interaction rebuilt from its events is what is stored.
	res, err := reporting.New(pool).Audit(ctx, reporting.AuditScope{Limit: reporting.MaxAuditLimit})
	if err != nil {
		t.Fatal(err)
	}
	if res.Checked == 0 {
		t.Fatal("the audit checked nothing")
	}
	for _, d := range res.Differences {
		t.Errorf("audit: %s/%s %s: stored %s, rebuilt %s", d.SessionID, d.InteractionID, d.Field, d.Stored, d.Rebuilt)
	}
	t.Logf("audit: %d interactions checked, %d skipped", res.Checked, res.Skipped)
}

// model chooses the next operation: on a random session, mostly on what it holds, so that
// most operations are allowed and the interesting states (held parties, merges, abandons) are
// reached; now and then on what it does not hold, so that refusals are exercised too.
type model struct {
	t        *testing.T
	s        *service.Store
	rng      *rand.Rand
	sessions []string
	current  string
	next     int
	lastSeq  map[string]int64
}

var (
	states = []string{"alerting", "established", "held", "released"}
	roles  = []string{"customer", "agent", "supervisor", "device"}
)

func (m *model) pick(xs []string) string { return xs[m.rng.IntN(len(xs))] }

func (m *model) step(ctx context.Context) (string, []service.Event, error) {
	m.current = m.pick(m.sessions)
	sid := m.current
	tg := service.Target{SessionID: sid}
	st, err := m.s.GetSession(ctx, sid)
	if err != nil {
		m.t.Fatal(err)
	}
	var ixns []service.Interaction
	for _, ix := range st.Interactions {
		if ix.State != "deleted" {
			ixns = append(ixns, ix)
		}
	}
	if len(ixns) == 0 || m.rng.IntN(8) == 0 {
		m.next++
		media := m.pick([]string{"voice", "voice", "chat", "email"})
		in := service.NewInteraction{InteractionID: fmt.Sprintf("%s-i%d", sid, m.next), Media: media,
			Type:     m.pick([]string{"inbound", "outbound", "internal", "consult"}),
			Parties:  []service.NewParty{{PartyID: "c", Resource: "+1555" + strconv.Itoa(m.next), State: "alerting", Role: sp("customer")}},
			UserData: map[string]json.RawMessage{"n": json.RawMessage(strconv.Itoa(m.next))}}
		ev, err := m.s.AddInteraction(ctx, tg, in)
		return "add", ev, err
	}
	ix := ixns[m.rng.IntN(len(ixns))]
	iid := ix.InteractionID
	party := func() string {
		if len(ix.Parties) == 0 || m.rng.IntN(10) == 0 {
			return "nobody"
		}
		return ix.Parties[m.rng.IntN(len(ix.Parties))].PartyID
	}
	switch op := m.rng.IntN(100); {
	case op < 10:
		ev, err := m.s.PresentInteraction(ctx, tg, iid)
		return "present", ev, err
	case op < 30:
		ev, err := m.s.ChangePartyState(ctx, tg, iid, party(), service.PartyStateChange{State: m.pick(states)})
		return "party state", ev, err
	case op < 42:
		m.next++
		ev, err := m.s.AddParty(ctx, tg, iid, service.NewParty{PartyID: fmt.Sprintf("p%d", m.next),
			Resource: strconv.Itoa(7000 + m.rng.IntN(20)), State: m.pick(states[:2]), Role: sp(m.pick(roles))})
		return "add party", ev, err
	case op < 47:
		ev, err := m.s.DeleteParty(ctx, tg, iid, party())
		return "delete party", ev, err
	case op < 57:
		data := map[string]json.RawMessage{"k" + strconv.Itoa(m.rng.IntN(4)): json.RawMessage(strconv.Itoa(m.rng.IntN(100)))}
		if m.rng.IntN(4) == 0 {
			data["n"] = json.RawMessage("null")
		}
		ev, err := m.s.MergeUserData(ctx, tg, iid, service.UserDataChange{Origin: m.pick([]string{"media", "session"}), Data: data})
		return "udata", ev, err
	case op < 62:
		ev, err := m.s.ReportSingleStepTransfer(ctx, tg, iid, service.PartyLeft{PartyID: party(), NewDestination: "sales"})
		return "single-step transfer", ev, err
	case op < 67:
		m.next++
		ev, err := m.s.ReportSingleStepConference(ctx, tg, iid, service.Conference{PartyID: party(),
			AddedParty: service.NewParty{PartyID: fmt.Sprintf("p%d", m.next), Resource: "7100", State: "alerting", Role: sp("agent")}})
		return "single-step conference", ev, err
	case op < 72:
		if len(ixns) < 2 || len(ix.Parties) < 2 {
			ev, err := m.s.ReportDivert(ctx, tg, iid, service.PartyLeft{PartyID: party(), NewDestination: "q"})
			return "divert", ev, err
		}
		into := ixns[m.rng.IntN(len(ixns))]
		ev, err := m.s.ReportMerge(ctx, tg, iid, service.Merge{IntoInteractionID: into.InteractionID,
			ActivePartyID: party(), HeldPartyID: party()})
		return "merge", ev, err
	case op < 76:
		resource := "nobody"
		if len(ix.Parties) > 0 {
			resource = ix.Parties[0].Resource
		}
		ev, err := m.s.ReportAbandoned(ctx, tg, iid, service.Abandon{FocusResource: resource, Reason: "hangup"})
		return "abandoned", ev, err
	case op < 82:
		ev, err := m.s.ReleaseControl(ctx, tg, iid, m.pick([]string{"deletion", "detach"}))
		return "notcontrolled", ev, err
	case op < 90:
		ev, err := m.s.DeleteInteraction(ctx, tg, iid)
		return "delete", ev, err
	case op < 98:
		action := m.pick([]string{"terminate", "accept", "clear", "pick"})
		req, err := m.s.CreateRequest(ctx, tg, service.NewRequest{Action: action, InteractionID: iid,
			Resource: firstResource(ix)})
		if err != nil {
			var refusal *service.RequestRefusal
			if errors.As(err, &refusal) {
				// Refused by the state: stored as failed with its error event.
				evs, lerr := m.s.ListEvents(ctx, sid, m.lastSeq[sid], 0)
				if lerr != nil {
					m.t.Fatal(lerr)
				}
				return "request (refused)", evs, nil
			}
			return "request", nil, err
		}
		if m.rng.IntN(3) == 0 {
			_, ev, err := m.s.ReportRequest(ctx, sid, req.RequestID, service.RequestOutcome{Result: "failed", Error: "remote"})
			return "request failed", ev, err
		}
		_, ev, err := m.s.ReportRequest(ctx, sid, req.RequestID, service.RequestOutcome{Result: "done"})
		return "request done", ev, err
	default:
		ev, err := m.s.ReleaseControl(ctx, tg, iid, "detach")
		return "notcontrolled", ev, err
	}
}

func firstResource(ix service.Interaction) *string {
	if len(ix.Parties) == 0 {
		return nil
	}
	return &ix.Parties[0].Resource
}
