package service

import (
	"context"

	"github.com/ixnstore/ixnstore/db"
)

// ApplyShared writes changes as one shared commit, as a leader does with what it took, and
// returns each change's outcome in order: tests choose what goes in one batch.
func (s *Store) ApplyShared(ctx context.Context, changes []db.PartyStateChangeParams) ([][]db.Outbox, []error) {
	batch := make([]*partyChange, len(changes))
	for i, p := range changes {
		batch[i] = &partyChange{params: p, done: make(chan sharedOutcome, 1)}
	}
	s.shared.apply(ctx, batch)
	rows, errs := make([][]db.Outbox, len(batch)), make([]error, len(batch))
	for i, c := range batch {
		out := <-c.done
		rows[i], errs[i] = out.rows, out.err
	}
	return rows, errs
}
