package benchcli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ixnstore/ixnstore/db"
	"github.com/ixnstore/ixnstore/dispatcher"
	"github.com/ixnstore/ixnstore/internal/testdb"
	"github.com/ixnstore/ixnstore/reporting"
	"github.com/ixnstore/ixnstore/service/catalog"
)

const seedTestEnd = "2026-01-02T03:04:05.123456Z"

func runSeedCmd(t *testing.T, url string, extra ...string) (code int, stdout, stderr string) {
	t.Helper()
	args := append([]string{"seed", "--database-url", url, "--interactions", "2000", "--days", "2", "--chunk", "600",
		"--nodes", "5", "--end", seedTestEnd, "--log-level", "warn"}, extra...)
	var out, errs bytes.Buffer
	code = Main(context.Background(), args, &out, &errs)
	return code, out.String(), errs.String()
}

func seedPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func allPublished(t *testing.T, q *db.Queries) []db.PublishedListAfterRow {
	t.Helper()
	events, err := q.PublishedListAfter(context.Background(), db.PublishedListAfterParams{AfterPubSeq: 0, MaxRows: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// seededInteraction is what the events of one interaction say about it.
type seededInteraction struct {
	session                             string
	added, deleted, abandoned, answered *time.Time
	transfers, conferences              int32
	resources                           map[string]string // resource → party id of its first party
}

func TestSeedWritesConsistentHistory(t *testing.T) {
	ctx := context.Background()
	url := testdb.URL(t)
	code, stdout, stderr := runSeedCmd(t, url)
	if code != 0 {
		t.Fatalf("seed exited %d: %s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "seeded 2000 interactions (1001 sessions") {
		t.Errorf("the summary does not say what was seeded:\n%s", stdout)
	}
	pool := seedPool(t, url)
	q := db.New(pool)

	counts, err := q.StoreCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// 333 sessions of 1 + 2 + 3 interaction numbers, then 1998 and 1999 in two more.
	if counts.Interactions != 2000 || counts.Sessions != 1001 {
		t.Fatalf("counts %+v, want 2000 interactions in 1001 sessions", counts)
	}

	// Every event is published, in outbox order, which is time order within a chunk (a chunk's
	// last interactions end up to 20 minutes after the next one's first begin), and the
	// dispatcher is past the last one.
	events := allPublished(t, q)
	if int64(len(events)) != counts.Events {
		t.Fatalf("%d events published of %d", len(events), counts.Events)
	}
	var latest time.Time
	for i, e := range events {
		if e.PubSeq != int64(i+1) {
			t.Fatalf("publication %d has pub_seq %d", i+1, e.PubSeq)
		}
		if i > 0 && (e.ID <= events[i-1].ID || e.CreatedAt.Before(latest.Add(-20*time.Minute))) {
			t.Fatalf("pub_seq %d (id %d at %s) comes after id %d at %s", e.PubSeq, e.ID, e.CreatedAt, events[i-1].ID, events[i-1].CreatedAt)
		}
		if e.CreatedAt.After(latest) {
			latest = e.CreatedAt
		}
	}
	st, err := q.DispatcherStateGet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if last := events[len(events)-1]; st.LastPubSeq != last.PubSeq || st.CursorID != last.ID {
		t.Errorf("dispatcher at pub_seq %d, outbox id %d; the last event is %d, id %d", st.LastPubSeq, st.CursorID, last.PubSeq, last.ID)
	}

	// Each session's events are numbered 1, 2, 3, ... and carry exactly the reference's
	// attributes; from them, what each interaction went through.
	end, _ := time.Parse(time.RFC3339Nano, seedTestEnd)
	lastSeq := map[string]int64{}
	owners := map[string]string{}
	ixns := map[string]*seededInteraction{}
	for _, e := range events {
		if e.Seq != lastSeq[e.SessionID]+1 {
			t.Fatalf("session %s: event %d after %d", e.SessionID, e.Seq, lastSeq[e.SessionID])
		}
		lastSeq[e.SessionID] = e.Seq
		if e.Epoch != 1 || e.NodeID == nil || (owners[e.SessionID] != "" && owners[e.SessionID] != *e.NodeID) {
			t.Fatalf("session %s event %d: node %v epoch %d", e.SessionID, e.Seq, e.NodeID, e.Epoch)
		}
		owners[e.SessionID] = *e.NodeID
		if e.CreatedAt.After(end) {
			t.Fatalf("session %s event %d at %s, after the end %s", e.SessionID, e.Seq, e.CreatedAt, end)
		}
		var attrs map[string]any
		if err := json.Unmarshal(e.Attrs, &attrs); err != nil {
			t.Fatal(err)
		}
		ref, ok := catalog.Lookup(string(e.Name))
		if !ok {
			t.Fatalf("%s is not in the catalog", e.Name)
		}
		want := append(slices.Clone(ref.Attributes), catalog.Extra[ref.Name]...)
		if got := slices.Sorted(maps.Keys(attrs)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
			t.Fatalf("%s carries %v, the reference %v", e.Name, got, want)
		}
		id, _ := attrs["interactionid"].(string)
		x := ixns[id]
		if x == nil {
			x = &seededInteraction{session: e.SessionID, resources: map[string]string{}}
			ixns[id] = x
		}
		at := e.CreatedAt
		switch e.Name {
		case db.EventNameInteractionadded:
			x.added = &at
		case db.EventNameInteractiondeleted:
			x.deleted = &at
		case db.EventNameInteractionabandoned:
			x.abandoned = &at
		case db.EventNameInteractiononsinglesteptransfer:
			x.transfers++
		case db.EventNameInteractiononsinglestepconference:
			x.conferences++
		case db.EventNameInteractionpartyadded:
			if _, ok := x.resources[attrs["focusresource"].(string)]; !ok {
				x.resources[attrs["focusresource"].(string)] = attrs["partyid"].(string)
			}
		case db.EventNameInteractionpartystatechanged:
			if attrs["partystate"] == "established" && x.answered == nil {
				x.answered = &at
			}
		}
	}
	if len(ixns) != 2000 {
		t.Fatalf("the events name %d interactions", len(ixns))
	}

	// The stored state agrees with the events: the sessions' numbers and ends, the
	// interactions' times and counts, the resources; the parties of the live ones, control and
	// state by the audit.
	media := map[string]int{}
	kinds := map[string]int{}
	for id, x := range ixns {
		i, err := q.InteractionGet(ctx, db.InteractionGetParams{SessionID: x.session, InteractionID: id})
		if err != nil {
			t.Fatalf("interaction %s: %v", id, err)
		}
		media[i.Media]++
		switch {
		case x.abandoned != nil:
			kinds["abandoned"]++
		case x.transfers > 0:
			kinds["transfer"]++
		case x.conferences > 0:
			kinds["conference"]++
		}
		if x.deleted == nil {
			kinds["live"]++
		}
		if !i.CreatedAt.Equal(*x.added) || !sameTime(i.DeletedAt, x.deleted) || !sameTime(i.AbandonedAt, x.abandoned) ||
			!sameTime(i.FirstEstablishedAt, x.answered) || i.Transfers != x.transfers || i.Conferences != x.conferences {
			t.Fatalf("interaction %s is stored as %+v; its events say %+v", id, i, x)
		}
		if x.abandoned != nil && x.deleted == nil {
			t.Errorf("interaction %s was abandoned and is still live", id)
		}
		if d := x.deleted; d != nil && (d.Sub(*x.added) < 30*time.Second && d.Before(end) || d.Sub(*x.added) > 20*time.Minute) {
			t.Errorf("interaction %s lasted %s", id, d.Sub(*x.added))
		}
		parties, err := q.PartyListByInteraction(ctx, db.PartyListByInteractionParams{SessionID: x.session, InteractionID: id})
		if err != nil {
			t.Fatal(err)
		}
		// An abandoned interaction keeps none: its customer left and its agent was released,
		// and a released party leaves its interaction.
		if abandoned := x.abandoned != nil; abandoned && len(parties) != 0 || !abandoned && (len(parties) < 1 || len(parties) > 3) {
			t.Errorf("interaction %s (abandoned %v) has %d parties", id, abandoned, len(parties))
		}
		udata, err := q.UserDataListByInteraction(ctx, db.UserDataListByInteractionParams{SessionID: x.session, InteractionID: id})
		if err != nil {
			t.Fatal(err)
		}
		if len(udata) < 2 || len(udata) > 3 {
			t.Errorf("interaction %s has %d user data keys", id, len(udata))
		}
	}
	for sid, last := range lastSeq {
		s, err := q.SessionGet(ctx, sid)
		if err != nil {
			t.Fatal(err)
		}
		live := false
		for _, x := range ixns {
			live = live || x.session == sid && x.deleted == nil
		}
		if s.LastSeq != last || *s.OwnerNode != owners[sid] || (s.State == db.SessionStateActive) != live ||
			(s.EndedAt == nil) != live {
			t.Fatalf("session %s is stored as %+v; its events end at %d, live %v, node %s", sid, s, last, live, owners[sid])
		}
	}
	within := func(what string, got int, want float64) {
		if f := float64(got) / 2000; f < want-0.04 || f > want+0.04 {
			t.Errorf("%s: %.1f%%, want about %.0f%%", what, 100*f, 100*want)
		}
	}
	within("voice", media["voice"], 0.60)
	within("chat", media["chat"], 0.25)
	within("email", media["email"], 0.15)
	within("abandoned", kinds["abandoned"], 0.05)
	within("transferred", kinds["transfer"], 0.10)
	within("conferenced", kinds["conference"], 0.05)
	within("live", kinds["live"], 0.15*0.95)

	r := reporting.New(pool)
	audit, err := r.Audit(ctx, reporting.AuditScope{Limit: reporting.MaxAuditLimit})
	if err != nil {
		t.Fatal(err)
	}
	if audit.Checked != 2000 || len(audit.Differences) > 0 {
		t.Fatalf("audit: %d checked, %d skipped, differences %+v", audit.Checked, audit.Skipped, audit.Differences)
	}
	// The resources ever on the interactions of an agent: the report answers from
	// interaction_resources, the events from partyadded.
	for _, agent := range []string{"agent-1", "agent-250", "agent-500"} {
		want := map[string]bool{}
		for id, x := range ixns {
			if x.resources[agent] != "" {
				want[id] = true
			}
		}
		page, err := r.ListInteractions(ctx, reporting.Filter{Resource: agent}, "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, i := range page.Interactions {
			got[i.InteractionID] = true
		}
		if !maps.Equal(got, want) {
			t.Errorf("interactions with %s: reported %d, the events say %d", agent, len(got), len(want))
		}
	}

	nodes, err := q.NodeList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 5 || !nodes[0].Alive || nodes[0].NodeID != "node-1" {
		t.Errorf("nodes: %+v", nodes)
	}

	// A dispatcher started afterwards publishes only what is written afterwards.
	live := ""
	for id, x := range ixns {
		if x.deleted == nil {
			live = id
			break
		}
	}
	if _, err := q.InteractionDelete(ctx, db.InteractionDeleteParams{SessionID: ixns[live].session, InteractionID: live}); err != nil {
		t.Fatal(err)
	}
	dctx, stop := context.WithCancel(ctx)
	defer stop()
	go dispatcher.New(dispatcher.Config{ConnString: url, Instance: "test", PollInterval: 10 * time.Millisecond}).Run(dctx)
	// Long: the dispatcher waits for every older transaction of the server to end, in any database.
	deadline := time.Now().Add(time.Minute)
	for {
		st, err := q.DispatcherStateGet(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.LastPubSeq == counts.Events+2 {
			break
		}
		if st.LastPubSeq != counts.Events || time.Now().After(deadline) {
			t.Fatalf("after the seed's %d events and 2 more, the dispatcher is at %d", counts.Events, st.LastPubSeq)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	events = allPublished(t, q)
	for _, e := range events[counts.Events:] {
		if e.SessionID != ixns[live].session {
			t.Errorf("the dispatcher published event %d of session %s", e.Seq, e.SessionID)
		}
	}
}

func sameTime(a, b *time.Time) bool {
	return a == nil && b == nil || a != nil && b != nil && a.Equal(*b)
}

func TestSeedIsDeterministicAndAppends(t *testing.T) {
	ctx := context.Background()
	first, second := testdb.URL(t), testdb.URL(t)
	for _, url := range []string{first, second} {
		if code, stdout, stderr := runSeedCmd(t, url, "--interactions", "300", "--seed", "7"); code != 0 {
			t.Fatalf("seed exited %d: %s%s", code, stdout, stderr)
		}
	}
	key := func(e db.PublishedListAfterRow) string {
		return fmt.Sprintf("%s %d %s %s %s %s", e.SessionID, e.Seq, e.Name, e.Attrs, *e.NodeID, e.CreatedAt.Format(time.RFC3339Nano))
	}
	a, b := allPublished(t, db.New(seedPool(t, first))), allPublished(t, db.New(seedPool(t, second)))
	if len(a) != len(b) {
		t.Fatalf("the same seed gave %d and %d events", len(a), len(b))
	}
	for i := range a {
		if key(a[i]) != key(b[i]) {
			t.Fatalf("the same seed gave\n%s\n%s", key(a[i]), key(b[i]))
		}
	}

	code, _, stderr := runSeedCmd(t, first, "--interactions", "300")
	if code != 1 || !strings.Contains(stderr, "already holds 300 interactions") {
		t.Fatalf("a second seed without --append: exit %d, %s", code, stderr)
	}
	if code, stdout, stderr := runSeedCmd(t, first, "--interactions", "10", "--append"); code != 0 {
		t.Fatalf("seed --append exited %d: %s%s", code, stdout, stderr)
	}
	pool := seedPool(t, first)
	q := db.New(pool)
	counts, err := q.StoreCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts.Interactions != 310 {
		t.Fatalf("%d interactions after appending 10 to 300", counts.Interactions)
	}
	// Numbered on from the next session block: 300 is one.
	if _, err := q.InteractionGet(ctx, db.InteractionGetParams{SessionID: "seed-s0000000050-0", InteractionID: "seed-i0000000300"}); err != nil {
		t.Fatalf("the first appended interaction: %v", err)
	}
	if st, err := q.DispatcherStateGet(ctx); err != nil || st.LastPubSeq != counts.Events {
		t.Fatalf("after the append the dispatcher is at %d of %d events (%v)", st.LastPubSeq, counts.Events, err)
	}
	audit, err := reporting.New(pool).Audit(ctx, reporting.AuditScope{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if audit.Checked != 310 || len(audit.Differences) > 0 {
		t.Fatalf("audit: %d checked, differences %+v", audit.Checked, audit.Differences)
	}
}

func TestSeedLeavesARunningDispatcherAlone(t *testing.T) {
	ctx := context.Background()
	url := testdb.URL(t)
	pool := seedPool(t, url)
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if got, err := db.New(conn).DispatcherTryLock(ctx); err != nil || !got {
		t.Fatalf("taking the dispatcher's lock: %v %v", got, err)
	}
	code, _, stderr := runSeedCmd(t, url, "--interactions", "6")
	if code != 1 || !strings.Contains(stderr, "dispatching on this database") {
		t.Fatalf("seed beside a dispatcher: exit %d, %s", code, stderr)
	}
	// Without publishing it does not need the lock, and leaves the events to the dispatcher.
	if code, stdout, stderr := runSeedCmd(t, url, "--interactions", "6", "--publish=false"); code != 0 {
		t.Fatalf("seed --publish=false exited %d: %s%s", code, stdout, stderr)
	}
	if st, err := db.New(pool).DispatcherStateGet(ctx); err != nil || st.LastPubSeq != 0 {
		t.Fatalf("the dispatcher's position after seed --publish=false: %+v %v", st, err)
	}
}
