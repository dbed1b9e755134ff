package day

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ixnstore/ixnstore/client"
)

// check reads every session's events back through the API and checks them (Check), works
// out the failover's figures, and checks what each live node's stream delivered.
func (d *Day) check(ctx context.Context, rep *Report) error {
	if err := d.waitPublished(ctx); err != nil {
		return err
	}
	rep.Records = d.ledger.records
	events, err := d.readBack(ctx, d.ledger.sessions())
	if err != nil {
		return err
	}
	rep.Readback = events
	for _, sid := range d.ledger.sessions() {
		rep.Sessions++
		rep.EventsChecked += len(events[sid])
		for _, p := range Check(d.ledger.records[sid], events[sid]) {
			rep.Problems = append(rep.Problems, sid+": "+p)
		}
	}
	if err := d.failover(ctx, rep, events); err != nil {
		return err
	}
	rep.Problems = append(rep.Problems, d.checkStreams(ctx, rep, events)...)
	return nil
}

// waitPublished waits until the dispatcher has published every committed event.
func (d *Day) waitPublished(ctx context.Context) error {
	deadline := time.Now().Add(d.cfg.Settle)
	for {
		ov, err := d.admin.GetOverviewWithResponse(ctx)
		retry := errors.Is(err, client.ErrUnavailable) && time.Now().Before(deadline) // a busy database
		switch {
		case err != nil && !retry:
			return fmt.Errorf("reading publication (GET /v1/overview): %w", err)
		case err != nil:
		case ov.JSON200.Publication == nil || ov.JSON200.Publication.Unpublished == 0:
			return nil
		case time.Now().After(deadline):
			return fmt.Errorf("%d events still unpublished %s after the day (--settle)", ov.JSON200.Publication.Unpublished, d.cfg.Settle)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// readBack reads each session's events, page by page, with 8 readers.
func (d *Day) readBack(ctx context.Context, sessions []string) (map[string][]client.Event, error) {
	out := make(map[string][]client.Event, len(sessions))
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	jobs := make(chan string)
	for range 8 {
		wg.Go(func() {
			for sid := range jobs {
				evs, err := sessionEvents(ctx, d.admin, sid)
				mu.Lock()
				out[sid] = evs
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("reading the events of %s: %w", sid, err)
				}
				mu.Unlock()
			}
		})
	}
	for _, sid := range sessions {
		jobs <- sid
	}
	close(jobs)
	wg.Wait()
	return out, firstErr
}

func sessionEvents(ctx context.Context, c *client.Client, sid string) ([]client.Event, error) {
	const page = 1000
	var all []client.Event
	after := 0
	for {
		params := &client.ListSessionEventsParams{After: client.Ptr(after), Limit: client.Ptr(page)}
		res, err := c.ListSessionEventsWithResponse(ctx, sid, params)
		for try := 1; errors.Is(err, client.ErrUnavailable) && try < 5; try++ {
			time.Sleep(time.Duration(try) * time.Second) // a busy database: a read may be asked again
			res, err = c.ListSessionEventsWithResponse(ctx, sid, params)
		}
		if err != nil {
			return all, err
		}
		all = append(all, res.JSON200.Events...)
		if len(res.JSON200.Events) < page {
			return all, nil
		}
		after = int(all[len(all)-1].Seq)
	}
}

// failover works out how long the failed node's sessions took to be restored.
func (d *Day) failover(ctx context.Context, rep *Report, events map[string][]client.Event) error {
	dead := d.nodes[0]
	if !dead.dead() {
		return nil
	}
	f := &rep.Failover
	f.Node = dead.id
	lastBeat := time.Unix(0, dead.lastBeat.Load())
	sessions := dead.activeSessions()
	f.Sessions = len(sessions)
	nodes, err := d.admin.ListNodesWithResponse(ctx)
	if err != nil {
		return err
	}
	var dbBeat time.Time
	for _, n := range nodes.JSON200.Nodes {
		if n.NodeID == dead.id {
			dbBeat = n.HeartbeatAt
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var first, last time.Time
	for _, sid := range sessions {
		at, ok := d.heldAt[sid]
		if !ok {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: a session of the failed node %s was not taken over", sid, dead.id))
			continue
		}
		f.Restored++
		f.AllHeld = max(f.AllHeld, at.Sub(lastBeat))
		for _, ev := range events[sid] {
			if ev.Name == "interaction.restored" {
				if first.IsZero() || ev.CreatedAt.Before(first) {
					first = ev.CreatedAt
				}
				if ev.CreatedAt.After(last) {
					last = ev.CreatedAt
				}
			}
		}
	}
	if !first.IsZero() && !dbBeat.IsZero() {
		f.FirstRestored, f.LastRestored = first.Sub(dbBeat), last.Sub(dbBeat)
	}
	return nil
}

// checkStreams waits until each live node's stream has delivered the events written under
// its ownership (the node_id of the events read back), then compares: each exactly once, in
// seq order per session.
func (d *Day) checkStreams(ctx context.Context, rep *Report, events map[string][]client.Event) []string {
	want := map[*simNode]map[string][]int64{}
	for _, n := range d.nodes {
		if !n.dead() {
			want[n] = map[string][]int64{}
		}
	}
	byID := map[string]*simNode{}
	for n := range want {
		byID[n.id] = n
	}
	for sid, evs := range events {
		for _, ev := range evs {
			if n := byID[ev.NodeID]; n != nil {
				want[n][sid] = append(want[n][sid], ev.Seq)
			}
		}
	}
	caughtUp := func() bool {
		for n, sessions := range want {
			n.mu.Lock()
			for sid, seqs := range sessions {
				if len(n.streamed[sid]) < len(seqs) {
					n.mu.Unlock()
					return false
				}
			}
			n.mu.Unlock()
		}
		return true
	}
	deadline := time.Now().Add(d.cfg.Settle)
	for !caughtUp() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	var problems []string
	for n, sessions := range want {
		n.mu.Lock()
		for _, p := range n.outOfOrder {
			problems = append(problems, fmt.Sprintf("stream of %s: %s", n.id, p))
		}
		for sid, seqs := range sessions {
			got := n.streamed[sid]
			rep.StreamEvents += len(got)
			if !slices.Equal(got, seqs) {
				problems = append(problems, fmt.Sprintf("stream of %s: session %s delivered seqs %v, want %v", n.id, sid, got, seqs))
			}
		}
		for sid, got := range n.streamed {
			if _, ok := sessions[sid]; !ok {
				problems = append(problems, fmt.Sprintf("stream of %s: session %s delivered seqs %v, written under another node", n.id, sid, got))
			}
		}
		n.mu.Unlock()
	}
	return problems
}
