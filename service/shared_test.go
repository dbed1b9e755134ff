package service_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/internal/fault"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/service"
)

// sharedStore is a store with shared commits on, and n sessions s1..sn, each with interaction
// iN and party p1 established.
func sharedStore(t *testing.T, slots, n int) (*service.Store, *pgxpool.Pool) {
	t.Helper()
	pool := testdb.Pool(t)
	s := service.New(pool, service.Config{SharedCommits: slots})
	ctx := context.Background()
	for i := 1; i <= n; i++ {
		sid := fmt.Sprintf("s%d", i)
		must[service.Session](t)(s.CreateSession(ctx, service.NewSession{SessionID: sid, OwnerNode: ptr("n1")}))
		must[[]service.Event](t)(s.AddInteraction(ctx, service.Target{SessionID: sid}, service.NewInteraction{
			InteractionID: "i" + sid, Media: "voice", Type: "inbound",
			Parties: []service.NewParty{{PartyID: "p1", Resource: "7001", State: "established"}},
		}))
	}
	return s, pool
}

func toHeld(sid string) db.PartyStateChangeParams {
	return db.PartyStateChangeParams{SessionID: sid, InteractionID: "i" + sid, PartyID: "p1", State: "held", Hints: []byte("{}")}
}

func lastSeq(t *testing.T, pool *pgxpool.Pool, sid string) int64 {
	t.Helper()
	var seq int64
	if err := pool.QueryRow(context.Background(), "SELECT last_seq FROM sessions WHERE session_id = $1", sid).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	return seq
}

// A refused change in the middle of a shared commit refuses only itself and writes nothing;
// the others commit with their events.
func TestSharedCommitRefusesOnlyTheRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := sharedStore(t, 1, 3)
	before := lastSeq(t, pool, "s2")
	bad := toHeld("s2")
	bad.PartyID = "nobody"
	rows, errs := s.ApplyShared(ctx, []db.PartyStateChangeParams{toHeld("s3"), bad, toHeld("s1")})
	if errs[0] != nil || errs[2] != nil {
		t.Fatalf("the good changes failed: %v, %v", errs[0], errs[2])
	}
	if !errors.Is(errs[1], fault.ErrNotFound) {
		t.Errorf("the refused change: %v, want not found", errs[1])
	}
	for i, sid := range map[int]string{0: "s3", 2: "s1"} {
		if len(rows[i]) != 1 || rows[i][0].SessionID != sid || rows[i][0].Name != "interaction.partystatechanged" ||
			rows[i][0].Seq != lastSeq(t, pool, sid) {
			t.Errorf("change %d (%s): events %+v", i, sid, rows[i])
		}
	}
	if rows[1] != nil || lastSeq(t, pool, "s2") != before {
		t.Errorf("the refused change wrote: events %+v, last seq %d → %d", rows[1], before, lastSeq(t, pool, "s2"))
	}
	if p := must[service.SessionState](t)(s.GetSession(ctx, "s2")).Interactions[0].Parties[0]; p.State != "established" {
		t.Errorf("s2's party is %s", p.State)
	}
}

// Two shared commits that hold the same sessions, asked in opposite orders, do not deadlock:
// each locks its sessions in id order.
func TestSharedCommitsInOppositeOrderDoNotDeadlock(t *testing.T) {
	t.Parallel()
	s, _ := sharedStore(t, 2, 4)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	toggle := func(sid string, held bool) db.PartyStateChangeParams {
		p := toHeld(sid)
		if !held {
			p.State = "established"
		}
		return p
	}
	sids := []string{"s1", "s2", "s3", "s4"}
	for round := range 30 {
		held := round%2 == 0
		var forward, backward []db.PartyStateChangeParams
		for i := range sids {
			// Each session's change is in both batches: one of the two is refused (the party
			// is already in that state), whichever commits second.
			forward = append(forward, toggle(sids[i], held))
			backward = append(backward, toggle(sids[len(sids)-1-i], held))
		}
		var wg sync.WaitGroup
		outcomes := make([][]error, 2)
		for k, batch := range [][]db.PartyStateChangeParams{forward, backward} {
			wg.Go(func() { _, outcomes[k] = s.ApplyShared(ctx, batch) })
		}
		wg.Wait()
		for i := range sids {
			a, b := outcomes[0][i], outcomes[1][len(sids)-1-i]
			if (a == nil) == (b == nil) {
				t.Fatalf("round %d, %s: outcomes %v and %v, want exactly one change to go through", round, sids[i], a, b)
			}
			if err := errors.Join(a, b); !errors.Is(err, fault.ErrInvalidTransition) {
				t.Fatalf("round %d, %s: %v, want the second refused as an invalid transition", round, sids[i], err)
			}
		}
	}
}

// A shared commit that fails at commit answers every change in it with the error, and none of
// them is written.
func TestSharedCommitFailingAtCommitWritesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := sharedStore(t, 1, 3)
	// A deferred constraint trigger runs at commit: the commit fails after every change in
	// the statement was applied.
	if _, err := pool.Exec(ctx, `
		CREATE FUNCTION test_refuse_commit() RETURNS trigger LANGUAGE plpgsql AS
		  $$ BEGIN RAISE EXCEPTION 'refused at commit' USING ERRCODE = 'P0001'; END $$;
		CREATE CONSTRAINT TRIGGER test_refuse_commit AFTER INSERT ON outbox
		  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_refuse_commit();`); err != nil {
		t.Fatal(err)
	}
	before := map[string]int64{}
	for _, sid := range []string{"s1", "s2", "s3"} {
		before[sid] = lastSeq(t, pool, sid)
	}
	rows, errs := s.ApplyShared(ctx, []db.PartyStateChangeParams{toHeld("s1"), toHeld("s2"), toHeld("s3")})
	for i, err := range errs {
		if err == nil || rows[i] != nil {
			t.Errorf("change %d: events %+v, error %v; want an error and no events", i, rows[i], err)
		}
	}
	for sid, seq := range before {
		if got := lastSeq(t, pool, sid); got != seq {
			t.Errorf("%s: last seq %d → %d after a failed commit", sid, seq, got)
		}
	}
}

// Many clients changing party states through a store with shared commits: every answered
// change is written once, each session's events are gap-free, and what the sessions hold is
// what the answers said.
func TestSharedCommitsUnderConcurrentClients(t *testing.T) {
	t.Parallel()
	const sessions, clients, perClient = 8, 16, 20
	s, pool := sharedStore(t, 2, sessions)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		changed = map[string]int64{}
	)
	for c := range clients {
		wg.Go(func() {
			for k := range perClient {
				sid := fmt.Sprintf("s%d", 1+(c+k)%sessions)
				state := "held"
				if k%2 == 1 {
					state = "established"
				}
				events, err := s.ChangePartyState(ctx, service.Target{SessionID: sid}, "i"+sid, "p1", service.PartyStateChange{State: state})
				switch {
				case err == nil:
					mu.Lock()
					changed[sid] += int64(len(events))
					mu.Unlock()
				case !errors.Is(err, fault.ErrInvalidTransition):
					t.Errorf("%s → %s: %v", sid, state, err)
				}
			}
		})
	}
	wg.Wait()
	for i := 1; i <= sessions; i++ {
		sid := fmt.Sprintf("s%d", i)
		events := must[[]service.Event](t)(s.ListEvents(ctx, sid, 0, 1000))
		for k, e := range events {
			if e.Seq != int64(k+1) {
				t.Fatalf("%s: event %d has seq %d", sid, k, e.Seq)
			}
		}
		// Its state changes are exactly those answered, no more, no fewer.
		var added int64
		for _, e := range events {
			if e.Name == "interaction.partystatechanged" {
				added++
			}
		}
		if added != changed[sid] || lastSeq(t, pool, sid) != int64(len(events)) {
			t.Errorf("%s: %d state changes stored, %d answered; last seq %d of %d events", sid, added, changed[sid],
				lastSeq(t, pool, sid), len(events))
		}
	}
}
