package service_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/ixnstore/ixnstore/service"
)

// Fifty writers change one session at once. Their events must be numbered exactly 1..N, with
// no gap and no number used twice, and each writer's own events must keep its order.
func TestConcurrentWritersNumberEventsWithoutGaps(t *testing.T) {
	t.Parallel()
	const writers, rounds = 50, 6
	ctx := context.Background()
	s, _ := newStore(t)
	tg := fixture(t, s)
	start := must[service.SessionState](t)(s.GetSession(ctx, "s1")).LastSeq

	var wg sync.WaitGroup
	errs := make(chan error, writers)
	seqs := make([][]int64, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			party := fmt.Sprintf("w%d", w)
			record := func(events []service.Event, err error) error {
				for _, e := range events {
					seqs[w] = append(seqs[w], e.Seq)
				}
				return err
			}
			if err := record(s.AddParty(ctx, tg, "i1", service.NewParty{PartyID: party, Resource: party, State: "alerting"})); err != nil {
				errs <- err
				return
			}
			for r := range rounds {
				state := "established"
				if r%2 == 1 {
					state = "held"
				}
				if err := record(s.ChangePartyState(ctx, tg, "i1", party, service.PartyStateChange{State: state})); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	want := writers * (1 + rounds)
	all := allEvents(t, s, "s1")[start:]
	if len(all) != want {
		t.Fatalf("%d events, want %d", len(all), want)
	}
	ids := map[int64]bool{}
	for i, e := range all {
		if e.Seq != start+int64(i)+1 {
			t.Fatalf("event %d has seq %d, want %d", i, e.Seq, start+int64(i)+1)
		}
		if ids[e.ID] {
			t.Fatalf("event id %d appears twice", e.ID)
		}
		ids[e.ID] = true
	}
	for w, got := range seqs {
		for i := 1; i < len(got); i++ {
			if got[i] <= got[i-1] {
				t.Errorf("writer %d: its events are numbered %v, out of its order", w, got)
				break
			}
		}
	}
	if last := must[service.SessionState](t)(s.GetSession(ctx, "s1")).LastSeq; last != start+int64(want) {
		t.Errorf("last_seq %d, want %d", last, start+int64(want))
	}
}
