package day

import (
	"fmt"
	"strings"

	"github.com/ixnstore/ixnstore/client"
)

// Record is what the simulator did to one session and what it was told: the ledger the
// session's events are checked against afterwards.
type Record struct {
	Session string
	// Confirmed holds the events of every write answered 2xx, in the order each actor got
	// them (an actor is a node or an adapter: each does its writes to a session one after
	// the other).
	Confirmed []Confirmed
	// Requests are the action requests made on the session (answered 202, or refused with
	// 409 request_refused, which stores the error event): request id → interaction.
	Requests map[string]string
	// Initial is the parties each interaction was added with: interaction → party → state.
	// They join without an event of their own.
	Initial map[string]map[string]client.PartyState
	// Unsure: a write got no answer (outcome unknown), so its events may be there without
	// the simulator having been told of them.
	Unsure bool
}

// Confirmed is one event of a write answered 2xx, and who wrote it.
type Confirmed struct {
	Actor string
	Event client.Event
}

func newRecord(sid string) *Record {
	return &Record{Session: sid, Requests: map[string]string{}, Initial: map[string]map[string]client.PartyState{}}
}

// Check compares a session's events, as read back through the API in seq order, with what
// the simulator did, and returns every problem found (none: the session is right):
//
//   - seqs run 1, 2, 3, ... without a gap or a repeat, ids are unique, epochs never go down;
//   - every event of a 2xx answer is there exactly once, at the seq and with the name the
//     answer gave, and each actor's events come in the order it wrote them;
//   - every action request made ends in exactly one answer event (done or error);
//   - no event is there that no write, request or takeover explains;
//   - each interaction's events follow the reference's order: added first, nothing after
//     deleted, present and notcontrolled alternate, deleted only once not controlled,
//     parties join before they change, change only by the allowed moves, and leave right
//     after reaching released, abandoned at most once, restored only while live.
func Check(rec *Record, events []client.Event) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	byID := make(map[int64]client.Event, len(events))
	var lastSeq, lastEpoch int64
	for _, ev := range events {
		switch {
		case ev.SessionID != rec.Session:
			bad("event %d (seq %d) is of session %q", ev.ID, ev.Seq, ev.SessionID)
		case ev.Seq <= lastSeq:
			bad("seq %d (%s) comes after seq %d: out of order or repeated", ev.Seq, ev.Name, lastSeq)
		case ev.Seq != lastSeq+1:
			bad("seq %d (%s) follows seq %d: a gap", ev.Seq, ev.Name, lastSeq)
		}
		lastSeq = max(lastSeq, ev.Seq)
		if ev.Epoch < lastEpoch {
			bad("seq %d (%s) has epoch %d after epoch %d", ev.Seq, ev.Name, ev.Epoch, lastEpoch)
		}
		lastEpoch = max(lastEpoch, ev.Epoch)
		if _, dup := byID[ev.ID]; dup {
			bad("event id %d is there twice", ev.ID)
		}
		byID[ev.ID] = ev
	}

	explained := make(map[int64]bool, len(events))
	lastOf := map[string]int64{} // actor → seq of its last confirmed event
	for _, c := range rec.Confirmed {
		want := c.Event
		got, ok := byID[want.ID]
		switch {
		case !ok:
			bad("event %d (%s, seq %d) answered to %s is missing", want.ID, want.Name, want.Seq, c.Actor)
			continue
		case explained[want.ID]:
			bad("event %d (%s) was answered twice", want.ID, want.Name)
		case got.Seq != want.Seq || got.Name != want.Name:
			bad("event %d was answered as %s at seq %d and reads %s at seq %d", want.ID, want.Name, want.Seq, got.Name, got.Seq)
		}
		explained[want.ID] = true
		if want.Seq <= lastOf[c.Actor] {
			bad("%s wrote seq %d (%s) after seq %d", c.Actor, want.Seq, want.Name, lastOf[c.Actor])
		}
		lastOf[c.Actor] = want.Seq
	}

	answers := map[string]int{}
	for _, ev := range events {
		rid, isAnswer := answerOf(ev)
		if isAnswer {
			answers[rid]++
			if _, ours := rec.Requests[rid]; ours {
				explained[ev.ID] = true // a timeout, a refusal or the session's end wrote it
			}
		}
		if ev.Name == "interaction.restored" {
			explained[ev.ID] = true // a takeover by ixnstore's assigner answers to nobody
		}
		if !explained[ev.ID] && !rec.Unsure {
			bad("seq %d (%s) was written by nothing the simulator did", ev.Seq, ev.Name)
		}
	}
	for rid := range rec.Requests {
		if n := answers[rid]; n != 1 {
			bad("request %s ended in %d answer events, not 1", rid, n)
		}
	}
	for rid, n := range answers {
		if _, ours := rec.Requests[rid]; !ours {
			bad("%d answer events of request %s, which was never made", n, rid)
		}
	}
	return append(problems, checkReferenceOrder(rec, events)...)
}

// answerOf: the request an event answers, if it is an answer (interaction.<action>.done or
// error.interaction.<action>).
func answerOf(ev client.Event) (string, bool) {
	name := string(ev.Name)
	failed := strings.HasPrefix(name, "error.interaction.")
	done := strings.HasPrefix(name, "interaction.") && strings.HasSuffix(name, ".done")
	if !failed && !done {
		return "", false
	}
	rid, _ := ev.Data["requestid"].(string)
	return rid, true
}

// interactionState is an interaction as its events so far say it is.
type interactionState struct {
	added, deleted, controlled, abandoned bool
	parties                               map[string]client.PartyState
	mustLeave                             string // a party that reached released: its partydeleted is next
}

// moves are the party state changes the API allows (docs/api.md, "States").
var moves = func() map[client.PartyState][]client.PartyState {
	waiting := []client.PartyState{client.Routing, client.Queued, client.Treatment}
	m := map[client.PartyState][]client.PartyState{
		client.Dialing:     {client.Alerting, client.Established, client.Released},
		client.Alerting:    append([]client.PartyState{client.Established, client.Held, client.Released}, waiting...),
		client.Established: append([]client.PartyState{client.Held, client.Released}, waiting...),
		client.Held:        {client.Established, client.Released},
	}
	for _, w := range waiting {
		for _, o := range waiting {
			if o != w {
				m[w] = append(m[w], o)
			}
		}
		m[w] = append(m[w], client.Alerting, client.Established, client.Released)
	}
	return m
}()

func allowed(from, to client.PartyState) bool {
	for _, s := range moves[from] {
		if s == to {
			return true
		}
	}
	return false
}

// checkReferenceOrder follows each interaction's events in seq order through the states
// the reference allows.
func checkReferenceOrder(rec *Record, events []client.Event) []string {
	var problems []string
	ixns := map[string]*interactionState{}
	var pendingLeave *interactionState // the interaction whose released party must leave next
	for _, ev := range events {
		bad := func(format string, args ...any) {
			problems = append(problems, fmt.Sprintf("seq %d (%s): ", ev.Seq, ev.Name)+fmt.Sprintf(format, args...))
		}
		str := func(k string) string { s, _ := ev.Data[k].(string); return s }
		iid, pid := str("interactionid"), str("partyid")
		if pendingLeave != nil {
			if ev.Name != "interaction.partydeleted" || pid != pendingLeave.mustLeave {
				bad("party %s reached released and did not leave next", pendingLeave.mustLeave)
			}
			pendingLeave.mustLeave, pendingLeave = "", nil
		}
		if _, isAnswer := answerOf(ev); isAnswer || iid == "" {
			continue // answers name a request; their effects are checked as their own events
		}
		st := ixns[iid]
		if ev.Name == "interaction.added" {
			if st != nil && !st.deleted {
				bad("interaction %s added while live", iid)
			}
			st = &interactionState{added: true, parties: map[string]client.PartyState{}}
			for p, s := range rec.Initial[iid] {
				st.parties[p] = s
			}
			ixns[iid] = st
			continue
		}
		if st == nil {
			bad("interaction %s before its interaction.added", iid)
			continue
		}
		if st.deleted {
			bad("interaction %s after its interaction.deleted", iid)
			continue
		}
		switch ev.Name {
		case "interaction.present":
			if st.controlled {
				bad("interaction %s presented while controlled", iid)
			}
			st.controlled = true
		case "interaction.notcontrolled":
			if !st.controlled {
				bad("interaction %s not controlled already", iid)
			}
			st.controlled = false
		case "interaction.deleted":
			if st.controlled {
				bad("interaction %s deleted while controlled (no notcontrolled before)", iid)
			}
			st.deleted = true
		case "interaction.partyadded":
			if _, on := st.parties[pid]; on {
				bad("party %s added twice", pid)
			}
			st.parties[pid] = client.PartyState(str("partystate"))
		case "interaction.partystatechanged":
			from, on := st.parties[pid]
			to := client.PartyState(str("partystate"))
			switch {
			case !on:
				bad("party %s is not on interaction %s", pid, iid)
			case !allowed(from, to):
				bad("party %s moved from %s to %s", pid, from, to)
			}
			st.parties[pid] = to
			if to == client.Released {
				st.mustLeave, pendingLeave = pid, st
			}
		case "interaction.partydeleted":
			if _, on := st.parties[pid]; !on {
				bad("party %s left interaction %s without being on it", pid, iid)
			}
			delete(st.parties, pid)
		case "interaction.abandoned":
			if st.abandoned {
				bad("interaction %s abandoned twice", iid)
			}
			st.abandoned = true
		}
	}
	if pendingLeave != nil {
		problems = append(problems, fmt.Sprintf("party %s reached released and never left", pendingLeave.mustLeave))
	}
	return problems
}
